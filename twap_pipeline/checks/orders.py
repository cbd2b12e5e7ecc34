"""Checks of ``twap_orders``, evaluated inside the refresh's transaction (against the
``touched_twaps`` it writes), before it commits."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from twap_pipeline.checks.reconciliation import FILLS_RECONCILE, reconcile
from twap_pipeline.checks.verdicts import SAMPLE_ROWS, CheckDefinition, Verdict, jsonable
from twap_pipeline.tables import orders as table

ONE_ROW_PER_TWAP = CheckDefinition(
    "one_row_per_twap", "Exactly one twap_orders row per twap_id seen in twap_status."
)
EXECUTED_WITHIN_REQUESTED = CheckDefinition(
    "executed_within_requested", "0 <= executed size <= requested size for every TWAP."
)
CHECKS = [ONE_ROW_PER_TWAP, EXECUTED_WITHIN_REQUESTED, FILLS_RECONCILE]


def _rows(conn: psycopg.Connection, query: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query).fetchall()


def evaluate(conn: psycopg.Connection) -> list[Verdict]:
    coverage = _rows(conn, table.COVERAGE_MISMATCHES)
    over = _rows(conn, table.OVER_EXECUTED)
    return [
        ONE_ROW_PER_TWAP.verdict(
            not coverage,
            jsonable(coverage[:SAMPLE_ROWS]),
            {"mismatched_twaps": len(coverage)},
        ),
        EXECUTED_WITHIN_REQUESTED.verdict(
            not over,
            jsonable(over[:SAMPLE_ROWS]),
            {"over_executed_twaps": len(over)},
        ),
        reconcile(conn),
    ]
