"""Slice fills: the trades a TWAP made, read from the exchange's fills archives.

Two layouts carry them (docs/data.md):

- the node's ``node_fills_by_block/hourly/YYYYMMDD/H.lz4``: LZ4-framed JSON lines, one block a
  line, ``{"local_time", "block_time", "block_number", "events": [[user, fill], ...]}``;
- Artemis' parquet mirror ``raw/node_fills/hourly/YYYY/MM/DD/HH/*.parquet``: one fill a row,
  the fill's fields as columns (camelCase or snake_case) beside ``user`` and the block's.

Only TWAP slice fills (``twapId`` set) are kept. A day of the exchange's fills is large and
almost none of it is a TWAP slice, so JSON lines are scanned as they are decompressed, a chunk
at a time (memory bounded by the chunk, whatever the file's size), and a line is parsed only
when its text holds a ``"twapId":`` that is not null.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import lz4.frame
import polars as pl

from twap_pipeline.formats.base import FileRows, ParseError
from twap_pipeline.formats.containers import GZIP_MAGIC, LZ4_FRAME_MAGIC, PARQUET_MAGIC

# Table order (tables/fills.py copies them in this order).
FILL_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "twap_id": pl.Int64,
    "tid": pl.Int64,
    "wallet": pl.String,
    "fill_time": pl.Datetime("us", "UTC"),
    "coin": pl.String,
    "px": pl.String,
    "sz": pl.String,
    "side": pl.String,
    "dir": pl.String,
    "start_position": pl.String,
    "closed_pnl": pl.String,
    "fee": pl.String,
    "fee_token": pl.String,
    "builder_fee": pl.String,
    "oid": pl.Int64,
    "cloid": pl.String,
    "crossed": pl.Boolean,
    "block_number": pl.Int64,
    "block_time": pl.Datetime("us", "UTC"),
    "hash": pl.String,
    "s3_object_key": pl.String,
    "partition_date": pl.Date,
}
FILL_COLUMNS = list(FILL_SCHEMA)
# The fill's own fields: (column, source field, required).
FIELDS = [
    ("twap_id", "twapId", True),
    ("tid", "tid", True),
    ("fill_time", "time", True),
    ("coin", "coin", True),
    ("px", "px", True),
    ("sz", "sz", True),
    ("side", "side", True),
    ("dir", "dir", False),
    ("start_position", "startPosition", False),
    ("closed_pnl", "closedPnl", False),
    ("fee", "fee", False),
    ("fee_token", "feeToken", False),
    ("builder_fee", "builderFee", False),
    ("oid", "oid", True),
    ("cloid", "cloid", False),
    ("crossed", "crossed", False),
    ("hash", "hash", False),
]
DECIMAL_COLUMNS = ("px", "sz", "start_position", "closed_pnl", "fee", "builder_fee")
DECIMAL_TEXT = re.compile(r"^-?\d+(\.\d+)?$")
# A line worth parsing: it names a TWAP (``"twapId": null`` is the counterparty's side).
TWAP_FILL = re.compile(rb'"twapId"\s*:\s*[0-9]')
CHUNK_BYTES = 8 << 20


def _open(path: Path, key: str) -> tuple[str, BinaryIO]:
    """(kind, a stream of the decompressed content)."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic.startswith(PARQUET_MAGIC):
        return "parquet", path.open("rb")
    if magic == LZ4_FRAME_MAGIC:
        return "json_lines", lz4.frame.open(path, "rb")
    if magic.startswith(GZIP_MAGIC):
        return "json_lines", cast(BinaryIO, gzip.open(path, "rb"))
    if magic.strip() and not magic.lstrip().startswith(b"{"):
        raise ParseError(key, None, f"not parquet, JSON lines, LZ4 or gzip (starts {magic!r})")
    return "json_lines", path.open("rb")


