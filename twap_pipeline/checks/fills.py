"""Checks of ``twap_fills``, evaluated on each day's load inside its transaction: the rows
stored are the rows read, no two share a (twap_id, tid) identity, the values are sane, and a
reload does not silently shrink a day."""

from __future__ import annotations

import polars as pl

from twap_pipeline.checks.loads import (
    NO_DAY_SHRINKS,
    ROWS_MATCH_SOURCE,
    day_not_shrunk,
    rows_match_source,
)
from twap_pipeline.checks.reconciliation import FILLS_RECONCILE
from twap_pipeline.checks.verdicts import SAMPLE_ROWS, CheckDefinition, Verdict, jsonable
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
    broken = fills.select(
        *SAMPLE_COLUMNS,
        problems=pl.concat_list(
            pl.when(rule).then(pl.lit(name)).otherwise(None) for name, rule in ROW_RULES.items()
        ).list.drop_nulls(),
    )
    return broken.filter(pl.col("problems").list.len() > 0)


def rows_valid(invalid: pl.DataFrame) -> Verdict:
    samples = invalid.sort("fill_time").head(SAMPLE_ROWS).to_dicts()
    return FILL_ROWS_VALID.verdict(
        invalid.is_empty(), jsonable(samples), {"invalid_rows": invalid.height}
    )


def duplicate_keys(fills: pl.DataFrame, conflict: str | None) -> Verdict:
    """Duplicate identities within the day's rows; when there are none but PostgreSQL refused
    the COPY, ``conflict`` names the stored fill of another day the load clashed with."""
    dupes = fills.filter(pl.struct(KEY).is_duplicated())
    if dupes.is_empty() and conflict is None:
        return UNIQUE_FILL_KEYS.verdict(True)
    if dupes.is_empty():
        return UNIQUE_FILL_KEYS.verdict(False, details={"conflict": conflict})
    samples = dupes.select(*KEY, "s3_object_key").head(SAMPLE_ROWS).to_dicts()
    return UNIQUE_FILL_KEYS.verdict(False, jsonable(samples), {"duplicate_rows": dupes.height})


def judge_day(evidence: DayEvidence) -> list[Verdict]:
    """Every check of one day's load (only the key's, when PostgreSQL refused the COPY)."""
    unique = duplicate_keys(evidence.rows, evidence.conflict)
    if not unique.passed:
        return [unique]
    return [
        unique,
        rows_match_source(evidence.rows.height, evidence.stored),
        rows_valid(evidence.invalid),
        day_not_shrunk(
            evidence.day,
            evidence.stored_before,
            evidence.rows.height,
            evidence.allow_shrinking,
            unit="fills",
        ),
    ]
