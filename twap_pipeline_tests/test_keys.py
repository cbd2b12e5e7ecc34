from datetime import date

import pytest

from twap_pipeline.keys import KeyDate, date_from_key, key_date, not_data_reason


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("raw/twap_statuses/2025-06-01.parquet", KeyDate(date(2025, 6, 1))),
        ("raw/twap_statuses/date=2025-06-01/part-0.parquet", KeyDate(date(2025, 6, 1))),
        ("raw/twap_statuses/twap_statuses_20250601.parquet", KeyDate(date(2025, 6, 1))),
        ("raw/twap_statuses/2025_12_31/data.parquet", KeyDate(date(2025, 12, 31))),
        ("raw/twap_statuses/hourly/2026/07/09/19/part-0.parquet", KeyDate(date(2026, 7, 9), 19)),
        ("raw/twap_statuses/hourly/2026/07/09/part-3.parquet", KeyDate(date(2026, 7, 9))),
        ("raw/year=2026/month=07/day=09/hour=23/part-0.parquet", KeyDate(date(2026, 7, 9), 23)),
        ("raw/year=2026/month=7/day=9/part-0.parquet", KeyDate(date(2026, 7, 9))),
        ("node_twap_statuses/hourly/20260709/0", KeyDate(date(2026, 7, 9), 0)),
        ("node_twap_statuses_by_block/hourly/20260709/23.lz4", KeyDate(date(2026, 7, 9), 23)),
        ("T-HLTWAPSTATUSES/D-2026060912/E-HYPERLIQUIDL4/x.parquet", KeyDate(date(2026, 6, 9), 12)),
        ("T-HLTWAPSTATUSES/D-20260608/E-HYPERLIQUIDL4/x.parquet", KeyDate(date(2026, 6, 8))),
        # The segment closest to the file wins over an earlier date in the path.
        ("raw/backfill-2026-01-01/date=2025-06-01/part-0.parquet", KeyDate(date(2025, 6, 1))),
        # An hour never moves an object to another day; one that is no hour is ignored.
        ("raw/hourly/2026/07/09/24/part-0.parquet", KeyDate(date(2026, 7, 9))),
    ],
)
def test_every_layout_gives_its_day(key, expected):
    assert key_date(key) == expected
    assert date_from_key(key) == expected.day


@pytest.mark.parametrize(
    "key",
    [
        "raw/twap_statuses/_SUCCESS",
        "raw/twap_statuses/manifest.json",
        "raw/twap_statuses/2025-02-30.parquet",  # no such day
        "raw/twap_statuses/part-120250601999.parquet",  # digits glued on both sides
    ],
)
def test_keys_without_a_real_date_have_none(key):
    assert key_date(key) is None


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("raw/2026/07/09/19/part-0.parquet", None),
        ("node/hourly/20260709/7", None),
        ("node/hourly/20260709/7.lz4", None),
        ("raw/date=2026-07-09/events.jsonl.gz", None),
        ("raw/date=2026-07-09/_SUCCESS", "a marker or hidden file"),
        ("raw/date=2026-07-09/.part-0.parquet.crc", "a marker or hidden file"),
        ("raw/date=2026-07-09/part-0.parquet.crc", "not a supported format"),
        ("raw/D-2026060912/E/x.csv.gz", "not a supported format"),
        ("raw/date=2026-07-09/", "a folder marker"),
    ],
)
def test_only_files_of_a_supported_format_are_data(key, reason):
    found = not_data_reason(key)
    assert found == reason if reason is None else found.startswith(reason)
