"""Run configuration of the loading assets, and what they do when the database fails."""

from typing import NoReturn

from dagster import AssetExecutionContext, Config, Failure, RetryRequested
from pydantic import Field


class DatabaseRetryConfig(Config):
    """A database that drops a connection or stops answering is tried again, a bounded number
    of times; a load is idempotent, so the retry simply redoes the run."""

    database_retries: int = Field(
        default=2, ge=0, description="How many times a run retries after the database failed"
    )
    database_retry_seconds: float = Field(
        default=30, ge=0, description="Seconds to wait before each retry"
    )


class DayLoadConfig(DatabaseRetryConfig):
    allow_shrinking_days: bool = Field(
        default=False,
        description="Load a day even when its files hold less than half the events stored for "
        "it (upstream really did remove them); off, such a day fails no_day_shrinks.",
    )


def retry_or_fail(
    context: AssetExecutionContext, config: DatabaseRetryConfig, reason: str
) -> NoReturn:
    """Ask Dagster to run the step again after a database failure, or give up naming it."""
    if context.retry_number < config.database_retries:
        context.log.warning(
            f"{reason}; retrying in {config.database_retry_seconds:g} s "
            f"(retry {context.retry_number + 1} of {config.database_retries})"
        )
        raise RetryRequested(
            max_retries=config.database_retries, seconds_to_wait=config.database_retry_seconds
        )
    raise Failure(description=f"{reason} (gave up after {config.database_retries} retries)")
