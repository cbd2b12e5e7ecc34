"""What the loading assets share: load the run's days of one dataset through a ``DayLoader``,
record the committed days when others failed, and end a failed run (retried when the
database failed, else failed naming each day)."""

from collections.abc import Callable, Iterator
from typing import NoReturn

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    Failure,
    MaterializeResult,
)

from twap_pipeline.assets.config import DayLoadConfig, retry_or_fail
from twap_pipeline.assets.reporting import Progress, check_results, load_metadata, run_summary
from twap_pipeline.checks.verdicts import CheckDefinition
from twap_pipeline.loading.days import Dataset, DayLoader, DayOutcome, RunOutcome
from twap_pipeline.loading.listing import Listing, list_days
from twap_pipeline.partitions import run_days
from twap_pipeline.resources import (
    DatabaseUnavailableError,
    LandingArea,
    ObjectSource,
    PostgresResource,
)


def load_run_days(
    context: AssetExecutionContext,
    config: DayLoadConfig,
    dataset: Dataset,
    source: ObjectSource,
    landing: LandingArea,
    postgres: PostgresResource,
    unit: str,
) -> tuple[Listing, RunOutcome]:
    """List the source once, load each of the run's days in its own transaction, and drop
    landed files the source no longer lists. ``unit`` names the rows in progress lines."""
    listing = list_days(source, run_days(context))
    if listing.undated or listing.not_data:
        context.log.warning(
            f"{len(listing.undated)} key(s) under {source.describe()} carry no date and "
            f"{len(listing.not_data)} are not data files; see the undated_keys and skipped_keys "
            f"metadata, e.g. {[*listing.undated[:3], *list(listing.not_data)[:3]]}"
        )
    loader = DayLoader(dataset, source, landing, postgres, config.allow_shrinking_days)
    try:
        postgres.ensure_schema()
        outcome = loader.run(listing, on_day=Progress(context, len(listing.by_day), unit))
    except DatabaseUnavailableError as exc:
        retry_or_fail(context, config, str(exc))
    for day in outcome.days:
        landing.drop_stale(day.day, listing.by_day[day.day])
    return listing, outcome


def record_committed_days(
    context: AssetExecutionContext, asset: AssetKey, listing: Listing, outcome: RunOutcome
) -> list[DayOutcome]:
    """When some days failed the step fails, so Dagster records no materialization for the
    run: record each committed day of ``asset`` here."""
    committed = [d for d in outcome.days if d.committed]
    for day in committed:
        context.log_event(
            AssetMaterialization(
                asset, partition=day.day.isoformat(), metadata=load_metadata(listing, [day])
            )
        )
    return committed


def run_results(
    context: AssetExecutionContext,
    config: DayLoadConfig,
    asset: AssetKey,
    checks: list[CheckDefinition],
    source: ObjectSource,
    loaded: tuple[Listing, RunOutcome],
    after_partial: Callable[[list[DayOutcome]], None] | None = None,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """What the asset yields for a run: its materialization and check results when every day
    committed; else the committed days recorded (then ``after_partial`` with them), the check
    results, and the run failed naming each day (or retried when the database failed)."""
    listing, outcome = loaded
    results = check_results(asset, checks, outcome)
    if not outcome.failed and not outcome.stopped:
        yield MaterializeResult(
            metadata={"source": source.describe(), **load_metadata(listing, outcome.days)}
        )
        yield from results
        return
    committed = record_committed_days(context, asset, listing, outcome)
    if after_partial is not None and committed:
        after_partial(committed)
    yield from results
    _fail_run(context, config, outcome)


def _fail_run(
    context: AssetExecutionContext, config: DayLoadConfig, outcome: RunOutcome
) -> NoReturn:
    if outcome.retryable and outcome.stopped:
        retry_or_fail(context, config, outcome.stopped)
    raise Failure(description=run_summary(outcome))
