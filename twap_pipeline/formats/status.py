"""A frame of TWAP status events in any encoding of the data contract -> rows of ``twap_status``.

Accepted (docs/data.md has the whole table): flat ``state_*`` columns or a ``state`` struct;
decimals as strings, floats or integers; booleans as booleans, 0/1 or "true"/"false"; side
B/A or Buy/Sell; ``twap_id`` as an integer or a string of digits; ``time`` as an ISO string
(ns, optional ``Z``), a parquet timestamp, or an epoch number whose unit follows from its
magnitude; the status as a plain string, an object (``{"error": msg}``, ``{"status": s,
"description": msg}``), ``error: <message>``, or ``error`` plus a message column. A status never
seen before is kept verbatim. ``trigger`` (px/above) and ``stopPx`` (2026+) and the flags
``minutes``, ``reduceOnly``, ``randomize`` load as NULL when a file lacks them; any other
missing column fails the file, and so does a value that cannot be read, naming file, column and
value.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from twap_pipeline.formats.base import FileRows, ParseError

# Columns of twap_status a load writes, in table order (loaded_at is the database's).
STATUS_COLUMNS = [
    "twap_id",
    "event_time",
    "status",
    "error",
    "wallet",
    "asset",
    "side",
    "size_requested",
    "size_executed",
    "notional_executed",
    "duration_minutes",
    "reduce_only",
    "randomize",
    "created_at",
    "trigger_px",
    "trigger_above",
    "stop_px",
    "block_number",
    "s3_object_key",
    "partition_date",
    "raw",
]
REQUIRED = (
    "twap_id",
    "time",
    "status",
    "state_user",
    "state_coin",
    "state_side",
    "state_sz",
    "state_executedSz",
    "state_executedNtl",
    "state_timestamp",
)
# Loaded as NULL, with a note in the run's metadata, when a file has no such column.
OPTIONAL = (
    "state_minutes",
    "state_reduceOnly",
    "state_randomize",
    "state_trigger_px",
    "state_trigger_above",
    "state_stopPx",
)
# Where the message of a bare ``status = "error"`` may be; the first non-null one wins.
ERROR_COLUMNS = (
    "error",
    "description",
    "error_description",
    "status_description",
    "statusMessage",
    "StatusError",
    "state_error",
)
BLOCK_COLUMNS = ("block_number", "block_time", "local_time")
KNOWN_COLUMNS = {*REQUIRED, *OPTIONAL, *ERROR_COLUMNS, *BLOCK_COLUMNS, "state_trigger"}
# Canonical spelling of the statuses the lifecycle knows, by their lower-case form.
KNOWN_STATUSES = {
    "waitingfortrigger": "waitingForTrigger",
    "activated": "activated",
    "finished": "finished",
    "terminated": "terminated",
    "error": "error",
}
SIDES = {"b": "B", "buy": "B", "bid": "B", "a": "A", "sell": "A", "ask": "A"}
# No text value of a TWAP event comes near this; larger ones are garbage, not data.
MAX_TEXT = 4096
# Decimals as PostgreSQL's numeric takes them: digits, one point, a short exponent.
DECIMAL_TEXT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,2})?$"
ISO_TIME = "%Y-%m-%dT%H:%M:%S%.f"
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
# Hyperliquid launched in 2023: a timestamp before 2000 in its archives is an epoch number
# stored with the wrong unit (Artemis wrote milliseconds into timestamp[ns] columns).
PLAUSIBLE_FROM = pl.datetime(2000, 1, 1, time_zone="UTC")


def normalise(
    frame: pl.DataFrame,
    key: str,
    day: date,
    raw: pl.Series | None = None,
    keys: pl.Series | None = None,
) -> FileRows:
    """Map a source frame of any contract variant onto ``STATUS_COLUMNS``. ``key`` names the
    source in errors; ``raw`` is each row's source JSON when the reader has a truer one than
    :func:`raw_json`; ``keys`` is each row's object key when the frame joins several files."""
    if frame.width == 0:
        return FileRows(empty_rows())
    raw = raw_json(frame) if raw is None else raw
    flat = _flatten(frame, key)
    missing = [c for c in REQUIRED if c not in flat.columns]
    if missing:
        raise ParseError(
            key, missing[0], f"required column missing (missing: {', '.join(missing)})"
        )
    empty = [c for c in REQUIRED if flat.schema[c] == pl.Null and flat.height]
    if empty:
        raise ParseError(key, empty[0], f"{flat.height} null value(s), the column is empty")
    absent = [c for c in OPTIONAL if c not in flat.columns]
    flat = flat.with_columns(pl.lit(None).alias(c) for c in absent)
    status, error = _status(flat, key)
    rows = pl.DataFrame(
        {
            "twap_id": _integer(flat, "twap_id", key, pl.Int64),
            "event_time": _event_time(flat, key),
            "status": status,
            "error": error,
            "wallet": _string(flat, "state_user", key).str.strip_chars().str.to_lowercase(),
            "asset": _string(flat, "state_coin", key),
            "side": _side(flat, key),
            "size_requested": _decimal(flat, "state_sz", key),
            "size_executed": _decimal(flat, "state_executedSz", key),
            "notional_executed": _decimal(flat, "state_executedNtl", key),
            "duration_minutes": _integer(flat, "state_minutes", key, pl.Int32, nullable=True),
            "reduce_only": _boolean(flat, "state_reduceOnly", key),
            "randomize": _boolean(flat, "state_randomize", key),
            "created_at": _created_at(flat, key),
            "trigger_px": _decimal(flat, "state_trigger_px", key, nullable=True),
            "trigger_above": _boolean(flat, "state_trigger_above", key),
            "stop_px": _decimal(flat, "state_stopPx", key, nullable=True),
            "block_number": _block_number(flat, key),
        }
    ).with_columns(
        s3_object_key=pl.lit(key) if keys is None else keys,
        partition_date=pl.lit(day, dtype=pl.Date),
        raw=raw,
    )
    unknown = sorted(c for c in flat.columns if c not in KNOWN_COLUMNS)
    return FileRows(rows.select(STATUS_COLUMNS), unknown, absent)


