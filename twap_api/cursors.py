"""Opaque page cursors: the sort key of a page's last item (a time and one or more ids), as
URL-safe base64. A cursor the API did not write is a 422 naming the parameter."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from twap_api.deps import invalid

MAX_ID = 2**63 - 1


def encode_cursor(when: datetime, *ids: int) -> str:
    text = "|".join([when.astimezone(UTC).isoformat(), *map(str, ids)])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ids: int = 1) -> tuple[datetime, list[int]]:
    """(time, ids) of a cursor written by :func:`encode_cursor` with ``ids`` ids."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, *numbers = text.split("|")
        parsed = datetime.fromisoformat(when)
        values = [int(n) for n in numbers]
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid("cursor", "not a cursor returned by this endpoint", cursor) from exc
    if parsed.tzinfo is None or len(values) != ids or not all(0 <= v <= MAX_ID for v in values):
        raise invalid("cursor", "not a cursor returned by this endpoint", cursor)
    return parsed, values
