"""The S3 sensor against moto: new objects request a run, an unchanged bucket requests nothing,
a re-published file requests a new run, keys it cannot place are reported, hourly objects keep
today loading, and a first tick over a long history asks for a few range runs."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from dagster import AssetMaterialization, build_sensor_context

from twap_pipeline.definitions import defs
from twap_pipeline.jobs import PARTITION_TAG
from twap_pipeline.sensors import RANGE_END, RANGE_START, first_tick_ranges, twap_status_s3_sensor
from twap_pipeline_tests.support import PREFIX


@pytest.fixture
def tick(bucket, instance):
    """Evaluate one sensor tick from a cursor: (run requests, skip reason, next cursor)."""

    def evaluate(cursor: str | None):
        with build_sensor_context(
            cursor=cursor,
            instance=instance,
            resources={"source": bucket.source()},
            definitions=defs,
        ) as context:
            data = twap_status_s3_sensor.evaluate_tick(context)
        return data.run_requests, data.skip_message, data.cursor

    return evaluate


def put(bucket, key: str, body: bytes) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=PREFIX + key, Body=body)


def test_new_changed_and_unchanged_objects(bucket, tick):
    _, skip, cursor = tick(None)  # a first tick on an empty bucket
    assert "no new or changed objects among 0" in skip
    put(bucket, "2025-06-01.parquet", b"one")
    requests, skip, cursor = tick(cursor)
    assert [r.partition_key for r in requests] == ["2025-06-01"]
    assert requests[0].run_key.startswith("2025-06-01:")
    assert requests[0].tags[PARTITION_TAG] == "2025-06-01"
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
    _, _, cursor = tick(None)
    put(bucket, "manifest.json", b"{}")
    put(bucket, "date=2019-01-01/part-0.parquet", b"before the first partition")
    put(bucket, "date=2025-06-01/_SUCCESS", b"")  # a marker: not data, not reported
    requests, skip, cursor = tick(cursor)
    assert requests == []
    assert "2 new object(s) not placed in a partition" in skip
    assert PREFIX + "manifest.json" in skip
    # Reported once, not on every tick.
    _, skip, _ = tick(cursor)
    assert "not placed" not in skip


def test_each_new_hour_requests_today_again(bucket, tick):
    _, _, cursor = tick(None)
    today = datetime.now(UTC).date()
    hour = f"hourly/{today:%Y/%m/%d}"
    put(bucket, f"{hour}/00/part-0.parquet", b"midnight")
    first, _, cursor = tick(cursor)
    assert [r.partition_key for r in first] == [today.isoformat()]
    put(bucket, f"{hour}/01/part-0.parquet", b"one o'clock")
    second, _, cursor = tick(cursor)
    assert [r.partition_key for r in second] == [today.isoformat()]
    assert second[0].run_key != first[0].run_key
    assert second[0].tags["twap/objects"] == "2"


def test_first_tick_over_a_long_history_asks_for_one_range_run(bucket, tick):
    days = [date(2025, 1, 1) + timedelta(n) for n in range(300)]
    for day in days:
        put(bucket, f"date={day}/part-0.parquet", b"x")
    started = time.perf_counter()
    requests, _, cursor = tick(None)
    assert time.perf_counter() - started < 30  # a sensor tick may take 60 s
    [request] = requests
    assert request.partition_key is None
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2025-01-01", "2025-10-27")
    assert request.tags["twap/objects"] == "300"
    # The cursor holds what shares the newest second, never the history.
    assert len(cursor) < 4000
    time.sleep(1.1)
    put(bucket, "2025-10-28.parquet", b"later")
    requests, _, cursor = tick(cursor)
    assert [r.partition_key for r in requests] == ["2025-10-28"]


def test_first_tick_skips_days_already_loaded(bucket, tick, instance):
    for day in ("2025-06-01", "2025-06-02", "2025-06-03", "2025-06-04"):
        put(bucket, f"{day}.parquet", b"x")
    for day in ("2025-06-01", "2025-06-02"):
        instance.report_runless_asset_event(
            AssetMaterialization(asset_key="twap_status", partition=day)
        )
    [request], _, _ = tick(None)
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2025-06-03", "2025-06-04")


def test_first_tick_ranges_join_across_loaded_days_but_not_empty_ones():
    missing = ["2025-01-01", "2025-01-03", "2025-01-05", "2025-01-07", "2025-01-09",
               "2025-01-11", "2025-01-13", "2025-01-20"]  # fmt: skip
    with_objects = {f"2025-01-{d:02d}" for d in range(1, 14)} | {"2025-01-20"}
    ranges = first_tick_ranges(missing, with_objects)
    assert len(ranges) <= 5
    assert ranges[-1] == ("2025-01-20", "2025-01-20")  # days 14-19 have nothing to load
    covered = {d for first, last in ranges for d in missing if first <= d <= last}
    assert covered == set(missing)
