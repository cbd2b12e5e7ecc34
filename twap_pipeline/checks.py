"""Asset checks that prove each load, evaluated inside the load's transaction before it commits:
a failing check rolls the load back (reject_if_failed), so the tables never hold a load that
did not pass. Row rules run on the rows as they stream into COPY; row counts come from what
PostgreSQL reports its COPY stored; duplicates and lifecycle are judged against the table.
They work the same for a one-day run and a single-run range backfill: each result covers every
partition of the run and names the failing ones in its metadata."""

from __future__ import annotations

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


# All events of every TWAP whose id lies within the load's ids: a superset of the TWAPs the
# load touched, found by a range scan of the primary key (cheaper than joining on a list).
LIFECYCLE_VIOLATIONS = """
SELECT twap_id,
    count(*) FILTER (WHERE status <> 'activated') AS terminal_events,
    min(event_time) FILTER (WHERE status = 'activated') AS activated_at,
    min(event_time) FILTER (WHERE status <> 'activated') AS first_terminal_at
FROM twap_status
WHERE twap_id BETWEEN %(first_id)s AND %(last_id)s
GROUP BY twap_id
HAVING count(*) FILTER (WHERE status <> 'activated') > 1
    OR min(event_time) FILTER (WHERE status <> 'activated')
        < min(event_time) FILTER (WHERE status = 'activated')
ORDER BY twap_id
"""
PARTITIONS_OF = "SELECT DISTINCT partition_date FROM twap_status WHERE twap_id = ANY(%(ids)s)"


def lifecycle_consistent(
    conn: psycopg.Connection, days: list[date], twap_ids: tuple[int, int]
) -> Outcome:
    bad = _rows(conn, LIFECYCLE_VIOLATIONS, {"first_id": twap_ids[0], "last_id": twap_ids[1]})
    partitions = set()
    if bad:
        ids = [r["twap_id"] for r in bad]
        partitions = {r["partition_date"] for r in _rows(conn, PARTITIONS_OF, {"ids": ids})}
    return Outcome(
        "lifecycle_consistent",
        not bad,
        failing_partitions=sorted(d.isoformat() for d in partitions & set(days)),
        samples=_jsonable(bad[:SAMPLE_ROWS]),
        details={"inconsistent_twaps": len(bad)},
    )


def status_checks(
    conn: psycopg.Connection,
    days: list[date],
    source_rows: dict[date, int],
    stored: int,
    twap_ids: tuple[int, int],
) -> list[Outcome]:
    """The checks on twap_status that need the database (unique keys and row validity are
    decided on the load's own rows)."""
    return [
        rows_match_source(conn, days, source_rows, stored),
        lifecycle_consistent(conn, days, twap_ids),
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
