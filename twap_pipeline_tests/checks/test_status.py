"""Each blocking check fails on a crafted bad load, names the failing partitions, and the
database is left exactly as it was before that load."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from twap_pipeline_tests.support import (
    BAD_DAY,
    DAYS,
    FIRST_DAY,
    LAST_DAY,
    assert_rejected,
    day_events,
    dropping_inserts,
    run_pipeline,
    snapshot,
)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (pl.col("state_user").str.slice(0, 20), "wallet"),
        (pl.lit("Z"), "side"),
        (pl.lit("-1.5"), "negative size"),
    ],
    ids=["wallet", "side", "size"],
)
def test_rows_valid(loaded, events, bucket, landing, database_url, db, damage, problem):
    column = {
        "wallet": "state_user",
        "side": "state_side",
        "negative size": "state_sz",
    }[problem]
    bad = day_events(events).with_columns(
        pl.when(pl.col("twap_id") % 5 == 0).then(damage).otherwise(pl.col(column)).alias(column)
    )
    loaded(bad)
    before = snapshot(db)
    result = run_pipeline(bucket.source(), landing, database_url, FIRST_DAY, LAST_DAY)
    failure = assert_rejected(result, "rows_valid", db, before)
    assert failure["invalid_rows"] == bad.filter(pl.col("twap_id") % 5 == 0).height
    assert any(problem in s["problems"] for s in failure["sample_rows"])


def test_rows_valid_rejects_executed_above_requested(
    loaded, events, bucket, landing, database_url, db
):
    bad = day_events(events).with_columns(
        state_executedSz=pl.when(pl.col("status") == "finished")
        .then(pl.col("state_sz") + "1")
        .otherwise(pl.col("state_executedSz"))
    )
    loaded(bad)
    before = snapshot(db)
    result = run_pipeline(bucket.source(), landing, database_url, BAD_DAY)
    failure = assert_rejected(result, "rows_valid", db, before)
    assert "executed > requested" in failure["sample_rows"][0]["problems"]


def test_rows_valid_rejects_events_outside_their_day(
    loaded, events, bucket, landing, database_url, db
):
    next_day = (BAD_DAY + timedelta(days=1)).isoformat()
    late = (pl.col("status") == "finished") & (pl.col("twap_id") % 4 == 0)
    bad = day_events(events).with_columns(
        time=pl.when(late)
        .then(pl.lit(next_day) + pl.col("time").str.slice(10))
        .otherwise(pl.col("time"))
    )
    loaded(bad)
    before = snapshot(db)
    result = run_pipeline(bucket.source(), landing, database_url, BAD_DAY)
    failure = assert_rejected(result, "rows_valid", db, before)
    assert failure["invalid_rows"] == bad.filter(late).height > 0
    assert failure["sample_rows"][0]["problems"] == ["event time outside partition day"]


def test_unique_event_keys_within_the_load(loaded, events, bucket, landing, database_url, db):
    bad = day_events(events)
    loaded(pl.concat([bad, bad.head(3)]))
    before = snapshot(db)
    result = run_pipeline(bucket.source(), landing, database_url, FIRST_DAY, LAST_DAY)
    failure = assert_rejected(result, "unique_event_keys", db, before)
    assert failure["duplicate_rows"] == 6
    assert len(failure["sample_rows"]) == 5


def test_unique_event_keys_against_other_days(loaded, events, bucket, landing, database_url, db):
    # BAD_DAY's file also carries one event already loaded from the day before.
    earlier = day_events(events, BAD_DAY - timedelta(days=1)).tail(1)
    loaded(pl.concat([day_events(events), earlier]))
    before = snapshot(db)
    result = run_pipeline(bucket.source(), landing, database_url, BAD_DAY)
    failure = assert_rejected(result, "unique_event_keys", db, before, partitions=())
    assert str(earlier["twap_id"][0]) in failure["conflict"]


def test_lifecycle_two_terminal_events(loaded, events, bucket, landing, database_url, db):
    day = day_events(events)
    finished = day.filter(pl.col("status") == "finished").head(2)
    extra = finished.with_columns(
        status=pl.lit("terminated"),
        time=pl.col("time").str.slice(0, 20) + "999999999",
    )
    loaded(pl.concat([day, extra]).sort("time"))
    before = snapshot(db)
    result = run_pipeline(bucket.source(), landing, database_url, BAD_DAY)
    failure = assert_rejected(result, "lifecycle_consistent", db, before)
    assert failure["inconsistent_twaps"] == 2
    assert {s["twap_id"] for s in failure["sample_rows"]} == set(finished["twap_id"])


def test_lifecycle_terminal_before_activation(loaded, events, bucket, landing, database_url, db):
    day = day_events(events)
    victim = day.filter(pl.col("status") == "activated")["twap_id"][5]
    bad = day.with_columns(
        time=pl.when((pl.col("twap_id") == victim) & (pl.col("status") == "activated"))
        .then(pl.lit(f"{BAD_DAY.isoformat()}T23:59:59.999999999"))
        .otherwise(pl.col("time"))
    )
    assert bad.filter(pl.col("twap_id") == victim).height == 2
    loaded(bad)
    before = snapshot(db)
    result = run_pipeline(bucket.source(), landing, database_url, BAD_DAY)
    failure = assert_rejected(result, "lifecycle_consistent", db, before)
    assert failure["sample_rows"][0]["twap_id"] == victim


def test_rows_match_source_catches_a_lossy_load(loaded, bucket, landing, database_url, db):
    with dropping_inserts(db, "twap_status", 7):
        before = snapshot(db)
        result = run_pipeline(bucket.source(), landing, database_url, FIRST_DAY, LAST_DAY)
        failure = assert_rejected(
            result,
            "rows_match_source",
            db,
            before,
            partitions=[FIRST_DAY + timedelta(n) for n in range(DAYS)],
        )
        mismatch = failure["details_by_partition"][BAD_DAY.isoformat()]
        assert mismatch["rows_loaded"] < mismatch["rows_in_files"]


def test_unknown_status_loads_and_warns(loaded, events, bucket, landing, database_url, db):
    day = day_events(events)
    renamed = day.with_columns(
        status=pl.when(pl.col("status") == "terminated")
        .then(pl.lit("paused"))
        .otherwise(pl.col("status"))
    )
    loaded(renamed)
    result = run_pipeline(bucket.source(), landing, database_url, BAD_DAY)
    assert result.success
    [warning] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert warning.check_name == "statuses_known"
    assert warning.severity.value == "WARN"
    paused = renamed.filter(pl.col("status") == "paused").height
    assert warning.metadata["unknown_statuses"].value == {"paused": paused}
    stored = db.execute(
        "SELECT count(*) FROM twap_status WHERE partition_date = %s AND status = 'paused'",
        [BAD_DAY],
    ).fetchone()[0]
    assert stored == paused > 0
    # Not terminal: such a TWAP keeps its latest known state, and has no end.
    ended = db.execute(
        "SELECT count(*) FROM twap_orders WHERE status = 'paused' AND ended_at IS NULL"
    ).fetchone()[0]
    assert ended > 0
