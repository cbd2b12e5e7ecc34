"""``twap_status_daily_schedule``: the safety net behind the sensor, loading yesterday's
partition once the UTC day has closed."""

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from twap_pipeline.jobs import twap_daily_job

twap_status_daily_schedule = build_schedule_from_partitioned_job(
    twap_daily_job,
    name="twap_status_daily_schedule",
    hour_of_day=0,
    minute_of_hour=30,
    default_status=DefaultScheduleStatus.RUNNING,
    description="00:30 UTC: materialize the day that just closed.",
)
