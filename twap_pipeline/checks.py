"""Asset checks that prove each load, evaluated inside the load's transaction before it commits:
a failing check rolls the load back (reject_if_failed), so the tables never hold a load that
did not pass. Row rules run on the rows as they stream into COPY; row counts come from what
PostgreSQL reports its COPY stored; duplicates and lifecycle are judged against the table.
They work the same for a one-day run and a single-run range backfill: each result covers every
partition of the run and names the failing ones in its metadata."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
import psycopg
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Failure,
    MetadataValue,
)

from twap_pipeline.parsing import KNOWN_STATUSES

SAMPLE_ROWS = 5
STATUS_ASSET = AssetKey("twap_status")
ORDERS_ASSET = AssetKey("twap_orders")

STATUS_CHECKS = {
    "rows_match_source": "Rows loaded equal rows read from the source files, per partition.",
    "unique_event_keys": "No two events share (twap_id, event_time, status).",
    "rows_valid": "Wallet is 0x + 40 hex, status known, side B/A, sizes >= 0, executed <= "
    "requested, event time within its partition's UTC day.",
    "lifecycle_consistent": "At most one terminal event per TWAP, never before its activation.",
}
ORDERS_CHECKS = {
    "one_row_per_twap": "Exactly one twap_orders row per twap_id seen in twap_status.",
    "executed_within_requested": "0 <= executed size <= requested size for every TWAP.",
}


def check_specs(asset: AssetKey, checks: dict[str, str]) -> list[AssetCheckSpec]:
    """Blocking specs: a failure fails the run and keeps downstream assets from running."""
    return [
        AssetCheckSpec(name, asset=asset, description=text, blocking=True)
        for name, text in checks.items()
    ]


@dataclass
class Outcome:
    """One check's verdict over all partitions of a run."""

    name: str
    passed: bool
    failing_partitions: list[str] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def result(self, asset: AssetKey) -> AssetCheckResult:
        metadata: dict[str, Any] = {
            "failing_partitions": MetadataValue.json(self.failing_partitions),
            **self.details,
        }
        if self.samples:
            metadata["sample_rows"] = MetadataValue.json(self.samples)
        return AssetCheckResult(
            asset_key=asset,
            check_name=self.name,
            passed=self.passed,
            severity=AssetCheckSeverity.ERROR,
            metadata=metadata,
        )

    def summary(self) -> str:
        where = ", ".join(self.failing_partitions) or "the run"
        return f"{self.name} failed for {where}: {self.samples[:1] or self.details}"


def reject_if_failed(
    conn: psycopg.Connection, asset: AssetKey, outcomes: list[Outcome], what: str
) -> Iterator[AssetCheckResult]:
    """When a check failed: roll the transaction back, report every check, fail the step."""
    failed = [o for o in outcomes if not o.passed]
    if not failed:
        return
    conn.rollback()
    for outcome in outcomes:
        yield outcome.result(asset)
    raise Failure(
        description=f"{what} rolled back, the database is unchanged: "
        + "; ".join(o.summary() for o in failed)
    )


