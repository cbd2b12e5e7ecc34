"""``twap_status``: every TWAP status event of the run's UTC days, loaded from the source.

The run lists the source once, then loads each day in its own transaction (``loading.days``):
good days commit and are recorded as materialized, a failing day rolls back alone and the run
ends failed naming it and why. A run covers one day or a whole range
(``BackfillPolicy.single_run``).
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    asset,
)

from twap_pipeline.assets.config import DayLoadConfig, retry_or_fail
from twap_pipeline.assets.reporting import Progress, check_results, load_metadata, run_summary
from twap_pipeline.checks import status as status_checks
from twap_pipeline.formats import read_status_files
from twap_pipeline.freshness import STATUS_FRESHNESS
from twap_pipeline.loading.bookkeeping import record_status_day
from twap_pipeline.loading.days import Dataset, DayLoader, RunOutcome
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

STATUS_DATASET = Dataset(
    table="twap_status",
    read=read_status_files,
    row_rules=status_checks.invalid_rows,
    copy=table.COPY,
    delete_day=table.DELETE_DAY,
    judge=status_checks.judge_day,
    gather=status_checks.gather_for_lifecycle,
    distinct_columns=("twap_id", "wallet"),
    after_checks=record_status_day,
)


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
    config: DayLoadConfig,
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
        outcome = loader.run(listing, on_day=Progress(context, len(listing.by_day), "events"))
    except DatabaseUnavailableError as exc:
        retry_or_fail(context, config, str(exc))
    for day in outcome.days:
        landing.drop_stale(day.day, listing.by_day[day.day])
    results = check_results(STATUS, status_checks.CHECKS, outcome)
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
