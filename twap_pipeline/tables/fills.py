"""SQL of ``twap_fills``: one row per TWAP slice fill, loaded a UTC day at a time."""

from __future__ import annotations

from psycopg import sql

from twap_pipeline.formats.fills import FILL_COLUMNS

# The columns an export reads (not where the row was loaded from).
EXPORT_COLUMNS = [c for c in FILL_COLUMNS if c not in ("s3_object_key", "partition_date")]

COPY = sql.SQL("COPY twap_fills ({}) FROM STDIN (FORMAT csv)").format(
    sql.SQL(", ").join(map(sql.Identifier, FILL_COLUMNS))
)
DELETE_DAY = "DELETE FROM twap_fills WHERE partition_date = %(day)s"
# The day's fill count, kept beside the fills; written in the day's transaction.
RECORD_DAY = """
INSERT INTO twap_fills_days (partition_date, fills, loaded_at)
VALUES (%(day)s, %(fills)s, now())
ON CONFLICT (partition_date) DO UPDATE SET fills = EXCLUDED.fills, loaded_at = now()
"""
# A wallet's fills in [start, end), oldest first (the wallet/time index), for exports.
WALLET_FILLS = sql.SQL(
    """SELECT {} FROM twap_fills
    WHERE wallet = %(wallet)s AND fill_time >= %(start)s AND fill_time < %(end)s
    ORDER BY fill_time, tid, twap_id"""
).format(sql.SQL(", ").join(map(sql.Identifier, EXPORT_COLUMNS)))
