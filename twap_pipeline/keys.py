"""Object keys: which UTC day (and hour) an object belongs to, and whether it is a data file.

The archives seen in the wild date their objects in many ways (docs/data.md has the table):

    2025-06-01.parquet, date=2025-06-01/part-0.parquet, twap_statuses_20250601.parquet
    hourly/2026/07/09/19/part-0.parquet            (Artemis: YYYY/MM/DD/HH/)
    year=2026/month=07/day=09/hour=19/part-0.parquet  (hive)
    node_twap_statuses/hourly/20260709/7[.lz4]     (the node: hour not zero-padded)
    D-2026060912/E-HYPERLIQUIDL4/...               (CoinAPI: D-YYYYMMDD[HH])

The date closest to the file name wins (``backfill-2026-01-01/date=2025-06-01/...`` is
2025-06-01). An hour folder only refines the day: it never moves an object to another day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# Each pattern names year, month, day and optionally hour; none may be glued to other digits.
_PATTERNS = [
    re.compile(
        r"year=(?P<y>\d{4})/month=(?P<m>\d{1,2})/day=(?P<d>\d{1,2})(?:/hour=(?P<h>\d{1,2}))?"
        r"(?=/|$)"
    ),
    re.compile(
        r"(?<!\d)(?P<y>20\d{2})/(?P<m>\d{2})/(?P<d>\d{2})(?:/(?P<h>\d{1,2})(?=/))?(?=[/.]|$)"
    ),
    re.compile(r"(?<!\d)(?P<y>20\d{2})(?P<m>\d{2})(?P<d>\d{2})/(?P<h>\d{1,2})(?=(?:\.\w+)*$)"),
    re.compile(r"(?<![^/])D-(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?P<h>\d{2})?(?=/|$)"),
    re.compile(r"(?<!\d)(?P<y>20\d{2})[-_]?(?P<m>\d{2})[-_]?(?P<d>\d{2})(?!\d)"),
]

# What a data file's name ends with, once a compression suffix is taken off. The node's hourly
# files have no extension at all: their name is the hour.
DATA_SUFFIXES = (".parquet", ".json", ".jsonl", ".ndjson")
COMPRESSION_SUFFIXES = (".lz4", ".gz")


@dataclass(frozen=True)
class KeyDate:
    """The UTC day an object key carries, and its hour when the layout is hourly."""

    day: date
    hour: int | None = None


def _as_key_date(match: re.Match[str]) -> KeyDate | None:
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None
    text = match.groupdict().get("h")
    hour = int(text) if text is not None else None
    return KeyDate(day, hour if hour is not None and hour < 24 else None)


def key_date(key: str) -> KeyDate | None:
    """The day (and hour) ``key`` carries, or None when it carries no real date."""
    found: list[tuple[int, int, KeyDate]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(key):
            parsed = _as_key_date(match)
            if parsed is not None:
                found.append((match.end(), match.end() - match.start(), parsed))
    return max(found, key=lambda f: (f[0], f[1]))[2] if found else None


def date_from_key(key: str) -> date | None:
    """The UTC day ``key`` belongs to, or None."""
    dated = key_date(key)
    return dated.day if dated else None


def not_data_reason(key: str) -> str | None:
    """Why ``key`` is not a file of a supported format (None when it is one): Spark and Hadoop
    markers (``_SUCCESS``, ``.part-0.crc``), folder markers, other formats."""
    name = key.rsplit("/", 1)[-1]
    if not name:
        return "a folder marker"
    if name.startswith(("_", ".")):
        return "a marker or hidden file"
    stem = name
    for suffix in COMPRESSION_SUFFIXES:
        stem = stem.removesuffix(suffix)
    if stem.isdigit() or stem.lower().endswith(DATA_SUFFIXES):
        return None
    return "not a supported format (parquet or JSON lines, optionally .lz4/.gz)"
