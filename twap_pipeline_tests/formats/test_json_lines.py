"""The node's JSON lines, plain or LZ4 (told by content), per event or per block, written in the
exact line format of the public documentation, and every file kind named when unreadable."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, date, datetime

import lz4.frame
import polars as pl
import pytest

from twap_pipeline import sample
from twap_pipeline.formats import ParseError, read_status_file

DAY = date(2025, 12, 4)
# The block of QuickNode's TWAP dataset page, as the node writes it (one compact line).
QUICKNODE_BLOCK = (
    '{"local_time":"2025-12-04T17:00:22.590883578","block_time":"2025-12-04T17:00:22.417074898",'
    '"block_number":817824346,"events":[{"time":"2025-12-04T17:00:22.417074898","twap_id":1430699,'
    '"state":{"coin":"HYPE","user":"0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8","side":"A",'
    '"sz":"108.36","executedSz":"0.0","executedNtl":"0.0","minutes":10,"reduceOnly":false,'
    '"randomize":false,"timestamp":1764867622417},"status":"activated"}]}'
)
EMPTY_BLOCK = (
    '{"local_time":"2025-12-04T17:00:22.690883578","block_time":"2025-12-04T17:00:22.517074898",'
    '"block_number":817824347,"events":[]}'
)
# The same TWAP ending in an error, as the node writes error statuses (an object), 2026 fields.
ERROR_EVENT = (
    '{"time":"2025-12-04T17:05:41.001000000","twap_id":1430699,"state":{"coin":"HYPE",'
    '"user":"0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8","side":"A","sz":"108.36",'
    '"executedSz":"31.2","executedNtl":"748.8","minutes":10,"reduceOnly":false,"randomize":false,'
    '"timestamp":1764867622417,"trigger":null,"stopPx":null},'
    '"status":{"error":"Insufficient margin to place order."}}'
)
KEY = "node_twap_statuses_by_block/hourly/20251204/17"


def test_the_documented_block_loads_exactly():
    data = "\n".join([EMPTY_BLOCK, QUICKNODE_BLOCK, EMPTY_BLOCK]).encode()
    [row] = read_status_file(data, KEY, DAY).rows.to_dicts()
    assert row["event_time"] == datetime(2025, 12, 4, 17, 0, 22, 417074, tzinfo=UTC)
    assert (row["twap_id"], row["status"], row["block_number"]) == (1430699, "activated", 817824346)
    assert (row["wallet"], row["asset"], row["side"], row["size_requested"]) == (
        "0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8",
        "HYPE",
        "A",
        "108.36",
    )
    event = json.loads(QUICKNODE_BLOCK)["events"][0]
    assert json.loads(row["raw"]) == event


def test_per_event_lines_with_an_error_object_compressed_or_not():
    lines = (json.dumps(json.loads(QUICKNODE_BLOCK)["events"][0]) + "\n" + ERROR_EVENT).encode()
    for data in (lines, lz4.frame.compress(lines), gzip.compress(lines)):
        rows = read_status_file(data, "node_twap_statuses/hourly/20251204/17", DAY).rows
        assert rows["status"].to_list() == ["activated", "error"]
        assert rows["error"].to_list() == [None, "Insufficient margin to place order."]
        assert rows["size_executed"].to_list() == ["0.0", "31.2"]
        assert json.loads(rows["raw"][1])["status"] == {
            "error": "Insufficient margin to place order."
        }


def test_a_quiet_hour_has_no_events():
    for data in (b"", EMPTY_BLOCK.encode(), lz4.frame.compress(EMPTY_BLOCK.encode() * 0)):
        assert read_status_file(data, KEY, DAY).rows.height == 0


@pytest.mark.parametrize("layout", ["node_hourly", "node_blocks_lz4"])
@pytest.mark.parametrize("encoding", ["node", "info_api"])
def test_generated_node_files_give_the_parquet_rows(layout, encoding):
    events = sample.generate_events(date(2025, 12, 3), 2, twaps_per_day=200, seed=5)
    day_events = events.filter(pl.col("day") == DAY)
    blocks = layout != "node_hourly"
    data = sample.node_lines(day_events, encoding, blocks, empty_blocks=3)
    if blocks:
        data = lz4.frame.compress(data)
    parsed = read_status_file(data, KEY, DAY).rows
    buffer = io.BytesIO()
    sample.to_source_frame(day_events, "strings").write_parquet(buffer)
    reference = read_status_file(buffer.getvalue(), KEY, DAY).rows
    compared = [c for c in reference.columns if c not in ("raw", "block_number")]
    assert parsed.select(compared).equals(reference.select(compared))
    assert parsed["block_number"].is_null().any() == (not blocks)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"PAR1 this is not parquet", "not a readable parquet file"),
        (b"\x04\x22\x4d\x18garbage", "not a readable LZ4 frame"),
        (b"\x1f\x8bgarbage", "not a readable gzip file"),
        (b'{"time": "2025-12-04T17:00:22", "twap_id": ', "not valid JSON lines"),
        (b"time,twap_id\n", "not parquet, JSON lines, LZ4 or gzip"),
        (b'{"local_time":"x","events":{"a":1}}', "expected a list of events"),
    ],
)
def test_unreadable_files_are_named(data, problem):
    with pytest.raises(ParseError) as caught:
        read_status_file(data, KEY, DAY)
    assert str(caught.value).startswith(f"{KEY}: ")
    assert problem in str(caught.value)
