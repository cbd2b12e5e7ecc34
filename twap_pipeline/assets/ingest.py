"""List, download and load each UTC day's TWAP status files.

The three assets hand data to each other through the landing directory (the day's object
listing, then the verified local files), never through return values, so one run can cover
one day or a whole range (``BackfillPolicy.single_run``).
"""

import time
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import polars as pl
from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from twap_pipeline.checks import (
    STATUS_ASSET,
    STATUS_CHECKS,
    Outcome,
    check_specs,
    duplicate_keys,
    invalid_rows,
    reject_if_failed,
    status_checks,
    staying_events,
)
from twap_pipeline.loading import (
    DuplicateEventError,
    Replaced,
    lock_writers,
    replace_partitions,
)
from twap_pipeline.parsing import ParseError, parse_file
from twap_pipeline.partitions import daily_partitions, date_from_key, partition_days
from twap_pipeline.resources import (
    LandingArea,
    PostgresResource,
    SourceIntegrityError,
    SourceObject,
    TwapSource,
    verify_landed,
)

GROUP = "twap_ingest"
INGEST = {
    "group_name": GROUP,
    "partitions_def": daily_partitions,
    "backfill_policy": BackfillPolicy.single_run(),
}


def run_days(context: AssetExecutionContext) -> list[date]:
    """The run's days; ``partition_keys`` works for one-day and range runs alike."""
    return partition_days(context.partition_keys)


def _per_day(counts: dict[date, int]) -> MetadataValue:
    return MetadataValue.json({d.isoformat(): n for d, n in sorted(counts.items())})


@asset(
    kinds={"s3"}, description="The day's source objects: key, size, ETag, last-modified.", **INGEST
)
def twap_status_objects(
    context: AssetExecutionContext, source: TwapSource, landing: LandingArea
) -> MaterializeResult:
    days = run_days(context)
    wanted = set(days)
    by_day: dict[date, list[SourceObject]] = defaultdict(list)
    undated: list[str] = []
    listed = source.list_objects()
    for obj in listed:
        day = date_from_key(obj.key)
        if day is None:
            undated.append(obj.key)
        elif day in wanted:
            by_day[day].append(obj)
    if undated:
        context.log.warning(
            f"{len(undated)} object(s) under {source.describe()} carry no date and belong to no "
            f"partition, e.g. {undated[:3]}"
        )
    empty = [d.isoformat() for d in days if not by_day[d]]
    if empty:
        raise Failure(
            description=f"no objects under {source.describe()} for day(s) {', '.join(empty)}",
            metadata={"missing_days": MetadataValue.json(empty), "objects_listed": len(listed)},
        )
    for day in days:
        landing.write_objects(landing.listing_path(day), by_day[day])
    selected = [o for d in days for o in by_day[d]]
    return MaterializeResult(
        metadata={
            "source": source.describe(),
            "objects": len(selected),
            "bytes": sum(o.size for o in selected),
            "objects_per_partition": _per_day({d: len(by_day[d]) for d in days}),
            "objects_listed": len(listed),
            "undated_keys": MetadataValue.json(undated[:100]),
            "undated_key_count": len(undated),
        }
    )


@asset(
    deps=[twap_status_objects],
    kinds={"s3", "parquet"},
    description="The day's objects downloaded to the landing directory, verified by size/ETag.",
    **INGEST,
)
def twap_status_files(
    context: AssetExecutionContext, source: TwapSource, landing: LandingArea
) -> MaterializeResult:
    downloaded = reused = 0
    downloaded_bytes = 0
    for day in run_days(context):
        objects = landing.read_objects(landing.listing_path(day), "twap_status_objects")
        keep = set()
        for obj in objects:
            path = landing.file_path(day, obj)
            keep.add(path)
            if path.exists():
                try:
                    verify_landed(obj, path)
                    reused += 1
                    continue
                except SourceIntegrityError:
                    path.unlink()
            try:
                source.download(obj, path)
            except SourceIntegrityError as exc:
                raise Failure(description=str(exc)) from exc
            downloaded += 1
            downloaded_bytes += obj.size
        # Files of earlier versions of the day's objects are stale once re-listed.
        for stale in set(landing.file_path(day, objects[0]).parent.glob("*")) - keep:
            stale.unlink()
        landing.write_objects(landing.landed_path(day), objects)
    return MaterializeResult(
        metadata={
            "files_downloaded": downloaded,
            "files_reused": reused,
            "bytes_downloaded": downloaded_bytes,
            "landing_directory": landing.directory,
        }
    )


