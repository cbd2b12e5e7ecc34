"""What a day's load writes beside its rows, in the day's transaction, once its checks pass:
the day's row count (coverage reads it in O(days)) and, for fills, the fill totals of every
TWAP the day touched in ``twap_orders``, reconciled with their terminal status."""

from __future__ import annotations

from datetime import date

import psycopg

from twap_pipeline.checks.reconciliation import reconcile
from twap_pipeline.checks.verdicts import Verdict
from twap_pipeline.tables import fills as fills_table
from twap_pipeline.tables import orders as orders_table
from twap_pipeline.tables import status as status_table


def record_status_day(conn: psycopg.Connection, day: date, stored: int) -> list[Verdict]:
    conn.execute(status_table.RECORD_DAY, {"day": day, "events": stored})
    return []


def settle_fills_day(conn: psycopg.Connection, day: date, stored: int) -> list[Verdict]:
    conn.execute(fills_table.RECORD_DAY, {"day": day, "fills": stored})
    conn.execute(orders_table.TOUCHED_BY_FILLS_DAY, {"day": day})
    conn.execute(orders_table.UPDATE_FILL_TOTALS)
    return [reconcile(conn)]
