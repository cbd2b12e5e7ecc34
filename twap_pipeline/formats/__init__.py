"""Readers of the source formats. Each turns files into the same frame shape
(``status.STATUS_COLUMNS``): parquet (flat ``state_*`` columns or a ``state`` struct) and the
node's JSON lines (one event or one block per line), either of them LZ4 or gzip compressed."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from twap_pipeline.formats.base import FileRows, ParseError
from twap_pipeline.formats.containers import unwrap
from twap_pipeline.formats.json_lines import read_json_lines
from twap_pipeline.formats.status import empty_rows, normalise, raw_json

__all__ = ["FileRows", "ParseError", "read_status_file", "read_status_files"]


@dataclass
class SourceFrame:
    """Rows as their format holds them, each row's source JSON, and each row's object key."""

    frame: pl.DataFrame
    raw: pl.Series
    keys: pl.Series


def _parquet(payload: bytes, key: str) -> SourceFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(payload))
    except Exception as exc:  # polars raises several types for corrupt files
        raise ParseError(key, None, f"not a readable parquet file ({exc})") from exc
    keys = pl.repeat(key, frame.height, dtype=pl.String, eager=True).alias("s3_object_key")
    return SourceFrame(frame, raw_json(frame), keys)


def read_sources(files: list[tuple[Path | bytes, str]]) -> list[SourceFrame]:
    """Files (a landed path, or the bytes) listed under their keys, whatever their format:
    each parquet file alone, the JSON lines files together."""
    parquet: list[SourceFrame] = []
    json_files: list[tuple[str, bytes]] = []
    for data, key in files:
        kind, payload = unwrap(data if isinstance(data, bytes) else data.read_bytes(), key)
        if kind == "parquet":
            parquet.append(_parquet(payload, key))
        elif payload.strip():
            json_files.append((key, payload))
    if not json_files:
        return parquet
    found = read_json_lines(json_files)
    return [*parquet, SourceFrame(found.frame, found.raw, found.keys)]


def read_status_files(files: list[tuple[Path | bytes, str]], day: date) -> FileRows:
    """The TWAP status events of a day's files as rows of partition ``day``; a value that
    makes polars itself fail (a panic, not an error) fails the day, naming its files."""
    try:
        return _read_status_files(files, day)
    except pl.exceptions.PanicException as exc:
        keys = ", ".join(key for _, key in files)
        raise ParseError(keys, None, f"unreadable ({exc})") from None


def _read_status_files(files: list[tuple[Path | bytes, str]], day: date) -> FileRows:
    """The TWAP status events of a day's files as rows of partition ``day``.

    The files are normalised together (the hours of a day, as a rule, differ at most in
    columns that some hours lack): the work is per day, not per file. When that fails, each
    file is normalised alone, so that the error names the file at fault.
    """
    filled = [s for s in read_sources(files) if s.frame.height]
    if not filled:
        return FileRows(empty_rows())
    keys = pl.concat([s.keys for s in filled])
    raw = pl.concat([s.raw for s in filled])
    try:
        frame = pl.concat([s.frame for s in filled], how="diagonal_relaxed")
        where = str(keys[0]) if keys.n_unique() == 1 else f"{keys.n_unique()} files of {day}"
        return normalise(frame, where, day, raw, keys)
    except (ParseError, pl.exceptions.PolarsError) as exc:
        if keys.n_unique() == 1 and isinstance(exc, ParseError):
            raise
    parsed = []
    for source in filled:
        for key in source.keys.unique(maintain_order=True):
            mine = source.keys == key
            rows = source.frame.filter(mine)
            parsed.append(normalise(rows, key, day, source.raw.filter(mine)))
    return FileRows(
        pl.concat([p.rows for p in parsed]),
        list(dict.fromkeys(c for p in parsed for c in p.unknown_columns)),
        list(dict.fromkeys(c for p in parsed for c in p.missing_columns)),
    )


def read_status_file(source: Path | bytes, key: str, day: date) -> FileRows:
    """The TWAP status events of one file, as rows of partition ``day``."""
    return read_status_files([(source, key)], day)
