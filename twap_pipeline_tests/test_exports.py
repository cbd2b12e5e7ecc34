"""Exports a tax platform imports: each template's header, perp fills as positions, spot fills
as trades, a stable transaction id per fill, the TWAP id in every row; and ``twap export``
writing a wallet's year from the database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from twap_pipeline import sample, sample_fills
from twap_pipeline.cli import main
from twap_pipeline.exports import HEADERS, csv_lines
from twap_pipeline.resources import LandingArea, LocalObjectSource
from twap_pipeline_tests.support import run_fills

WALLET = "0x" + "ab" * 20
PERP_OPEN = {
    "twap_id": 7, "tid": 101, "wallet": WALLET,
    "fill_time": datetime(2025, 8, 1, 9, 5, 7, tzinfo=UTC),
    "coin": "BTC", "px": Decimal("97000.5"), "sz": Decimal("0.0200"), "side": "B",
    "dir": "Open Long", "start_position": Decimal("0"), "closed_pnl": Decimal("0.0"),
    "fee": Decimal("0.679"), "fee_token": "USDC", "builder_fee": None, "oid": 9, "cloid": None,
    "crossed": True, "block_number": 5, "block_time": None, "hash": "0x" + "0" * 64,
}  # fmt: skip
PERP_CLOSE = {**PERP_OPEN, "tid": 102, "dir": "Close Long", "side": "A",
              "closed_pnl": Decimal("-12.5")}  # fmt: skip
SPOT_BUY = {**PERP_OPEN, "tid": 103, "coin": "@107", "px": Decimal("24.36"), "sz": Decimal("10"),
            "dir": "Buy", "fee": Decimal("0.007"), "fee_token": "@107"}  # fmt: skip


def rows(format_name: str, fills: list[dict]) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(csv_lines(format_name, fills)))))


def test_awaken_perps_template_with_position_tags_and_utc_dates():
    table = rows("awaken", [PERP_OPEN, PERP_CLOSE, SPOT_BUY])
    assert table[0] == [
        "Date", "Asset", "Amount", "Fee", "P&L", "Payment Token", "Notes", "Transaction Hash",
        "Tag",
    ]  # fmt: skip
    assert table[1] == [
        "08/01/2025 09:05:07", "BTC", "0.02", "0.679", "0", "USDC",
        "TWAP 7: Open Long 0.02 BTC @ 97000.5", f"hl-{WALLET}-101", "open_position",
    ]  # fmt: skip
    assert table[2][4] == "-12.5" and table[2][8] == "close_position"
    assert len(table) == 3  # the spot fill is not a position


def test_awaken_spot_template_trades_the_coin_against_usdc():
    table = rows("awaken_spot", [PERP_OPEN, SPOT_BUY])
    assert table[0] == HEADERS["awaken_spot"]
    assert table[1][:7] == ["08/01/2025 09:05:07", "10", "@107", "243.6", "USDC", "0.007", "@107"]
    assert len(table) == 2


def test_koinly_universal_template():
    table = rows("koinly", [PERP_OPEN, PERP_CLOSE, SPOT_BUY])
    assert table[0] == [
        "Date", "Sent Amount", "Sent Currency", "Received Amount", "Received Currency",
        "Fee Amount", "Fee Currency", "Net Worth Amount", "Net Worth Currency", "Label",
        "Description", "TxHash",
    ]  # fmt: skip
    opened, closed, bought = table[1:]
    assert opened[:7] == ["2025-08-01 09:05:07 UTC", "0.679", "USDC", "", "", "", ""]
    assert opened[9] == "cost"
    assert closed[1:7] == ["12.5", "USDC", "", "", "0.679", "USDC"]
    assert closed[9] == "realized gain"
    assert bought[1:5] == ["243.6", "USDC", "10", "@107"]
    assert all(r[10].startswith("TWAP 7:") for r in table[1:])


def test_plain_csv_has_every_column():
    table = rows("csv", [PERP_OPEN])
    assert table[0][:3] == ["twap_id", "tid", "wallet"] and table[0][-1] == "transaction_id"
    record = dict(zip(table[0], table[1], strict=True))
    assert record["px"] == "97000.5" and record["fill_time"] == "2025-08-01T09:05:07Z"
    assert record["crossed"] == "true" and record["builder_fee"] == ""


FIRST = date(2025, 8, 1)


@pytest.fixture(scope="module")
def fills() -> pl.DataFrame:
    events = sample.generate_events(FIRST, 2, twaps_per_day=100, seed=4, wallets=10)
    return sample_fills.generate_fills(events).filter(pl.col("day") < FIRST + timedelta(days=2))


@pytest.mark.parametrize("format_name", ["awaken", "koinly", "csv"])
def test_twap_export_writes_a_wallets_year_once_per_fill(
    tmp_path, fills, database_url, db, monkeypatch, format_name
):
    sample_fills.write_fills(tmp_path / "archive", sample_fills.FILLS_PREFIX, fills)
    source = LocalObjectSource(
        directory=str(tmp_path / "archive"), prefix=sample_fills.FILLS_PREFIX
    )
    landing = LandingArea(directory=str(tmp_path / "landing"))
    assert run_fills(source, landing, database_url, FIRST, FIRST + timedelta(days=1)).success
    mine = fills.filter(pl.col("twapId").is_not_null())
    wallet = mine.group_by("user").len().sort("len")["user"][-1]
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = tmp_path / f"{format_name}.csv"
    args = ["export", "--wallet", wallet.upper().replace("0X", "0x"), "--year", "2025"]
    assert main([*args, "--format", format_name, "--output", str(out)]) == 0
    table = list(csv.DictReader(out.open()))
    own = mine.filter(pl.col("user") == wallet)
    perps = own.filter(~pl.col("coin").str.starts_with("@"))
    expected = perps if format_name == "awaken" else own
    assert len(table) == expected.height
    ids = [r.get("Transaction Hash") or r.get("TxHash") or r["transaction_id"] for r in table]
    assert len(set(ids)) == len(ids) == expected.height
    # Reading the year again gives the same file: a re-import matches every row.
    again = tmp_path / "again.csv"
    assert main([*args, "--format", format_name, "--output", str(again)]) == 0
    assert again.read_text() == out.read_text()
    assert main([*args[:-1], "1999", "--format", format_name]) == 2
