"""The code location: assets, checks, jobs, sensors, schedule and resources (from env)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dagster import Definitions, EnvVar, in_process_executor

from twap_pipeline.assets import twap_fills, twap_orders, twap_status
from twap_pipeline.jobs import twap_daily_job, twap_fills_job
from twap_pipeline.resources import (
    LandingArea,
    LocalObjectSource,
    ObjectSource,
    PostgresResource,
    S3ObjectSource,
)
from twap_pipeline.schedules import twap_status_daily_schedule
from twap_pipeline.sensors import twap_fills_s3_sensor, twap_status_s3_sensor

DEFAULT_BUCKET = "artemis-hyperliquid-data"
DEFAULT_PREFIX = "raw/twap_statuses/"
DEFAULT_REGION = "us-east-1"
DEFAULT_FILLS_BUCKET = "hl-mainnet-node-data"
DEFAULT_FILLS_PREFIX = "node_fills_by_block/hourly/"
DEFAULT_FILLS_REGION = "ap-northeast-1"
DEFAULT_LANDING_DIR = ".twap/landing"


def _from_env(mapping: dict[str, str]) -> dict[str, Any]:
    """Resource field -> ``EnvVar`` for each variable that is set (unset ones keep defaults)."""
    return {field: EnvVar(name) for field, name in mapping.items() if os.environ.get(name)}


def object_source(
    directory: str, prefix: str, bucket: str, region: str, defaults: tuple[str, str, str]
) -> ObjectSource:
    """A local directory when the env var ``directory`` is set, else the (requester-pays)
    bucket; each setting from its env var, else from ``defaults`` (bucket, prefix, region).
    The endpoint and the request payer are shared by every source."""
    prefix_field = _from_env({"prefix": prefix}) or {"prefix": defaults[1]}
    if os.environ.get(directory):
        return LocalObjectSource(directory=EnvVar(directory), **prefix_field)
    settings = {"bucket": defaults[0], "region_name": defaults[2]} | _from_env(
        {
            "bucket": bucket,
            "region_name": region,
            "endpoint_url": "AWS_ENDPOINT_URL",
            "request_payer": "AWS_REQUEST_PAYER",
        }
    )
    return S3ObjectSource(**settings, **prefix_field)


def status_source() -> ObjectSource:
    """The status files: ``TWAP_SOURCE_DIR`` when set, else the Artemis bucket."""
    return object_source(
        "TWAP_SOURCE_DIR", "AWS_S3_PREFIX", "AWS_S3_BUCKET", "AWS_REGION",
        (DEFAULT_BUCKET, DEFAULT_PREFIX, DEFAULT_REGION),
    )  # fmt: skip


def fills_source() -> ObjectSource:
    """The fills files: ``TWAP_FILLS_SOURCE_DIR`` when set, else the node's fills archive."""
    return object_source(
        "TWAP_FILLS_SOURCE_DIR", "TWAP_FILLS_PREFIX", "TWAP_FILLS_BUCKET", "TWAP_FILLS_REGION",
        (DEFAULT_FILLS_BUCKET, DEFAULT_FILLS_PREFIX, DEFAULT_FILLS_REGION),
    )  # fmt: skip


def build_resources() -> dict[str, object]:
    return {
        "source": status_source(),
        "fills_source": fills_source(),
        "landing": LandingArea(**_from_env({"directory": "TWAP_LANDING_DIR"})),
        # Beside the status files' days, in a folder of its own.
        "fills_landing": LandingArea(
            directory=str(Path(os.environ.get("TWAP_LANDING_DIR") or DEFAULT_LANDING_DIR) / "fills")
        ),
        "postgres": PostgresResource(database_url=EnvVar("DATABASE_URL")),
    }


defs = Definitions(
    assets=[twap_status, twap_orders, twap_fills],
    jobs=[twap_daily_job, twap_fills_job],
    sensors=[twap_status_s3_sensor, twap_fills_s3_sensor],
    schedules=[twap_status_daily_schedule],
    resources=build_resources(),
    # The two assets form one chain: separate step processes would only add start-up time.
    executor=in_process_executor,
)
