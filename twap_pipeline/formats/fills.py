"""Slice fills: the trades a TWAP made, read from the exchange's fills archives.

Two layouts carry them (docs/data.md):

- the node's ``node_fills_by_block/hourly/YYYYMMDD/H.lz4``: LZ4-framed JSON lines, one block a
  line, ``{"local_time", "block_time", "block_number", "events": [[user, fill], ...]}``;
- Artemis' parquet mirror ``raw/node_fills/hourly/YYYY/MM/DD/HH/*.parquet``: one fill a row,
  the fill's fields as columns (camelCase or snake_case) beside ``user`` and the block's.

Only TWAP slice fills (``twapId`` set) are kept. A day of the exchange's fills is large and
almost none of it is a TWAP slice, so JSON lines are scanned as they are decompressed, a chunk
at a time (memory bounded by the chunk, whatever the file's size): the lines holding a TWAP
fill are found without parsing any line, and polars cuts the TWAP fills out of them and decodes
them, one query a file, on a worker thread while the next file is scanned. Nothing else is
parsed; a file whose lines are not shaped as the node writes them is parsed in Python, whose
errors name what is wrong.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
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
INTEGER_COLUMNS = ("twap_id", "tid", "oid", "fill_time")  # fill_time: ms since the epoch
# The fill object as polars decodes it (source field names).
FILL_STRUCT = pl.Struct(
    {
        name: pl.Int64 if column in INTEGER_COLUMNS else FILL_SCHEMA[column]
        for column, name, _ in FIELDS
    }
)
DECIMAL_AS_NUMBER = r'"(?:px|sz|startPosition|closedPnl|fee|builderFee)"\s*:\s*-?[0-9]'
# A fill as read: the wallet, the fill's fields, its block's number and time.
RAW_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "wallet": pl.String,
    **{c: (pl.Int64 if c == "fill_time" else FILL_SCHEMA[c]) for c, _, _ in FIELDS},
    "block_number": pl.Int64,
    "block_time": pl.Datetime("us", "UTC"),
}
DECIMAL_TEXT = re.compile(r"^-?\d+(\.\d+)?$")
# A fill that names a TWAP (``"twapId": null`` is the counterparty's side).
TWAP_FILL = re.compile(rb'"twapId"\s*:\s*[0-9]')
# Read a file this much at a time: a chunk stays in the CPU's cache while it is searched.
CHUNK_BYTES = 256 << 10
# A block's number and time, as every fill row of the block carries them.
Block = tuple[int | None, datetime | None]
# Every TWAP slice fill's hash (docs/data.md); its counterparty's has it too.
ZERO_HASH = b'"0x' + b"0" * 64 + b'"'
# The first VERIFY_BYTES of one chunk in VERIFY_EVERY of a file are also searched in full,
# to prove the hash search found every line with a TWAP fill there (about 2% of the bytes).
VERIFY_EVERY = 8
VERIFY_BYTES = 32 << 10
# A line as the node writes it, for polars: its block's number and time, and its events
# ``["<user>",{fill}]`` (a fill holds no nested object).
LINE_BLOCK_NUMBER = r'"block_number"\s*:\s*([0-9]+)'
LINE_BLOCK_TIME = r'"block_time"\s*:\s*"([^"]*)"'
LINE_TWAP_ID = TWAP_FILL.pattern.decode()
USER_TEXT = r'^"[^"\\]*"$'


def _container(path: Path, key: str) -> str:
    """``parquet``, or how the JSON lines are compressed (``lz4``, ``gzip``, ``plain``), told
    by the file's first bytes."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic.startswith(PARQUET_MAGIC):
        return "parquet"
    if magic == LZ4_FRAME_MAGIC:
        return "lz4"
    if magic.startswith(GZIP_MAGIC):
        return "gzip"
    if magic.strip() and not magic.lstrip().startswith(b"{"):
        raise ParseError(key, None, f"not parquet, JSON lines, LZ4 or gzip (starts {magic!r})")
    return "plain"


def _stream(path: Path, container: str) -> BinaryIO:
    """The file's content, decompressed as it is read."""
    if container == "lz4":
        return lz4.frame.open(path, "rb")
    if container == "gzip":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


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


