"""The API's SQL. Grouping, latest-per-TWAP, averages and the JSON of every item are computed
in PostgreSQL; Python only joins the rows. All parameters are bound, never formatted in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from twap_api.models import WalletQuery
from twap_pipeline.exports import BATCH_ROWS as EXPORT_BATCH_ROWS
from twap_pipeline.tables import fills as fills_table

# Events of one TWAP in order: by time, then by lifecycle rank (a terminal event wins a tie in
# time with its activation), then by name. True when event n comes after event s.
NEWER_EVENT = (
    "(n.event_time, twap_lifecycle_rank(n.status), n.status)"
    " > (s.event_time, twap_lifecycle_rank(s.status), s.status)"
)


def _utc(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _decimal(expression: str) -> str:
    """A numeric as the API writes it: without padding zeros (24.36, not 24.3600)."""
    return f"trim_scale({expression})"


# JSON is assembled as text with concat() (faster than json_build_object: docs/performance.md).
# Every text value goes through to_json() (escaping); numbers, booleans and the fixed-format
# times need none; nullable values are coalesced to null (concat skips NULLs).
def _executed(a: str) -> str:
    size = _decimal(a + ".size_executed")
    notional = _decimal(a + ".notional_executed")
    average = _decimal(f"{a}.notional_executed / nullif({a}.size_executed, 0)")
    return (
        f"""'{{"size":"', {size}, '","notional":"', {notional}, """
        f"""'","avg_price":', coalesce('"' || {average} || '"', 'null'), '}}'"""
    )


def _decimal_or_null(expression: str) -> str:
    return f"""coalesce('"' || {_decimal(expression)} || '"', 'null')"""


def _utc_or_null(column: str) -> str:
    return f"""coalesce('"' || {_utc(column)} || '"', 'null')"""


def _text_or_null(expression: str) -> str:
    return f"coalesce(to_json({expression})::text, 'null')"


# The TWAP's fills summed up, from its twap_orders row (null when there is none).
FILL_SUMMARY = f"""coalesce((SELECT concat(
    '{{"count":', o.fill_count, ',"size":', {_decimal_or_null("o.filled_size")},
    ',"notional":', {_decimal_or_null("o.filled_notional")},
    ',"avg_price":', {_decimal_or_null("o.fill_avg_price")},
    ',"fees":', coalesce(o.fees::text, '{{}}'),
    ',"builder_fees":', {_decimal_or_null("o.builder_fees")},
    ',"closed_pnl":', {_decimal_or_null("o.closed_pnl")},
    ',"first_fill_at":', {_utc_or_null("o.first_fill_at")},
    ',"last_fill_at":', {_utc_or_null("o.last_fill_at")}, '}}')
    FROM twap_orders o WHERE o.twap_id = s.twap_id), 'null')"""
ITEM = f"""concat(
    '{{"twap_id":"', s.twap_id, '","wallet":', to_json(s.wallet),
    ',"asset":', to_json(s.asset), ',"side":', to_json(s.side),
    ',"status":', to_json(s.status),
    ',"duration_minutes":', coalesce(s.duration_minutes::text, 'null'),
    ',"created_at":"', {_utc("s.created_at")}, '","latest_ts":"', {_utc("s.event_time")},
    '","executed":', {_executed("s")}, ',"requested_size":"', {_decimal("s.size_requested")},
    '","reduce_only":', coalesce(to_json(s.reduce_only)::text, 'null'),
    ',"randomize":', coalesce(to_json(s.randomize)::text, 'null'),
    ',"error":', coalesce(to_json(s.error)::text, 'null'),
    ',"trigger":', CASE WHEN s.trigger_px IS NULL THEN 'null' ELSE concat(
        '{{"px":"', {_decimal("s.trigger_px")},
        '","above":', coalesce(to_json(s.trigger_above)::text, 'null'), '}}') END,
    ',"stop_px":', coalesce('"' || {_decimal("s.stop_px")} || '"', 'null'),
    ',"fills":', {FILL_SUMMARY}, ',"raw":', s.raw,
    {{tail}})"""
EVENT = f"""concat(
    '{{"time":"', {_utc("e.event_time")}, '","status":', to_json(e.status),
    ',"error":', coalesce(to_json(e.error)::text, 'null'),
    ',"executed":', {_executed("e")}, ',"raw":', e.raw, '}}')"""
# The same event in the reference specification's row shape (GET /api/v1/twaps/{id} "rows").
ROW = f"""concat(
    '{{"ts":"', {_utc("e.event_time")}, '","wallet":', to_json(e.wallet),
    ',"asset":', to_json(e.asset), ',"side":', to_json(e.side),
    ',"status":', to_json(e.status), ',"error":', coalesce(to_json(e.error)::text, 'null'),
    ',"duration_minutes":', coalesce(e.duration_minutes::text, 'null'),
    ',"size_requested":"', {_decimal("e.size_requested")},
    '","size_executed":"', {_decimal("e.size_executed")},
    '","notional_executed":"', {_decimal("e.notional_executed")},
    '","executed":', {_executed("e")}, ',"raw":', e.raw, '}}')"""
IN_ORDER = "ORDER BY e.event_time, twap_lifecycle_rank(e.status), e.status"
EVENTS_OF_S = """FROM twap_status e
     WHERE e.twap_id = s.twap_id AND e.event_time >= %(start)s AND e.event_time < %(end)s"""
NO_EVENTS = "'}'"
WITH_EVENTS = f"""',"events":[', (SELECT string_agg({EVENT}, ',' {IN_ORDER}) {EVENTS_OF_S}),
    ']}}'"""
# Both arrays from one pass over the TWAP's events.
WITH_EVENTS_AND_ROWS = f"""(SELECT concat(
    ',"events":[', string_agg({EVENT}, ',' {IN_ORDER}),
    '],"rows":[', string_agg({ROW}, ',' {IN_ORDER}), ']}}') {EVENTS_OF_S})"""

# One row per TWAP of the wallet with activity in [start, end): its latest event in the range,
# newest first. Keyset pagination on (event_time, twap_id) walks the (wallet, event_time DESC,
# twap_id DESC) index, so a page costs the same however many TWAPs the wallet has. Only the
# item's JSON comes back (the keys of the cursor are in it): every further column costs psycopg
# per row, and joining the page into one row costs PostgreSQL more than it saves the worker
# (docs/performance.md).
WALLET_PAGE = """
SELECT {item}
FROM twap_status s
WHERE s.wallet = %(wallet)s
  AND s.event_time >= %(start)s AND s.event_time < %(end)s
  AND (s.event_time, s.twap_id) < (%(before_time)s, %(before_id)s)
  AND (%(asset)s::text IS NULL OR s.asset = %(asset)s::text)
  AND NOT EXISTS (
      SELECT 1 FROM twap_status n
      WHERE n.twap_id = s.twap_id AND n.event_time < %(end)s AND {later})
