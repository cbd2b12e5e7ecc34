"""Daily UTC partitions, from ``TWAP_START_DATE`` through today: an hourly source fills today's
partition while the day goes on (it is reloaded as hours arrive). With a source that publishes
whole days only, ``TWAP_PARTITION_TODAY=false`` ends the partitions yesterday, so today does
not show as missing."""

from __future__ import annotations

import os
from datetime import date

from dagster import AssetExecutionContext, DailyPartitionsDefinition

DEFAULT_START_DATE = "2025-01-01"
START_DATE_ENV = "TWAP_START_DATE"
TODAY_ENV = "TWAP_PARTITION_TODAY"


def start_date() -> date:
    """First partition day, from ``TWAP_START_DATE`` (read at import: partitions are static)."""
    raw = os.environ.get(START_DATE_ENV) or DEFAULT_START_DATE
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{START_DATE_ENV}={raw!r} is not a YYYY-MM-DD date") from exc


def includes_today() -> bool:
    """Whether today is a partition, from ``TWAP_PARTITION_TODAY`` (default true)."""
    raw = (os.environ.get(TODAY_ENV) or "true").strip().lower()
    if raw not in {"true", "false", "1", "0"}:
        raise ValueError(f"{TODAY_ENV}={raw!r} is not true or false")
    return raw in {"true", "1"}


daily_partitions = DailyPartitionsDefinition(
    start_date=start_date().isoformat(),
    timezone="UTC",
    fmt="%Y-%m-%d",
    end_offset=1 if includes_today() else 0,
)


FILLS_START_ENV = "TWAP_FILLS_START_DATE"
# The node's fills archive (node_fills_by_block) begins on this day.
DEFAULT_FILLS_START_DATE = "2025-07-27"


def fills_start_date() -> date:
    """First day of ``twap_fills``: ``TWAP_FILLS_START_DATE``, never before ``start_date``."""
    raw = os.environ.get(FILLS_START_ENV) or DEFAULT_FILLS_START_DATE
    try:
        return max(date.fromisoformat(raw), start_date())
    except ValueError as exc:
        raise ValueError(f"{FILLS_START_ENV}={raw!r} is not a YYYY-MM-DD date") from exc


fills_partitions = DailyPartitionsDefinition(
    start_date=fills_start_date().isoformat(),
    timezone="UTC",
    fmt="%Y-%m-%d",
    end_offset=1 if includes_today() else 0,
)


def run_days(context: AssetExecutionContext) -> list[date]:
    """The run's days; ``partition_keys`` works for one-day and range runs alike."""
    return sorted(date.fromisoformat(k) for k in context.partition_keys)
