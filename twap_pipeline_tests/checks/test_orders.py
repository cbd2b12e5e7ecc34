"""The checks of twap_orders block a wrong summary and leave the database as it was."""

from __future__ import annotations

from twap_pipeline.assets import twap_orders
from twap_pipeline_tests.support import (
    BAD_DAY,
    assert_rejected,
    dropping_inserts,
    run_pipeline,
    snapshot,
)


def test_orders_checks_block_a_wrong_summary(loaded, landing, database_url, db):
    resources = dict(landing=landing, database_url=database_url)
    twap_id = db.execute(
        "SELECT twap_id FROM twap_status WHERE partition_date = %s AND status = 'finished' LIMIT 1",
        [BAD_DAY],
    ).fetchone()[0]
    # A row edited behind the pipeline's back: executed above requested.
    db.execute(
        "UPDATE twap_status SET size_executed = size_requested * 2 WHERE twap_id = %s "
        "AND status = 'finished'",
        [twap_id],
    )
    before = snapshot(db)
    result = run_pipeline(None, **resources, first=BAD_DAY, assets=[twap_orders])
    failure = assert_rejected(result, "executed_within_requested", db, before)
    assert failure["sample_rows"][0]["twap_id"] == twap_id


def test_orders_one_row_per_twap(loaded, landing, database_url, db):
    with dropping_inserts(db, "twap_orders", 3):
        before = snapshot(db)
        result = run_pipeline(None, landing, database_url, first=BAD_DAY, assets=[twap_orders])
        failure = assert_rejected(result, "one_row_per_twap", db, before, partitions=())
        assert failure["mismatched_twaps"] > 0
        assert all(s["twap_id"] % 3 == 0 for s in failure["sample_rows"])
