"""What the tests share besides fixtures: the generated dataset's shape, and running the
pipeline in-process as Dagster would."""

from __future__ import annotations

from datetime import date
from typing import Any

from dagster import DagsterInstance, materialize

from twap_pipeline.assets import twap_orders, twap_status
from twap_pipeline.resources import LandingArea, ObjectSource, PostgresResource

PREFIX = "raw/twap_statuses/"
FIRST_DAY = date(2025, 6, 1)
DAYS = 6
ALL_ASSETS = [twap_status, twap_orders]


def run_pipeline(
    source: ObjectSource | None,
    landing: LandingArea,
    database_url: str,
    first: date | str,
    last: date | str | None = None,
    instance: DagsterInstance | None = None,
    assets: list | None = None,
    allow_shrinking_days: bool = False,
    postgres: PostgresResource | None = None,
    database_retries: int = 2,
    database_retry_seconds: float = 0,
):
    """Materialize the chain for one day or, as one run, for the range first..last."""
    first = str(first)
    kwargs: dict[str, Any] = {"partition_key": first}
    if last is not None and str(last) != first:
        kwargs = {
            "tags": {
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": str(last),
            }
        }
    assets = assets or ALL_ASSETS
    retries = {
        "database_retries": database_retries,
        "database_retry_seconds": database_retry_seconds,
    }
    ops: dict[str, Any] = {}
    if twap_status in assets:
        ops["twap_status"] = {"config": {"allow_shrinking_days": allow_shrinking_days, **retries}}
    if twap_orders in assets:
        ops["twap_orders"] = {"config": retries}
    resources = {
        "landing": landing,
        "postgres": postgres or PostgresResource(database_url=database_url),
    }
    if source is not None:
        resources["source"] = source
    return materialize(
        assets,
        resources=resources,
        instance=instance,
        raise_on_error=False,
        run_config={"ops": ops},
        **kwargs,
    )


def failure_message(result) -> str:
    """The description of the run's failed step, for assertions on error messages."""
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures, "expected a failed step"
    error = failures[0].step_failure_data.user_failure_data
    if error is not None and error.description:
        return error.description
    return failures[0].step_failure_data.error.to_string()
