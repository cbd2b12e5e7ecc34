from datetime import date

import pytest

from twap_pipeline.partitions import daily_partitions, date_from_key


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("raw/twap_statuses/2025-06-01.parquet", date(2025, 6, 1)),
        ("raw/twap_statuses/date=2025-06-01/part-0.parquet", date(2025, 6, 1)),
        ("raw/twap_statuses/twap_statuses_20250601.parquet", date(2025, 6, 1)),
        ("raw/twap_statuses/2025_12_31/data.parquet", date(2025, 12, 31)),
        # The segment closest to the file wins over an earlier date in the path.
        ("raw/backfill-2026-01-01/date=2025-06-01/part-0.parquet", date(2025, 6, 1)),
    ],
)
def test_date_from_key_reads_every_layout(key, expected):
    assert date_from_key(key) == expected


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
    assert date_from_key(key) is None


def test_partitions_are_utc_days_from_the_start_date():
    assert daily_partitions.timezone == "UTC"
    keys = daily_partitions.get_partition_keys()
    assert keys[0] == "2025-01-01"
    assert keys[1] == "2025-01-02"