ORDER BY s.event_time DESC, s.twap_id DESC
LIMIT %(limit)s + 1 OFFSET %(offset)s
"""
ONE_TWAP = """
SELECT {item}
FROM twap_status s
WHERE s.twap_id = %(twap_id)s
ORDER BY s.event_time DESC, twap_lifecycle_rank(s.status) DESC, s.status DESC
LIMIT 1
"""
NEWEST = """
SELECT s3_object_key, event_time,
    extract(epoch FROM now() - event_time)::float8 AS lag_seconds
FROM twap_status
WHERE partition_date = (SELECT max(partition_date) FROM twap_status_days)
ORDER BY event_time DESC
LIMIT 1
"""
NEWEST_DAY = "SELECT max(partition_date) FROM twap_status_days"
HAS_SCHEMA = "SELECT to_regclass('alembic_version') IS NOT NULL"
SCHEMA_REVISION = "SELECT version_num FROM alembic_version"
# One fill as the API writes it (ids as strings: they can exceed JavaScript's integers).
FILL = f"""concat(
    '{{"twap_id":"', f.twap_id, '","tid":"', f.tid, '","wallet":', to_json(f.wallet),
    ',"time":"', {_utc("f.fill_time")}, '","coin":', to_json(f.coin),
    ',"px":"', {_decimal("f.px")}, '","sz":"', {_decimal("f.sz")}, '","side":', to_json(f.side),
    ',"dir":', {_text_or_null("f.dir")},
    ',"start_position":', {_decimal_or_null("f.start_position")},
    ',"closed_pnl":', {_decimal_or_null("f.closed_pnl")},
    ',"fee":', {_decimal_or_null("f.fee")}, ',"fee_token":', {_text_or_null("f.fee_token")},
    ',"builder_fee":', {_decimal_or_null("f.builder_fee")},
    ',"oid":"', f.oid, '","cloid":', {_text_or_null("f.cloid")},
    ',"crossed":', {_text_or_null("f.crossed")},
    ',"block_number":', coalesce(f.block_number::text, 'null'),
    ',"hash":', {_text_or_null("f.hash")}, '}}')"""
# A TWAP's fills after a (time, tid) key, oldest first; the key columns come back beside the
# JSON for the next cursor.
TWAP_FILLS_PAGE = sql.SQL(f"""
SELECT {FILL}, f.fill_time, f.tid
FROM twap_fills f
WHERE f.twap_id = %(twap_id)s AND (f.fill_time, f.tid) > (%(after_time)s, %(after_tid)s)
ORDER BY f.fill_time, f.tid
LIMIT %(limit)s + 1
""")
# A wallet's fills in [start, end) after a (time, tid, twap_id) key, oldest first (the
# wallet/time index).
WALLET_FILLS_PAGE = sql.SQL(f"""
SELECT {FILL}, f.fill_time, f.tid, f.twap_id
FROM twap_fills f
WHERE f.wallet = %(wallet)s AND f.fill_time >= %(start)s AND f.fill_time < %(end)s
  AND (f.fill_time, f.tid, f.twap_id) > (%(after_time)s, %(after_tid)s, %(after_twap)s)
