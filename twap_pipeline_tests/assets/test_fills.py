"""twap_fills end to end: the fills archive (moto S3, requester-pays, or a local mirror) ->
landing -> PostgreSQL, each TWAP fill once, exact to the last digit, reruns changing nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from twap_pipeline import sample, sample_fills
from twap_pipeline.resources import LandingArea, LocalObjectSource
from twap_pipeline_tests.support import run_fills

FIRST = date(2025, 8, 1)
DAYS = 3
LAST = FIRST + timedelta(days=DAYS - 1)
PREFIX = sample_fills.FILLS_PREFIX


@pytest.fixture(scope="module")
def fills() -> pl.DataFrame:
    events = sample.generate_events(FIRST, DAYS, twaps_per_day=150, seed=5, wallets=40)
    generated = sample_fills.generate_fills(events)
    return generated.filter(pl.col("day") <= LAST)


def load(source, tmp_path: Path, database_url: str):
    landing = LandingArea(directory=str(tmp_path / "landing"))
    return run_fills(source, landing, database_url, FIRST, LAST)


def stored(db) -> list[tuple]:
    return db.execute(
        """SELECT twap_id, tid, wallet, px::text, sz::text, fee::text, side,
                  (extract(epoch FROM fill_time) * 1000)::bigint
           FROM twap_fills ORDER BY twap_id, tid"""
    ).fetchall()


def expected(fills: pl.DataFrame) -> list[tuple]:
    mine = fills.filter(pl.col("twapId").is_not_null()).sort("twapId", "tid")
    return mine.select("twapId", "tid", "user", "px", "sz", "fee", "side", "time").rows()


@pytest.mark.parametrize("layout", sample_fills.LAYOUTS)
def test_a_range_run_loads_every_twap_fill_once_and_a_rerun_changes_nothing(
    tmp_path, fills, database_url, db, layout
):
    sample_fills.write_fills(tmp_path / "archive", PREFIX, fills, layout, noise_blocks=3)
    source = LocalObjectSource(directory=str(tmp_path / "archive"), prefix=PREFIX)
    assert load(source, tmp_path, database_url).success
    want = expected(fills)
    assert stored(db) == want
    assert load(source, tmp_path, database_url).success
    assert stored(db) == want
    both_sides = db.execute(
        "SELECT count(*) FROM (SELECT tid FROM twap_fills GROUP BY tid HAVING count(*) = 2) t"
    ).fetchone()[0]
    assert (
        both_sides == fills.filter(pl.col("twapId").is_not_null())["tid"].is_duplicated().sum() / 2
    )


def test_the_requester_pays_bucket_is_read_like_the_local_mirror(
    tmp_path, fills, database_url, db, bucket
):
    sample_fills.write_fills(tmp_path / "archive", PREFIX, fills, "node")
    bucket.upload_tree(tmp_path / "archive")
    assert load(bucket.source(prefix=PREFIX), tmp_path, database_url).success
    assert stored(db) == expected(fills)


def test_a_corrupt_hour_fails_its_day_only(tmp_path, fills, database_url, db):
    sample_fills.write_fills(tmp_path / "archive", PREFIX, fills, "node")
    broken = tmp_path / "archive" / f"{PREFIX}{(FIRST + timedelta(days=1)):%Y%m%d}/5.lz4"
    broken.write_bytes(b"\x04\x22\x4d\x18 not an lz4 frame")
    source = LocalObjectSource(directory=str(tmp_path / "archive"), prefix=PREFIX)
    result = load(source, tmp_path, database_url)
    assert not result.success
    days = {r[0] for r in db.execute("SELECT DISTINCT partition_date FROM twap_fills")}
    assert days == {FIRST, LAST}
