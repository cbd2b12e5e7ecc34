"""Partition replacement and the twap_orders refresh, straight against PostgreSQL."""

from __future__ import annotations

from datetime import date

import polars as pl
import psycopg
import pytest

from twap_pipeline.loading import (
    DuplicateEventError,
    copy_rows,
    refresh_orders,
    replace_partitions,
)
from twap_pipeline.parsing import normalise
from twap_pipeline_tests import datagen

DAY = date(2025, 6, 1)


@pytest.fixture
def day_frames(events) -> list[pl.DataFrame]:
    one_day = events.filter(pl.col("day") == DAY)
    source = datagen.to_source_frame(one_day, "strings")
    half = source.height // 2
    return [normalise(source[:half], "a.parquet", DAY), normalise(source[half:], "b.parquet", DAY)]


def test_replace_reports_deleted_and_stored_rows(database_url, db, day_frames):
    total = sum(f.height for f in day_frames)
    with psycopg.connect(database_url) as conn:
        first = replace_partitions(conn, map(copy_rows, day_frames), [DAY])
    assert (first.deleted, first.stored) == (0, total)
    with psycopg.connect(database_url) as conn:
        again = replace_partitions(conn, [copy_rows(day_frames[0])], [DAY])
    assert (again.deleted, again.stored) == (total, day_frames[0].height)
    assert db.execute("SELECT count(*) FROM twap_status").fetchone()[0] == day_frames[0].height


def test_duplicate_event_is_named_and_nothing_is_kept(database_url, db, day_frames):
    with (
        pytest.raises(DuplicateEventError, match=r"duplicate event key: Key \(twap_id"),
        psycopg.connect(database_url) as conn,
    ):
        replace_partitions(
            conn, [copy_rows(day_frames[0]), copy_rows(day_frames[0].head(1))], [DAY]
        )
    assert db.execute("SELECT count(*) FROM twap_status").fetchone()[0] == 0


def test_refresh_orders_writes_one_row_per_twap(database_url, db, day_frames):
    with psycopg.connect(database_url) as conn:
        replace_partitions(conn, map(copy_rows, day_frames), [DAY])
        written = refresh_orders(conn, [DAY])
    twaps = pl.concat(day_frames)["twap_id"].n_unique()
    assert written == twaps
    assert db.execute("SELECT count(*) FROM twap_orders").fetchone()[0] == twaps
