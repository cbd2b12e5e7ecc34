"""Write parsed events into PostgreSQL: replace whole partitions of ``twap_status`` with COPY,
and recompute the ``twap_orders`` rows of the TWAPs a load touched."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl
import psycopg
from psycopg import sql

from twap_pipeline.db.schema import WRITE_LOCK_KEY
from twap_pipeline.parsing import TABLE_COLUMNS

CSV_TIME = "%Y-%m-%dT%H:%M:%S%.6f%z"
COPY_STATUS = sql.SQL("COPY twap_status ({}) FROM STDIN (FORMAT csv)").format(
    sql.SQL(", ").join(map(sql.Identifier, TABLE_COLUMNS))
)


class DuplicateEventError(RuntimeError):
    """An event (twap_id, event_time, status) that is already in the table or in the load."""


def lock_writers(conn: psycopg.Connection) -> None:
    """Serialise writers for the rest of the transaction: concurrent runs over overlapping
    days would otherwise interleave their delete and COPY."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])


@dataclass
class Replaced:
    """What a partition replacement did: rows deleted, and the rows PostgreSQL reports its
    COPY stored (a count that leaves out any row the database did not keep)."""

    deleted: int = 0
    stored: int = 0


def copy_rows(frame: pl.DataFrame) -> bytes:
    """``frame`` (parsed events, columns in table order) as the CSV that the COPY reads. Made
    by the parsing thread, so the loading thread only streams bytes to PostgreSQL."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, datetime_format=CSV_TIME)
    return buffer.getvalue()


def replace_partitions(
    conn: psycopg.Connection, chunks: Iterable[bytes], days: list[date]
) -> Replaced:
    """Delete the rows of ``days`` and COPY ``chunks`` (from ``copy_rows``) in their place, as
    one stream, inside the caller's transaction."""
    lock_writers(conn)
    # The checks that follow aggregate the whole load: keep their hashes and sorts in memory,
    # and skip JIT compilation, which costs more than it saves on these short queries.
    conn.execute("SET LOCAL work_mem = '128MB'")
    conn.execute("SET LOCAL jit = off")
    done = Replaced(
        deleted=conn.execute(
            "DELETE FROM twap_status WHERE partition_date = ANY(%s)", [days]
        ).rowcount
    )
    try:
        # No savepoint: rows written by a subtransaction are slower for the checks to read,
        # and a failed COPY fails the whole load anyway.
        with conn.cursor() as cur:
            with cur.copy(COPY_STATUS) as copy:
                for chunk in chunks:
                    copy.write(chunk)
            done.stored = cur.rowcount
    except psycopg.errors.UniqueViolation as exc:
        detail = exc.diag.message_detail or str(exc)
        raise DuplicateEventError(f"duplicate event key: {detail}") from exc
    return done


TOUCHED_ORDERS = """
CREATE TEMP TABLE touched_twaps ON COMMIT DROP AS
SELECT DISTINCT twap_id FROM twap_status WHERE partition_date = ANY(%(days)s)
UNION
SELECT twap_id FROM twap_orders WHERE last_partition >= %(first)s AND first_partition <= %(last)s
"""
DELETE_TOUCHED_ORDERS = (
    "DELETE FROM twap_orders o USING touched_twaps t WHERE o.twap_id = t.twap_id"
)
INSERT_TOUCHED_ORDERS = """
INSERT INTO twap_orders (
    twap_id, wallet, asset, side, size_requested, duration_minutes, reduce_only, randomize,
    created_at, activated_at, ended_at, status, error, size_executed, notional_executed,
    avg_price, fill_ratio, latest_event_time, event_count, first_partition, last_partition
)
SELECT
    l.twap_id, l.wallet, l.asset, l.side, l.size_requested, l.duration_minutes, l.reduce_only,
    l.randomize, l.created_at, a.activated_at, a.ended_at, coalesce(a.final_status, 'activated'),
    a.error, l.size_executed, l.notional_executed,
    CASE WHEN l.size_executed > 0 THEN l.notional_executed / l.size_executed END,
    CASE WHEN l.size_requested > 0 THEN l.size_executed / l.size_requested END,
    a.latest_event_time, a.event_count, a.first_partition, a.last_partition
FROM (
    -- The latest event carries the cumulative executed size and notional.
    SELECT DISTINCT ON (s.twap_id) s.*
    FROM twap_status s JOIN touched_twaps USING (twap_id)
    ORDER BY s.twap_id, s.event_time DESC, s.status = 'activated'
) l
JOIN (
    SELECT
        s.twap_id,
        min(s.event_time) FILTER (WHERE s.status = 'activated') AS activated_at,
        min(s.event_time) FILTER (WHERE s.status <> 'activated') AS ended_at,
        (array_agg(s.status ORDER BY s.event_time) FILTER (WHERE s.status <> 'activated'))[1]
            AS final_status,
        (array_agg(s.error ORDER BY s.event_time) FILTER (WHERE s.status <> 'activated'))[1]
            AS error,
        max(s.event_time) AS latest_event_time,
        count(*) AS event_count,
        min(s.partition_date) AS first_partition,
        max(s.partition_date) AS last_partition
    FROM twap_status s JOIN touched_twaps USING (twap_id)
    GROUP BY s.twap_id
) a USING (twap_id)
"""


def refresh_orders(conn: psycopg.Connection, days: list[date]) -> int:
    """Recompute twap_orders, inside the caller's transaction, for every TWAP with events in
    ``days`` or that had some there before a reload; returns the number of TWAPs written."""
    lock_writers(conn)
    conn.execute(TOUCHED_ORDERS, {"days": days, "first": min(days), "last": max(days)})
    conn.execute(DELETE_TOUCHED_ORDERS)
    return conn.execute(INSERT_TOUCHED_ORDERS).rowcount
