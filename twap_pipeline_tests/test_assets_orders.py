"""twap_orders: one row per TWAP, kept right whatever order days are loaded or re-loaded in."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from twap_pipeline_tests.support import DAYS, FIRST_DAY, run_pipeline
from twap_pipeline_tests.truth import expected_orders

ORDER_QUERY = """
SELECT twap_id, wallet, asset, side, size_requested, duration_minutes, status, error,
    to_char(activated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS activated_at,
    to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS ended_at,
    size_executed, notional_executed, avg_price, fill_ratio, event_count, trigger_px,
    trigger_above
FROM twap_orders ORDER BY twap_id
"""


def table_orders(db) -> dict[int, dict]:
    with db.cursor() as cur:
        cur.execute(ORDER_QUERY)
        names = [c.name for c in cur.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def assert_orders_match(actual: dict[int, dict], expected: dict[int, dict]) -> None:
    assert actual.keys() == expected.keys()
    for twap_id, want in expected.items():
        got = actual[twap_id]
        for field in ("avg_price", "fill_ratio"):
            if want[field] is not None:
                # Exact division in SQL; compare to 15 significant digits.
                assert abs(got[field] - want[field]) <= abs(want[field]) * Decimal("1e-15"), field
                got = {**got, field: want[field]}
        assert got == want, twap_id


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
