"""The jobs the sensors and the schedule launch: twap_status then twap_orders; twap_fills."""

from dagster import AssetSelection, define_asset_job

# Every run of one day carries this tag; dagster.yaml lets one run per value run at a time.
PARTITION_TAG = "twap/partition"

twap_daily_job = define_asset_job(
    "twap_daily_job",
    selection=AssetSelection.assets("twap_orders").upstream(),
    description="List, download and load the partition's files, then refresh twap_orders.",
)

# The fills runs' own tag: a fills run never waits for a status run of the same day.
FILLS_PARTITION_TAG = "twap/fills_partition"

twap_fills_job = define_asset_job(
    "twap_fills_job",
    selection=AssetSelection.assets("twap_fills"),
    # dagster.yaml limits how many runs with this tag run at once.
    tags={"twap/fills": "load"},
    description="List, download and scan the partition's fills files; load the TWAP fills.",
)
