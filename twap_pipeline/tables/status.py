"""SQL of ``twap_status``: one row per lifecycle event, loaded a UTC day at a time."""

from __future__ import annotations

from psycopg import sql

from twap_pipeline.formats.status import STATUS_COLUMNS

COPY = sql.SQL("COPY twap_status ({}) FROM STDIN (FORMAT csv)").format(
    sql.SQL(", ").join(map(sql.Identifier, STATUS_COLUMNS))
)
DELETE_DAY = "DELETE FROM twap_status WHERE partition_date = %(day)s"
# The day's event count, kept beside the events for coverage; written in the day's transaction.
RECORD_DAY = """
INSERT INTO twap_status_days (partition_date, events, loaded_at)
VALUES (%(day)s, %(events)s, now())
ON CONFLICT (partition_date) DO UPDATE SET events = EXCLUDED.events, loaded_at = now()
"""

# Events already stored in other days for the TWAPs of a day's load: with the day's own rows
# they make up every event those TWAPs will have once the day commits. Read on a second
# connection while COPY runs: it sees the table as committed, and no other writer can change it
# meanwhile (the load holds the writers' lock).
OTHER_DAYS_EVENTS = """
SELECT twap_id, event_time, status, partition_date
FROM twap_status
WHERE twap_id = ANY(%(twap_ids)s) AND partition_date <> %(day)s
"""