def twap_lines(stream: IO[bytes], key: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of each line of ``stream`` that holds a TWAP fill; the others are
    never split out or parsed."""
    carry = b""
    line_number = 1  # of the first line in ``carry + chunk``
    while True:
        try:
            chunk = stream.read(CHUNK_BYTES)
        except (OSError, EOFError, RuntimeError) as exc:
            raise ParseError(key, None, f"not a readable compressed file ({exc})") from None
        data = carry + chunk if carry else chunk
        end = len(data) if not chunk else data.rfind(b"\n") + 1
        counted = skip_to = 0
        for found in TWAP_FILL.finditer(data, 0, end):
            if found.start() < skip_to:
                continue  # another TWAP fill of a line already yielded
            start = data.rfind(b"\n", 0, found.start()) + 1
            stop = data.find(b"\n", found.end(), end)
            stop = end if stop < 0 else stop
            line_number += data.count(b"\n", counted, start)
            counted = start
            yield line_number, data[start:stop]
            skip_to = stop
        line_number += data.count(b"\n", counted, end)
        carry = data[end:]
        if not chunk:
            return


def _time(value: Any, key: str, field: str) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    raise ParseError(key, field, f"not a time in ms or ISO 8601: {value!r:.80}")


def _fill_row(user: Any, fill: Any, block: dict[str, Any], key: str) -> dict[str, Any]:
    if not isinstance(fill, dict) or not isinstance(user, str):
        raise ParseError(key, "events", f"not a [user, fill] pair: {[user, fill]!r:.120}")
    row: dict[str, Any] = {"wallet": user.lower()}
    for column, name, required in FIELDS:
        value = fill.get(name)
        if value is None and required:
            raise ParseError(key, name, f"missing in a TWAP fill (tid {fill.get('tid')})")
        if column in DECIMAL_COLUMNS and value is not None and not isinstance(value, str):
            raise ParseError(key, name, f"a JSON number ({value!r:.40}), not exact decimal text")
        row[column] = value
    row["fill_time"] = _time(row["fill_time"], key, "time")
    row["block_number"] = block.get("block_number")
    when = block.get("block_time")
    row["block_time"] = _time(when, key, "block_time") if when is not None else None
    return row


def _json_rows(stream: IO[bytes], key: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in twap_lines(stream, key):
        try:
            block = json.loads(line)
            events = block["events"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ParseError(key, None, f"line {number}: not a block of fills ({exc})") from None
        for event in events:
            if not isinstance(event, list) or len(event) != 2:
                raise ParseError(key, "events", f"line {number}: not a [user, fill] pair")
            user, fill = event
            if isinstance(fill, dict) and fill.get("twapId") is not None:
                rows.append(_fill_row(user, fill, block, key))
    return rows


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _parquet_rows(stream: IO[bytes], key: str) -> list[dict[str, Any]]:
    try:
        frame = pl.read_parquet(stream)
    except Exception as exc:  # polars raises several types for corrupt files
        raise ParseError(key, None, f"not a readable parquet file ({exc})") from exc
    columns = {_snake(c): c for c in frame.columns}
    twap = columns.get("twap_id")
    if twap is None:
        raise ParseError(key, "twapId", "no such column: not a fills file")
    frame = frame.filter(pl.col(twap).is_not_null())
    rows = []
    for record in frame.iter_rows(named=True):
        fill = {name: record.get(columns.get(_snake(name), name)) for _, name, _ in FIELDS}
        fill = {k: (str(v) if k in _TEXT_FIELDS and v is not None else v) for k, v in fill.items()}
        block = {
            "block_number": record.get(columns.get("block_number", "")),
            "block_time": record.get(columns.get("block_time", "")),
        }
        if isinstance(fill["time"], datetime):
            fill["time"] = int(fill["time"].replace(tzinfo=UTC).timestamp() * 1000)
        if isinstance(block["block_time"], datetime):
            block["block_time"] = block["block_time"].isoformat()
        rows.append(_fill_row(record.get(columns.get("user", "user")), fill, block, key))
    return rows


_TEXT_FIELDS = {"px", "sz", "startPosition", "closedPnl", "fee", "builderFee"}


def empty_fills() -> pl.DataFrame:
    return pl.DataFrame(schema=FILL_SCHEMA)


def _checked(rows: pl.DataFrame, key: str) -> pl.DataFrame:
    """Decimal fields must be exact decimal text (a float would lose the cents)."""
    for column in DECIMAL_COLUMNS:
        values = rows[column].drop_nulls()
        bad = values.filter(~values.str.contains(DECIMAL_TEXT.pattern))
        if bad.len():
            raise ParseError(key, column, f"not a decimal: {bad[0]!r:.80}")
    sides = rows["side"].filter(~rows["side"].is_in(["B", "A"]))
    if sides.len():
        raise ParseError(key, "side", f"not B or A: {sides[0]!r:.20}")
    return rows


def read_fills_files(files: list[tuple[Path | bytes, str]], day: date) -> FileRows:
    """The TWAP slice fills of a day's files as rows of partition ``day``."""
    frames = []
    for source, key in files:
        if isinstance(source, bytes):
            raise TypeError("fills are read from landed files, never from memory")
        kind, stream = _open(source, key)
        with stream:
            rows = _parquet_rows(stream, key) if kind == "parquet" else _json_rows(stream, key)
        if not rows:
            continue
        try:
            frame = pl.DataFrame(
                rows, schema={c: FILL_SCHEMA[c] for c in rows[0]}, orient="row", strict=False
            )
        except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as exc:
            raise ParseError(key, None, f"a TWAP fill of unexpected types ({exc})") from None
        frame = frame.with_columns(
            s3_object_key=pl.lit(key), partition_date=pl.lit(day, dtype=pl.Date)
        )
        frames.append(_checked(frame.select(FILL_COLUMNS).cast(FILL_SCHEMA), key))  # type: ignore[arg-type]
    return FileRows(pl.concat(frames) if frames else empty_fills())
