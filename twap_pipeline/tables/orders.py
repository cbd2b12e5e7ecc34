"""SQL of ``twap_orders``: one row per TWAP, recomputed from ``twap_status`` for the TWAPs a
load touched, and the queries its checks run. ``touched_twaps`` is a temporary table that lives
for the transaction of one refresh."""

from __future__ import annotations

TOUCHED = """
CREATE TEMP TABLE touched_twaps ON COMMIT DROP AS
SELECT DISTINCT twap_id FROM twap_status WHERE partition_date = ANY(%(days)s)
UNION
SELECT twap_id FROM twap_orders WHERE last_partition >= %(first)s AND first_partition <= %(last)s
"""
DELETE_TOUCHED = "DELETE FROM twap_orders o USING touched_twaps t WHERE o.twap_id = t.twap_id"
# The latest event (ties in time broken by lifecycle rank) carries the cumulative executed
# size and notional; the first terminal event, when there is one, is the TWAP's outcome.
INSERT_TOUCHED = """
INSERT INTO twap_orders (
    twap_id, wallet, asset, side, size_requested, duration_minutes, reduce_only, randomize,
    trigger_px, trigger_above, stop_px, created_at, activated_at, ended_at, status, error,
    size_executed, notional_executed, avg_price, fill_ratio, latest_event_time, event_count,
    first_partition, last_partition
)
SELECT
    l.twap_id, l.wallet, l.asset, l.side, l.size_requested, l.duration_minutes, l.reduce_only,
    l.randomize, l.trigger_px, l.trigger_above, l.stop_px, l.created_at, a.activated_at,
    a.ended_at, coalesce(a.final_status, l.status), a.error, l.size_executed,
    l.notional_executed,
    CASE WHEN l.size_executed > 0 THEN l.notional_executed / l.size_executed END,
    CASE WHEN l.size_requested > 0 THEN l.size_executed / l.size_requested END,
    a.latest_event_time, a.event_count, a.first_partition, a.last_partition
FROM (
    SELECT DISTINCT ON (s.twap_id) s.*
    FROM twap_status s JOIN touched_twaps USING (twap_id)
    ORDER BY s.twap_id, s.event_time DESC, twap_lifecycle_rank(s.status) DESC, s.status DESC
) l
JOIN (
    SELECT
        s.twap_id,
        min(s.event_time) FILTER (WHERE s.status = 'activated') AS activated_at,
        min(s.event_time) FILTER (WHERE twap_lifecycle_rank(s.status) = 3) AS ended_at,
        (array_agg(s.status ORDER BY s.event_time)
            FILTER (WHERE twap_lifecycle_rank(s.status) = 3))[1] AS final_status,
        (array_agg(s.error ORDER BY s.event_time)
            FILTER (WHERE twap_lifecycle_rank(s.status) = 3))[1] AS error,
        max(s.event_time) AS latest_event_time,
        count(*) AS event_count,
        min(s.partition_date) AS first_partition,
        max(s.partition_date) AS last_partition
    FROM twap_status s JOIN touched_twaps USING (twap_id)
    GROUP BY s.twap_id
) a USING (twap_id)
"""
TOTALS = """
SELECT count(*) AS twaps,
    count(*) FILTER (WHERE ended_at IS NULL) AS running,
    count(DISTINCT wallet) AS wallets
FROM twap_orders JOIN touched_twaps USING (twap_id)
"""
# Checks: every touched TWAP with events has exactly one row, and none without events has one.
COVERAGE_MISMATCHES = """
SELECT t.twap_id,
    (SELECT count(*) FROM twap_orders o WHERE o.twap_id = t.twap_id) AS order_rows,
    EXISTS (SELECT 1 FROM twap_status s WHERE s.twap_id = t.twap_id) AS has_events
FROM touched_twaps t
WHERE (SELECT count(*) FROM twap_orders o WHERE o.twap_id = t.twap_id)
    <> (EXISTS (SELECT 1 FROM twap_status s WHERE s.twap_id = t.twap_id))::int
ORDER BY t.twap_id
"""
OVER_EXECUTED = """
SELECT o.twap_id, o.size_requested, o.size_executed, o.last_partition
FROM twap_orders o JOIN touched_twaps USING (twap_id)
WHERE o.size_executed < 0 OR o.size_executed > o.size_requested
ORDER BY o.twap_id
"""

