"""The node's JSON lines: one event per line, or one block per line
``{"local_time", "block_time", "block_number", "events": [event, ...]}`` (most blocks empty).

Read with polars, never line by line in Python, and a day's files at once (the fixed cost of
each polars call is then paid once a day, not once an hour): the lines are split without
parsing any JSON, blocks with an empty ``events`` list are dropped as text, each remaining
block's events are cut out with JSON paths (polars' reader is several times slower on nested
lists of objects than on flat lines), and all events are decoded in one call. Each event keeps
its source text (``raw``), its file's key, and its block's number (and time, when it has none).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import polars as pl

from twap_pipeline.formats.base import ParseError

EMPTY_BLOCK = r'"events"\s*:\s*\[\s*\]'
BLOCK_LINE = r'"events"\s*:\s*\['
BLOCK_COLUMNS = ("local_time", "block_time", "block_number")
# One event's source text, where it came from, and its block's number and time.
_EVENT_TEXTS = pl.DataFrame(
    schema=dict.fromkeys(["key", "event", "block_number", "block_time"], pl.String)
)


@dataclass
class JsonEvents:
    """The events of some JSON lines files: decoded, as text, and where each came from."""

    frame: pl.DataFrame
    raw: pl.Series
    keys: pl.Series


def _lines(files: list[tuple[str, bytes]]) -> pl.DataFrame:
    """Every non-blank line of the files as a string, with its file's key; no JSON parsed."""
    texts, keys = [], []
    for key, data in files:
        try:
            texts.append(data.decode())
        except UnicodeDecodeError as exc:
            raise ParseError(key, None, f"not UTF-8 text ({exc})") from None
        keys.append(key)
    lines = pl.DataFrame({"line": texts, "key": keys}).with_columns(pl.col("line").str.split("\n"))
    lines = lines.explode("line")
    return lines.filter(pl.col("line").str.strip_chars() != "")


def _read(texts: pl.Series) -> pl.DataFrame:
    # Every line is read before the types are settled: a status is a string in some events and
    # an object in others.
    payload = texts.str.join("\n").item().encode()
    return pl.read_ndjson(io.BytesIO(payload), infer_schema_length=None)


def _decode(texts: pl.Series, keys: pl.Series) -> pl.DataFrame:
    """One call for all events; when it fails, the files are decoded one by one to name the
    one at fault."""
    try:
        return _read(texts)
    except Exception as exc:  # polars raises several types for malformed JSON
        failure = exc
    for key in keys.unique(maintain_order=True):
        mine = texts.filter(keys == key)
        try:
            _read(mine)
        except Exception as exc:  # polars raises several types for malformed JSON
            raise ParseError(key, None, f"not valid JSON lines ({exc})") from None
    raise ParseError(keys[0], None, f"not valid JSON lines ({failure})")


def _block_events(blocks: pl.DataFrame) -> pl.DataFrame:
    """One row per event of the blocks: its JSON text, its file's key, and its block's number
    and time. A block the node wrote (compact, ``events`` last) holding one event gives it by
    cutting the text; any other block is taken apart with JSON paths."""
    line = pl.col("line")
    count = line.str.count_matches(r'"twap_id"\s*:')
    body = line.str.strip_chars_end()
    cut = body.str.splitn('"events":[', 2).struct.field("field_1").str.strip_suffix("]}")
    block = blocks.select(
        "key",
        block_number=line.str.extract(r'"block_number"\s*:\s*(\d+)', 1),
        block_time=line.str.extract(r'"block_time"\s*:\s*"([^"]*)"', 1),
        count=count,
        event=pl.when((count == 1) & body.str.ends_with("]}")).then(cut),
        line=line,
    ).with_row_index("block")
    simple = block.filter(pl.col("event").is_not_null()).with_columns(position=pl.lit(0))
    others = block.filter(pl.col("event").is_null() & (pl.col("count") > 0))
    largest = others["count"].max()
    most = int(largest) if isinstance(largest, int) else 0
    taken_apart = [
        others.with_columns(
            event=pl.col("line").str.json_path_match(f"$.events[{n}]"), position=pl.lit(n)
        )
        for n in range(most)
    ]
    found = pl.concat([simple, *taken_apart]).filter(pl.col("event").is_not_null())
    return found.sort("block", "position").select(_EVENT_TEXTS.columns)


def read_json_lines(files: list[tuple[str, bytes]]) -> JsonEvents:
    """The events of JSON lines files (key, content), each file one event a line or one block
    a line."""
    lines = _lines(files)
    # The node writes compact JSON: the literal test drops nearly every empty block cheaply,
    # the pattern then catches any spaced-out one.
    compact = lines.filter(~pl.col("line").str.contains('"events":[]', literal=True))
    with_events = compact.filter(~pl.col("line").str.contains(EMPTY_BLOCK))
    is_block = with_events["line"].str.contains(BLOCK_LINE)
    odd = with_events.filter(~is_block & pl.col("line").str.contains(r'"events"\s*:'))
    if odd.height:
        line = odd["line"][0]
        raise ParseError(odd["key"][0], "events", f"expected a list of events, e.g. {line[:80]!r}")
    singles = with_events.filter(~is_block).select(
        "key",
        event="line",
        block_number=pl.lit(None, pl.String),
        block_time=pl.lit(None, pl.String),
    )
    found = pl.concat([singles, _block_events(with_events.filter(is_block))])
    if found.is_empty():
        return JsonEvents(pl.DataFrame(), pl.Series("raw", [], pl.String), found["key"])
    events = _decode(found["event"], found["key"])
    if "time" not in events.columns:
        events = events.with_columns(time=found["block_time"])
    if found["block_number"].is_not_null().any():
        events = events.with_columns(
            block_number=found["block_number"].cast(pl.Int64, strict=False)
        )
    return JsonEvents(_status_as_text(events), found["event"].alias("raw"), found["key"])


def _status_as_text(events: pl.DataFrame) -> pl.DataFrame:
    """Statuses that are objects (the node's ``{"error": ...}``, the API's ``{"status": ...}``)
    as their JSON text, whether polars read the column as text (objects mixed with strings) or
    as a struct (objects only), so that every file reads alike."""
    if isinstance(events.schema.get("status"), pl.Struct):
        return events.with_columns(pl.col("status").struct.json_encode())
    return events
