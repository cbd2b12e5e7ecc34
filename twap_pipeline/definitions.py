"""The code location: assets, checks, job, sensors, schedule and resources (from env)."""

from __future__ import annotations

import gc
import os

from dagster import Definitions, EnvVar, in_process_executor

from twap_pipeline.assets import twap_orders, twap_status
from twap_pipeline.freshness import freshness_checks, freshness_sensor
from twap_pipeline.jobs import twap_daily_job
from twap_pipeline.resources import LandingArea, PostgresResource, TwapSource
from twap_pipeline.schedules import twap_status_daily_schedule
from twap_pipeline.sensors import twap_status_s3_sensor

# Resource field -> environment variable; unset variables leave the field's default.
SOURCE_ENV = {
    "bucket": "AWS_S3_BUCKET",
    "prefix": "AWS_S3_PREFIX",
    "region_name": "AWS_REGION",
    "request_payer": "AWS_REQUEST_PAYER",
    "endpoint_url": "AWS_ENDPOINT_URL",
    "source_dir": "TWAP_SOURCE_DIR",
}
LANDING_ENV = {"directory": "TWAP_LANDING_DIR"}


def _from_env(mapping: dict[str, str]) -> dict[str, EnvVar]:
    return {field: EnvVar(name) for field, name in mapping.items() if os.environ.get(name)}


def build_resources() -> dict[str, object]:
    source_config = {"region_name": "us-east-1", **_from_env(SOURCE_ENV)}
    return {
        "source": TwapSource(**source_config),
        "landing": LandingArea(**_from_env(LANDING_ENV)),
        "postgres": PostgresResource(database_url=EnvVar("DATABASE_URL")),
    }


defs = Definitions(
    assets=[twap_status, twap_orders],
    asset_checks=freshness_checks,
    jobs=[twap_daily_job],
    sensors=[twap_status_s3_sensor, freshness_sensor],
    schedules=[twap_status_daily_schedule],
    resources=build_resources(),
    # The two assets form one chain: separate step processes would only add start-up time.
    executor=in_process_executor,
)

# Everything imported and built so far lives as long as the process. Moving it out of the
# cyclic collector's reach spares each full collection, and the interpreter's exit, a walk over
# Dagster's whole object graph: `dagster asset materialize` exits ~0.8 s sooner (0.95 s -> 0.13 s
# from RUN_SUCCESS to exit, measured).
gc.freeze()