def _landed_files(landing: LandingArea, days: list[date]) -> list[tuple[date, SourceObject]]:
    return [
        (day, obj)
        for day in days
        for obj in landing.read_objects(landing.landed_path(day), "twap_status_files")
    ]


@dataclass
class ParsedFile:
    """One landed file's rows, and those of them that break a row rule."""

    events: pl.DataFrame
    invalid: pl.DataFrame


def _parse_landed(landing: LandingArea, day: date, obj: SourceObject) -> ParsedFile:
    try:
        events = parse_file(landing.file_path(day, obj), obj.key, day)
    except ParseError as exc:
        raise Failure(
            description=f"{exc}; nothing was loaded",
            metadata={"file": obj.key, "column": exc.column or "", "partition": str(day)},
        ) from exc
    return ParsedFile(events, invalid_rows(events))


def _staying(
    postgres: PostgresResource, parsing: list[Future[ParsedFile]], days: list[date]
) -> pl.DataFrame:
    """Once every file is parsed (while COPY still runs), read the stored events of the
    load's TWAPs that stay, on a connection of its own."""
    ids = [f.result().events["twap_id"] for f in parsing]
    bounds = (min(i.min() for i in ids), max(i.max() for i in ids))
    with postgres.connect() as other:
        return staying_events(other, days, bounds)


@asset(
    deps=[twap_status_files],
    kinds={"postgres"},
    check_specs=check_specs(STATUS_ASSET, STATUS_CHECKS),
    description="One row per TWAP lifecycle event; each run replaces its days in one transaction.",
    **INGEST,
)
def twap_status(context: AssetExecutionContext, postgres: PostgresResource, landing: LandingArea):
    days = run_days(context)
    files = _landed_files(landing, days)
    postgres.ensure_schema()
    clock = Stopwatch()
    unique = Outcome("unique_event_keys", True)
    with (
        ThreadPoolExecutor(max_workers=1) as parser,
        ThreadPoolExecutor(max_workers=1) as reader,
        postgres.connect() as conn,
    ):
        lock_writers(conn)  # before the reader looks: nothing else may write until commit
        # One thread parses (and checks) the next files while PostgreSQL ingests the previous
        # ones; another then reads the stored events the lifecycle check needs.
        parsing = [parser.submit(_parse_landed, landing, day, obj) for day, obj in files]
        staying = reader.submit(_staying, postgres, parsing, days)
        replaced = Replaced()
        try:
            replaced = replace_partitions(conn, (f.result().events for f in parsing), days)
        except DuplicateEventError as exc:
            unique = duplicate_keys(pl.concat(f.result().events for f in parsing))
            if unique.passed:  # no duplicate within the load: it clashes with another day
                unique = Outcome("unique_event_keys", False, details={"conflict": str(exc)})
        clock.lap("parse_and_copy")
        loaded = [f.result() for f in parsing]
        events = pl.concat(p.events for p in loaded)
        outcomes = [unique]
        if unique.passed:
            invalid = pl.concat(p.invalid for p in loaded)
            outcomes += status_checks(
                conn, days, events, invalid, replaced.stored, staying.result()
            )
        yield from reject_if_failed(conn, STATUS_ASSET, outcomes, "load")
        clock.lap("checks")
    clock.lap("commit")
    yield MaterializeResult(
        metadata={
            "objects": len(files),
            "bytes": sum(obj.size for _, obj in files),
            "rows_read": events.height,
            "rows_loaded": replaced.stored,
            "rows_replaced": replaced.deleted,
            "rows_per_partition": _per_day(Counter(events["partition_date"].to_list())),
            "distinct_twaps": events["twap_id"].n_unique(),
            "distinct_wallets": events["wallet"].n_unique(),
            "dagster/row_count": events.height,
            "seconds": MetadataValue.json(clock.laps),
        }
    )
    for outcome in outcomes:
        yield outcome.result(STATUS_ASSET)


class Stopwatch:
    """Seconds spent in each phase of a load, for the run's metadata."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
