"""``twap_status_s3_sensor``: request a run for every day whose source objects are new or
changed, and the freshness sensor that evaluates the freshness check."""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from twap_pipeline.jobs import twap_daily_job
from twap_pipeline.partitions import daily_partitions, date_from_key
from twap_pipeline.resources import SourceObject, TwapSource

SENSOR_INTERVAL_SECONDS = 300
REPORT_LIMIT = 20
STATUS_ASSET = AssetKey("twap_status")


def day_fingerprint(objects: list[SourceObject]) -> str:
    """Changes whenever an object of the day is added, removed or re-published."""
    text = "\n".join(f"{o.key}\t{o.etag}" for o in sorted(objects, key=lambda o: o.key))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class SensorCursor:
    """Bounded state: the newest LastModified seen, plus the objects stamped with exactly that
    time (S3 times have one-second precision, so a later upload can share it)."""

    watermark: str = ""
    at_watermark: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> "SensorCursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(watermark=data["watermark"], at_watermark=data["at_watermark"])

    def dump(self) -> str:
        return json.dumps({"watermark": self.watermark, "at_watermark": self.at_watermark})

    def is_new(self, obj: SourceObject) -> bool:
        if obj.last_modified != self.watermark:
            return obj.last_modified > self.watermark
        return f"{obj.key}\t{obj.etag}" not in self.at_watermark

    def advance(self, objects: list[SourceObject]) -> "SensorCursor":
        if not objects:
            return self
        newest = max(o.last_modified for o in objects)
        if newest < self.watermark:
            return self
        stamped = [f"{o.key}\t{o.etag}" for o in objects if o.last_modified == newest]
        keep = self.at_watermark if newest == self.watermark else []
        return SensorCursor(newest, sorted(set(keep) | set(stamped)))


@sensor(
    target=twap_daily_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests one run per day whose objects are new or changed (by ETag).",
)
def twap_status_s3_sensor(context: SensorEvaluationContext, source: TwapSource):
    cursor = SensorCursor.parse(context.cursor)
    first = daily_partitions.start
    listed = source.list_objects(since=first.date())
    fresh = [o for o in listed if cursor.is_new(o)]
    valid_days = set(daily_partitions.get_partition_keys(dynamic_partitions_store=None))
    if not context.cursor:
        # First tick: days already loaded (e.g. by a backfill) are not requested again.
        loaded = context.instance.get_materialized_partitions(STATUS_ASSET)
        fresh = [
            o for o in fresh if (d := date_from_key(o.key)) is None or d.isoformat() not in loaded
        ]
    changed: dict[str, list[SourceObject]] = defaultdict(list)
    unplaced: list[str] = []
    for obj in fresh:
        day = date_from_key(obj.key)
        if day is not None and day.isoformat() in valid_days:
            changed[day.isoformat()] = []
        else:
            unplaced.append(obj.key)
    for obj in listed:
        day = date_from_key(obj.key)
        if day is not None and day.isoformat() in changed:
            changed[day.isoformat()].append(obj)
    if unplaced:
        context.log.warning(
            f"{len(unplaced)} new object(s) under {source.describe()} have no date or a date "
            f"outside the partitions ({first.date()} .. yesterday): {unplaced[:REPORT_LIMIT]}"
        )
    requests = [
        RunRequest(
            partition_key=day,
            run_key=f"{day}:{day_fingerprint(objects)}",
            tags={"twap/trigger": "s3_sensor", "twap/objects": str(len(objects))},
        )
        for day, objects in sorted(changed.items())
    ]
    next_cursor = cursor.advance(listed).dump()
    if requests:
        return SensorResult(run_requests=requests, cursor=next_cursor)
    reason = f"no new or changed objects among {len(listed)} under {source.describe()}"
    if unplaced:
        reason += f"; {len(unplaced)} new object(s) not placed in a partition: {unplaced[:5]}"
    return SensorResult(skip_reason=SkipReason(reason), cursor=next_cursor)
