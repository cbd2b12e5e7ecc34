"""Checks of ``twap_status``, evaluated on each day's load inside its transaction.

Row rules are row-local: evaluated with polars on each file's rows in the parsing thread, as
they stream into COPY. ``rows_match_source`` compares the rows offered with the count
PostgreSQL reports its COPY stored; duplicates are caught by the primary key; the lifecycle is
judged over the day's rows plus every stored event of the same TWAPs in other days.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import polars as pl
import psycopg

from twap_pipeline.checks.loads import (
    NO_DAY_SHRINKS,
    ROWS_MATCH_SOURCE,
    broken_rows,
    day_not_shrunk,
    rows_match_source,
    rows_valid,
    unique_keys,
)
from twap_pipeline.checks.verdicts import SAMPLE_ROWS, CheckDefinition, Verdict, jsonable
from twap_pipeline.formats.status import KNOWN_STATUSES
from twap_pipeline.loading.days import DayEvidence
from twap_pipeline.tables import status as table

UNIQUE_EVENT_KEYS = CheckDefinition(
    "unique_event_keys", "No two events share (twap_id, event_time, status)."
)
ROWS_VALID = CheckDefinition(
    "rows_valid",
    "twap_id >= 0; wallet 0x + 40 hex; side B/A; sizes >= 0 and executed <= requested; event "
    "time within its partition's UTC day; creation time at most a minute after the event, at "
    "most a year before it, and not before 2023; coin and error texts of sane length.",
)
LIFECYCLE_CONSISTENT = CheckDefinition(
    "lifecycle_consistent",
    "At most one terminal event per TWAP, never before its activation; waitingForTrigger never "
    "after the activation.",
)
STATUSES_KNOWN = CheckDefinition(
    "statuses_known",
    "Every status is one the lifecycle knows (waitingForTrigger, activated, finished, "
    "terminated, error). Others are loaded verbatim and treated as not terminal; this warns.",
    warn_only=True,
)
CHECKS = [
    ROWS_MATCH_SOURCE,
    UNIQUE_EVENT_KEYS,
    ROWS_VALID,
    LIFECYCLE_CONSISTENT,
    NO_DAY_SHRINKS,
    STATUSES_KNOWN,
]
TERMINAL_STATUSES = ("finished", "terminated", "error")
MAX_COIN_LENGTH = 32
MAX_ERROR_LENGTH = 1000

_day_start = pl.col("partition_date").cast(pl.Datetime("us", "UTC"))
_HYPERLIQUID_ERA = pl.datetime(2023, 1, 1, time_zone="UTC")
# Each rule: (problem, polars expression that is true when a row breaks it).
ROW_RULES = {
    "negative twap_id": pl.col("twap_id") < 0,
    "wallet": ~pl.col("wallet").str.contains(r"^0x[0-9a-f]{40}$"),
    "side": ~pl.col("side").is_in(["B", "A"]),
    # Sign and order need no more precision than a float's.
    "negative size": pl.any_horizontal(
        pl.col(c).cast(pl.Float64) < 0
        for c in ("size_requested", "size_executed", "notional_executed")
    ),
    "executed > requested": pl.col("size_executed").cast(pl.Float64)
    > pl.col("size_requested").cast(pl.Float64),
    "event time outside partition day": (pl.col("event_time") < _day_start)
    | (pl.col("event_time") >= _day_start + pl.duration(days=1)),
    "created after the event": pl.col("created_at") > pl.col("event_time") + pl.duration(minutes=1),
    "created over a year before the event": pl.col("created_at")
    < pl.col("event_time") - pl.duration(days=366),
    "created before 2023": pl.col("created_at") < _HYPERLIQUID_ERA,
    "coin too long": pl.col("asset").str.len_chars() > MAX_COIN_LENGTH,
    "error too long": pl.col("error").str.len_chars().fill_null(0) > MAX_ERROR_LENGTH,
}
SAMPLE_COLUMNS = [
    "partition_date", "twap_id", "event_time", "created_at", "status", "wallet", "side",
    "size_requested", "size_executed", "notional_executed", "s3_object_key",
]  # fmt: skip


def invalid_rows(events: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``events`` that break a rule, with the rules they break in ``problems``."""
    return broken_rows(events, ROW_RULES, SAMPLE_COLUMNS)


