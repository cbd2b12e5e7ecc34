"""Dagster resources: where objects come from (an S3 bucket or a local directory laid out like
one), the landing area that keeps verified copies, and the PostgreSQL database."""

from twap_pipeline.resources.landing import LandingArea
from twap_pipeline.resources.postgres import DatabaseUnavailableError, PostgresResource
from twap_pipeline.resources.sources import (
    LocalObjectSource,
    ObjectSource,
    S3ObjectSource,
    SourceIntegrityError,
    SourceObject,
    SourceUnavailableError,
)

__all__ = [
    "DatabaseUnavailableError",
    "LandingArea",
    "LocalObjectSource",
    "ObjectSource",
    "PostgresResource",
    "S3ObjectSource",
    "SourceIntegrityError",
    "SourceObject",
    "SourceUnavailableError",
]
