"""Every encoding of the data contract parses to the same rows; anything else is named (file,
column, value)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from twap_pipeline import sample
from twap_pipeline.formats import ParseError, read_status_file
from twap_pipeline.formats.status import STATUS_COLUMNS, normalise

DAY = date(2025, 6, 2)
KEY = "raw/twap_statuses/2025-06-02.parquet"


@pytest.fixture(scope="module")
def day_events() -> pl.DataFrame:
    events = sample.generate_events(date(2025, 6, 1), 2, twaps_per_day=300, seed=3)
    return events.filter(pl.col("day") == DAY)


def parse(frame: pl.DataFrame, key: str = KEY) -> pl.DataFrame:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return read_status_file(buffer.getvalue(), key, DAY).rows


@pytest.mark.parametrize(
    "encoding", ["struct", "timestamp", "error_column", "mixed_case", "vendor"]
)
def test_every_encoding_gives_the_same_rows(day_events, encoding):
    reference = parse(sample.to_source_frame(day_events, "strings")).drop("raw")
    parsed = parse(sample.to_source_frame(day_events, encoding)).drop("raw")
    assert parsed.equals(reference)


def test_trigger_twaps_carry_their_trigger(day_events):
    parsed = parse(sample.to_source_frame(day_events, "strings"))
    triggered = day_events.filter(pl.col("state_trigger_px").is_not_null())
    assert triggered.height > 0
    rows = parsed.filter(pl.col("trigger_px").is_not_null())
    assert rows["trigger_px"].to_list() == triggered["state_trigger_px"].to_list()
    assert rows["trigger_above"].to_list() == triggered["state_trigger_above"].to_list()
    assert "waitingForTrigger" in parsed["status"].to_list()


def test_float_sizes_become_their_shortest_decimal_text(day_events):
    reference = parse(sample.to_source_frame(day_events, "strings"))
    parsed = parse(sample.to_source_frame(day_events, "floats"))
    for column in ("size_requested", "size_executed", "notional_executed"):
        assert parsed[column].cast(pl.Float64).equals(reference[column].cast(pl.Float64))
    exact = ["size_requested", "size_executed", "notional_executed", "raw"]
    assert parsed.drop(exact).equals(reference.drop(exact))


def test_milliseconds_in_nanosecond_timestamps_are_read_as_milliseconds(day_events):
    parsed = parse(sample.to_source_frame(day_events, "ms_in_ns"))
    truncated = day_events["time"].str.slice(0, 23).str.to_datetime(time_unit="us")
    assert parsed["event_time"].dt.replace_time_zone(None).equals(truncated, check_names=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1748883622, datetime(2025, 6, 2, 17, 0, 22, tzinfo=UTC)),  # seconds (info API)
        (1748883622.5, datetime(2025, 6, 2, 17, 0, 22, 500000, tzinfo=UTC)),
        (1748883622417, datetime(2025, 6, 2, 17, 0, 22, 417000, tzinfo=UTC)),  # ms
        (1748883622417074, datetime(2025, 6, 2, 17, 0, 22, 417074, tzinfo=UTC)),  # us
        (1748883622417074898, datetime(2025, 6, 2, 17, 0, 22, 417074, tzinfo=UTC)),  # ns
        ("1748883622", datetime(2025, 6, 2, 17, 0, 22, tzinfo=UTC)),
        ("2025-06-02 17:00:22", datetime(2025, 6, 2, 17, 0, 22, tzinfo=UTC)),
        ("2025-06-02T17:00:22.417+00:00", datetime(2025, 6, 2, 17, 0, 22, 417000, tzinfo=UTC)),
    ],
)
def test_epoch_times_take_their_unit_from_their_magnitude(value, expected):
    row = normalise(one_row(time=value), KEY, DAY).rows.row(0, named=True)
    assert row["event_time"] == expected


def test_timezone_aware_timestamps_are_converted_to_utc():
    frame = one_row().with_columns(
        time=pl.lit(datetime(2025, 6, 2, 19, 0, 22)).dt.replace_time_zone("Europe/Paris")
    )
    row = normalise(frame, KEY, DAY).rows.row(0, named=True)
    assert row["event_time"] == datetime(2025, 6, 2, 17, 0, 22, tzinfo=UTC)


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
    parsed = normalise(one_row(), KEY, DAY)
    row = parsed.rows.row(0, named=True)
    assert parsed.rows.columns == STATUS_COLUMNS
    assert row["event_time"] == datetime(2025, 6, 2, 17, 0, 22, 417074, tzinfo=UTC)
    assert row["created_at"] == datetime(2025, 6, 2, 17, 0, 22, 417000, tzinfo=UTC)
    assert (row["twap_id"], row["status"], row["size_requested"]) == (
        1430699,
        "activated",
        "108.36",
    )
    # 2025 files have no trigger or stopPx: NULL, and said so.
    assert (row["trigger_px"], row["trigger_above"], row["stop_px"]) == (None, None, None)
    assert parsed.missing_columns == ["state_trigger_px", "state_trigger_above", "state_stopPx"]


MARGIN = "Insufficient margin to place order."
REDUCE_ONLY = "Reduce only order would increase position"


@pytest.mark.parametrize(
    ("status", "extra", "expected"),
    [
        (json.dumps({"error": MARGIN}), {}, MARGIN),
        ('{"status": "error", "description": "Insufficient spot"}', {}, "Insufficient spot"),
        (f"error: {REDUCE_ONLY}", {}, REDUCE_ONLY),
        ("error:minTradeNtl", {}, "minTradeNtl"),
        ("error", {"StatusError": "Too many open orders"}, "Too many open orders"),
        ("Error", {"description": "Price too far"}, "Price too far"),
    ],
)
def test_every_error_encoding_keeps_its_message(status, extra, expected):
    row = normalise(one_row(status=status, **extra), KEY, DAY).rows.row(0, named=True)
    assert (row["status"], row["error"]) == ("error", expected)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ('{"status": "finished"}', "finished"),
        ("WAITINGFORTRIGGER", "waitingForTrigger"),
        ("Terminated", "terminated"),
        ("paused", "paused"),  # unknown: kept as written
        ("liquidatedSomehow", "liquidatedSomehow"),
    ],
)
def test_statuses_are_canonical_or_kept_verbatim(status, expected):
    row = normalise(one_row(status=status), KEY, DAY).rows.row(0, named=True)
    assert (row["status"], row["error"]) == (expected, None)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"state_side": "Buy"}, {"side": "B"}),
        ({"state_side": "sell"}, {"side": "A"}),
        ({"state_reduceOnly": 1, "state_randomize": 0}, {"reduce_only": True, "randomize": False}),
        ({"state_reduceOnly": "true"}, {"reduce_only": True}),
        ({"twap_id": " 1430699 "}, {"twap_id": 1430699}),
        ({"state_sz": 108.36}, {"size_requested": "108.36"}),
        ({"state_sz": 100}, {"size_requested": "100"}),
        ({"state_stopPx": "79.5"}, {"stop_px": "79.5"}),
    ],
)
def test_vendor_encodings_of_the_same_values(overrides, expected):
    row = normalise(one_row(**overrides), KEY, DAY).rows.row(0, named=True)
    assert {k: row[k] for k in expected} == expected


def test_missing_flags_load_as_null_and_are_named():
    frame = one_row().drop("state_minutes", "state_reduceOnly", "state_randomize")
    parsed = normalise(frame, KEY, DAY)
    row = parsed.rows.row(0, named=True)
    assert (row["duration_minutes"], row["reduce_only"], row["randomize"]) == (None, None, None)
    assert parsed.missing_columns[:3] == ["state_minutes", "state_reduceOnly", "state_randomize"]


def test_unknown_columns_are_kept_in_raw_and_named():
    parsed = normalise(one_row(venue="HL", ingest_batch=7), KEY, DAY)
    assert parsed.unknown_columns == ["ingest_batch", "venue"]
    raw = parsed.rows["raw"].str.json_decode().struct.unnest()
    assert raw.row(0, named=True)["venue"] == "HL"


def test_trigger_as_json_text_or_flat_columns():
    text = normalise(one_row(state_trigger='{"px": "80.0", "above": true}'), KEY, DAY)
    flat = normalise(one_row(state_trigger_px="80.0", state_trigger_above=True), KEY, DAY)
    for parsed in (text, flat):
        row = parsed.rows.row(0, named=True)
        assert (row["trigger_px"], row["trigger_above"]) == ("80.0", True)


@pytest.mark.parametrize(
    ("frame", "column", "problem"),
    [
        (one_row().drop("state_user"), "state_user", "required column missing"),
        (one_row().drop("state_timestamp"), "state_timestamp", "required column missing"),
        (one_row(state_sz="12,5"), "state_sz", "not a decimal number, e.g. '12,5'"),
        (one_row(state_sz="1e999999"), "state_sz", "not a decimal number, e.g. '1e999999'"),
        (one_row(state_sz=None), "state_sz", "null value"),
        (one_row(time="June 2nd"), "time", "not an ISO 8601 time"),
        (one_row(twap_id="abc"), "twap_id", "not an integer"),
        (one_row(state_reduceOnly="maybe"), "state_reduceOnly", "not true/false"),
        (one_row(status='{"fail": "x"}'), "status", 'without an "error" or "status" member'),
        (one_row(time=True), "time", "expected an ISO string, a timestamp or an epoch"),
        (one_row().with_columns(state=pl.lit("x")), "state", "expected a struct"),
        (one_row(state_coin="BTC\x00"), "state_coin", "holds a NUL character"),
        (one_row(state_coin="X" * 10_000_000), "state_coin", "longer than 4096 characters"),
        (one_row(state_stopPx="cheap"), "state_stopPx", "not a decimal number"),
    ],
)
def test_contract_violations_name_file_column_and_value(frame, column, problem):
    with pytest.raises(ParseError) as caught:
        normalise(frame, KEY, DAY)
    assert caught.value.column == column
    assert str(caught.value).startswith(f"{KEY}: column '{column}'")
    assert problem in str(caught.value)
    assert len(str(caught.value)) < 400  # a 10 MB value is not echoed


def test_float_infinity_is_rejected():
    with pytest.raises(ParseError, match="state_executedNtl"):
        normalise(one_row(state_executedNtl=float("inf")), KEY, DAY)
