"""The ingest chain end to end: moto S3 (or a local mirror) -> landing -> PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from twap_pipeline import sample
from twap_pipeline.resources import LocalObjectSource
from twap_pipeline_tests.support import (
    DAYS,
    FIRST_DAY,
    PREFIX,
    assert_orders_match,
    expected_events,
    failure_message,
    float_days,
    run_pipeline,
    same_events,
    table_events,
    table_orders,
)
from twap_pipeline_tests.truth import expected_orders

LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)


def test_range_run_from_s3_loads_every_event_exactly_once(
    bucket, source_tree, events, landing, database_url, db, instance
):
    bucket.upload_tree(source_tree)
    result = run_pipeline(bucket.source(), landing, database_url, FIRST_DAY, LAST_DAY, instance)
    assert result.success
    same_events(table_events(db), expected_events(events), float_days(events))
    # Terminal events in a later day's file than their activation are both there.
    crossing = db.execute(
        """SELECT count(*) FROM twap_status a JOIN twap_status t USING (twap_id)
           WHERE a.status = 'activated' AND t.status <> 'activated'
             AND t.partition_date > a.partition_date"""
    ).fetchone()[0]
    assert crossing > 10
    assert db.execute("SELECT count(*) FROM twap_status WHERE status = 'error'").fetchone()[0] > 0
    metadata = result.asset_materializations_for_node("twap_status")[0].metadata
    assert metadata["rows_loaded"].value == events.height
    assert metadata["distinct_twaps"].value == events["twap_id"].n_unique()
    assert metadata["distinct_wallets"].value == events["state_user"].str.to_lowercase().n_unique()
    per_day = events.group_by("day").len()
    assert metadata["rows_per_partition"].value == {
        d.isoformat(): n for d, n in per_day.iter_rows()
    }


def test_raw_keeps_the_source_row(bucket, source_tree, landing, database_url, db):
    bucket.upload_tree(source_tree)
    assert run_pipeline(bucket.source(), landing, database_url, FIRST_DAY, LAST_DAY).success
    raw_time, event_time = db.execute(
        """SELECT raw->>'time', to_char(event_time AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS.US') FROM twap_status
           WHERE raw->>'state_sz' IS NOT NULL AND raw->>'time' LIKE '%T%' LIMIT 1"""
    ).fetchone()
    assert len(raw_time.rstrip("Z")) == 29  # nanoseconds survive in raw
    assert raw_time.startswith(event_time)  # event_time is the same instant, truncated to µs


def test_rerunning_days_and_ranges_changes_nothing(bucket, source_tree, landing, database_url, db):
    bucket.upload_tree(source_tree)
    source = bucket.source()
    assert run_pipeline(source, landing, database_url, FIRST_DAY, LAST_DAY).success
    before = table_events(db)
    orders_before = db.execute("SELECT * FROM twap_orders ORDER BY twap_id").fetchall()
    assert run_pipeline(source, landing, database_url, FIRST_DAY + timedelta(days=2)).success
    assert run_pipeline(source, landing, database_url, FIRST_DAY, LAST_DAY).success
    assert table_events(db) == before
    assert db.execute("SELECT * FROM twap_orders ORDER BY twap_id").fetchall() == orders_before


def test_local_source_dir_loads_the_same_rows(source_tree, events, landing, database_url, db):
    source = LocalObjectSource(directory=str(source_tree), prefix=PREFIX)
    assert run_pipeline(source, landing, database_url, FIRST_DAY, LAST_DAY).success
    same_events(table_events(db), expected_events(events), float_days(events))


def test_republished_file_replaces_its_partition(
    bucket, source_tree, events, landing, database_url, db, tmp_path
):
    bucket.upload_tree(source_tree)
    source = bucket.source()
    assert run_pipeline(source, landing, database_url, FIRST_DAY, LAST_DAY).success
    day = FIRST_DAY + timedelta(days=3)
    kept = events.filter(pl.col("day") == day).head(40)
    # Upstream re-publishes the day with fewer events (every other file of the day removed).
    republished = tmp_path / "republished"
    sample.write_dataset(republished, PREFIX, kept)
    for key in sample.object_keys(PREFIX, day, sample.style_for(day).layout):
        bucket.client.delete_object(Bucket=bucket.name, Key=key)
    bucket.upload_tree(republished)
    # Most of the day's events vanish upstream: refused unless the operator says so.
    refused = run_pipeline(source, landing, database_url, day)
    assert not refused.success
    assert f"{day}: the files offer 40 events where" in failure_message(refused)
    assert run_pipeline(source, landing, database_url, day, allow_shrinking_days=True).success
    loaded = db.execute(
        "SELECT count(*) FROM twap_status WHERE partition_date = %s", [day]
    ).fetchone()[0]
    assert loaded == 40
    expected = events.filter(pl.col("day") != day).vstack(kept)
    same_events(table_events(db), expected_events(expected), float_days(events))
    # TWAPs whose only events were dropped leave twap_orders; the others are recomputed.
    assert_orders_match(table_orders(db), expected_orders(expected))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: f.drop("state_executedNtl"), "column 'state_executedNtl': required column"),
        (lambda f: f.with_columns(state_sz=pl.lit("12.5.1")), "column 'state_sz'"),
        (lambda f: f.with_columns(time=pl.lit("yesterday")), "column 'time'"),
    ],
)
def test_bad_file_fails_its_run_and_keeps_the_database(
    bucket, source_tree, events, landing, database_url, db, damage, message
):
    bucket.upload_tree(source_tree)
    source = bucket.source()
    assert run_pipeline(source, landing, database_url, FIRST_DAY, LAST_DAY).success
    before = table_events(db)
    day = next(
        FIRST_DAY + timedelta(n)
        for n in range(DAYS)
        if sample.style_for(FIRST_DAY + timedelta(n)).layout == "daily"
    )
    key = sample.object_keys(PREFIX, day, "daily")[0]
    path = source_tree / key
    damage(pl.read_parquet(path)).write_parquet(path)
    bucket.client.upload_file(str(path), bucket.name, key)
    result = run_pipeline(source, landing, database_url, FIRST_DAY, LAST_DAY)
    assert not result.success
    text = failure_message(result)
    assert key in text and message in text
    assert table_events(db) == before


def test_corrupt_file_fails_its_day_only(bucket, source_tree, events, landing, database_url, db):
    bucket.upload_tree(source_tree)
    day = FIRST_DAY + timedelta(days=1)
    key = sample.object_keys(PREFIX, day, sample.style_for(day).layout)[0]
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"PAR1 this is not parquet")
    result = run_pipeline(bucket.source(), landing, database_url, FIRST_DAY, LAST_DAY)
    assert not result.success
    assert f"{day}: {key}: not a readable parquet file" in failure_message(result)
    others = events.filter(pl.col("day") != day)
    same_events(table_events(db), expected_events(others), float_days(events))


def test_day_without_objects_fails_naming_it(bucket, source_tree, landing, database_url, db):
    bucket.upload_tree(source_tree)
    missing = LAST_DAY + timedelta(days=1)
    result = run_pipeline(bucket.source(), landing, database_url, LAST_DAY, missing)
    assert not result.success
    assert f"{missing}: no objects under" in failure_message(result)
    assert db.execute("SELECT DISTINCT partition_date FROM twap_status").fetchall() == [(LAST_DAY,)]


def test_undated_keys_are_reported(bucket, source_tree, landing, database_url, db):
    bucket.upload_tree(source_tree)
    marker = f"{PREFIX}date={FIRST_DAY}/_SUCCESS"
    bucket.client.put_object(Bucket=bucket.name, Key=marker, Body=b"")
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + "manifest.json", Body=b"{}")
    result = run_pipeline(bucket.source(), landing, database_url, FIRST_DAY)
    assert result.success
    metadata = result.asset_materializations_for_node("twap_status")[0].metadata
    assert metadata["undated_keys"].value == [PREFIX + "manifest.json"]
    assert metadata["skipped_keys"].value == {marker: "a marker or hidden file"}


def test_rerun_reuses_landed_files_and_drops_replaced_ones(
    bucket, source_tree, landing, database_url, db
):
    bucket.upload_tree(source_tree)
    source = bucket.source()
    day = FIRST_DAY + timedelta(days=2)  # hive_hourly: 24 parquet files
    keys = sample.object_keys(PREFIX, day, sample.style_for(day).layout)

    def landed_files() -> dict:
        result = run_pipeline(source, landing, database_url, day)
        assert result.success
        metadata = result.asset_materializations_for_node("twap_status")[0].metadata
        return {k: metadata[k].value for k in ("objects", "files_downloaded", "files_reused")}

    assert landed_files() == {
        "objects": len(keys),
        "files_downloaded": len(keys),
        "files_reused": 0,
    }
    assert landed_files() == {
        "objects": len(keys),
        "files_downloaded": 0,
        "files_reused": len(keys),
    }
    # Upstream re-publishes one file with the same rows, compressed otherwise: only that one
    # is fetched again.
    path = source_tree / keys[-1]
    pl.read_parquet(path).write_parquet(path, compression="gzip")
    bucket.client.upload_file(str(path), bucket.name, keys[-1])
    assert landed_files() == {
        "objects": len(keys),
        "files_downloaded": 1,
        "files_reused": len(keys) - 1,
    }
    on_disk = sorted(p.name for p in (Path(landing.directory) / day.isoformat()).iterdir())
    assert len(on_disk) == 2 * len(keys)  # each file and its sidecar; the old copy is gone
