"""The S3 sensor against moto: new objects request a run, an unchanged bucket requests
nothing, a re-published file requests a new run, and keys it cannot place are reported."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from dagster import AssetMaterialization, build_sensor_context
from dagster._core.test_utils import freeze_time

from twap_pipeline.definitions import defs
from twap_pipeline.sensors import twap_status_s3_sensor
from twap_pipeline_tests.conftest import PREFIX


@pytest.fixture
def tick(bucket, instance):
    """Evaluate one sensor tick from a cursor: (run requests, skip reason, next cursor)."""

    def evaluate(cursor: str | None):
        context = build_sensor_context(
            cursor=cursor,
            instance=instance,
            resources={"source": bucket.source()},
            definitions=defs,
        )
        data = twap_status_s3_sensor.evaluate_tick(context)
        skip = data.skip_message
        return data.run_requests, skip, data.cursor

    return evaluate


@pytest.fixture
def bucket_tick_at(tick):
    """A tick evaluated as if the clock showed ``when`` (UTC)."""

    def evaluate(when: str, cursor: str | None):
        with freeze_time(datetime.fromisoformat(when).replace(tzinfo=UTC)):
            return tick(cursor)

    return evaluate


def put(bucket, key: str, body: bytes) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + key, Body=body)


def test_new_changed_and_unchanged_objects(bucket, tick):
    put(bucket, "2025-06-01.parquet", b"one")
    requests, skip, cursor = tick(None)
    assert [r.partition_key for r in requests] == ["2025-06-01"]
    assert requests[0].run_key.startswith("2025-06-01:")
    assert len(json.loads(cursor)["at_watermark"]) == 1

    requests, skip, cursor = tick(cursor)
    assert requests == []
    assert "no new or changed objects among 1" in skip

    put(bucket, "2025-06-01.parquet", b"one, re-published")
    put(bucket, "date=2025-06-02/part-0.parquet", b"two")
    put(bucket, "date=2025-06-02/part-1.parquet", b"two bis")
    requests, skip, cursor = tick(cursor)
    assert [r.partition_key for r in requests] == ["2025-06-01", "2025-06-02"]
    first_key = requests[0].run_key
    assert requests[1].tags["twap/objects"] == "2"

    requests, skip, cursor = tick(cursor)
    assert requests == []
    # The same content published again gives the same run key: Dagster will not re-run it.
    time.sleep(1.1)
    put(bucket, "2025-06-01.parquet", b"one, re-published")
    requests, _, cursor = tick(cursor)
    assert [r.run_key for r in requests] == [first_key]


def test_keys_it_cannot_place_are_reported(bucket, tick):
    put(bucket, "_SUCCESS", b"")
    put(bucket, "date=2019-01-01/part-0.parquet", b"before the first partition")
    requests, skip, cursor = tick(None)
    assert requests == []
    assert "2 new object(s) not placed in a partition" in skip
    assert PREFIX + "_SUCCESS" in skip
    # Reported once, not on every tick.
    _, skip, _ = tick(cursor)
    assert "not placed" not in skip


def test_a_day_seen_before_it_closed_is_requested_once_it_has(bucket, bucket_tick_at):
    put(bucket, "2025-06-01.parquet", b"written during the day")
    requests, skip, cursor = bucket_tick_at("2025-06-01T18:00:00", None)
    assert requests == []
    assert "1 new object(s) not placed" in skip
    assert json.loads(cursor)["pending_days"] == ["2025-06-01"]
    requests, _, cursor = bucket_tick_at("2025-06-02T00:05:00", cursor)
    assert [r.partition_key for r in requests] == ["2025-06-01"]
    assert json.loads(cursor)["pending_days"] == []


def test_first_tick_skips_days_already_loaded(bucket, tick, instance):
    put(bucket, "2025-06-01.parquet", b"one")
    put(bucket, "2025-06-02.parquet", b"two")
    instance.report_runless_asset_event(
        AssetMaterialization(asset_key="twap_status", partition="2025-06-01")
    )
    requests, _, _ = tick(None)
    assert [r.partition_key for r in requests] == ["2025-06-02"]


def test_cursor_stays_small_over_a_long_history(bucket, tick):
    for n in range(500):
        day = f"2025-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}"
        put(bucket, f"date={day}/part-{n // 336}.parquet", b"x")
    started = time.perf_counter()
    requests, _, cursor = tick(None)
    elapsed = time.perf_counter() - started
    assert len({r.partition_key for r in requests}) == len(requests) == 336
    assert elapsed < 30  # a sensor tick may take 60 s; a few hundred objects take well under
    # The cursor holds what shares the newest second, never the history.
    time.sleep(1.1)
    put(bucket, "2025-06-30.parquet", b"later")
    requests, _, cursor = tick(cursor)
    assert [r.partition_key for r in requests] == ["2025-06-30"]
    assert len(cursor) < 200