def empty_rows() -> pl.DataFrame:
    """No events, with the table's column types (an empty file, a quiet hour)."""
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "twap_id": pl.Int64,
        "event_time": pl.Datetime("us", "UTC"),
        "duration_minutes": pl.Int32,
        "reduce_only": pl.Boolean,
        "randomize": pl.Boolean,
        "created_at": pl.Datetime("us", "UTC"),
        "trigger_above": pl.Boolean,
        "block_number": pl.Int64,
        "partition_date": pl.Date,
    }
    return pl.DataFrame(schema={c: schema.get(c, pl.String) for c in STATUS_COLUMNS})


def raw_json(frame: pl.DataFrame) -> pl.Series:
    """Each source row as JSON text (block fields left out: they have columns of their own)."""
    source = frame.drop(*(c for c in BLOCK_COLUMNS if c in frame.columns))
    return source.select(pl.struct(pl.all()).struct.json_encode()).to_series()


def _flatten(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """``state`` struct -> ``state_*`` columns; ``state_trigger`` -> ``state_trigger_px`` and
    ``state_trigger_above`` (from a struct or its JSON text)."""
    flat = frame
    if "state" in flat.columns:
        if not isinstance(flat.schema["state"], pl.Struct):
            raise ParseError(key, "state", f"expected a struct, found {flat.schema['state']}")
        flat = flat.unnest("state", separator="_")
    if "state_trigger" not in flat.columns:
        return flat
    trigger = flat.schema["state_trigger"]
    if isinstance(trigger, pl.Struct):
        fields = {f.name for f in trigger.fields}
        return flat.with_columns(
            pl.col("state_trigger").struct.field(f).alias(f"state_trigger_{f}")
            for f in ("px", "above")
            if f in fields
        )
    if trigger == pl.String:
        text = pl.col("state_trigger").str.strip_chars()
        return flat.with_columns(
            state_trigger_px=text.str.json_path_match("$.px"),
            state_trigger_above=text.str.json_path_match("$.above"),
        )
    if trigger == pl.Null:
        return flat
    raise ParseError(key, "state_trigger", f"expected an object or its JSON text, found {trigger}")


def _no_nulls(series: pl.Series, original: pl.Series, key: str, column: str, what: str):
    """Raise where ``series`` is null but ``original`` had a value (it could not be read), or
    where the value itself is missing."""
    bad = series.is_null()
    if bad.any():
        first = original.filter(bad).head(1).to_list()
        problem = (
            f"{int(bad.sum())} null value(s)"
            if first == [None]
            else f"{int(bad.sum())} value(s) not {what}, e.g. {_sample(first[0])}"
        )
        raise ParseError(key, column, problem)
    return series


def _unreadable(series: pl.Series, original: pl.Series, key: str, column: str, what: str):
    """Raise where ``original`` had a value that ``series`` could not keep; nulls pass."""
    lost = series.is_null() & original.is_not_null()
    if lost.any():
        first = original.filter(lost).head(1).item()
        raise ParseError(
            key, column, f"{int(lost.sum())} value(s) not {what}, e.g. {_sample(first)}"
        )
    return series


def _sample(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(str(value)):,} characters)"


