"""Writing JSON text directly, for bodies whose items PostgreSQL already serialised."""

from __future__ import annotations

from datetime import UTC, datetime

MEDIA_TYPE = "application/json"


def iso(value: datetime | None) -> str | None:
    """A time as the API writes it: ISO 8601 UTC with microseconds and ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_string(text: str | None) -> str:
    """``text`` as a JSON string, or null. Only for text that needs no escaping: validated
    wallets, our own times, cursors and dates."""
    return "null" if text is None else f'"{text}"'
