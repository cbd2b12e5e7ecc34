"""The job the sensor and the schedule launch: twap_status, then twap_orders."""

from dagster import AssetSelection, define_asset_job

# Every run of one day carries this tag; dagster.yaml lets one run per value run at a time.
PARTITION_TAG = "twap/partition"

twap_daily_job = define_asset_job(
    "twap_daily_job",
    selection=AssetSelection.assets("twap_orders").upstream(),
    description="List, download and load the partition's files, then refresh twap_orders.",
)
