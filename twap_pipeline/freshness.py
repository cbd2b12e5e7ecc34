"""Freshness: the day that just closed must be loaded by 02:00 UTC (26 h after it began)."""

from dagster import (
    DefaultSensorStatus,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
)

from twap_pipeline.assets import twap_status

FRESHNESS_DEADLINE_CRON = "0 2 * * *"

freshness_checks = build_time_partition_freshness_checks(
    assets=[twap_status], deadline_cron=FRESHNESS_DEADLINE_CRON, timezone="UTC"
)
freshness_sensor = build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks,
    name="twap_freshness_sensor",
    default_status=DefaultSensorStatus.RUNNING,
)
