from datetime import UTC, datetime

from twap_pipeline.partitions import daily_partitions


def test_partitions_are_utc_days_from_the_start_date_through_today():
    assert daily_partitions.timezone == "UTC"
    keys = daily_partitions.get_partition_keys()
    assert keys[:2] == ["2025-01-01", "2025-01-02"]
    assert keys[-1] == datetime.now(UTC).date().isoformat()
