"""``twap_status_s3_sensor``: request a run for every day whose source objects are new or
changed, and the freshness sensor that evaluates the freshness check."""

import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field

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
    """Bounded state: the newest LastModified seen, the objects stamped with exactly that time
    (S3 times have one-second precision, so a later upload can share it), and the days seen
    before their partition existed (today's file), requested once the day has closed."""

    watermark: str = ""
    at_watermark: list[str] = field(default_factory=list)
    pending_days: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> "SensorCursor":
        return cls(**json.loads(raw)) if raw else cls()

    def dump(self) -> str:
        return json.dumps(asdict(self))

    def is_new(self, obj: SourceObject) -> bool:
        if obj.last_modified != self.watermark:
            return obj.last_modified > self.watermark
        return _stamp(obj) not in self.at_watermark

    def advance(self, objects: list[SourceObject], pending_days: list[str]) -> "SensorCursor":
        newest = max((o.last_modified for o in objects), default="")
        if newest <= self.watermark:
            newest = self.watermark
        stamped = {_stamp(o) for o in objects if o.last_modified == newest}
        if newest == self.watermark:
            stamped |= set(self.at_watermark)
        return SensorCursor(newest, sorted(stamped), sorted(pending_days))


@sensor(
    target=twap_daily_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests one run per day whose objects are new or changed (by ETag).",
)
def twap_status_s3_sensor(context: SensorEvaluationContext, source: TwapSource):
    cursor = SensorCursor.parse(context.cursor)
    first_day = daily_partitions.start.date()
    # Keys dated before the first partition are not listed in the <prefix>YYYY-MM-DD layout.
    listed = source.list_objects(since=first_day)
    valid_days = set(daily_partitions.get_partition_keys())
    last_day = max(valid_days, default="")
    by_day: dict[str, list[SourceObject]] = defaultdict(list)
    for obj in listed:
        if (day := date_from_key(obj.key)) is not None:
            by_day[day.isoformat()].append(obj)
    fresh = [o for o in listed if cursor.is_new(o)]
    if not context.cursor:
        # First tick: days already loaded (e.g. by a backfill) are not requested again.
        loaded = context.instance.get_materialized_partitions(STATUS_ASSET)
        fresh = [o for o in fresh if _day(o) not in loaded]
    changed = {_day(o) for o in fresh} & valid_days | set(cursor.pending_days) & valid_days
    unplaced = [o.key for o in fresh if _day(o) not in valid_days]
    pending = {_day(o) for o in fresh if _day(o) > last_day} | set(cursor.pending_days)
    if unplaced:
        context.log.warning(
            f"{len(unplaced)} new object(s) under {source.describe()} have no date or a date "
            f"outside the partitions ({first_day} .. {last_day}): {unplaced[:REPORT_LIMIT]}"
        )
    requests = [
        RunRequest(
            partition_key=day,
            run_key=f"{day}:{day_fingerprint(by_day[day])}",
            tags={"twap/trigger": "s3_sensor", "twap/objects": str(len(by_day[day]))},
        )
        for day in sorted(changed)
    ]
    next_cursor = cursor.advance(listed, sorted(pending - valid_days)).dump()
    if requests:
        return SensorResult(run_requests=requests, cursor=next_cursor)
    reason = f"no new or changed objects among {len(listed)} under {source.describe()}"
    if unplaced:
        reason += f"; {len(unplaced)} new object(s) not placed in a partition: {unplaced[:5]}"
    return SensorResult(skip_reason=SkipReason(reason), cursor=next_cursor)


def _stamp(obj: SourceObject) -> str:
    """A short digest of key and ETag for the cursor."""
    return hashlib.sha256(f"{obj.key}\t{obj.etag}".encode()).hexdigest()[:12]


def _day(obj: SourceObject) -> str:
    """The object's partition key, or "" for a key that carries no date."""
    day = date_from_key(obj.key)
    return day.isoformat() if day else ""
