"""``twap_status``: every TWAP status event of the run's UTC days, loaded from the source.

The run lists the source once, then loads each day in its own transaction (``loading.days``):
good days commit and are recorded as materialized, a failing day rolls back alone and the run
ends failed naming it and why. A run covers one day or a whole range
(``BackfillPolicy.single_run``).
"""

import time
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from twap_pipeline.assets.config import StatusLoadConfig, retry_or_fail
from twap_pipeline.checks import status as status_checks
from twap_pipeline.checks.verdicts import Verdict, check_result
from twap_pipeline.formats import read_status_files
from twap_pipeline.freshness import STATUS_FRESHNESS
from twap_pipeline.loading.days import Dataset, DayLoader, DayOutcome, RunOutcome
from twap_pipeline.loading.listing import Listing, list_days
from twap_pipeline.loading.orders import refresh_orders
from twap_pipeline.partitions import daily_partitions, run_days
from twap_pipeline.resources import (
    DatabaseUnavailableError,
    LandingArea,
    ObjectSource,
    PostgresResource,
)
from twap_pipeline.tables import status as table

GROUP = "twap_ingest"
STATUS = AssetKey("twap_status")
ORDERS = AssetKey("twap_orders")
# A range of days (a backfill) is one run: the run lists the source once and loads day by day.
SINGLE_RUN = BackfillPolicy.single_run()
REPORT_LIMIT = 100
PROGRESS_SECONDS = 10

STATUS_DATASET = Dataset(
    table="twap_status",
    read=read_status_files,
    row_rules=status_checks.invalid_rows,
    copy=table.COPY,
    delete_day=table.DELETE_DAY,
    judge=status_checks.judge_day,
    gather=status_checks.gather_for_lifecycle,
    distinct_columns=("twap_id", "wallet"),
    record_day=table.RECORD_DAY,
)


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

    def __init__(self, context: AssetExecutionContext, total: int):
        self.context, self.total = context, total
        self.done = self.events = 0
        self.last = time.monotonic()

    def __call__(self, day: DayOutcome) -> None:
        self.done += 1
        self.events += day.stored
        if not day.committed:
            self.context.log.error(f"{day.day}: rolled back: {day.failure}")
        elif time.monotonic() - self.last >= PROGRESS_SECONDS or self.done == self.total:
            self.context.log.info(
                f"{self.done}/{self.total} days done, through {day.day}: {self.events:,} events"
            )
            self.last = time.monotonic()


@asset(
    kinds={"s3", "parquet", "postgres"},
    check_specs=[c.spec(STATUS) for c in status_checks.CHECKS],
    freshness_policy=STATUS_FRESHNESS,
    description=(
        "One row per TWAP lifecycle event: each day's source files listed, downloaded "
        "(verified), parsed and loaded; each day is replaced in its own transaction."
    ),
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=SINGLE_RUN,
)
def twap_status(
    context: AssetExecutionContext,
    config: StatusLoadConfig,
    source: ObjectSource,
    landing: LandingArea,
    postgres: PostgresResource,
):
    listing = list_days(source, run_days(context))
    if listing.undated or listing.not_data:
        context.log.warning(
            f"{len(listing.undated)} key(s) under {source.describe()} carry no date and "
            f"{len(listing.not_data)} are not data files; see the undated_keys and skipped_keys "
            f"metadata, e.g. {[*listing.undated[:3], *list(listing.not_data)[:3]]}"
        )
    loader = DayLoader(STATUS_DATASET, source, landing, postgres, config.allow_shrinking_days)
    try:
        postgres.ensure_schema()
        outcome = loader.run(listing, on_day=Progress(context, len(listing.by_day)))
    except DatabaseUnavailableError as exc:
        retry_or_fail(context, config, str(exc))
    for day in outcome.days:
        landing.drop_stale(day.day, listing.by_day[day.day])
    checked: dict[str, dict[date, Verdict]] = {c.name: {} for c in status_checks.CHECKS}
    for day in outcome.days:
        for verdict in day.verdicts:
            checked[verdict.check][day.day] = verdict
    results = [check_result(STATUS, c, checked[c.name]) for c in status_checks.CHECKS]
    if not outcome.failed and not outcome.stopped:
        yield MaterializeResult(
            metadata={"source": source.describe(), **load_metadata(listing, outcome.days)}
        )
        yield from results
        return
    _record_committed_days(context, postgres, listing, outcome)
    yield from results
    if outcome.retryable and outcome.stopped:
        retry_or_fail(context, config, outcome.stopped)
    raise Failure(description=run_summary(outcome))


def _record_committed_days(
    context: AssetExecutionContext,
    postgres: PostgresResource,
    listing: Listing,
    outcome: RunOutcome,
) -> None:
    """When some days failed the step fails, so Dagster records no materialization for the run
    and the twap_orders step does not run: record each committed day here, and bring
    twap_orders up to date with them, so that both tables follow the committed days."""
    committed = [d for d in outcome.days if d.committed]
    for day in committed:
        context.log_event(
            AssetMaterialization(STATUS, partition=day.day.isoformat(), metadata=load_metadata(
                listing, [day]
            ))
        )  # fmt: skip
    if not committed:
        return
    try:
        with postgres.connect(autocommit=True) as conn:
            refresh = refresh_orders(conn, [d.day for d in committed])
    except DatabaseUnavailableError as exc:
        context.log.error(f"twap_orders not refreshed: {exc}")
        return
    if not refresh.committed:
        context.log.error(f"twap_orders not refreshed: {refresh.failure()}")
        return
    for day in committed:
        context.log_event(
            AssetMaterialization(ORDERS, partition=day.day.isoformat(), metadata={
                "twaps_recomputed": refresh.twaps
            })
        )  # fmt: skip
