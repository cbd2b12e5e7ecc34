"""Fixtures of the check tests."""

from __future__ import annotations

import polars as pl
import pytest

from twap_pipeline import sample
from twap_pipeline_tests.support import BAD_DAY, FIRST_DAY, LAST_DAY, PREFIX, run_pipeline


@pytest.fixture
def loaded(bucket, source_tree, landing, database_url, db):
    """Every day loaded once; returns a function that replaces BAD_DAY's source events."""
    bucket.upload_tree(source_tree)
    assert run_pipeline(bucket.source(), landing, database_url, FIRST_DAY, LAST_DAY).success

    def republish(events: pl.DataFrame, day=BAD_DAY) -> None:
        for key in sample.object_keys(PREFIX, day, sample.style_for(day).layout):
            bucket.client.delete_object(Bucket=bucket.name, Key=key)
        path = source_tree / f"{PREFIX}{day.isoformat()}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        sample.to_source_frame(events, "strings").write_parquet(path)
        bucket.client.upload_file(str(path), bucket.name, f"{PREFIX}{day.isoformat()}.parquet")

    return republish