def _checked_text(series: pl.Series, key: str, column: str) -> pl.Series:
    """Text as PostgreSQL can store it and a person can read it: no NUL, bounded length."""
    if series.str.contains("\x00", literal=True).any():
        first = series.filter(series.str.contains("\x00", literal=True)).head(1).item()
        raise ParseError(key, column, f"a value holds a NUL character, e.g. {_sample(first)}")
    too_long = series.str.len_chars() > MAX_TEXT
    if too_long.any():
        first = series.filter(too_long).head(1).item()
        raise ParseError(
            key, column, f"{int(too_long.sum())} value(s) longer than {MAX_TEXT} characters, "
            f"e.g. {_sample(first)}"
        )  # fmt: skip
    return series


def _string(flat: pl.DataFrame, column: str, key: str) -> pl.Series:
    series = flat[column]
    if series.dtype not in (pl.String, pl.Categorical, pl.Enum):
        raise ParseError(key, column, f"expected strings, found {series.dtype}")
    text = _no_nulls(series.cast(pl.String), series, key, column, "a string")
    return _checked_text(text, key, column)


def _integer(
    flat: pl.DataFrame,
    column: str,
    key: str,
    dtype: type[pl.DataType],
    nullable: bool = False,
) -> pl.Series:
    series = flat[column]
    if series.dtype == pl.Null:
        return pl.Series(column, [None] * flat.height, dtype=dtype)
    if not (series.dtype.is_integer() or series.dtype == pl.String):
        raise ParseError(key, column, f"expected integers, found {series.dtype}")
    source = series.str.strip_chars() if series.dtype == pl.String else series
    values = source.cast(dtype, strict=False)
    if nullable:
        return _unreadable(values, series, key, column, "an integer")
    return _no_nulls(values, series, key, column, "an integer")


def _decimal(flat: pl.DataFrame, column: str, key: str, nullable: bool = False) -> pl.Series:
    """Exact decimal text: strings pass unchanged, floats take their shortest round-trip form."""
    series = flat[column]
    if series.dtype == pl.Null:
        return pl.Series(column, [None] * flat.height, dtype=pl.String)
    if series.dtype == pl.String:
        text = series.str.strip_chars()
        text = text.set(~text.str.contains(DECIMAL_TEXT).fill_null(False), None)
    elif series.dtype.is_numeric() or isinstance(series.dtype, pl.Decimal):
        if series.dtype.is_float():
            series = series.set(~series.is_finite().fill_null(True), None)
        text = series.cast(pl.String)
        text = text.set(~text.str.contains(DECIMAL_TEXT).fill_null(False), None)
    else:
        raise ParseError(key, column, f"expected decimal strings or numbers, found {series.dtype}")
    if nullable:
        return _unreadable(text, flat[column], key, column, "a decimal number")
    return _no_nulls(text, flat[column], key, column, "a decimal number")


