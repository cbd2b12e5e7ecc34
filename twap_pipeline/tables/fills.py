"""SQL of ``twap_fills``: one row per TWAP slice fill, loaded a UTC day at a time."""

from __future__ import annotations

from psycopg import sql

from twap_pipeline.formats.fills import FILL_COLUMNS

COPY = sql.SQL("COPY twap_fills ({}) FROM STDIN (FORMAT csv)").format(
    sql.SQL(", ").join(map(sql.Identifier, FILL_COLUMNS))
)
DELETE_DAY = "DELETE FROM twap_fills WHERE partition_date = %(day)s"
