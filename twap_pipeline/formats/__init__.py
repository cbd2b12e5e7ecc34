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
    """One file's rows as its format holds them, and each row's source JSON."""

    key: str
    frame: pl.DataFrame
    raw: pl.Series


def read_source(source: Path | bytes, key: str) -> SourceFrame:
    """Read one file (a landed path, or its bytes) listed as ``key``, whatever its format."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    kind, payload = unwrap(data, key)
    if kind == "json_lines":
        frame, raw = read_json_lines(payload, key)
        return SourceFrame(key, frame, raw if raw is not None else pl.Series("raw", [], pl.String))
    try:
        frame = pl.read_parquet(io.BytesIO(payload))
    except Exception as exc:  # polars raises several types for corrupt files
        raise ParseError(key, None, f"not a readable parquet file ({exc})") from exc
    return SourceFrame(key, frame, raw_json(frame))


def read_status_files(files: list[tuple[Path | bytes, str]], day: date) -> FileRows:
    """The TWAP status events of a day's files as rows of partition ``day``.

    The files are normalised together (the hours of a day, as a rule, differ at most in
    columns that some hours lack): the work is per day, not per file. When that fails, each
    file is normalised alone, so that the error names the file at fault.
    """
    sources = [read_source(data, key) for data, key in files]
    filled = [s for s in sources if s.frame.height]
    if not filled:
        return FileRows(empty_rows())
    if len(filled) > 1:
        keys = pl.Series("s3_object_key", [s.key for s in filled for _ in range(s.frame.height)])
        raw = pl.concat([s.raw for s in filled])
        try:
            frame = pl.concat([s.frame for s in filled], how="diagonal_relaxed")
            return normalise(frame, f"{len(filled)} files of {day}", day, raw, keys)
        except (ParseError, pl.exceptions.PolarsError):
            pass
    parsed = [normalise(s.frame, s.key, day, s.raw) for s in filled]
    return FileRows(
        pl.concat([p.rows for p in parsed]),
        list(dict.fromkeys(c for p in parsed for c in p.unknown_columns)),
        list(dict.fromkeys(c for p in parsed for c in p.missing_columns)),
    )


def read_status_file(source: Path | bytes, key: str, day: date) -> FileRows:
    """The TWAP status events of one file, as rows of partition ``day``."""
    return read_status_files([(source, key)], day)
