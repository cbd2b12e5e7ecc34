"""``twap_status``: every TWAP status event of the run's UTC days, loaded from the source.

The run lists the source once, then loads each day in its own transaction (``loading.days``):
good days commit and are recorded as materialized, a failing day rolls back alone and the run
ends failed naming it and why. A run covers one day or a whole range
(``BackfillPolicy.single_run``).
"""

from functools import partial

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    BackfillPolicy,
    asset,
)

from twap_pipeline.assets.config import DayLoadConfig
from twap_pipeline.assets.daily_load import load_run_days, run_results
from twap_pipeline.checks import status as status_checks
from twap_pipeline.formats import read_status_files
from twap_pipeline.freshness import STATUS_FRESHNESS
from twap_pipeline.loading.bookkeeping import record_status_day
from twap_pipeline.loading.days import Dataset, DayOutcome
from twap_pipeline.loading.orders import refresh_orders
from twap_pipeline.partitions import daily_partitions
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
    loaded = load_run_days(context, config, STATUS_DATASET, source, landing, postgres, "events")
    refresh = partial(_refresh_orders, context, postgres)
    yield from run_results(context, config, STATUS, status_checks.CHECKS, source, loaded, refresh)


def _refresh_orders(
    context: AssetExecutionContext, postgres: PostgresResource, committed: list[DayOutcome]
) -> None:
    """The twap_orders step does not run after a failed one: bring twap_orders up to date
    with the committed days here, so that both tables follow them."""
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
