"""Fills reconciled with statuses: consistent data passes with every judged TWAP's totals in
twap_orders; a fill that disagrees is named with both sums, whichever asset loads last."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from twap_pipeline import sample, sample_fills
from twap_pipeline.resources import LandingArea, LocalObjectSource
from twap_pipeline_tests.support import PREFIX, run_fills, run_pipeline

FIRST = date(2025, 8, 1)
DAYS = 3
LAST = FIRST + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return sample.generate_events(FIRST, DAYS, twaps_per_day=120, seed=9, wallets=30)


@pytest.fixture(scope="module")
def fills(events) -> pl.DataFrame:
    return sample_fills.generate_fills(events)


def write(tmp_path: Path, events: pl.DataFrame, fills: pl.DataFrame):
    sample.write_dataset(tmp_path / "statuses", PREFIX, events)
    sample_fills.write_fills(tmp_path / "fills", sample_fills.FILLS_PREFIX, fills, "node")
    statuses = LocalObjectSource(directory=str(tmp_path / "statuses"), prefix=PREFIX)
    archive = LocalObjectSource(directory=str(tmp_path / "fills"), prefix=sample_fills.FILLS_PREFIX)
    return statuses, archive


def check(result, name: str = "fills_reconcile"):
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert evaluations
    return evaluations[-1]


def test_consistent_fills_reconcile_and_fill_totals_land_in_twap_orders(
    tmp_path, events, fills, database_url, db
):
    statuses, archive = write(tmp_path, events, fills)
    landing = LandingArea(directory=str(tmp_path / "landing"))
    assert run_pipeline(statuses, landing, database_url, FIRST, LAST).success
    result = run_fills(archive, landing, database_url, FIRST, LAST)
    assert result.success
    verdict = check(result)
    assert verdict.passed
    ended = events.filter(pl.col("status").is_in(["finished", "terminated", "error"]))
    # Each day judges the TWAPs it touched: one spanning two days is judged by both.
    assert verdict.metadata["twaps_reconciled"].value >= ended.height
    agree = db.execute(
        """SELECT count(*) FROM twap_orders WHERE ended_at IS NOT NULL
           AND coalesce(filled_size, 0) = size_executed
           AND coalesce(filled_notional, 0) = notional_executed"""
    ).fetchone()[0]
    assert agree == ended.height
    mine = fills.filter(pl.col("twapId").is_not_null())
    twap_id = mine["twapId"][0]
    own = mine.filter(pl.col("twapId") == twap_id)
    row = db.execute(
        """SELECT fill_count, filled_size, filled_notional, fees, first_fill_at, last_fill_at
           FROM twap_orders WHERE twap_id = %s""",
        [twap_id],
    ).fetchone()
    assert row[0] == own.height
    assert row[1] == sum(Decimal(v) for v in own["sz"])
    assert row[2] == sum(Decimal(p) * Decimal(s) for p, s in own.select("px", "sz").rows())
    assert Decimal(str(row[3]["USDC"])) == sum(Decimal(v) for v in own["fee"])
    # Loading the statuses again recomputes twap_orders and keeps its fill totals.
    assert run_pipeline(statuses, landing, database_url, FIRST, LAST).success
    again = db.execute(
        "SELECT fill_count, filled_size FROM twap_orders WHERE twap_id = %s", [twap_id]
    ).fetchone()
    assert again == row[:2]


def test_a_fill_that_disagrees_is_named_with_both_sums(tmp_path, events, fills, database_url, db):
    mine = fills.filter(pl.col("twapId").is_not_null())
    victim = mine.row(0, named=True)
    bigger = str(Decimal(victim["sz"]) + Decimal("0.5"))
    crafted = fills.with_columns(
        sz=pl.when((pl.col("tid") == victim["tid"]) & (pl.col("twapId") == victim["twapId"]))
        .then(pl.lit(bigger))
        .otherwise(pl.col("sz"))
    )
    statuses, archive = write(tmp_path, events, crafted)
    landing = LandingArea(directory=str(tmp_path / "landing"))
    # Fills first, then statuses: the check runs after either load.
    first = run_fills(archive, landing, database_url, FIRST, LAST)
    assert first.success  # nothing to judge yet: no terminal status is loaded
    assert check(first).passed
    result = run_pipeline(statuses, landing, database_url, FIRST, LAST)
    assert result.success  # a warning: the data stays as published
    verdict = check(result)
    assert not verdict.passed
    named = verdict.metadata["mismatches"].value
    assert [m["twap_id"] for m in named] == [victim["twapId"]]
    terminal = events.filter(
        (pl.col("twap_id") == victim["twapId"])
        & pl.col("status").is_in(["finished", "terminated", "error"])
    ).row(0, named=True)
    assert Decimal(named[0]["size_executed"]) == Decimal(terminal["state_executedSz"])
    assert Decimal(named[0]["filled_size"]) == Decimal(terminal["state_executedSz"]) + Decimal(
        "0.5"
    )
    # Reloading the fills day judges it again, from the fills side.
    day = victim["day"]
    again = run_fills(archive, landing, database_url, day, day)
    assert [m["twap_id"] for m in check(again).metadata["mismatches"].value] == [victim["twapId"]]