def _boolean(flat: pl.DataFrame, column: str, key: str) -> pl.Series:
    """Booleans, 0/1 or "true"/"false"/"0"/"1"; missing values stay NULL (they are flags the
    source may omit), unreadable ones fail the file."""
    series = flat[column]
    if series.dtype == pl.Null:
        return pl.Series(column, [None] * flat.height, dtype=pl.Boolean)
    words = {"true": True, "false": False, "1": True, "0": False}
    if series.dtype == pl.Boolean:
        values = series
    elif series.dtype == pl.String:
        values = (
            series.str.strip_chars()
            .str.to_lowercase()
            .replace_strict(words, default=None, return_dtype=pl.Boolean)
        )
    elif series.dtype.is_integer():
        values = series.replace_strict({1: True, 0: False}, default=None, return_dtype=pl.Boolean)
    else:
        raise ParseError(key, column, f"expected booleans, found {series.dtype}")
    return _unreadable(values, series, key, column, "true/false")


def _side(flat: pl.DataFrame, key: str) -> pl.Series:
    """B/A; vendor spellings Buy/Sell (any case) become B/A, anything else stays as written
    for the row rules to name."""
    text = _string(flat, "state_side", key).str.strip_chars()
    return text.str.to_lowercase().replace_strict(SIDES, default=text, return_dtype=pl.String)


