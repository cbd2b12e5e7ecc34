import importlib
from datetime import UTC, datetime, timedelta

import pytest

from twap_pipeline import partitions
from twap_pipeline.partitions import daily_partitions


def test_partitions_are_utc_days_from_the_start_date_through_today():
    assert daily_partitions.timezone == "UTC"
    keys = daily_partitions.get_partition_keys()
    assert keys[:2] == ["2025-01-01", "2025-01-02"]
    assert keys[-1] == datetime.now(UTC).date().isoformat()


def test_partitions_can_end_yesterday(monkeypatch):
    monkeypatch.setenv("TWAP_PARTITION_TODAY", "false")
    try:
        keys = importlib.reload(partitions).daily_partitions.get_partition_keys()
        assert keys[-1] == (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
        monkeypatch.setenv("TWAP_PARTITION_TODAY", "maybe")
        with pytest.raises(ValueError, match="TWAP_PARTITION_TODAY='maybe'"):
            importlib.reload(partitions)
    finally:
        monkeypatch.delenv("TWAP_PARTITION_TODAY")
        importlib.reload(partitions)