ORDER BY f.fill_time, f.tid, f.twap_id
LIMIT %(limit)s + 1
""")
# From the per-day counts the load keeps: O(days), whatever the number of events.
COVERAGE = """
WITH days AS (
    SELECT partition_date AS day, events AS n FROM twap_status_days
)
SELECT min(day)::text, max(day)::text, count(*)::int,
    (SELECT coalesce(json_agg(g::date::text ORDER BY g), '[]')
     FROM generate_series((SELECT min(day) FROM days), (SELECT max(day) FROM days),
                          interval '1 day') AS g
     WHERE g::date NOT IN (SELECT day FROM days))::text,
    coalesce(json_object_agg(day::text, n ORDER BY day), '{}')::text
FROM days
"""

ITEM_LATEST = ITEM.replace("{tail}", NO_EVENTS)
ITEM_WITH_EVENTS = ITEM.replace("{tail}", WITH_EVENTS)
WALLET_PAGE_LATEST = sql.SQL(WALLET_PAGE.format(item=ITEM_LATEST, later=NEWER_EVENT))
WALLET_PAGE_EVENTS = sql.SQL(WALLET_PAGE.format(item=ITEM_WITH_EVENTS, later=NEWER_EVENT))
ONE_TWAP_SQL = sql.SQL(ONE_TWAP.format(item=ITEM.replace("{tail}", WITH_EVENTS_AND_ROWS)))
COVERAGE_SQL = sql.SQL(COVERAGE)
NO_LOWER_BOUND = "-infinity"
NO_UPPER_BOUND = "infinity"


def page_parameters(query: WalletQuery, before: tuple[datetime, int] | None) -> dict[str, Any]:
    """WALLET_PAGE's parameters: absent bounds and cursor become infinities."""
    return {
        "wallet": query.wallet,
        "start": query.start or NO_LOWER_BOUND,
        "end": query.end or NO_UPPER_BOUND,
        "asset": query.asset,
        "before_time": before[0] if before else NO_UPPER_BOUND,
        "before_id": before[1] if before else 2**63 - 1,
        "limit": query.limit,
        "offset": query.offset,
    }


