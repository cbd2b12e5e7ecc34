"""Every variant of the data contract parses to the same rows; anything else is named."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import polars as pl
import pytest

from twap_pipeline.parsing import TABLE_COLUMNS, ParseError, normalise, parse_file
from twap_pipeline_tests import datagen

DAY = date(2025, 6, 2)


@pytest.fixture(scope="module")
def day_events() -> pl.DataFrame:
    events = datagen.generate_events(date(2025, 6, 1), 2, twaps_per_day=300, seed=3)
    return events.filter(pl.col("day") == DAY)


def parse(frame: pl.DataFrame, key: str = "k.parquet") -> pl.DataFrame:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return parse_file(buffer.getvalue(), key, DAY)


@pytest.mark.parametrize("variant", ["struct", "timestamp", "error_column", "mixed_case"])
def test_every_variant_gives_the_same_rows(day_events, variant):
    reference = parse(datagen.to_source_frame(day_events, "strings")).drop("raw")
    parsed = parse(datagen.to_source_frame(day_events, variant)).drop("raw")
    assert parsed.equals(reference)


def test_float_sizes_become_their_shortest_decimal_text(day_events):
    reference = parse(datagen.to_source_frame(day_events, "strings"))
    parsed = parse(datagen.to_source_frame(day_events, "floats"))
    for column in ("size_requested", "size_executed", "notional_executed"):
        as_float = parsed[column].cast(pl.Float64)
        assert as_float.equals(reference[column].cast(pl.Float64))
    assert parsed.drop("size_requested", "size_executed", "notional_executed", "raw").equals(
        reference.drop("size_requested", "size_executed", "notional_executed", "raw")
    )


def test_values_are_normalised(day_events):
    parsed = parse(datagen.to_source_frame(day_events, "mixed_case"))
    assert parsed.columns == TABLE_COLUMNS
    assert parsed["wallet"].str.contains("^0x[0-9a-f]{40}$").all()
    first = day_events.row(0, named=True)
    row = parsed.row(0, named=True)
    assert row["event_time"] == datetime.fromisoformat(first["time"][:26]).replace(tzinfo=UTC)
    assert row["created_at"] == datetime.fromtimestamp(first["state_timestamp"] / 1000, UTC)
    assert row["size_requested"] == first["state_sz"]
    assert row["partition_date"] == DAY


def test_error_statuses_carry_their_message(day_events):
    for variant in ("strings", "error_column"):
        parsed = parse(datagen.to_source_frame(day_events, variant))
        errors = parsed.filter(pl.col("status") == "error")
        assert errors.height == day_events.filter(pl.col("status") == "error").height > 0
        assert errors["error"].is_in(datagen.ERRORS).all()
        assert parsed.filter(pl.col("status") != "error")["error"].is_null().all()


def test_raw_is_the_source_row_as_json(day_events):
    source = datagen.to_source_frame(day_events, "strings")
    parsed = parse(source)
    assert pl.Series(parsed["raw"]).str.json_decode().struct.unnest().equals(source)


def one_row(**overrides) -> pl.DataFrame:
    row = {
        "time": "2025-06-02T17:00:22.417074898",
        "twap_id": 1430699,
        "state_coin": "HYPE",
        "state_user": "0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8",
        "state_side": "A",
        "state_sz": "108.36",
        "state_executedSz": "0.0",
        "state_executedNtl": "0.0",
        "state_minutes": 10,
        "state_reduceOnly": False,
        "state_randomize": False,
        "state_timestamp": 1748883622417,
        "status": "activated",
    }
    row.update(overrides)
    return pl.DataFrame([row])


def test_contract_example_parses_exactly():
    row = normalise(one_row(), "k", DAY).row(0, named=True)
    assert row["event_time"] == datetime(2025, 6, 2, 17, 0, 22, 417074, tzinfo=UTC)
    assert (row["twap_id"], row["status"], row["size_requested"]) == (
        1430699,
        "activated",
        "108.36",
    )


@pytest.mark.parametrize(
    ("frame", "column", "problem"),
    [
        (one_row().drop("state_user"), "state_user", "required column missing"),
        (one_row(state_sz="12,5"), "state_sz", "not a decimal number, e.g. '12,5'"),
        (one_row(state_sz=None), "state_sz", "null value"),
        (one_row(time="June 2nd"), "time", "not an ISO 8601 time"),
        (one_row(twap_id="abc"), "twap_id", "not an integer"),
        (one_row(state_reduceOnly="maybe"), "state_reduceOnly", "not true/false"),
        (one_row(status='{"fail": "x"}'), "status", 'JSON status without an "error" member'),
        (one_row(time=3.5), "time", "expected an ISO string or a timestamp"),
        (one_row().with_columns(state=pl.lit("x")), "state", "expected a struct"),
    ],
)
def test_contract_violations_name_file_and_column(frame, column, problem):
    with pytest.raises(ParseError) as caught:
        normalise(frame, "raw/twap_statuses/2025-06-02.parquet", DAY)
    assert caught.value.column == column
    assert str(caught.value).startswith(f"raw/twap_statuses/2025-06-02.parquet: column '{column}'")
    assert problem in str(caught.value)


def test_unreadable_file_is_named():
    with pytest.raises(ParseError, match=r"^bad\.parquet: not a readable parquet file"):
        parse_file(b"not parquet at all", "bad.parquet", DAY)


def test_float_infinity_is_rejected():
    with pytest.raises(ParseError, match="state_executedNtl"):
        normalise(one_row(state_executedNtl=float("inf")), "k", DAY)
