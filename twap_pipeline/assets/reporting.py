"""What a daily load reports: its materialization metadata, its progress while it runs, and
the summary of the days that failed."""

import time
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import polars as pl
from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, MetadataValue

from twap_pipeline.checks.verdicts import CheckDefinition, Verdict, check_result
from twap_pipeline.loading.days import DayOutcome, RunOutcome
from twap_pipeline.loading.listing import Listing

REPORT_LIMIT = 100
PROGRESS_SECONDS = 10


def _per_day(counts: dict[date, int]) -> MetadataValue:
    return MetadataValue.json({d.isoformat(): n for d, n in sorted(counts.items())})


def load_metadata(listing: Listing, days: list[DayOutcome]) -> dict[str, Any]:
    """What a load did, for the materialization of these days."""
    files = [f for d in days for f in d.files]
    downloaded = [f for f in files if f.downloaded]

    def distinct(column: str) -> int:
        values = [d.distinct[column] for d in days if column in d.distinct]
        return pl.concat(values).n_unique() if values else 0

    unknown: dict[str, list[str]] = defaultdict(list)
    missing: Counter[str] = Counter()
    for day in days:
        for column in day.unknown_columns:
            unknown[column].append(day.day.isoformat())
        missing.update({c: len(day.files) for c in day.missing_columns})
    phases: Counter[str] = Counter()
    for day in days:
        phases.update(day.seconds)
    return {
        "objects": len(files),
        "bytes": sum(f.obj.size for f in files),
        "objects_per_partition": _per_day({d.day: len(d.files) for d in days}),
        "objects_listed": listing.listed,
        "undated_keys": MetadataValue.json(listing.undated[:REPORT_LIMIT]),
        "undated_key_count": len(listing.undated),
        "skipped_keys": MetadataValue.json(dict(list(listing.not_data.items())[:REPORT_LIMIT])),
        "skipped_key_count": len(listing.not_data),
        "files_downloaded": len(downloaded),
        "files_reused": len(files) - len(downloaded),
        "bytes_downloaded": sum(f.obj.size for f in downloaded),
        "rows_read": sum(d.rows_read for d in days),
        "rows_loaded": sum(d.stored for d in days),
        "rows_replaced": sum(d.stored_before for d in days),
        "rows_per_partition": _per_day({d.day: d.stored for d in days}),
        "distinct_twaps": distinct("twap_id"),
        "distinct_wallets": distinct("wallet"),
        "unknown_columns": MetadataValue.json({c: d[:5] for c, d in sorted(unknown.items())}),
        "missing_columns_loaded_as_null": MetadataValue.json(dict(sorted(missing.items()))),
        "dagster/row_count": sum(d.stored for d in days),
        "seconds": MetadataValue.json({k: round(v, 3) for k, v in phases.items()}),
    }


def run_summary(outcome: RunOutcome) -> str:
    lines = [f"{d.day}: {d.failure}" for d in outcome.failed]
    if outcome.stopped:
        lines.append(f"stopped: {outcome.stopped}")
    if outcome.not_attempted:
        lines.append("not attempted: " + ", ".join(d.isoformat() for d in outcome.not_attempted))
    committed = outcome.committed
    head = f"{len(outcome.failed) + len(outcome.not_attempted)} day(s) not loaded (rolled back)"
    if committed:
        head += f"; {len(committed)} day(s) committed ({committed[0]} .. {committed[-1]})"
    return head + ":\n" + "\n".join(lines)


class Progress:
    """Logs each failed day at once, and committed days at most every ``PROGRESS_SECONDS``
    (each log line is an event in Dagster's run storage: one a day slows a long backfill)."""

    def __init__(self, context: AssetExecutionContext, total: int, unit: str):
        self.context, self.total, self.unit = context, total, unit
        self.done = self.rows = 0
        self.last = time.monotonic()

    def __call__(self, day: DayOutcome) -> None:
        self.done += 1
        self.rows += day.stored
        if not day.committed:
            self.context.log.error(f"{day.day}: rolled back: {day.failure}")
        elif time.monotonic() - self.last >= PROGRESS_SECONDS or self.done == self.total:
            self.context.log.info(
                f"{self.done}/{self.total} days done, through {day.day}: {self.rows:,} {self.unit}"
            )
            self.last = time.monotonic()


def check_results(
    asset: AssetKey, checks: list[CheckDefinition], outcome: RunOutcome
) -> list[AssetCheckResult]:
    """One result per check for the run, from the verdicts of each day."""
    checked: dict[str, dict[date, Verdict]] = {c.name: {} for c in checks}
    for day in outcome.days:
        for verdict in day.verdicts:
            checked[verdict.check][day.day] = verdict
    return [check_result(asset, c, checked[c.name]) for c in checks]