async def wallet_page(
    conn: AsyncConnection, query: WalletQuery, before: tuple[datetime, int] | None
) -> tuple[str, tuple[datetime, int] | None]:
    """The page's items, comma-separated JSON objects newest first, and the (event time,
    twap_id) key of its last TWAP when another page follows (None on the last page)."""
    sql_query = WALLET_PAGE_LATEST if query.latest_per_twap else WALLET_PAGE_EVENTS
    cursor = await conn.execute(sql_query, page_parameters(query, before))
    rows = await cursor.fetchall()
    items = ",".join(row[0] for row in rows[: query.limit])
    if len(rows) <= query.limit:
        return items, None
    last = json.loads(rows[query.limit - 1][0])
    return items, (datetime.fromisoformat(last["latest_ts"]), int(last["twap_id"]))


async def one_twap(conn: AsyncConnection, twap_id: int) -> str | None:
    cursor = await conn.execute(
        ONE_TWAP_SQL, {"twap_id": twap_id, "start": NO_LOWER_BOUND, "end": NO_UPPER_BOUND}
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def newest(conn: AsyncConnection) -> tuple[str, datetime, float] | None:
    """The newest event's object key and time, and its age in seconds; None when empty."""
    cursor = await conn.execute(NEWEST)
    row = await cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2])


async def coverage(conn: AsyncConnection) -> tuple[str | None, str | None, int, str, str]:
    """First and last day, days loaded, missing days and rows per day (both as JSON text)."""
    cursor = await conn.execute(COVERAGE_SQL)
    row = await cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY returns one row
    return row[0], row[1], row[2], row[3], row[4]


async def newest_day(conn: AsyncConnection) -> date | None:
    """The newest loaded day: every day before it is complete."""
    cursor = await conn.execute(NEWEST_DAY)
    row = await cursor.fetchone()
    return row[0] if row else None


async def schema_revision(conn: AsyncConnection) -> str | None:
    """The database's Alembic revision; None when it has no schema."""
    cursor = await conn.execute(HAS_SCHEMA)
    exists = await cursor.fetchone()
    if not exists or not exists[0]:
        return None
    cursor = await conn.execute(SCHEMA_REVISION)
    row = await cursor.fetchone()
    return row[0] if row else None


async def fills_page(
    conn: AsyncConnection, query: sql.SQL, params: dict[str, Any], limit: int
) -> tuple[str, tuple[Any, ...] | None]:
    """The page's fills, comma-separated JSON objects, and the sort key of its last fill when
    another page follows (None on the last page)."""
    cursor = await conn.execute(query, {**params, "limit": limit})
    rows = await cursor.fetchall()
    items = ",".join(row[0] for row in rows[:limit])
    return items, (tuple(rows[limit - 1][1:]) if len(rows) > limit else None)


async def wallet_fills(
    conn: AsyncConnection, wallet: str, start: datetime | None, end: datetime | None
) -> AsyncIterator[dict[str, Any]]:
    """The wallet's fills in [start, end), oldest first, through a server-side cursor (in a
    transaction of its own: memory stays flat however many there are)."""
    params = {
        "wallet": wallet,
        "start": start or NO_LOWER_BOUND,
        "end": end or NO_UPPER_BOUND,
    }
    async with conn.transaction(), conn.cursor("twap_export", row_factory=dict_row) as cursor:
        cursor.itersize = EXPORT_BATCH_ROWS
        await cursor.execute(fills_table.WALLET_FILLS, params)
        async for row in cursor:
            yield row
