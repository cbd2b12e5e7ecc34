"""``twap_fills``: every TWAP slice fill of the run's UTC days, from the exchange's fills archive.

The same design as ``twap_status``: the run lists the fills source once, then each day's hour
files are downloaded (verified), scanned for TWAP fills as they decompress, and COPY-loaded in
the day's own transaction; a failing day rolls back alone and the run ends failed naming it.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    Failure,
    MaterializeResult,
    asset,
)

from twap_pipeline.assets.config import DayLoadConfig, retry_or_fail
from twap_pipeline.assets.reporting import Progress, check_results, load_metadata, run_summary
from twap_pipeline.assets.status import SINGLE_RUN
from twap_pipeline.checks import fills as fill_checks
from twap_pipeline.formats.fills import read_fills_files
from twap_pipeline.loading.bookkeeping import settle_fills_day
from twap_pipeline.loading.days import Dataset, DayLoader
from twap_pipeline.loading.listing import list_days
from twap_pipeline.partitions import fills_partitions, run_days
from twap_pipeline.resources import (
    DatabaseUnavailableError,
    LandingArea,
    ObjectSource,
    PostgresResource,
)
from twap_pipeline.tables import fills as table

GROUP = "twap_fills"
FILLS = AssetKey("twap_fills")

FILLS_DATASET = Dataset(
    table="twap_fills",
    read=read_fills_files,
    row_rules=fill_checks.invalid_rows,
    copy=table.COPY,
    delete_day=table.DELETE_DAY,
    judge=fill_checks.judge_day,
    distinct_columns=("twap_id", "wallet"),
    after_checks=settle_fills_day,
)


@asset(
    kinds={"s3", "lz4", "postgres"},
    check_specs=[c.spec(FILLS) for c in fill_checks.CHECKS],
    description=(
        "One row per TWAP slice fill (one TWAP's side of one trade): each day's hour files of "
        "the fills archive listed, downloaded (verified), scanned for TWAP fills and loaded; "
        "each day is replaced in its own transaction."
    ),
    group_name=GROUP,
    partitions_def=fills_partitions,
    backfill_policy=SINGLE_RUN,
)
def twap_fills(
    context: AssetExecutionContext,
    config: DayLoadConfig,
    fills_source: ObjectSource,
    fills_landing: LandingArea,
    postgres: PostgresResource,
):
    listing = list_days(fills_source, run_days(context))
    loader = DayLoader(
        FILLS_DATASET, fills_source, fills_landing, postgres, config.allow_shrinking_days
    )
    try:
        postgres.ensure_schema()
        outcome = loader.run(listing, on_day=Progress(context, len(listing.by_day), "fills"))
    except DatabaseUnavailableError as exc:
        retry_or_fail(context, config, str(exc))
    for day in outcome.days:
        fills_landing.drop_stale(day.day, listing.by_day[day.day])
    results = check_results(FILLS, fill_checks.CHECKS, outcome)
    if not outcome.failed and not outcome.stopped:
        yield MaterializeResult(
            metadata={"source": fills_source.describe(), **load_metadata(listing, outcome.days)}
        )
        yield from results
        return
    for day in outcome.days:
        if day.committed:
            context.log_event(
                AssetMaterialization(
                    FILLS, partition=day.day.isoformat(), metadata=load_metadata(listing, [day])
                )
            )
    yield from results
    if outcome.retryable and outcome.stopped:
        retry_or_fail(context, config, outcome.stopped)
    raise Failure(description=run_summary(outcome))
