"""Slice fills read from both layouts: exactly the TWAP fills, every field, nothing else."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import lz4.frame
import polars as pl
import pytest

from twap_pipeline import sample, sample_fills
from twap_pipeline.formats import ParseError
from twap_pipeline.formats import fills as fills_format
from twap_pipeline.formats.fills import TwapLines, read_fills_files, scan_json_lines

DAY = date(2025, 8, 1)


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return sample.generate_events(DAY, 3, 200, seed=7)


@pytest.fixture(scope="module")
def fills(events) -> pl.DataFrame:
    return sample_fills.generate_fills(events)


def twap_fills(fills: pl.DataFrame) -> pl.DataFrame:
    return fills.filter(pl.col("twapId").is_not_null())


def read_all(root, files: dict[str, date]) -> pl.DataFrame:
    days = sorted(set(files.values()))
    frames = [
        read_fills_files([(root / k, k) for k, d in files.items() if d == day], day).rows
        for day in days
    ]
    return pl.concat(frames)


@pytest.mark.parametrize("layout", sample_fills.LAYOUTS)
def test_every_twap_fill_round_trips_exactly_and_nothing_else(tmp_path, fills, layout):
    files = sample_fills.write_fills(tmp_path, "fills/", fills, layout)
    rows = read_all(tmp_path, files)
    expected = twap_fills(fills)
    assert rows.height == expected.height
    got = rows.select(
        "twap_id", "tid", "wallet", "coin", "px", "sz", "side", "dir", "start_position",
        "closed_pnl", "fee", "fee_token", "builder_fee", "oid", "crossed", "hash",
        pl.col("fill_time").dt.epoch("ms").alias("time"),
    ).sort("twap_id", "tid")  # fmt: skip
    want = expected.select(
        pl.col("twapId").alias("twap_id"), "tid", pl.col("user").alias("wallet"), "coin", "px",
        "sz", "side", "dir", pl.col("startPosition").alias("start_position"),
        pl.col("closedPnl").alias("closed_pnl"), "fee", pl.col("feeToken").alias("fee_token"),
        pl.col("builderFee").alias("builder_fee"), "oid", "crossed", "hash", "time",
    ).sort("twap_id", "tid")  # fmt: skip
    assert got.equals(want)
    assert rows["block_number"].null_count() == 0
    assert (rows["partition_date"] == rows["fill_time"].dt.date()).all()


def test_the_generated_fills_add_up_to_each_terminal_status(events, fills):
    sums: dict[int, list[Decimal]] = {}
    for row in twap_fills(fills).iter_rows(named=True):
        total = sums.setdefault(row["twapId"], [Decimal(0), Decimal(0)])
        total[0] += Decimal(row["sz"])
        total[1] += Decimal(row["px"]) * Decimal(row["sz"])
    ended = events.filter(pl.col("status").is_in(["finished", "terminated", "error"]))
    executed = ended.filter(pl.col("state_executedSz").cast(pl.Float64) > 0)
    assert executed.height > 100
    for row in executed.iter_rows(named=True):
        assert sums[row["twap_id"]] == [
            Decimal(row["state_executedSz"]),
            Decimal(row["state_executedNtl"]),
        ]


def test_the_sample_has_twap_against_twap_trades_and_multi_price_slices(fills):
    mine = twap_fills(fills)
    both_sides = mine.group_by("tid").agg(pl.col("twapId").n_unique(), pl.col("side").n_unique())
    assert both_sides.filter((pl.col("twapId") == 2) & (pl.col("side") == 2)).height > 0
    prices = mine.group_by("oid").agg(pl.col("px").n_unique())
    assert prices.filter(pl.col("px") > 1).height > 0
    assert fills.filter(pl.col("twapId").is_null()).height > 0


def block(events: list) -> bytes:
    return json.dumps({"block_time": "2025-08-01T00:00:01.5", "block_number": 7,
                       "events": events}).encode()  # fmt: skip


FILL = {
    "coin": "HYPE", "px": "24.36", "sz": "1.5", "side": "B", "time": 1754006401500,
    "startPosition": "0.0", "dir": "Open Long", "closedPnl": "0.0", "hash": "0x" + "0" * 64,
    "oid": 5, "crossed": True, "fee": "0.01", "tid": 77, "feeToken": "USDC", "twapId": 12,
}  # fmt: skip


def test_lines_without_a_twap_fill_are_skipped_unparsed(tmp_path):
    lines = [
        b'{"events": []}',
        b"this line is never parsed",
        block([["0x" + "a" * 40, {**FILL, "twapId": None}]]),
        block([["0x" + "b" * 40, FILL], ["0x" + "c" * 40, {**FILL, "side": "A", "twapId": 13}]]),
    ]
    path = tmp_path / "0.lz4"
    path.write_bytes(lz4.frame.compress(b"\n".join(lines) + b"\n"))
    found = TwapLines("0.lz4")
    with lz4.frame.open(path, "rb") as stream:
        scan_json_lines(stream, "0.lz4", found)
    # Found through the all-zero hash, which the counterparty's fill carries too: its line is
    # a candidate in which polars then finds no TWAP fill.
    assert found.texts == lines[2:]
    rows = read_fills_files([(path, "k/20250801/0.lz4")], DAY).rows
    # Both sides of one trade, each a TWAP: one row each, told apart by twap_id.
    assert rows.select("twap_id", "tid", "side").rows() == [(12, 77, "B"), (13, 77, "A")]


def test_lines_shaped_as_the_node_writes_them_are_never_parsed_in_python(
    tmp_path, fills, monkeypatch
):
    # Parsing a file's lines in Python is the fallback for files polars cannot cut exactly,
    # many times slower: the node's lines, compact or with spaces, never need it.
    files = sample_fills.write_fills(tmp_path, "fills/", fills, "node")
    spaced = tmp_path / "spaced"
    counterparty = {**FILL, "twapId": None}
    spaced.write_bytes(block([["0x" + "b" * 40, FILL], ["0x" + "a" * 40, counterparty]]))

    def parsed(*args: object) -> None:
        raise AssertionError("a line was parsed in Python")

    monkeypatch.setattr(fills_format, "_line_rows", parsed)
    assert read_all(tmp_path, files).height == twap_fills(fills).height
    assert read_fills_files([(spaced, "fills/20250801/spaced")], DAY).rows["tid"].to_list() == [77]


@pytest.mark.parametrize(
    ("fill", "column"),
    [
        ({**FILL, "px": 24.36}, "px"),
        ({**FILL, "side": "buy"}, "side"),
        ({k: v for k, v in FILL.items() if k != "tid"}, "tid"),
        ({**FILL, "time": "yesterday"}, "time"),
    ],
)
def test_a_bad_twap_fill_fails_naming_file_and_column(tmp_path, fill, column):
    path = tmp_path / "3"
    path.write_bytes(block([["0x" + "b" * 40, fill]]) + b"\n")
    with pytest.raises(ParseError) as raised:
        read_fills_files([(path, "fills/20250801/3")], DAY)
    assert raised.value.file == "fills/20250801/3"
    assert raised.value.column == column


def test_a_broken_line_is_named_by_where_it_starts(tmp_path):
    path = tmp_path / "4"
    path.write_bytes(b'{"events": []}\n{"twapId": 5, "events": [\n')
    with pytest.raises(ParseError, match="the line at byte 15"):
        read_fills_files([(path, "fills/20250801/4")], DAY)


def test_a_line_that_is_not_a_block_of_fills_fails_naming_it(tmp_path):
    path = tmp_path / "5"
    fills = json.dumps({"block_number": 7, "fills": [["0x" + "b" * 40, FILL]]}).encode()
    path.write_bytes(block([]) + b"\n" + fills + b"\n")
    with pytest.raises(ParseError, match="the line at byte 73: not a block of fills"):
        read_fills_files([(path, "fills/20250801/5")], DAY)


def test_a_fill_with_a_long_field_is_read_exactly(tmp_path):
    long = {**FILL, "cloid": "0x" + "f" * 5000}
    path = tmp_path / "6"
    path.write_bytes(block([["0x" + "a" * 40, {**FILL, "twapId": None}], ["0x" + "b" * 40, long]]))
    rows = read_fills_files([(path, "fills/20250801/6")], DAY).rows
    assert rows.select("twap_id", "tid", "cloid").rows() == [(12, 77, long["cloid"])]
    assert rows["block_number"].to_list() == [7]


@pytest.mark.parametrize("chunk_bytes", [37, 1000, 1 << 16])
def test_lines_cut_by_chunk_edges_read_the_same(tmp_path, fills, monkeypatch, chunk_bytes):
    files = sample_fills.write_fills(tmp_path, "fills/", fills, "node")
    whole = read_all(tmp_path, files)
    monkeypatch.setattr(fills_format, "CHUNK_BYTES", chunk_bytes)
    assert read_all(tmp_path, files).equals(whole)


def test_a_twap_fill_without_the_zero_hash_is_still_read(tmp_path):
    # The scan finds TWAP fills through their all-zero hash, proving it on sampled chunks; a
    # fill that breaks the rule makes it scan the file in full.
    odd = {**FILL, "hash": "0x" + "ab" * 32, "tid": 78}
    path = tmp_path / "7"
    path.write_bytes(
        block([["0x" + "b" * 40, FILL]]) + b"\n" + block([["0x" + "c" * 40, odd]]) + b"\n"
    )
    rows = read_fills_files([(path, "fills/20250801/7")], DAY).rows
    assert rows["tid"].to_list() == [77, 78]
