"""``twap_fills``: every TWAP slice fill of the run's UTC days, from the exchange's fills archive.

The same design as ``twap_status``: the run lists the fills source once, then each day's hour
files are downloaded (verified), scanned for TWAP fills as they decompress, and COPY-loaded in
the day's own transaction; a failing day rolls back alone and the run ends failed naming it.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    asset,
)

from twap_pipeline.assets.config import DayLoadConfig
from twap_pipeline.assets.daily_load import load_run_days, run_results
from twap_pipeline.assets.status import SINGLE_RUN
from twap_pipeline.checks import fills as fill_checks
from twap_pipeline.formats.fills import read_fills_files
from twap_pipeline.loading.bookkeeping import settle_fills_day
from twap_pipeline.loading.days import Dataset
from twap_pipeline.partitions import fills_partitions
from twap_pipeline.resources import (
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
    loaded = load_run_days(
        context, config, FILLS_DATASET, fills_source, fills_landing, postgres, "fills"
    )
    yield from run_results(context, config, FILLS, fill_checks.CHECKS, fills_source, loaded)
