"""``twap_status_s3_sensor`` and ``twap_fills_s3_sensor``: request a run for every day whose
source objects are new or changed. With an hourly source a day is requested again whenever a
new hour object appears, so loaded data trails the source by about an hour; the run queue never
runs two loads of one day at once (the ``twap/partition`` and ``twap/fills_partition`` tags,
limited in dagster.yaml).

On its first tick (no cursor) it does not queue one run per day of a long history: it asks for
the missing days as a few partition-range runs (one single run each, ``BackfillPolicy``).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from dagster import (
    AssetKey,
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from twap_pipeline.jobs import FILLS_PARTITION_TAG, PARTITION_TAG, twap_daily_job, twap_fills_job
from twap_pipeline.keys import date_from_key, not_data_reason
from twap_pipeline.partitions import daily_partitions, fills_partitions
from twap_pipeline.resources import ObjectSource, SourceObject

SENSOR_INTERVAL_SECONDS = 300
REPORT_LIMIT = 20
MAX_FIRST_TICK_RANGES = 5
STATUS_ASSET = AssetKey("twap_status")
FILLS_ASSET = AssetKey("twap_fills")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def day_fingerprint(objects: list[SourceObject]) -> str:
    """Changes whenever an object of the day is added, removed or re-published."""
    text = "\n".join(f"{o.key}\t{o.etag}" for o in sorted(objects, key=lambda o: o.key))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class SensorCursor:
    """Bounded state: the newest LastModified seen, the objects stamped with exactly that time
    (S3 times have one-second precision, so a later upload can share it), and days seen before
    their partition existed (a clock a little ahead of ours), requested once it exists."""

    watermark: str = ""
    at_watermark: list[str] = field(default_factory=list)
    pending_days: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> SensorCursor:
        return cls(**json.loads(raw)) if raw else cls()

    def dump(self) -> str:
        return json.dumps(asdict(self))

    def is_new(self, obj: SourceObject) -> bool:
        if obj.last_modified != self.watermark:
            return obj.last_modified > self.watermark
        return _stamp(obj) not in self.at_watermark

    def advance(self, objects: list[SourceObject], pending_days: list[str]) -> SensorCursor:
        newest = max((o.last_modified for o in objects), default="")
        if newest <= self.watermark:
            newest = self.watermark
        stamped = {_stamp(o) for o in objects if o.last_modified == newest}
        if newest == self.watermark:
            stamped |= set(self.at_watermark)
        return SensorCursor(newest, sorted(stamped), sorted(pending_days))


def first_tick_ranges(missing: list[str], has_objects: set[str]) -> list[tuple[str, str]]:
    """The missing days as contiguous ranges; when there are more than
    ``MAX_FIRST_TICK_RANGES``, the ranges separated by the shortest gaps are joined, but only
    across days that have objects (reloading a loaded day changes nothing; a day without
    objects would fail in the range)."""
    ranges: list[list[date]] = []
    for day in sorted(date.fromisoformat(d) for d in missing):
        if ranges and day - ranges[-1][1] == timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])

    def joinable(left: list[date], right: list[date]) -> bool:
        gap = (right[0] - left[1]).days - 1
        return all(
            (left[1] + timedelta(days=n)).isoformat() in has_objects for n in range(1, gap + 1)
        )

    while len(ranges) > MAX_FIRST_TICK_RANGES:
        candidates = [
            ((ranges[i + 1][0] - ranges[i][1]).days, i)
            for i in range(len(ranges) - 1)
            if joinable(ranges[i], ranges[i + 1])
        ]
        if not candidates:
            break
        _, i = min(candidates)
        ranges[i : i + 2] = [[ranges[i][0], ranges[i + 1][1]]]
    return [(a.isoformat(), b.isoformat()) for a, b in ranges]


def source_sensor(
    name: str,
    job: Any,  # what define_asset_job returns
    asset: AssetKey,
    source_key: str,
    partitions: DailyPartitionsDefinition,
    partition_tag: str,
) -> SensorDefinition:
    """A sensor over the objects of resource ``source_key`` that requests ``job`` for each day
    of ``partitions`` whose objects are new or changed; its first tick asks for the days
    ``asset`` is missing as a few range runs."""

    @sensor(
        name=name,
        target=job,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        required_resource_keys={source_key},
        description=f"Requests a {job.name} run for each day whose objects are new or changed "
        "(by ETag); on its first tick, a few range runs for every day not yet loaded.",
    )
    def evaluate(context: SensorEvaluationContext):
        source: ObjectSource = getattr(context.resources, source_key)
        return _evaluate(context, source, asset, partitions, partition_tag)

    return evaluate


def _evaluate(
    context: SensorEvaluationContext,
    source: ObjectSource,
    asset: AssetKey,
    partitions: DailyPartitionsDefinition,
    partition_tag: str,
) -> SensorResult:
    cursor = SensorCursor.parse(context.cursor)
    first_day = partitions.start.date()
    listed = [o for o in source.list_objects(since=first_day) if not_data_reason(o.key) is None]
    valid_days = set(partitions.get_partition_keys())
    last_day = max(valid_days, default="")
    by_day: dict[str, list[SourceObject]] = defaultdict(list)
    for obj in listed:
        if (day := _day(obj)) in valid_days:
            by_day[day].append(obj)
    fresh = [o for o in listed if cursor.is_new(o)]
    unplaced = [o.key for o in fresh if _day(o) not in valid_days]
    pending = {_day(o) for o in fresh if _day(o) > last_day} | set(cursor.pending_days)
    if unplaced:
        context.log.warning(
            f"{len(unplaced)} new object(s) under {source.describe()} have no date or a date "
            f"outside the partitions ({first_day} .. {last_day}): {unplaced[:REPORT_LIMIT]}"
        )
    if context.cursor:
        changed = {_day(o) for o in fresh} & valid_days | set(cursor.pending_days) & valid_days
        requests = [_day_request(day, by_day[day], partition_tag) for day in sorted(changed)]
    else:
        loaded = context.instance.get_materialized_partitions(asset)
        missing = [day for day in by_day if day not in loaded]
        requests = [
            _range_request(first, last, by_day)
            for first, last in first_tick_ranges(missing, set(by_day))
        ]
    next_cursor = cursor.advance(listed, sorted(pending - valid_days)).dump()
    if requests:
        return SensorResult(run_requests=requests, cursor=next_cursor)
    reason = f"no new or changed objects among {len(listed)} under {source.describe()}"
    if unplaced:
        reason += f"; {len(unplaced)} new object(s) not placed in a partition: {unplaced[:5]}"
    return SensorResult(skip_reason=SkipReason(reason), cursor=next_cursor)


twap_status_s3_sensor = source_sensor(
    "twap_status_s3_sensor", twap_daily_job, STATUS_ASSET, "source", daily_partitions,
    PARTITION_TAG,
)  # fmt: skip
twap_fills_s3_sensor = source_sensor(
    "twap_fills_s3_sensor", twap_fills_job, FILLS_ASSET, "fills_source", fills_partitions,
    FILLS_PARTITION_TAG,
)  # fmt: skip


def _day_request(day: str, objects: list[SourceObject], partition_tag: str) -> RunRequest:
    return RunRequest(
        partition_key=day,
        run_key=f"{day}:{day_fingerprint(objects)}",
        tags={"twap/trigger": "s3_sensor", "twap/objects": str(len(objects)), partition_tag: day},
    )


def _range_request(first: str, last: str, by_day: dict[str, list[SourceObject]]) -> RunRequest:
    objects = [o for day, objs in by_day.items() if first <= day <= last for o in objs]
    return RunRequest(
        run_key=f"{first}...{last}:{day_fingerprint(objects)}",
        tags={
            RANGE_START: first,
            RANGE_END: last,
            "twap/trigger": "s3_sensor_first_tick",
            "twap/objects": str(len(objects)),
        },
    )


def _stamp(obj: SourceObject) -> str:
    """A short digest of key and ETag for the cursor."""
    return hashlib.sha256(f"{obj.key}\t{obj.etag}".encode()).hexdigest()[:12]


def _day(obj: SourceObject) -> str:
    """The object's partition key, or "" for a key that carries no date."""
    day = date_from_key(obj.key)
    return day.isoformat() if day else ""
