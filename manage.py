#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from clinic.environment import exit_on_settings_error

    with exit_on_settings_error():
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - load settings now so a bad one fails in one line
    from django.core.management import execute_from_command_line

    from clinic.audit_context import COMMAND, audit_context

    # Audit rows a command writes are the command's (a server's requests open their own).
    with audit_context(COMMAND):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
