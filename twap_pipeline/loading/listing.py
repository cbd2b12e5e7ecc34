"""The objects of each day of a run, from one listing of the source; and what the listing
held that belongs to no day (no date in the key) or is not a data file (markers, checksums,
other formats): both are reported, never silently dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from twap_pipeline.keys import date_from_key, not_data_reason
from twap_pipeline.resources.sources import ObjectSource, SourceObject


@dataclass
class Listing:
    by_day: dict[date, list[SourceObject]]
    listed: int
    undated: list[str] = field(default_factory=list)
    not_data: dict[str, str] = field(default_factory=dict)  # key -> why it is skipped


def list_days(source: ObjectSource, days: list[date]) -> Listing:
    """One listing of ``source``, its data files grouped into ``days``."""
    objects = source.list_objects(since=min(days))
    listing = Listing({day: [] for day in days}, len(objects))
    for obj in objects:
        reason = not_data_reason(obj.key)
        day = date_from_key(obj.key)
        if reason is not None:
            if day is None or day in listing.by_day:
                listing.not_data[obj.key] = reason
        elif day is None:
            listing.undated.append(obj.key)
        elif day in listing.by_day:
            listing.by_day[day].append(obj)
    return listing
