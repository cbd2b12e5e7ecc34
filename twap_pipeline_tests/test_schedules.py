"""The daily schedule loads the day that just closed."""

from datetime import UTC, datetime

from dagster import build_schedule_context

from twap_pipeline.definitions import defs
from twap_pipeline.jobs import PARTITION_TAG


def test_schedule_requests_yesterday_after_the_day_closes():
    schedule = defs.resolve_schedule_def("twap_status_daily_schedule")
    context = build_schedule_context(
        scheduled_execution_time=datetime(2025, 6, 7, 0, 30, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    data = schedule.evaluate_tick(context)
    assert [r.partition_key for r in data.run_requests] == ["2025-06-06"]
    assert data.run_requests[0].tags[PARTITION_TAG] == "2025-06-06"
    assert schedule.job_name == "twap_daily_job"
