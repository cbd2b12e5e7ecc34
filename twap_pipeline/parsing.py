"""Turn one TWAP status parquet file into rows of the ``twap_status`` table, vectorised.

Accepts every variant of the data contract (shared/data_contract.md): flat ``state_*``
columns or one ``state`` struct; decimals as strings, floats or integers; ``time`` as an ISO
string (ns precision, optional ``Z``) or a parquet timestamp; status as a plain string, an
``{"error": ...}`` JSON string, or ``error`` plus a description column. Anything else raises
:class:`ParseError` naming the file and the column.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

# Source column (after flattening) -> table column.
SOURCE_COLUMNS = {
    "twap_id": "twap_id",
    "time": "event_time",
    "status": "status",
    "state_user": "wallet",
    "state_coin": "asset",
    "state_side": "side",
    "state_sz": "size_requested",
    "state_executedSz": "size_executed",
    "state_executedNtl": "notional_executed",
    "state_minutes": "duration_minutes",
    "state_reduceOnly": "reduce_only",
    "state_randomize": "randomize",
    "state_timestamp": "created_at",
}
# Where the message of a bare `status = "error"` may be, first match wins.
ERROR_COLUMNS = ("error", "description", "error_description", "status_description", "state_error")
# Columns of twap_status written by a load, in table order (loaded_at is the database's).
TABLE_COLUMNS = [
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
    "s3_object_key",
    "partition_date",
    "raw",
]
KNOWN_STATUSES = ("activated", "finished", "terminated", "error")
TERMINAL_STATUSES = ("finished", "terminated", "error")
_DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_ISO_TIME = "%Y-%m-%dT%H:%M:%S%.f"


class ParseError(ValueError):
    """A source file that does not follow the data contract."""

    def __init__(self, file: str, column: str | None, problem: str):
        self.file, self.column, self.problem = file, column, problem
        where = f"column '{column}': " if column else ""
        super().__init__(f"{file}: {where}{problem}")


def parse_file(source: str | Path | bytes, key: str, day: date) -> pl.DataFrame:
    """Parse one parquet file (path or bytes) listed as ``key`` for partition ``day``."""
    try:
        frame = pl.read_parquet(source)
    except Exception as exc:  # polars raises several types for corrupt files
        raise ParseError(key, None, f"not a readable parquet file ({exc})") from exc
    return normalise(frame, key, day)


def normalise(frame: pl.DataFrame, key: str, day: date) -> pl.DataFrame:
    """Map a source frame of any contract variant onto ``TABLE_COLUMNS``."""
    raw = frame.select(pl.struct(pl.all()).struct.json_encode().alias("raw"))
    flat = _flatten_state(frame, key)
    missing = [c for c in SOURCE_COLUMNS if c not in flat.columns]
    if missing:
        raise ParseError(
            key, missing[0], f"required column missing (missing: {', '.join(missing)})"
        )
    all_null = [c for c in SOURCE_COLUMNS if flat.schema[c] == pl.Null]
    if all_null:
        raise ParseError(key, all_null[0], f"{flat.height} null value(s), the column is empty")
    error_column = next((c for c in ERROR_COLUMNS if c in flat.columns), None)
    parsed = pl.DataFrame(
        {
            "twap_id": _integer(flat, "twap_id", key, pl.Int64),
            "event_time": _event_time(flat, key),
            "wallet": _string(flat, "state_user", key).str.strip_chars().str.to_lowercase(),
            "asset": _string(flat, "state_coin", key),
            "side": _string(flat, "state_side", key).str.strip_chars(),
            "size_requested": _decimal(flat, "state_sz", key),
            "size_executed": _decimal(flat, "state_executedSz", key),
            "notional_executed": _decimal(flat, "state_executedNtl", key),
            "duration_minutes": _integer(flat, "state_minutes", key, pl.Int32),
            "reduce_only": _boolean(flat, "state_reduceOnly", key),
            "randomize": _boolean(flat, "state_randomize", key),
            "created_at": _created_at(flat, key),
        }
    )
    status, error = _status(flat, key, error_column)
    return parsed.with_columns(
        status=status,
        error=error,
        s3_object_key=pl.lit(key),
        partition_date=pl.lit(day, dtype=pl.Date),
        raw=raw["raw"],
    ).select(TABLE_COLUMNS)


def _flatten_state(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    if "state" not in frame.columns:
        return frame
    if not isinstance(frame.schema["state"], pl.Struct):
        raise ParseError(key, "state", f"expected a struct, found {frame.schema['state']}")
    return frame.unnest("state", separator="_")


def _no_nulls(series: pl.Series, original: pl.Series, key: str, column: str, what: str):
    """Raise if ``series`` has nulls: where ``original`` had a value it was unparseable."""
    bad = series.is_null()
    if bad.any():
        first = original.filter(bad).head(1).to_list()
        problem = (
            f"{int(bad.sum())} null value(s)"
            if first == [None]
            else f"{int(bad.sum())} value(s) not {what}, e.g. {first[0]!r}"
        )
        raise ParseError(key, column, problem)
    return series


def _string(flat: pl.DataFrame, column: str, key: str) -> pl.Series:
    series = flat[column]
    if series.dtype not in (pl.String, pl.Categorical, pl.Enum):
        raise ParseError(key, column, f"expected strings, found {series.dtype}")
    return _no_nulls(series.cast(pl.String), series, key, column, "a string")


def _integer(flat: pl.DataFrame, column: str, key: str, dtype: pl.DataType) -> pl.Series:
    series = flat[column]
    if not (series.dtype.is_integer() or series.dtype == pl.String):
        raise ParseError(key, column, f"expected integers, found {series.dtype}")
    source = series.str.strip_chars() if series.dtype == pl.String else series
    return _no_nulls(source.cast(dtype, strict=False), series, key, column, "an integer")


def _decimal(flat: pl.DataFrame, column: str, key: str) -> pl.Series:
    """Exact decimal text: strings pass unchanged, floats take their shortest round-trip form."""
    series = flat[column]
    if series.dtype == pl.String:
        text = series.str.strip_chars()
        text = pl.Series(column, text).set(~text.str.contains(_DECIMAL).fill_null(False), None)
    elif series.dtype.is_numeric() or isinstance(series.dtype, pl.Decimal):
        if series.dtype.is_float():
            series = series.set(~series.is_finite().fill_null(True), None)
        text = series.cast(pl.String)
    else:
        raise ParseError(key, column, f"expected decimal strings or numbers, found {series.dtype}")
    return _no_nulls(text, flat[column], key, column, "a decimal number")


def _boolean(flat: pl.DataFrame, column: str, key: str) -> pl.Series:
    series = flat[column]
    if series.dtype == pl.Boolean:
        values = series
    elif series.dtype == pl.String:
        values = (
            series.str.strip_chars()
            .str.to_lowercase()
            .replace_strict({"true": True, "false": False}, default=None, return_dtype=pl.Boolean)
        )
    elif series.dtype.is_integer():
        values = series.replace_strict({1: True, 0: False}, default=None, return_dtype=pl.Boolean)
    else:
        raise ParseError(key, column, f"expected booleans, found {series.dtype}")
    return _no_nulls(values, series, key, column, "true/false")


def _event_time(flat: pl.DataFrame, key: str) -> pl.Series:
    """UTC event time truncated to microseconds (PostgreSQL's precision; raw keeps the ns)."""
    series = flat["time"]
    if series.dtype == pl.String:
        text = series.str.strip_chars().str.strip_suffix("Z").str.replace(" ", "T", literal=True)
        parsed = text.str.to_datetime(_ISO_TIME, time_unit="ns", strict=False)
    elif isinstance(series.dtype, pl.Datetime):
        parsed = series
        if series.dtype.time_zone is not None:
            parsed = parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    else:
        raise ParseError(
            key, "time", f"expected an ISO string or a timestamp, found {series.dtype}"
        )
    parsed = _no_nulls(parsed, series, key, "time", "an ISO 8601 time")
    return parsed.dt.cast_time_unit("us").dt.replace_time_zone("UTC")


def _created_at(flat: pl.DataFrame, key: str) -> pl.Series:
    series = flat["state_timestamp"]
    if isinstance(series.dtype, pl.Datetime):
        created = series if series.dtype.time_zone else series.dt.replace_time_zone("UTC")
        return created.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    millis = _integer(flat, "state_timestamp", key, pl.Int64)
    return pl.from_epoch(millis, time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC")


def _status(flat: pl.DataFrame, key: str, error_column: str | None) -> tuple[pl.Series, pl.Series]:
    """(status, error): JSON ``{"error": msg}`` and bare ``error`` both become ``error``."""
    raw_status = _string(flat, "status", key).str.strip_chars()
    is_json = raw_status.str.starts_with("{")
    json_error = raw_status.str.json_path_match("$.error")
    if (is_json & json_error.is_null()).any():
        bad = raw_status.filter(is_json & json_error.is_null()).head(1).item()
        raise ParseError(key, "status", f'JSON status without an "error" member, e.g. {bad!r}')
    side_error = (
        flat[error_column].cast(pl.String)
        if error_column
        else pl.Series([None] * flat.height, dtype=pl.String)
    )
    lowered = raw_status.str.to_lowercase()
    status = pl.select(
        pl.when(is_json).then(pl.lit("error")).otherwise(lowered).alias("status")
    ).to_series()
    error = pl.select(
        pl.when(is_json)
        .then(json_error)
        .when(lowered == "error")
        .then(side_error)
        .otherwise(None)
        .alias("error")
    ).to_series()
    return status, error