def _rows(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(query, params).fetchall()


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sample rows for JSON metadata: numbers and lists kept, other values as text."""

    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value if isinstance(value, int | bool | None) else str(value)

    return [{k: plain(v) for k, v in row.items()} for row in rows]


def duplicate_keys(events: pl.DataFrame) -> Outcome:
    """Duplicate event keys within the frame about to be loaded."""
    key = ["twap_id", "event_time", "status"]
    dupes = events.filter(pl.struct(key).is_duplicated())
    if dupes.is_empty():
        return Outcome("unique_event_keys", True)
    samples = dupes.select(*key, "s3_object_key").head(SAMPLE_ROWS).to_dicts()
    return Outcome(
        "unique_event_keys",
        False,
        failing_partitions=sorted({str(d) for d in dupes["partition_date"]}),
        samples=_jsonable(samples),
        details={"duplicate_rows": dupes.height},
    )


# The rules every row must satisfy, as (problem, polars expression that is true when broken).
# Row-local, so they are evaluated on each file's rows as the load streams them into COPY,
# in the parsing thread, at no cost to the load; rows_match_source proves COPY stored them all.
_day_start = pl.col("partition_date").cast(pl.Datetime("us", "UTC"))
ROW_RULES = {
    "wallet": ~pl.col("wallet").str.contains(r"^0x[0-9a-f]{40}$"),
    "status": ~pl.col("status").is_in(KNOWN_STATUSES),
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
}
SAMPLE_COLUMNS = [
    "partition_date", "twap_id", "event_time", "status", "wallet", "side",
    "size_requested", "size_executed", "notional_executed", "s3_object_key",
]  # fmt: skip


def invalid_rows(events: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``events`` that break a rule, with the rules they break in ``problems``."""
    broken = events.select(
        *SAMPLE_COLUMNS,
        problems=pl.concat_list(
            pl.when(rule).then(pl.lit(name)).otherwise(None) for name, rule in ROW_RULES.items()
        ).list.drop_nulls(),
    )
    return broken.filter(pl.col("problems").list.len() > 0)


def rows_valid(invalid: pl.DataFrame) -> Outcome:
    return Outcome(
        "rows_valid",
        invalid.is_empty(),
        failing_partitions=sorted({str(d) for d in invalid["partition_date"]}),
        samples=_jsonable(
            invalid.sort("partition_date", "event_time").head(SAMPLE_ROWS).to_dicts()
        ),
        details={"invalid_rows": invalid.height},
    )


LOADED_PER_DAY = """
SELECT partition_date, count(*) AS n FROM twap_status
WHERE partition_date = ANY(%(days)s) GROUP BY partition_date
"""


def rows_match_source(
    conn: psycopg.Connection, days: list[date], source_rows: dict[date, int], stored: int
) -> Outcome:
    """``stored`` is the row count PostgreSQL reported for the load's COPY (rows it kept);
    only when it differs from the source are the days counted, to name the failing ones."""
    if stored == sum(source_rows.values()):
        return Outcome("rows_match_source", True, details={"rows": stored})
    loaded = {r["partition_date"]: r["n"] for r in _rows(conn, LOADED_PER_DAY, {"days": days})}
    wrong = {
        d.isoformat(): {"source": source_rows.get(d, 0), "loaded": loaded.get(d, 0)}
        for d in days
        if source_rows.get(d, 0) != loaded.get(d, 0)
    }
    return Outcome(
        "rows_match_source",
        False,
        failing_partitions=sorted(wrong),
        details={"mismatches": MetadataValue.json(wrong)},
    )


# Events already stored for TWAPs in the load's id range, in days the load leaves alone: with
# the load's own rows they make up every event those TWAPs will have once it commits. Read on a
# second connection while COPY still runs: it sees the table as it was before the load, and
# no other writer can change it meanwhile (the load holds the writers' lock).
STAYING_EVENTS = """
SELECT twap_id, event_time, status, partition_date
FROM twap_status
WHERE twap_id BETWEEN %(first_id)s AND %(last_id)s AND partition_date <> ALL(%(days)s)
"""
LIFECYCLE_COLUMNS = {
    "twap_id": pl.Int64,
    "event_time": pl.Datetime("us", "UTC"),
    "status": pl.String,
    "partition_date": pl.Date,
}


def staying_events(
    conn: psycopg.Connection, days: list[date], twap_ids: tuple[int, int]
) -> pl.DataFrame:
    params = {"first_id": twap_ids[0], "last_id": twap_ids[1], "days": days}
    rows = conn.execute(STAYING_EVENTS, params).fetchall()
    return pl.DataFrame(rows, schema=LIFECYCLE_COLUMNS, orient="row")


def lifecycle_consistent(events: pl.DataFrame, staying: pl.DataFrame, days: list[date]) -> Outcome:
    """At most one terminal event per TWAP, never before its activation, over the load's rows
    and the stored rows that stay."""
    terminal = pl.col("status") != "activated"
    everything = pl.concat([events.select(list(LIFECYCLE_COLUMNS)), staying])
    bad = (
        everything.group_by("twap_id")
        .agg(
            terminal_events=terminal.sum(),
            activated_at=pl.col("event_time").filter(~terminal).min(),
            first_terminal_at=pl.col("event_time").filter(terminal).min(),
            partitions=pl.col("partition_date").unique(),
        )
        .filter(
            (pl.col("terminal_events") > 1) | (pl.col("first_terminal_at") < pl.col("activated_at"))
        )
        .sort("twap_id")
    )
    run_days = set(days)
    failing = {d for ds in bad["partitions"] for d in ds if d in run_days}
    return Outcome(
        "lifecycle_consistent",
        bad.is_empty(),
        failing_partitions=sorted(d.isoformat() for d in failing),
        samples=_jsonable(bad.drop("partitions").head(SAMPLE_ROWS).to_dicts()),
        details={"inconsistent_twaps": bad.height},
    )


def status_checks(
    conn: psycopg.Connection,
    days: list[date],
    events: pl.DataFrame,
    invalid: pl.DataFrame,
    stored: int,
    staying: pl.DataFrame,
) -> list[Outcome]:
    """The checks on a twap_status load whose COPY went through (no duplicate keys)."""
    source_rows = Counter(events["partition_date"].to_list())
    return [
        rows_match_source(conn, days, source_rows, stored),
        rows_valid(invalid),
        lifecycle_consistent(events, staying, days),
    ]


# Both run against the touched_twaps temp table written by loading.refresh_orders.
ORDERS_COVERAGE = """
SELECT t.twap_id,
    (SELECT count(*) FROM twap_orders o WHERE o.twap_id = t.twap_id) AS order_rows,
    EXISTS (SELECT 1 FROM twap_status s WHERE s.twap_id = t.twap_id) AS has_events
FROM touched_twaps t
WHERE (SELECT count(*) FROM twap_orders o WHERE o.twap_id = t.twap_id)
    <> (EXISTS (SELECT 1 FROM twap_status s WHERE s.twap_id = t.twap_id))::int
ORDER BY t.twap_id
"""
ORDERS_OVER_EXECUTED = """
SELECT o.twap_id, o.size_requested, o.size_executed, o.last_partition
FROM twap_orders o JOIN touched_twaps USING (twap_id)
WHERE o.size_executed < 0 OR o.size_executed > o.size_requested
ORDER BY o.twap_id
"""


def orders_checks(conn: psycopg.Connection) -> list[Outcome]:
    coverage = _rows(conn, ORDERS_COVERAGE, {})
    over = _rows(conn, ORDERS_OVER_EXECUTED, {})
    return [
        Outcome(
            "one_row_per_twap",
            not coverage,
            samples=_jsonable(coverage[:SAMPLE_ROWS]),
            details={"mismatched_twaps": len(coverage)},
        ),
        Outcome(
            "executed_within_requested",
            not over,
            failing_partitions=sorted({str(r["last_partition"]) for r in over}),
            samples=_jsonable(over[:SAMPLE_ROWS]),
            details={"over_executed_twaps": len(over)},
        ),
    ]
