"""Slice fills: the trades a TWAP made, read from the exchange's fills archives.

Two layouts carry them (docs/data.md):

- the node's ``node_fills_by_block/hourly/YYYYMMDD/H.lz4``: LZ4-framed JSON lines, one block a
  line, ``{"local_time", "block_time", "block_number", "events": [[user, fill], ...]}``;
- Artemis' parquet mirror ``raw/node_fills/hourly/YYYY/MM/DD/HH/*.parquet``: one fill a row,
  the fill's fields as columns (camelCase or snake_case) beside ``user`` and the block's.

Only TWAP slice fills (``twapId`` set) are kept. A day of the exchange's fills is large and
almost none of it is a TWAP slice, so JSON lines are scanned as they are decompressed, a chunk
at a time (memory bounded by the chunk, whatever the file's size): a regular expression finds
each ``"twapId":`` that is not null, the fill object around it is cut out unparsed, and a
file's cut fills are decoded by polars in one call. Nothing else is parsed; a line not shaped as
the node writes it is parsed whole in Python, whose errors name what is wrong.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
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
# A line worth parsing: it names a TWAP (``"twapId": null`` is the counterparty's side).
TWAP_FILL = re.compile(rb'"twapId"\s*:\s*[0-9]')
CHUNK_BYTES = 8 << 20
# A block's number and time, as every fill row of the block carries them; the time as its
# text while it waits to be parsed with the day's others.
Block = tuple[int | None, datetime | None]
BlockText = tuple[int | None, str | None]
BLOCK_TIME = re.compile(rb'"block_time"\s*:\s*"([^"]*)"')
BLOCK_NUMBER = re.compile(rb'"block_number"\s*:\s*([0-9]+)')
# Every TWAP slice fill's hash (docs/data.md); its counterparty's has it too.
ZERO_HASH = b'"0x' + b"0" * 64 + b'"'
# The first VERIFY_BYTES of one chunk in VERIFY_EVERY of a file are also searched in full,
# to prove the hash search found every TWAP fill there (about 2% of the bytes).
VERIFY_EVERY = 8
VERIFY_BYTES = 1 << 20
# A fill's user, right before it: ``["0x...",`` (how far back it is looked for).
USER_BEFORE = re.compile(rb'\[\s*"([^"\\]*)"\s*,\s*$')
USER_REACH = 128


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


@dataclass
class TwapLine:
    """A line with TWAP fills that is not shaped as the node writes it, to be parsed whole,
    and where it starts in the decompressed file (errors name it: counting lines would cost a
    pass over every byte)."""

    at: int
    text: bytes


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


def _line_rows(line: TwapLine, key: str) -> list[tuple[Any, ...]]:
    """The TWAP fills of one line, parsed whole in Python (whose errors name what is wrong)."""
    try:
        parsed = json.loads(line.text)
        block, events = _block(parsed, key), parsed["events"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(
            key, None, f"the line at byte {line.at}: not a block of fills ({exc})"
        ) from None
    rows = []
    for event in events:
        if not isinstance(event, list) or len(event) != 2:
            raise ParseError(key, "events", f"the line at byte {line.at}: not a [user, fill] pair")
        user, fill = event
        if isinstance(fill, dict) and fill.get("twapId") is not None:
            rows.append(_fill_row(user, fill, block, key))
    return rows


@dataclass
class CutFills:
    """TWAP fill objects cut out of one file's JSON lines, with their user and block, to be
    decoded by polars in one call."""

    key: str
    users: list[str] = field(default_factory=list)
    texts: list[bytes] = field(default_factory=list)
    blocks: list[BlockText] = field(default_factory=list)

    def add(self, user: str, text: bytes, block: BlockText) -> None:
        self.users.append(user)
        self.texts.append(text)
        self.blocks.append(block)

    def drop_from(self, index: int) -> None:
        """Forget the fills cut from ``index`` on (their line is parsed in Python instead)."""
        for values in (self.users, self.texts, self.blocks):
            del values[index:]

    def decoded(self) -> pl.DataFrame:
        """The fills in ``RAW_SCHEMA``. Anything polars would not read exactly (a decimal as
        a JSON number, a field of another type) is read again in Python, whose errors name
        the field."""
        if not self.texts:
            return pl.DataFrame(schema=RAW_SCHEMA)
        try:
            strings = pl.Series("fill", self.texts, dtype=pl.Binary).cast(pl.String)
            if strings.str.contains(DECIMAL_AS_NUMBER).any():
                raise ValueError("a decimal as a JSON number")
            fills = strings.str.json_decode(FILL_STRUCT).struct.unnest()
            numbers, times = zip(*self.blocks, strict=True)
            block_times = pl.Series("block_time", times, dtype=pl.String).str.to_datetime(
                time_unit="us", time_zone="UTC"
            )
        except (pl.exceptions.PolarsError, ValueError):
            return self._in_python()
        for _, name, required in FIELDS:
            if required and fills[name].null_count():
                tid = fills.filter(pl.col(name).is_null())["tid"][0]
                raise ParseError(self.key, name, f"missing in a TWAP fill (tid {tid})")
        return fills.select(
            pl.Series("wallet", [u.lower() for u in self.users], dtype=pl.String),
            *(pl.col(name).alias(column) for column, name, _ in FIELDS),
            pl.Series("block_number", numbers, dtype=pl.Int64),
            block_times,
        )

    def _in_python(self) -> pl.DataFrame:
        rows = []
        for user, text, (number, when) in zip(self.users, self.texts, self.blocks, strict=True):
            try:
                fill = json.loads(text)
            except ValueError as exc:
                raise ParseError(self.key, None, f"a TWAP fill that is not JSON ({exc})") from None
            block_time = _time(when, self.key, "block_time") if when is not None else None
            rows.append(_fill_row(user, fill, (number, block_time), self.key))
        return _raw_frame(rows, self.key)


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


# Where a TWAP fill is: its "twapId" key, and the start and end of its fill object.
Found = tuple[int, int, int]


def _fill_at(data: bytes, begin: int, end: int, inside: int) -> tuple[int, int]:
    """The start and end of the fill object around ``inside`` (a fill holds no nested
    object); -1 where there is none."""
    stop = data.find(b"}", inside, end)
    return data.rfind(b"{", begin, inside), stop + 1 if stop >= 0 else -1


def _twaps_by_hash(data: bytes, begin: int, end: int) -> list[Found]:
    """The TWAP fills of ``data[begin:end]``, found through their all-zero hash: a literal
    search skips the other fills many times faster than a regular expression can look at
    them."""
    found = []
    at = data.find(ZERO_HASH, begin, end)
    while at >= 0:
        start, stop = _fill_at(data, begin, end, at)
        if start >= 0 and stop >= 0 and (twap := TWAP_FILL.search(data, start, stop)):
            found.append((twap.start(), start, stop))
        at = data.find(ZERO_HASH, at + len(ZERO_HASH), end)
    return found


def _twaps_in_full(data: bytes, begin: int, end: int) -> list[Found]:
    found = []
    for twap in TWAP_FILL.finditer(data, begin, end):
        found.append((twap.start(), *_fill_at(data, begin, end, twap.start())))
    return found


def _twaps(data: bytes, begin: int, end: int, by_hash: bool, verify: bool) -> list[Found]:
    if not by_hash:
        return _twaps_in_full(data, begin, end)
    found = _twaps_by_hash(data, begin, end)
    if verify:
        sample_end = min(end, begin + VERIFY_BYTES)
        in_sample = sum(1 for at, _, _ in found if at < sample_end)
        if in_sample != sum(1 for _ in TWAP_FILL.finditer(data, begin, sample_end)):
            raise HashAssumptionBroken
    return found


def scan_json_lines(
    stream: IO[bytes], key: str, cut: CutFills, by_hash: bool = True
) -> list[TwapLine]:
    """Find the TWAP fills of a JSON lines file without parsing it: each fill object (the
    ``{...}`` around a ``"twapId"`` that is not null; a fill holds no nested object) and its
    user (right before it: ``["<user>",``) go to ``cut``, with the block's number and time.
    Lines not shaped so are returned whole, to be parsed in Python. Lines without a TWAP fill
    are never split out.

    ``by_hash``: TWAP fills are found through their all-zero hash (every TWAP slice fill has
    one: docs/data.md); the start of every ``VERIFY_EVERY``-th chunk of the file, the first
    included, is also searched in full, and a TWAP fill the hash search missed raises
    :class:`HashAssumptionBroken` (the caller then scans the file in full)."""
    slow: list[TwapLine] = []
    for chunk, offset, data, begin, end in _chunks(stream, key):
        line_stop = -1
        for at, start, stop in _twaps(data, begin, end, by_hash, chunk % VERIFY_EVERY == 0):
            if at >= line_stop:
                line_start = max(begin, data.rfind(b"\n", begin, at) + 1)
                line_stop = data.find(b"\n", at, end)
                line_stop = end if line_stop < 0 else line_stop
                events_at = data.find(b'"events"', line_start, line_stop)
                fast, cut_before = events_at >= 0, len(cut.texts)
                if fast:
                    number = BLOCK_NUMBER.search(data, line_start, line_stop)
                    when = BLOCK_TIME.search(data, line_start, line_stop)
                    block = (int(number[1]) if number else None, when[1].decode() if when else None)
            if not fast:
                continue
            user = None
            if events_at < start and 0 < stop <= line_stop:
                user = USER_BEFORE.search(data, max(events_at, start - USER_REACH), start)
            if user is None:
                cut.drop_from(cut_before)
                fast = False
                slow.append(TwapLine(offset + line_start - begin, data[line_start:line_stop]))
                continue
            cut.add(user[1].decode(), data[start:stop], block)
    return slow


def _json_frame(path: Path, container: str, key: str) -> pl.DataFrame:
    """The file's TWAP fills: cut out and decoded together, and the lines not shaped for
    that parsed in Python. Decoded file by file, what decoding holds stays bounded by one
    file's fills."""
    cut = CutFills(key)
    try:
        with _stream(path, container) as stream:
            lines = scan_json_lines(stream, key, cut)
    except HashAssumptionBroken:
        cut = CutFills(key)
        with _stream(path, container) as stream:
            lines = scan_json_lines(stream, key, cut, by_hash=False)
    rows = [row for line in lines for row in _line_rows(line, key)]
    return pl.concat([cut.decoded(), _raw_frame(rows, key)])


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
    """The TWAP slice fills of a day's files as rows of partition ``day``."""
    frames = []
    for source, key in files:
        if isinstance(source, bytes):
            raise TypeError("fills are read from landed files, never from memory")
        container = _container(source, key)
        if container == "parquet":
            with source.open("rb") as stream:
                frame = _parquet_frame(stream, key)
        else:
            frame = _json_frame(source, container, key)
        if frame.height:
            frames.append(frame.with_columns(s3_object_key=pl.lit(key)))
    if not frames:
        return FileRows(empty_fills())
    rows = pl.concat(frames).with_columns(
        fill_time=pl.from_epoch("fill_time", time_unit="ms").dt.replace_time_zone("UTC"),
        partition_date=pl.lit(day, dtype=pl.Date),
    )
    return FileRows(_checked(rows.select(FILL_COLUMNS).cast(FILL_SCHEMA)))  # type: ignore[arg-type]