def _fill_row(user: Any, fill: Any, block: Block, key: str) -> tuple[Any, ...]:
    """One TWAP fill in ``RAW_SCHEMA``'s order, its values checked for their kind."""
    if not isinstance(fill, dict) or not isinstance(user, str):
        raise ParseError(key, "events", f"not a [user, fill] pair: {[user, fill]!r:.120}")
    values: list[Any] = [user.lower()]
    for column, name, required in FIELDS:
        value = fill.get(name)
        if value is None:
            if required:
                raise ParseError(key, name, f"missing in a TWAP fill (tid {fill.get('tid')})")
        elif column in DECIMAL_COLUMNS and not isinstance(value, str):
            raise ParseError(key, name, f"a JSON number ({value!r:.40}), not exact decimal text")
        elif column in INTEGER_COLUMNS and (type(value) is not int):
            if column != "fill_time":
                raise ParseError(key, name, f"not an integer: {value!r:.40}")
            value = int(_time(value, key, name).timestamp() * 1000)
        values.append(value)
    values += block
    return tuple(values)


def _block(value: Any, key: str) -> Block:
    if not isinstance(value, dict):
        raise ParseError(key, None, f"not a block of fills: {value!r:.80}")
    number, when = value.get("block_number"), value.get("block_time")
    return number, (_time(when, key, "block_time") if when is not None else None)


