"""Checks of ``twap_fills``, evaluated on each day's load inside its transaction: the rows
stored are the rows read, no two share a (twap_id, tid) identity, the values are sane, and a
reload does not silently shrink a day."""

from __future__ import annotations

import polars as pl

from twap_pipeline.checks.loads import (
    NO_DAY_SHRINKS,
    ROWS_MATCH_SOURCE,
    broken_rows,
    day_not_shrunk,
    rows_match_source,
    rows_valid,
    unique_keys,
)
from twap_pipeline.checks.reconciliation import FILLS_RECONCILE
from twap_pipeline.checks.verdicts import CheckDefinition, Verdict
from twap_pipeline.loading.days import DayEvidence

UNIQUE_FILL_KEYS = CheckDefinition(
    "unique_fill_keys",
    "No two fills share (twap_id, tid): one TWAP's side of one trade is one row (both sides of "
    "a trade between two TWAPs are two rows, one per TWAP).",
)
FILL_ROWS_VALID = CheckDefinition(
    "rows_valid",
    "twap_id, tid and oid >= 0; wallet 0x + 40 hex; side B/A; px and sz > 0; fee >= 0 "
    "(rebates aside, a slice pays); fill time within a day of its partition's UTC day.",
)
CHECKS = [ROWS_MATCH_SOURCE, UNIQUE_FILL_KEYS, FILL_ROWS_VALID, NO_DAY_SHRINKS, FILLS_RECONCILE]
KEY = ["twap_id", "tid"]

_day_start = pl.col("partition_date").cast(pl.Datetime("us", "UTC"))
# Each rule: (problem, polars expression that is true when a row breaks it).
ROW_RULES = {
    "negative id": (pl.col("twap_id") < 0) | (pl.col("tid") < 0) | (pl.col("oid") < 0),
    "wallet": ~pl.col("wallet").str.contains(r"^0x[0-9a-f]{40}$"),
    "side": ~pl.col("side").is_in(["B", "A"]),
    # Sign needs no more precision than a float's.
    "px or sz not positive": (pl.col("px").cast(pl.Float64) <= 0)
    | (pl.col("sz").cast(pl.Float64) <= 0),
    "negative fee": pl.col("fee").cast(pl.Float64).fill_null(0) < 0,
    # An hour file holds its hour's blocks; a fill's own time may trail its block a little.
    "fill time far from partition day": (pl.col("fill_time") < _day_start - pl.duration(days=1))
    | (pl.col("fill_time") >= _day_start + pl.duration(days=2)),
}
SAMPLE_COLUMNS = ["partition_date", *KEY, "wallet", "fill_time", "px", "sz", "s3_object_key"]


def invalid_rows(fills: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``fills`` that break a rule, with the rules they break in ``problems``."""
    return broken_rows(fills, ROW_RULES, SAMPLE_COLUMNS)


def judge_day(evidence: DayEvidence) -> list[Verdict]:
    """Every check of one day's load (only the key's, when PostgreSQL refused the COPY)."""
    unique = unique_keys(UNIQUE_FILL_KEYS, evidence.rows, KEY, evidence.conflict)
    if not unique.passed:
        return [unique]
    return [
        unique,
        rows_match_source(evidence.rows.height, evidence.stored),
        rows_valid(FILL_ROWS_VALID, evidence.invalid, "fill_time"),
        day_not_shrunk(
            evidence.day,
            evidence.stored_before,
            evidence.rows.height,
            evidence.allow_shrinking,
            unit="fills",
        ),
    ]
