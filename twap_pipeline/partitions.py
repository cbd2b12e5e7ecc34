"""Daily UTC partitions and the one rule that maps an S3 object key to its day."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

DEFAULT_START_DATE = "2025-01-01"
START_DATE_ENV = "TWAP_START_DATE"


def start_date() -> date:
    """First partition day, from ``TWAP_START_DATE`` (read at import: partitions are static)."""
    raw = os.environ.get(START_DATE_ENV) or DEFAULT_START_DATE
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{START_DATE_ENV}={raw!r} is not a YYYY-MM-DD date") from exc


daily_partitions = DailyPartitionsDefinition(
    start_date=start_date().isoformat(), timezone="UTC", fmt="%Y-%m-%d"
)

# A day in the key: 2025-06-01, 2025_06_01 or 20250601, not glued to other digits.
_DATE_IN_KEY = re.compile(r"(?<!\d)(20\d{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?!\d)")


def date_from_key(key: str) -> date | None:
    """Return the UTC day an object key carries, or None when it carries none.

    The rightmost date wins, so ``backfill-2026-01-01/date=2025-06-01/part-0.parquet`` is
    2025-06-01: the partition-style segment closest to the file names the data's day.
    Impossible dates (2025-02-30) are not dates.
    """
    for match in reversed(list(_DATE_IN_KEY.finditer(key))):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    return None


def days_between(first: date, last: date) -> list[date]:
    """Every day from first to last, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def partition_days(keys: Iterable[str]) -> list[date]:
    """Partition keys (YYYY-MM-DD) as dates, sorted."""
    return sorted(date.fromisoformat(k) for k in keys)