def _line_rows(at: int, text: bytes, key: str) -> list[tuple[Any, ...]]:
    """The TWAP fills of the line starting at byte ``at``, parsed whole in Python (whose
    errors name what is wrong)."""
    try:
        parsed = json.loads(text)
        block, events = _block(parsed, key), parsed["events"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(
            key, None, f"the line at byte {at}: not a block of fills ({exc})"
        ) from None
    rows = []
    for event in events:
        if not isinstance(event, list) or len(event) != 2:
            raise ParseError(key, "events", f"the line at byte {at}: not a [user, fill] pair")
        user, fill = event
        if isinstance(fill, dict) and fill.get("twapId") is not None:
            rows.append(_fill_row(user, fill, block, key))
    return rows


@dataclass
class TwapLines:
    """The lines of one JSON lines file that hold a TWAP fill, each with where it starts in
    the decompressed file (errors name it: counting lines would cost a pass over every
    byte)."""

    key: str
    starts: list[int] = field(default_factory=list)
    texts: list[bytes] = field(default_factory=list)

    def add(self, at: int, line: bytes) -> None:
        self.starts.append(at)
        self.texts.append(line)

    def rows(self) -> pl.DataFrame:
        """The lines' TWAP fills in ``RAW_SCHEMA``, cut out and decoded by polars. Where that
        would not be exact (a line not shaped as the node writes it, a decimal as a JSON
        number, a field of another type), the file's lines are parsed in Python instead, whose
        errors name what is wrong."""
        if not self.starts:
            return pl.DataFrame(schema=RAW_SCHEMA)
        try:
            return self._decoded()
        except (pl.exceptions.PolarsError, ValueError):
            rows = [
                row
                for at, text in zip(self.starts, self.texts, strict=True)
                for row in _line_rows(at, text, self.key)
            ]
            return _raw_frame(rows, self.key)

    def _decoded(self) -> pl.DataFrame:
        """Each line split into its events at ``[`` (neither a user nor a fill holds one), each
        event that names a TWAP cut into its user (``"<user>",``) and its fill (``{...}``),
        and the fills decoded: one polars query, which lets go of the GIL once. Every line must
        be a block of events and every fill that names a TWAP must come out so, or the file is
        parsed in Python."""
        line, event = pl.col("line"), pl.col("event")
        lines = (
            pl.LazyFrame({"line": pl.Series(self.texts, dtype=pl.Binary)})
            .with_columns(line.cast(pl.String))
            .select(
                line.str.extract(LINE_BLOCK_NUMBER).cast(pl.Int64).alias("block_number"),
                line.str.extract(LINE_BLOCK_TIME)
                .str.to_datetime(time_unit="us", time_zone="UTC")
                .alias("block_time"),
                line.str.split("[").alias("event"),
                line.str.count_matches(LINE_TWAP_ID).alias("twaps"),
                line.str.contains('"events"', literal=True).alias("is_block"),
            )
        )
        opening = event.str.find("{", literal=True)
        closing = event.str.find("}", literal=True)
        fill = event.str.slice(opening, closing - opening + 1)
        user = event.str.slice(0, opening).str.strip_chars(", ")
        events = (
            lines.drop("twaps", "is_block")
            .explode("event")
            .filter(event.str.contains(LINE_TWAP_ID))
            .select(user.alias("user"), fill.alias("fill"), "block_number", "block_time")
        )
        checks = events.select(
            pl.col("user").str.contains(USER_TEXT).all().alias("users_shaped"),
            pl.col("fill").str.contains(LINE_TWAP_ID).sum().alias("twaps_cut"),
            pl.col("fill").str.contains(DECIMAL_AS_NUMBER).any().alias("decimal_as_number"),
        ).join(lines.select(pl.col("twaps").sum(), pl.col("is_block").all()), how="cross")
        fills = events.with_columns(pl.col("fill").str.json_decode(FILL_STRUCT)).select(
            pl.col("user").str.strip_chars('"').str.to_lowercase().alias("wallet"),
            *(pl.col("fill").struct.field(name).alias(column) for column, name, _ in FIELDS),
            "block_number",
            "block_time",
        )
        rows, verdict = pl.collect_all([fills, checks])
        found = verdict.row(0, named=True)
        shaped = found["is_block"] and found["users_shaped"]
        if not shaped or found["twaps_cut"] != found["twaps"]:
            raise ValueError("lines not shaped as the node writes them")
        if found["decimal_as_number"]:
            raise ValueError("a decimal as a JSON number")
        for column, name, required in FIELDS:
            if required and rows[column].null_count():
                tid = rows.filter(pl.col(column).is_null())["tid"][0]
                raise ParseError(self.key, name, f"missing in a TWAP fill (tid {tid})")
        return rows


def _chunks(stream: IO[bytes], key: str) -> Iterator[tuple[int, int, bytes, int, int]]:
    """(number of the chunk read, offset in the decompressed file of ``data[start]``, data,
    start, end), where ``data[start:end]`` is whole lines. A chunk is not copied to join it to
    the line the last one left unfinished: that line is yielded on its own first."""
    carry = b""
    offset = 0
    number = -1
    while True:
        try:
            chunk = stream.read(CHUNK_BYTES)
        except (OSError, EOFError, RuntimeError) as exc:
            raise ParseError(key, None, f"not a readable compressed file ({exc})") from None
        number += 1
        if not chunk:
            if carry:
                yield number, offset, carry, 0, len(carry)
            return
        first = chunk.find(b"\n") + 1
        if not first:
            carry += chunk  # a line longer than a chunk
            continue
        head = carry + chunk[:first]
        yield number, offset, head, 0, len(head)
        offset += len(head)
        last = chunk.rfind(b"\n") + 1
        if last > first:
            yield number, offset, chunk, first, last
            offset += last - first
        carry = chunk[last:]


class HashAssumptionBroken(Exception):
    """A TWAP fill whose hash is not all zeros: the file must be scanned in full."""


def _next_zero_hash(data: bytes, at: int, end: int) -> int:
    return data.find(ZERO_HASH, at, end)


def _next_twap_fill(data: bytes, at: int, end: int) -> int:
    found = TWAP_FILL.search(data, at, end)
    return found.start() if found else -1


def _lines_with(
    data: bytes, begin: int, end: int, find: Callable[[bytes, int, int], int]
) -> list[tuple[int, int]]:
    """The start and end of each line of ``data[begin:end]`` (whole lines) in which ``find``
    (the next position in ``data[at:end]``, or -1) finds something."""
    bounds = []
    at = find(data, begin, end)
    while at >= 0:
        start = max(begin, data.rfind(b"\n", begin, at) + 1)
        stop = data.find(b"\n", at, end)
        stop = end if stop < 0 else stop
        bounds.append((start, stop))
        at = find(data, stop, end)
    return bounds


def scan_json_lines(stream: IO[bytes], key: str, lines: TwapLines, by_hash: bool = True) -> None:
    """Put the lines of a JSON lines file that hold a TWAP fill in ``lines``, without parsing
    any line: other lines are never split out.

    ``by_hash``: the lines are found through the all-zero hash of every TWAP slice fill
    (docs/data.md), a literal search that skips the other fills many times faster than a
    regular expression can look at them. The start of every ``VERIFY_EVERY``-th chunk of the
    file, the first included, is also searched in full, and a line with a TWAP fill the hash
    search missed raises :class:`HashAssumptionBroken` (the caller then scans the file in
    full)."""
    for chunk, offset, data, begin, end in _chunks(stream, key):
        if not by_hash:
            bounds = _lines_with(data, begin, end, _next_twap_fill)
        else:
            bounds = _lines_with(data, begin, end, _next_zero_hash)
            if chunk % VERIFY_EVERY == 0:
                sample_end = min(end, begin + VERIFY_BYTES)
                sampled = _lines_with(data, begin, sample_end, _next_twap_fill)
                if not {start for start, _ in sampled} <= {start for start, _ in bounds}:
                    raise HashAssumptionBroken
        for start, stop in bounds:
            lines.add(offset + start - begin, data[start:stop])


def _scan_file(path: Path, container: str, key: str) -> TwapLines:
    """The lines of the file that hold a TWAP fill."""
    lines = TwapLines(key)
    try:
        with _stream(path, container) as stream:
            scan_json_lines(stream, key, lines)
    except HashAssumptionBroken:
        lines = TwapLines(key)
        with _stream(path, container) as stream:
            scan_json_lines(stream, key, lines, by_hash=False)
    return lines


def _raw_frame(rows: list[tuple[Any, ...]], key: str) -> pl.DataFrame:
    try:
        return pl.DataFrame(rows, schema=RAW_SCHEMA, orient="row")
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as exc:
        raise ParseError(key, None, f"a TWAP fill of unexpected types ({exc})") from None


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _parquet_frame(stream: IO[bytes], key: str) -> pl.DataFrame:
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
        if isinstance(fill["time"], datetime):
            fill["time"] = int(fill["time"].replace(tzinfo=UTC).timestamp() * 1000)
        when = record.get(columns.get("block_time", ""))
        if isinstance(when, datetime):
            when = when.isoformat()
        block = _block({"block_number": record.get(columns.get("block_number", "")),
                        "block_time": when}, key)  # fmt: skip
        rows.append(_fill_row(record.get(columns.get("user", "user")), fill, block, key))
    return _raw_frame(rows, key)


_TEXT_FIELDS = {"px", "sz", "startPosition", "closedPnl", "fee", "builderFee"}


def empty_fills() -> pl.DataFrame:
    return pl.DataFrame(schema=FILL_SCHEMA)


def _checked(rows: pl.DataFrame) -> pl.DataFrame:
    """Decimal fields must be exact decimal text (a float would lose the cents); sides B or A.
    The error names the file of the first bad value."""
    for column in DECIMAL_COLUMNS:
        bad = rows.filter(
            pl.col(column).is_not_null() & ~pl.col(column).str.contains(DECIMAL_TEXT.pattern)
        )
        if bad.height:
            raise ParseError(
                bad["s3_object_key"][0], column, f"not a decimal: {bad[column][0]!r:.80}"
            )
    bad = rows.filter(~pl.col("side").is_in(["B", "A"]))
    if bad.height:
        raise ParseError(bad["s3_object_key"][0], "side", f"not B or A: {bad['side'][0]!r:.20}")
    return rows


def read_fills_files(files: list[tuple[Path | bytes, str]], day: date) -> FileRows:
    """The TWAP slice fills of a day's files as rows of partition ``day``.

    A file's cut fills are decoded by polars on a worker thread while the next file is scanned
    (polars releases the GIL the scan holds); decoded file by file, what decoding holds stays
    bounded by one file's fills."""
    parts: list[tuple[str, pl.DataFrame | Future[pl.DataFrame]]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fills-decode") as decoder:
        for source, key in files:
            if isinstance(source, bytes):
                raise TypeError("fills are read from landed files, never from memory")
            container = _container(source, key)
            if container == "parquet":
                with source.open("rb") as stream:
                    parts.append((key, _parquet_frame(stream, key)))
            else:
                lines = _scan_file(source, container, key)
                parts.append((key, decoder.submit(lines.rows)))
        frames = [
            frame.with_columns(s3_object_key=pl.lit(key))
            for key, part in parts
            if (frame := part if isinstance(part, pl.DataFrame) else part.result()).height
        ]
    if not frames:
        return FileRows(empty_fills())
    rows = pl.concat(frames).with_columns(
        fill_time=pl.from_epoch("fill_time", time_unit="ms").dt.replace_time_zone("UTC"),
        partition_date=pl.lit(day, dtype=pl.Date),
    )
    return FileRows(_checked(rows.select(FILL_COLUMNS).cast(FILL_SCHEMA)))  # type: ignore[arg-type]
