"""twap_orders: one row per TWAP, kept right whatever order days are loaded or re-loaded in."""

from __future__ import annotations

from datetime import timedelta

from twap_pipeline_tests.support import (
    DAYS,
    FIRST_DAY,
    assert_orders_match,
    run_pipeline,
    table_orders,
)
from twap_pipeline_tests.truth import expected_orders


def test_orders_right_after_loading_days_out_of_order(
    bucket, source_tree, events, landing, database_url, db
):
    bucket.upload_tree(source_tree)
    source = bucket.source()
    order = [3, 0, 5, 1, 4, 2]
    for n, offset in enumerate(order):
        assert run_pipeline(source, landing, database_url, FIRST_DAY + timedelta(offset)).success
        loaded = sorted(order[: n + 1])
        days = {FIRST_DAY + timedelta(d) for d in loaded}
        partial = events.filter(events["day"].is_in(days))
        assert_orders_match(table_orders(db), expected_orders(partial))
    assert len(order) == DAYS
    finished = table_orders(db)
    assert {o["status"] for o in finished.values()} >= {
        "activated",
        "finished",
        "terminated",
        "error",
    }
    # Trigger TWAPs: waited, then activated; their trigger is on the summary.
    triggered = [o for o in finished.values() if o["trigger_px"] is not None]
    assert triggered and all(o["activated_at"] for o in triggered if o["status"] != "activated")
    waiting = "SELECT count(*) FROM twap_status WHERE status = 'waitingForTrigger'"
    assert db.execute(waiting).fetchone()[0] == len(triggered)
    # Re-running a day (and the whole range) changes nothing.
    assert run_pipeline(source, landing, database_url, FIRST_DAY + timedelta(2)).success
    assert table_orders(db) == finished
    last = FIRST_DAY + timedelta(DAYS - 1)
    assert run_pipeline(source, landing, database_url, FIRST_DAY, last).success
    assert table_orders(db) == finished
