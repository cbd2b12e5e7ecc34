"""One day's source files, from the source to COPY input: land a verified copy of each (or
reuse one that re-verifies), parse them together, apply the row rules, encode the rows as CSV.
Runs on the parsing thread while PostgreSQL ingests earlier days.

A file that fails (corrupt, unreadable, not matching its listing after one more try) fails its
day, not the run, and its landed copy is removed so that a rerun fetches it again; a source
that cannot be read at all stops the run (:class:`SourceUnavailableError` passes through).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from twap_pipeline.formats import FileRows, ParseError
from twap_pipeline.resources.landing import LandingArea
from twap_pipeline.resources.sources import ObjectSource, SourceIntegrityError, SourceObject

CSV_TIME = "%Y-%m-%dT%H:%M:%S%.6f%z"

Reader = Callable[[list[tuple[Path | bytes, str]], date], FileRows]
RowRules = Callable[[pl.DataFrame], pl.DataFrame]


@dataclass
class LandedFile:
    obj: SourceObject
    downloaded: bool


@dataclass
class PreparedDay:
    """A day's files ready for COPY, or why they are not (``failure``)."""

    day: date
    files: list[LandedFile] = field(default_factory=list)
    rows: pl.DataFrame = field(default_factory=pl.DataFrame)
    invalid: pl.DataFrame = field(default_factory=pl.DataFrame)
    csv: bytes = b""
    distinct: dict[str, pl.Series] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    failure: str | None = None


def csv_rows(rows: pl.DataFrame) -> bytes:
    """``rows`` (columns in table order) as the CSV that COPY reads."""
    buffer = io.BytesIO()
    rows.write_csv(buffer, include_header=False, datetime_format=CSV_TIME)
    return buffer.getvalue()


def _download_verified(
    source: ObjectSource, landing: LandingArea, day: date, obj: SourceObject
) -> Path:
    """Download ``obj``; an integrity failure is tried once more before it fails the file."""
    try:
        return landing.receive(day, obj, lambda dest: source.download(obj, dest))
    except SourceIntegrityError:
        return landing.receive(day, obj, lambda dest: source.download(obj, dest))


def prepare_day(
    source: ObjectSource,
    landing: LandingArea,
    read: Reader,
    row_rules: RowRules,
    day: date,
    objects: list[SourceObject],
    stopping: threading.Event,
) -> PreparedDay:
    """``stopping`` is set when the run ends early: no further file is fetched."""
    prepared = PreparedDay(day)
    paths: list[tuple[Path | bytes, str]] = []
    for obj in objects:
        if stopping.is_set():
            prepared.failure = "the run stopped before this day"
            return prepared
        path = landing.reusable(day, obj)
        prepared.files.append(LandedFile(obj, downloaded=path is None))
        if path is None:
            try:
                path = _download_verified(source, landing, day, obj)
            except SourceIntegrityError as exc:
                prepared.failure = str(exc)
                return prepared
        paths.append((path, obj.key))
    try:
        parsed = read(paths, day)
    except ParseError as exc:
        bad = next((o for o in objects if o.key == exc.file), None)
        if bad is not None:
            landing.discard(day, bad)
        prepared.failure = str(exc)
        return prepared
    prepared.rows = parsed.rows
    prepared.invalid = row_rules(parsed.rows)
    prepared.csv = csv_rows(parsed.rows)
    prepared.unknown_columns = parsed.unknown_columns
    prepared.missing_columns = parsed.missing_columns
    return prepared
