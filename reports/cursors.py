"""Cursors for the reports' keyset pages: signed so a hand-edited URL is refused, not trusted."""

from __future__ import annotations

from typing import Any

from django.core import signing

_CURSOR_SALT = "programmes.reports.cursor"


class BadCursor(ValueError):
    pass


def encode_cursor(value: Any, row_id: int) -> str:
    return signing.dumps([None if value is None else str(value), row_id], salt=_CURSOR_SALT)


def decode_cursor(token: str) -> tuple[str | None, int]:
    try:
        value, row_id = signing.loads(token, salt=_CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise BadCursor("That page link is not valid; start from the first page.") from error
    if not isinstance(row_id, int):
        raise BadCursor("That page link is not valid; start from the first page.")
    return value, row_id
