"""The node's JSON lines: one event per line, or one block per line
``{"local_time", "block_time", "block_number", "events": [event, ...]}`` (most blocks empty).

Read with polars: lines whose ``events`` list is empty are dropped as text before any JSON is
parsed, then the rest is decoded in one call. The result has the source's own nesting
(``state`` a struct, ``status`` a string or an object) plus ``block_number``/``block_time``
for block files; ``status.py`` takes it from there.
"""

from __future__ import annotations

import io

import polars as pl

from twap_pipeline.formats.base import ParseError

EMPTY_BLOCK = r'"events"\s*:\s*\[\s*\]'
BLOCK_COLUMNS = ("local_time", "block_time", "block_number")


def _lines(data: bytes) -> pl.Series:
    """Every non-blank line as a string, without parsing any JSON (no quote handling: a JSON
    line cannot hold a raw control character such as the separator)."""
    frame = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        separator="\x1f",
        quote_char=None,
        new_columns=["line"],
        schema={"line": pl.String},
    )
    return frame["line"].filter(frame["line"].str.strip_chars() != "")


def read_json_lines(data: bytes, key: str) -> tuple[pl.DataFrame, pl.Series | None]:
    """(events, their source JSON) of a JSON lines file, blocks unpacked (each event keeps its
    block's number)."""
    if not data.strip():
        return pl.DataFrame(), None
    lines = _lines(data)
    with_events = lines.filter(~lines.str.contains(EMPTY_BLOCK))
    if with_events.is_empty():
        return pl.DataFrame(), None
    payload = with_events.str.join("\n").item().encode()
    try:
        frame = pl.read_ndjson(io.BytesIO(payload), infer_schema_length=None)
    except Exception as exc:  # polars raises several types for malformed JSON
        raise ParseError(key, None, f"not valid JSON lines ({exc})") from None
    if "events" not in frame.columns:
        return _status_as_text(frame), event_json(frame)
    if not isinstance(frame.schema["events"], pl.List):
        raise ParseError(
            key, "events", f"expected a list of events, found {frame.schema['events']}"
        )
    blocks = frame.select(*(c for c in BLOCK_COLUMNS if c in frame.columns), "events")
    events = blocks.explode("events").filter(pl.col("events").is_not_null())
    if not isinstance(events.schema["events"], pl.Struct):
        return pl.DataFrame(), None
    events = events.unnest("events")
    raw = event_json(events.drop(*(c for c in BLOCK_COLUMNS if c in events.columns)))
    return _status_as_text(events), raw


def _status_as_text(events: pl.DataFrame) -> pl.DataFrame:
    """A file whose statuses are all objects has a struct column: its JSON text instead, as
    in files that mix objects and strings, so that the hours of a day read alike."""
    if isinstance(events.schema.get("status"), pl.Struct):
        return events.with_columns(pl.col("status").struct.json_encode())
    return events


def event_json(events: pl.DataFrame) -> pl.Series:
    """Each event as JSON. Where some events' ``status`` is an object and others' a string,
    polars reads the column as strings holding the objects' JSON text: such a status goes back
    into the event as the object it was."""
    if events.schema.get("status") != pl.String:
        return events.select(pl.struct(pl.all()).struct.json_encode()).to_series()
    status = pl.col("status")
    quoted = pl.struct(status).struct.json_encode().str.slice(len('{"status":')).str.head(-1)
    value = pl.when(status.str.starts_with("{")).then(status).otherwise(quoted)
    others = [c for c in events.columns if c != "status"]
    head = (
        pl.struct(others).struct.json_encode().str.head(-1) + pl.lit(",") if others else pl.lit("{")
    )
    return events.select(pl.concat_str(head, pl.lit('"status":'), value, pl.lit("}"))).to_series()
