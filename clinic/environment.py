"""Strict readers for settings that come from the environment.

django-environ parses URLs; these wrappers turn every missing or malformed
value into one `SettingsError` that names the setting, so start-up fails with
one clear line instead of a traceback (see `exit_on_settings_error`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import sys
import zoneinfo
from collections.abc import Iterator
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_NOT_SET = object()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ImproperlyConfigured):
    """A setting is missing or malformed; the message names it."""


class StrictEnv:
    def __init__(self, environ_mapping: Any) -> None:
        self._env = environ_mapping
        self._parser = environ.Env()

    def _raw(self, name: str, default: Any) -> Any:
        value = self._env.get(name)
        if value is None or value == "":
            if default is _NOT_SET:
                raise SettingsError(f"setting {name} is missing: set it in the environment")
            return default
        return value

    def str(self, name: str, default: Any = _NOT_SET) -> str:
        return self._raw(name, default)

    def bool(self, name: str, default: bool) -> bool:
        value = self._raw(name, "true" if default else "false").strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise SettingsError(f"setting {name} is malformed: {value!r} is not one of true/false")

    def int(self, name: str, default: int) -> int:
        value = self._raw(name, str(default))
        try:
            return int(value)
        except ValueError:
            raise SettingsError(
                f"setting {name} is malformed: {value!r} is not a whole number"
            ) from None

    def list(self, name: str, default: Any = _NOT_SET) -> list[str]:
        value = self._raw(name, default)
        if isinstance(value, list):
            return value
        return [item.strip() for item in value.split(",") if item.strip()]

    def db_url(self, name: str, default: Any = _NOT_SET) -> dict[str, Any]:
        value = self._raw(name, default)
        if "://" not in value:
            raise SettingsError(f"setting {name} is malformed: expected postgres://user@host/db")
        try:
            config = self._parser.db_url_config(value)
        except Exception as error:
            raise SettingsError(f"setting {name} is malformed: {error}") from None
        if config.get("ENGINE") != "django.db.backends.postgresql" or not config.get("NAME"):
            raise SettingsError(
                f"setting {name} is malformed: expected postgres://user@host:port/database"
            )
        return config

    def redis_url(self, name: str, default: Any = _NOT_SET) -> str:
        value = self._raw(name, default)
        if not value.startswith(("redis://", "rediss://")):
            raise SettingsError(f"setting {name} is malformed: expected redis://host:port/db")
        return value

    def email_url(self, name: str, default: Any = _NOT_SET) -> dict[str, Any]:
        value = self._raw(name, default)
        try:
            config = self._parser.email_url_config(value)
        except Exception as error:
            raise SettingsError(f"setting {name} is malformed: {error}") from None
        if not config.get("EMAIL_BACKEND"):
            raise SettingsError(f"setting {name} is malformed: unknown scheme in {value!r}")
        return config

    def time_zone(self, name: str, default: str) -> str:
        value = self._raw(name, default)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise SettingsError(
                f"setting {name} is malformed: {value!r} is not an IANA time zone"
            ) from None
        return value

    def networks(self, name: str, default: list[str]) -> list:
        """A comma-separated list of CIDR networks (an address alone is a /32 or /128)."""
        networks = []
        for item in self.list(name, default):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise SettingsError(
                    f"setting {name} is malformed: {item!r} is not a network like 10.0.0.0/8"
                ) from None
        return networks

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self._raw(name, default)
        if value not in choices:
            raise SettingsError(
                f"setting {name} is malformed: {value!r} is not one of {', '.join(choices)}"
            )
        return value


@contextlib.contextmanager
def exit_on_settings_error() -> Iterator[None]:
    """Turn a SettingsError raised while settings load into one line and exit 2."""
    try:
        yield
    except SettingsError as error:
        sys.stderr.write(f"inverto: {error}\n")
        raise SystemExit(2) from None
