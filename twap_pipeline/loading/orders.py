"""Recompute ``twap_orders`` for the TWAPs that a load of some days touched, with its checks,
in one transaction that commits only if they pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import psycopg

from twap_pipeline.checks import orders as checks
from twap_pipeline.checks.verdicts import Verdict, blocking_failures
from twap_pipeline.db.schema import WRITE_LOCK_KEY
from twap_pipeline.tables import orders as table


@dataclass
class OrdersRefresh:
    committed: bool
    twaps: int = 0
    running: int = 0
    wallets: int = 0
    verdicts: list[Verdict] = field(default_factory=list)

    def blocked(self) -> bool:
        return any(v.blocks for v in self.verdicts)

    def failure(self) -> str:
        return blocking_failures(self.verdicts)


def refresh_orders(conn: psycopg.Connection, days: list[date]) -> OrdersRefresh:
    """``conn`` is in autocommit mode; the refresh is its own transaction."""
    result = OrdersRefresh(committed=False)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])
        conn.execute(table.TOUCHED, {"days": days, "first": min(days), "last": max(days)})
        conn.execute(table.DELETE_TOUCHED)
        conn.execute(table.INSERT_TOUCHED)
        conn.execute(table.UPDATE_FILL_TOTALS)
        totals = conn.execute(table.TOTALS).fetchone()
        assert totals is not None  # an aggregate without GROUP BY returns one row
        result.twaps, result.running, result.wallets = totals
        result.verdicts = checks.evaluate(conn)
        if result.blocked():
            raise psycopg.Rollback()
    result.committed = not result.blocked()
    return result
