"""``twap_status_daily_schedule``: the safety net behind the sensor, loading yesterday's
partition once the UTC day has closed."""

from datetime import timedelta

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    schedule,
)

from twap_pipeline.jobs import PARTITION_TAG, twap_daily_job


@schedule(
    job=twap_daily_job,
    cron_schedule="30 0 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="00:30 UTC: materialize the day that just closed.",
)
def twap_status_daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return RunRequest(partition_key=day, run_key=f"schedule:{day}", tags={PARTITION_TAG: day})