def _epoch_micros(values: pl.Series) -> pl.Series:
    """Epoch numbers -> microseconds (integer nanoseconds truncated, like ISO times); the unit
    follows from the magnitude (seconds below 1e11, i.e. before year 5138; then ms, us, ns)."""
    size = values.abs()
    scaled = pl.select(
        pl.when(size < 1e11)
        .then(pl.lit(values) * 1_000_000)
        .when(size < 1e14)
        .then(pl.lit(values) * 1_000)
        .when(size < 1e17)
        .then(pl.lit(values))
        .otherwise(pl.lit(values) // 1_000)
    ).to_series()
    # Floats carry binary noise below the microsecond: the nearest microsecond is the value.
    return scaled.round().cast(pl.Int64) if scaled.dtype.is_float() else scaled


def _from_micros(micros: pl.Series) -> pl.Series:
    return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")


def _timestamp(series: pl.Series) -> pl.Series:
    """A parquet timestamp column as UTC microseconds, with the wrong-unit quirk undone."""
    utc = (
        series.dt.convert_time_zone("UTC")
        if isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone
        else series.dt.replace_time_zone("UTC")
    )
    utc = utc.dt.cast_time_unit("us")
    implausible = utc < pl.select(PLAUSIBLE_FROM).item()
    if not implausible.fill_null(False).any():
        return utc
    physical = series.dt.replace_time_zone(None).cast(pl.Int64)
    return pl.select(
        pl.when(implausible).then(_from_micros(_epoch_micros(physical))).otherwise(utc)
    ).to_series()


def _event_time(flat: pl.DataFrame, key: str) -> pl.Series:
    """UTC event time truncated to microseconds (PostgreSQL's precision; raw keeps the ns)."""
    series = flat["time"]
    if series.dtype == pl.String:
        text = series.str.strip_chars()
        if text.str.contains(r"^\d+$").all():
            parsed = _from_micros(_epoch_micros(text.cast(pl.Int64)))
        else:
            iso = (
                text.str.strip_suffix("Z")
                .str.strip_suffix("+00:00")
                .str.replace(" ", "T", literal=True)
            )
            parsed = iso.str.to_datetime(ISO_TIME, time_unit="ns", strict=False)
            parsed = parsed.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
    elif isinstance(series.dtype, pl.Datetime):
        parsed = _timestamp(series)
    elif series.dtype.is_numeric():
        parsed = _from_micros(_epoch_micros(series))
    else:
        raise ParseError(
            key, "time", f"expected an ISO string, a timestamp or an epoch, found {series.dtype}"
        )
    return _no_nulls(parsed, series, key, "time", "an ISO 8601 time")


def _created_at(flat: pl.DataFrame, key: str) -> pl.Series:
    """``state.timestamp``: epoch milliseconds (the contract), or a parquet timestamp."""
    series = flat["state_timestamp"]
    if isinstance(series.dtype, pl.Datetime):
        return _no_nulls(_timestamp(series), series, key, "state_timestamp", "a timestamp")
    millis = _integer(flat, "state_timestamp", key, pl.Int64)
    outside = (millis < 0) | (millis > MAX_EPOCH_MS)
    if outside.any():
        raise ParseError(
            key,
            "state_timestamp",
            f"{int(outside.sum())} value(s) not epoch milliseconds of years 1970-9999, "
            f"e.g. {millis.filter(outside)[0]}",
        )
    return pl.from_epoch(millis, time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC")


def _block_number(flat: pl.DataFrame, key: str) -> pl.Series:
    if "block_number" not in flat.columns:
        return pl.Series("block_number", [None] * flat.height, dtype=pl.Int64)
    return _integer(flat, "block_number", key, pl.Int64, nullable=True)


def _status(flat: pl.DataFrame, key: str) -> tuple[pl.Series, pl.Series]:
    """(status, error) from every encoding of the contract; known statuses get their canonical
    spelling, unknown ones are kept as written."""
    column = flat["status"]
    if isinstance(column.dtype, pl.Struct):
        column = flat.select(pl.col("status").struct.json_encode()).to_series()
    text = _string(flat.with_columns(status=column), "status", key).str.strip_chars()
    is_object = text.str.starts_with("{")
    object_error = text.str.json_path_match("$.error")
    object_status = text.str.json_path_match("$.status")
    object_message = text.str.json_path_match("$.description")
    shapeless = is_object & object_error.is_null() & object_status.is_null()
    if shapeless.any():
        bad = text.filter(shapeless).head(1).item()
        raise ParseError(
            key, "status", f'JSON status without an "error" or "status" member, e.g. {bad!r}'
        )
    prefixed = text.str.extract(r"(?i)^error\s*:\s*(.*)$", 1)
    plain = pl.select(
        pl.when(is_object & object_error.is_null())
        .then(object_status)
        .when(is_object | prefixed.is_not_null())
        .then(pl.lit("error"))
        .otherwise(text)
    ).to_series()
    lowered = plain.str.to_lowercase()
    status = pl.select(
        pl.when(lowered.is_in(list(KNOWN_STATUSES)))
        .then(lowered.replace_strict(KNOWN_STATUSES, default=None))
        .otherwise(plain)
        .alias("status")
    ).to_series()
    side_columns = [flat[c].cast(pl.String) for c in ERROR_COLUMNS if c in flat.columns]
    side_error = (
        pl.select(pl.coalesce(side_columns)).to_series()
        if side_columns
        else pl.Series([None] * flat.height, dtype=pl.String)
    )
    error = pl.select(
        pl.when(is_object & object_error.is_not_null())
        .then(object_error)
        .when(prefixed.is_not_null())
        .then(prefixed)
        .when(status == "error")
        .then(pl.coalesce(object_message, side_error))
        .otherwise(None)
        .alias("error")
    ).to_series()
    return status, _checked_text(error.fill_null(""), key, "error").set(error.is_null(), None)
