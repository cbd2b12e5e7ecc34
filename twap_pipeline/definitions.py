"""The code location: assets, checks, job, sensor, schedule and resources (from env)."""

from __future__ import annotations

import os
from typing import Any

from dagster import Definitions, EnvVar, in_process_executor

from twap_pipeline.assets import twap_orders, twap_status
from twap_pipeline.jobs import twap_daily_job
from twap_pipeline.resources import (
    LandingArea,
    LocalObjectSource,
    ObjectSource,
    PostgresResource,
    S3ObjectSource,
)
from twap_pipeline.schedules import twap_status_daily_schedule
from twap_pipeline.sensors import twap_status_s3_sensor

DEFAULT_BUCKET = "artemis-hyperliquid-data"
DEFAULT_PREFIX = "raw/twap_statuses/"
DEFAULT_REGION = "us-east-1"


def _from_env(mapping: dict[str, str]) -> dict[str, Any]:
    """Resource field -> ``EnvVar`` for each variable that is set (unset ones keep defaults)."""
    return {field: EnvVar(name) for field, name in mapping.items() if os.environ.get(name)}


def status_source() -> ObjectSource:
    """The status files: ``TWAP_SOURCE_DIR`` when set, else the (requester-pays) bucket."""
    prefix = _from_env({"prefix": "AWS_S3_PREFIX"}) or {"prefix": DEFAULT_PREFIX}
    if os.environ.get("TWAP_SOURCE_DIR"):
        return LocalObjectSource(directory=EnvVar("TWAP_SOURCE_DIR"), **prefix)
    settings = {"bucket": DEFAULT_BUCKET, "region_name": DEFAULT_REGION} | _from_env(
        {
            "bucket": "AWS_S3_BUCKET",
            "region_name": "AWS_REGION",
            "endpoint_url": "AWS_ENDPOINT_URL",
            "request_payer": "AWS_REQUEST_PAYER",
        }
    )
    return S3ObjectSource(**settings, **prefix)


def build_resources() -> dict[str, object]:
    return {
        "source": status_source(),
        "landing": LandingArea(**_from_env({"directory": "TWAP_LANDING_DIR"})),
        "postgres": PostgresResource(database_url=EnvVar("DATABASE_URL")),
    }


defs = Definitions(
    assets=[twap_status, twap_orders],
    jobs=[twap_daily_job],
    sensors=[twap_status_s3_sensor],
    schedules=[twap_status_daily_schedule],
    resources=build_resources(),
    # The two assets form one chain: separate step processes would only add start-up time.
    executor=in_process_executor,
)
