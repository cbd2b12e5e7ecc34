"""The reconciliation of fills with statuses: every terminal TWAP whose fills' days are all
loaded must have fills that add up exactly, in decimals, to its terminal ``executedSz`` (sum of
``sz``) and ``executedNtl`` (sum of ``px * sz``). It runs in the transaction of each load that
can change either side (a twap_orders refresh, a twap_fills day) over the TWAPs that load
touched. A mismatch is the source disagreeing with itself, not a load gone wrong: the check
warns, naming each TWAP and both sums, and the data stays as published."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from twap_pipeline.checks.verdicts import SAMPLE_ROWS, CheckDefinition, Verdict, jsonable
from twap_pipeline.tables import orders as table

FILLS_RECONCILE = CheckDefinition(
    "fills_reconcile",
    "For each terminal TWAP whose days from activation to end are loaded in twap_fills: the sum "
    "of its fills' sz equals the terminal executedSz and the sum of px*sz equals executedNtl, "
    "exactly. Mismatches are named with both sums.",
    warn_only=True,
)
# Mismatches named in full in the check's metadata (beyond the sample rows).
NAMED_LIMIT = 100


def reconcile(conn: psycopg.Connection) -> Verdict:
    """The verdict over ``touched_twaps`` (a temporary table of the caller's transaction)."""
    counts = conn.execute(table.RECONCILE_COUNTS).fetchone()
    assert counts is not None  # an aggregate without GROUP BY returns one row
    judged, mismatched = counts
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(table.RECONCILE_MISMATCHES, {"limit": NAMED_LIMIT}).fetchall()
    details: dict[str, object] = {"twaps_reconciled": judged, "mismatched_twaps": mismatched}
    if rows:
        details["mismatches"] = jsonable(rows)
    return FILLS_RECONCILE.verdict(not rows, jsonable(rows[:SAMPLE_ROWS]), details)
