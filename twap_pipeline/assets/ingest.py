"""List, download and load each UTC day's TWAP status files into ``twap_status``.

One asset does all three: Dagster records every materialization of every partition in its run
storage, so separate listing and download assets tripled that bookkeeping (about 240 more
writes, several seconds, for a 60-day range run) without making a run any more restartable
(files are re-listed anyway and reused while their ETag is unchanged). Runs cover one day or
a whole range (``BackfillPolicy.single_run``).
"""

import time
from collections.abc import Iterator
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
    copy_rows,
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


@dataclass
class Listing:
    """The source objects of the run's days, and the keys under the prefix with no date."""

    by_day: dict[date, list[SourceObject]]
    listed: int
    undated: list[str]

    def files(self) -> list[tuple[date, SourceObject]]:
        return [(day, obj) for day, objects in self.by_day.items() for obj in objects]


def list_days(context: AssetExecutionContext, source: TwapSource, days: list[date]) -> Listing:
    """The objects of each day in ``days``; fails naming the days that have none."""
    by_day: dict[date, list[SourceObject]] = {day: [] for day in days}
    undated: list[str] = []
    listed = source.list_objects()
    for obj in listed:
        day = date_from_key(obj.key)
        if day is None:
            undated.append(obj.key)
        elif day in by_day:
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
    return Listing(by_day, len(listed), undated)


def land(source: TwapSource, landing: LandingArea, day: date, obj: SourceObject) -> bool:
    """Make a verified local copy of ``obj``: reuse one already landed with the same ETag,
    else download it. Returns whether it was downloaded."""
    path = landing.file_path(day, obj)
    if path.exists():
        try:
            verify_landed(obj, path)
            return False
        except SourceIntegrityError:
            path.unlink()
    try:
        source.download(obj, path)
    except SourceIntegrityError as exc:
        raise Failure(description=f"{exc}; nothing was loaded", metadata={"file": obj.key}) from exc
    return True


@dataclass
class ParsedFile:
    """One landed file's rows, those of them that break a row rule, and whether the file was
    downloaded (rather than reused)."""

    events: pl.DataFrame
    invalid: pl.DataFrame
    downloaded: bool
    csv: bytes  # the events as COPY input, dropped once sent


def _land_and_parse(
    source: TwapSource, landing: LandingArea, day: date, obj: SourceObject
) -> ParsedFile:
    downloaded = land(source, landing, day, obj)
    try:
        events = parse_file(landing.file_path(day, obj), obj.key, day)
    except ParseError as exc:
        raise Failure(
            description=f"{exc}; nothing was loaded",
            metadata={"file": obj.key, "column": exc.column or "", "partition": str(day)},
        ) from exc
    return ParsedFile(events, invalid_rows(events), downloaded, copy_rows(events))


def _sent_once(parsing: list[Future[ParsedFile]]) -> Iterator[bytes]:
    """Each file's COPY input in order, released as soon as it has been sent."""
    for future in parsing:
        parsed = future.result()
        yield parsed.csv
        parsed.csv = b""


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
    kinds={"s3", "parquet", "postgres"},
    check_specs=check_specs(STATUS_ASSET, STATUS_CHECKS),
    description=(
        "One row per TWAP lifecycle event: the day's source files listed, downloaded (verified "
        "by size/ETag) and loaded; each run replaces its days in one transaction."
    ),
    **INGEST,
)
def twap_status(
    context: AssetExecutionContext,
    source: TwapSource,
    landing: LandingArea,
    postgres: PostgresResource,
):
    days = run_days(context)
    clock = Stopwatch()
    listing = list_days(context, source, days)
    files = listing.files()
    clock.lap("list")
    postgres.ensure_schema()
    unique = Outcome("unique_event_keys", True)
    with (
        ThreadPoolExecutor(max_workers=1) as parser,
        ThreadPoolExecutor(max_workers=1) as reader,
        postgres.connect() as conn,
    ):
        lock_writers(conn)  # before the reader looks: nothing else may write until commit
        # One thread downloads, parses and checks the next files while PostgreSQL ingests the
        # previous ones; another then reads the stored events the lifecycle check needs.
        parsing = [parser.submit(_land_and_parse, source, landing, day, obj) for day, obj in files]
        staying = reader.submit(_staying, postgres, parsing, days)
        replaced = Replaced()
        try:
            replaced = replace_partitions(conn, _sent_once(parsing), days)
        except DuplicateEventError as exc:
            unique = duplicate_keys(pl.concat(f.result().events for f in parsing))
            if unique.passed:  # no duplicate within the load: it clashes with another day
                unique = Outcome("unique_event_keys", False, details={"conflict": str(exc)})
        clock.lap("download_parse_copy")
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
    for day, objects in listing.by_day.items():
        landing.drop_stale(day, objects)
    downloaded = [obj for (_, obj), parsed in zip(files, loaded, strict=True) if parsed.downloaded]
    yield MaterializeResult(
        metadata={
            "source": source.describe(),
            "objects": len(files),
            "bytes": sum(obj.size for _, obj in files),
            "objects_per_partition": _per_day({d: len(o) for d, o in listing.by_day.items()}),
            "objects_listed": listing.listed,
            "undated_keys": MetadataValue.json(listing.undated[:100]),
            "undated_key_count": len(listing.undated),
            "files_downloaded": len(downloaded),
            "files_reused": len(files) - len(downloaded),
            "bytes_downloaded": sum(obj.size for obj in downloaded),
            "landing_directory": landing.directory,
            "rows_read": events.height,
            "rows_loaded": replaced.stored,
            "rows_replaced": replaced.deleted,
            "rows_per_partition": _per_day(dict(events["partition_date"].value_counts().rows())),
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