# Each touched TWAP's fills summed up (no row for a TWAP without fills).
FILL_TOTALS = """
SELECT t.twap_id,
    sum(t.fills)::integer AS fill_count,
    sum(t.size) AS filled_size,
    sum(t.notional) AS filled_notional,
    jsonb_object_agg(t.fee_token, trim_scale(t.fee)::text)
        FILTER (WHERE t.fee_token IS NOT NULL) AS fees,
    sum(t.builder_fee) AS builder_fees,
    sum(t.closed_pnl) AS closed_pnl,
    min(t.first_fill_at) AS first_fill_at,
    max(t.last_fill_at) AS last_fill_at
FROM (
    SELECT f.twap_id, f.fee_token, count(*) AS fills, sum(f.sz) AS size,
        sum(f.px * f.sz) AS notional, sum(f.fee) AS fee, sum(f.builder_fee) AS builder_fee,
        sum(f.closed_pnl) AS closed_pnl, min(f.fill_time) AS first_fill_at,
        max(f.fill_time) AS last_fill_at
    FROM twap_fills f JOIN touched_twaps USING (twap_id)
    GROUP BY f.twap_id, f.fee_token
) t
GROUP BY t.twap_id
"""
# The fill columns of every touched TWAP's row, from its fills (none: zero and NULLs).
UPDATE_FILL_TOTALS = f"""
UPDATE twap_orders o SET
    fill_count = coalesce(f.fill_count, 0),
    filled_size = f.filled_size,
    filled_notional = f.filled_notional,
    fill_avg_price = f.filled_notional / nullif(f.filled_size, 0),
    fees = f.fees,
    builder_fees = f.builder_fees,
    closed_pnl = f.closed_pnl,
    first_fill_at = f.first_fill_at,
    last_fill_at = f.last_fill_at
FROM touched_twaps t LEFT JOIN ({FILL_TOTALS}) f USING (twap_id)
WHERE o.twap_id = t.twap_id
"""
# The TWAPs a fills day's load touches: those with fills in the day now, and those whose fills
# reached into it before (a reload may have removed them). An hour file's fills may trail its
# key's day a little, hence a day's slack.
TOUCHED_BY_FILLS_DAY = """
CREATE TEMP TABLE touched_twaps ON COMMIT DROP AS
SELECT DISTINCT twap_id FROM twap_fills WHERE partition_date = %(day)s
UNION
SELECT twap_id FROM twap_orders
WHERE fill_count > 0
    AND first_fill_at < %(day)s::timestamptz + interval '2 days'
    AND last_fill_at >= %(day)s::timestamptz - interval '1 day'
"""
# Terminal TWAPs among the touched ones whose every day from activation to end is loaded in
# twap_fills (the others cannot be judged yet), and whether their fills add up exactly to the
# terminal status's executed size and notional.
_JUDGED = """
SELECT o.twap_id, o.status, o.size_executed, coalesce(o.filled_size, 0) AS filled_size,
    o.notional_executed, coalesce(o.filled_notional, 0) AS filled_notional, o.fill_count,
    coalesce(o.filled_size, 0) = o.size_executed
        AND coalesce(o.filled_notional, 0) = o.notional_executed AS matches
FROM twap_orders o JOIN touched_twaps USING (twap_id)
WHERE o.ended_at IS NOT NULL AND o.activated_at IS NOT NULL
    AND NOT EXISTS (
        SELECT 1
        FROM generate_series(
            (o.activated_at AT TIME ZONE 'UTC')::date, (o.ended_at AT TIME ZONE 'UTC')::date,
            interval '1 day'
        ) AS d(day)
        WHERE NOT EXISTS (
            SELECT 1 FROM twap_fills_days fd WHERE fd.partition_date = d.day::date
        )
    )
"""
RECONCILE_COUNTS = f"""
WITH judged AS ({_JUDGED})
SELECT count(*) AS judged, count(*) FILTER (WHERE NOT matches) AS mismatched FROM judged
"""
RECONCILE_MISMATCHES = f"""
WITH judged AS ({_JUDGED})
SELECT twap_id, status, size_executed, filled_size, notional_executed, filled_notional,
    fill_count
FROM judged WHERE NOT matches ORDER BY twap_id LIMIT %(limit)s
"""