def statuses_known(events: pl.DataFrame) -> Verdict:
    unknown = events.filter(~pl.col("status").is_in(list(KNOWN_STATUSES.values())))
    counts = Counter(unknown["status"].to_list())
    samples = unknown.select("twap_id", "event_time", "status", "s3_object_key")
    return STATUSES_KNOWN.verdict(
        unknown.is_empty(),
        jsonable(samples.head(SAMPLE_ROWS).to_dicts()),
        {"unknown_statuses": dict(counts)} if counts else {},
    )


LIFECYCLE_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "twap_id": pl.Int64,
    "event_time": pl.Datetime("us", "UTC"),
    "status": pl.String,
    "partition_date": pl.Date,
}


def other_days_events(conn: psycopg.Connection, day: date, twap_ids: list[int]) -> pl.DataFrame:
    """Stored events of the TWAPs ``twap_ids`` outside ``day``."""
    params = {"twap_ids": twap_ids, "day": day}
    rows = conn.execute(table.OTHER_DAYS_EVENTS, params).fetchall()
    return pl.DataFrame(rows, schema=LIFECYCLE_COLUMNS, orient="row")


def lifecycle_consistent(events: pl.DataFrame, other_days: pl.DataFrame) -> Verdict:
    """Over the day's rows and the stored rows that stay: at most one terminal event per TWAP,
    none before its activation, and no waitingForTrigger after the activation."""
    terminal = pl.col("status").is_in(TERMINAL_STATUSES)
    everything = pl.concat([events.select(list(LIFECYCLE_COLUMNS)), other_days])
    mine = everything.filter(pl.col("twap_id").is_in(events["twap_id"].unique().implode()))
    bad = (
        mine.group_by("twap_id")
        .agg(
            terminal_events=terminal.sum(),
            activated_at=pl.col("event_time").filter(pl.col("status") == "activated").min(),
            first_terminal_at=pl.col("event_time").filter(terminal).min(),
            last_waiting_at=pl.col("event_time")
            .filter(pl.col("status") == "waitingForTrigger")
            .max(),
        )
        .filter(
            (pl.col("terminal_events") > 1)
            | (pl.col("first_terminal_at") < pl.col("activated_at"))
            | (pl.col("last_waiting_at") > pl.col("activated_at"))
        )
        .sort("twap_id")
    )
    return LIFECYCLE_CONSISTENT.verdict(
        bad.is_empty(),
        jsonable(bad.head(SAMPLE_ROWS).to_dicts()),
        {"inconsistent_twaps": bad.height},
    )


def gather_for_lifecycle(conn: psycopg.Connection, day: date, rows: pl.DataFrame) -> pl.DataFrame:
    """The stored events the lifecycle check needs besides the day's own."""
    return other_days_events(conn, day, rows["twap_id"].unique().to_list())


def judge_day(evidence: DayEvidence) -> list[Verdict]:
    """Every check of one day's load. When PostgreSQL refused the COPY for a duplicate key,
    only that is reported: nothing was stored to judge."""
    unique = unique_keys(
        UNIQUE_EVENT_KEYS, evidence.rows, ["twap_id", "event_time", "status"], evidence.conflict
    )
    if not unique.passed:
        return [unique]
    other_days = evidence.gathered if evidence.gathered is not None else evidence.rows.clear()
    return [
        unique,
        rows_match_source(evidence.rows.height, evidence.stored),
        rows_valid(ROWS_VALID, evidence.invalid, "event_time"),
        lifecycle_consistent(evidence.rows, other_days.select(list(LIFECYCLE_COLUMNS))),
        day_not_shrunk(
            evidence.day,
            evidence.stored_before,
            evidence.rows.height,
            evidence.allow_shrinking,
            unit="events",
        ),
        statuses_known(evidence.rows),
    ]
