"""What the tests share besides fixtures: the generated dataset's shape, and running the
pipeline in-process as Dagster would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from dagster import DagsterInstance, materialize

from twap_pipeline import sample
from twap_pipeline.assets import twap_fills, twap_orders, twap_status
from twap_pipeline.resources import LandingArea, ObjectSource, PostgresResource

PREFIX = "raw/twap_statuses/"
FIRST_DAY = date(2025, 6, 1)
DAYS = 6
ALL_ASSETS = [twap_status, twap_orders]


def run_pipeline(
    source: ObjectSource | None,
    landing: LandingArea,
    database_url: str,
    first: date | str,
    last: date | str | None = None,
    instance: DagsterInstance | None = None,
    assets: list | None = None,
    allow_shrinking_days: bool = False,
    postgres: PostgresResource | None = None,
    database_retries: int = 2,
    database_retry_seconds: float = 0,
):
    """Materialize the chain for one day or, as one run, for the range first..last."""
    first = str(first)
    kwargs: dict[str, Any] = {"partition_key": first}
    if last is not None and str(last) != first:
        kwargs = {
            "tags": {
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": str(last),
            }
        }
    assets = assets or ALL_ASSETS
    retries = {
        "database_retries": database_retries,
        "database_retry_seconds": database_retry_seconds,
    }
    ops: dict[str, Any] = {}
    if twap_status in assets:
        ops["twap_status"] = {"config": {"allow_shrinking_days": allow_shrinking_days, **retries}}
    if twap_orders in assets:
        ops["twap_orders"] = {"config": retries}
    resources = {
        "landing": landing,
        "postgres": postgres or PostgresResource(database_url=database_url),
    }
    if source is not None:
        resources["source"] = source
    return materialize(
        assets,
        resources=resources,
        instance=instance,
        raise_on_error=False,
        run_config={"ops": ops},
        **kwargs,
    )


def run_fills(
    source: ObjectSource,
    landing: LandingArea,
    database_url: str,
    first: date,
    last: date,
    allow_shrinking_days: bool = False,
):
    """Materialize twap_fills for first..last as one run."""
    return materialize(
        [twap_fills],
        resources={
            "fills_source": source,
            "fills_landing": landing,
            "postgres": PostgresResource(database_url=database_url),
        },
        run_config={
            "ops": {"twap_fills": {"config": {"allow_shrinking_days": allow_shrinking_days}}}
        },
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        raise_on_error=False,
    )


def failure_message(result) -> str:
    """The description of the run's failed step, for assertions on error messages."""
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures, "expected a failed step"
    error = failures[0].step_failure_data.user_failure_data
    if error is not None and error.description:
        return error.description
    return failures[0].step_failure_data.error.to_string()


# The tables as the tests compare them with the generated truth.
EVENT_COLUMNS = """twap_id, to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    status, error, wallet, asset, side, size_requested::text, size_executed::text,
    notional_executed::text, duration_minutes, reduce_only, randomize,
    (extract(epoch FROM created_at) * 1000)::bigint, trigger_px::text, trigger_above,
    partition_date"""


def table_events(db) -> list[tuple]:
    return db.execute(f"SELECT {EVENT_COLUMNS} FROM twap_status ORDER BY 1, 2, 3").fetchall()


def expected_events(events: pl.DataFrame) -> list[tuple]:
    """The canonical generated events as the table must hold them (time truncated to µs)."""
    rows = [
        (
            r["twap_id"],
            r["time"][:26],
            r["status"],
            r["error"],
            r["state_user"].lower(),
            r["state_coin"],
            r["state_side"],
            r["state_sz"],
            r["state_executedSz"],
            r["state_executedNtl"],
            r["state_minutes"],
            r["state_reduceOnly"],
            r["state_randomize"],
            r["state_timestamp"],
            r["state_trigger_px"],
            r["state_trigger_above"],
            r["day"],
        )
        for r in events.iter_rows(named=True)
    ]
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))


def same_events(actual: list[tuple], expected: list[tuple], float_days: set[date]) -> None:
    """Equal row for row; decimals equal as text, except from float files (equal as numbers)."""
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        if want[-1] in float_days:
            assert [Decimal(v) for v in got[7:10]] == [Decimal(v) for v in want[7:10]], want
            got = (*got[:7], *want[7:10], *got[10:])
        assert got == want


def float_days(events: pl.DataFrame) -> set[date]:
    return {d for d in events["day"].unique() if sample.style_for(d).encoding == "floats"}


ORDER_QUERY = """
SELECT twap_id, wallet, asset, side, size_requested, duration_minutes, status, error,
    to_char(activated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS activated_at,
    to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS ended_at,
    size_executed, notional_executed, avg_price, fill_ratio, event_count, trigger_px,
    trigger_above
FROM twap_orders ORDER BY twap_id
"""


def table_orders(db) -> dict[int, dict]:
    with db.cursor() as cur:
        cur.execute(ORDER_QUERY)
        names = [c.name for c in cur.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def assert_orders_match(actual: dict[int, dict], expected: dict[int, dict]) -> None:
    assert actual.keys() == expected.keys()
    for twap_id, want in expected.items():
        got = actual[twap_id]
        for field in ("avg_price", "fill_ratio"):
            if want[field] is not None:
                # Exact division in SQL; compare to 15 significant digits.
                assert abs(got[field] - want[field]) <= abs(want[field]) * Decimal("1e-15"), field
                got = {**got, field: want[field]}
        assert got == want, twap_id


# Checks: a day of the generated dataset replaced by crafted bad events, and the tables compared
# before and after the rejected load.
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
BAD_DAY = FIRST_DAY + timedelta(days=2)


def snapshot(db) -> tuple[list, list]:
    """Both tables, without loaded_at (a good day reloaded next to a bad one gets a new one)."""
    return (
        db.execute(
            "SELECT to_jsonb(s) - 'loaded_at' FROM twap_status s "
            "ORDER BY twap_id, event_time, status"
        ).fetchall(),
        db.execute("SELECT * FROM twap_orders ORDER BY twap_id").fetchall(),
    )


def failed_checks(result) -> dict[str, dict]:
    return {
        e.check_name: {k: v.value for k, v in e.metadata.items()}
        for e in result.get_asset_check_evaluations()
        if not e.passed
    }


def day_events(events: pl.DataFrame, day=BAD_DAY) -> pl.DataFrame:
    return events.filter(pl.col("day") == day)


def assert_rejected(result, check: str, db, before, partitions=(BAD_DAY,)) -> dict:
    assert not result.success
    message = failure_message(result)
    assert "rolled back" in message
    assert all(f"{d}: " in message for d in partitions), message
    failures = failed_checks(result)
    assert check in failures, failures
    if partitions:
        assert failures[check]["failing_partitions"] == [d.isoformat() for d in partitions]
    assert snapshot(db) == before
    return failures[check]


@contextmanager
def dropping_inserts(db, table: str, modulo: int) -> Iterator[None]:
    """A trigger that silently swallows inserts of every ``modulo``-th twap_id into ``table``:
    a lossy load, as a bug or a misconfigured database would make it."""
    db.execute(
        f"""CREATE FUNCTION drop_some() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN IF NEW.twap_id % {modulo} = 0 THEN RETURN NULL; END IF; RETURN NEW; END $$;
           CREATE TRIGGER lossy BEFORE INSERT ON {table}
           FOR EACH ROW EXECUTE FUNCTION drop_some()"""
    )
    try:
        yield
    finally:
        db.execute(f"DROP TRIGGER lossy ON {table}; DROP FUNCTION drop_some()")


# The API tests' dataset: six days, the third left unloaded.
API_DAYS = 6
API_GAP = FIRST_DAY + timedelta(days=2)  # a day left unloaded, for coverage
# Decimal strings only (no float files), so decimals compare exactly as text.
API_STYLES = sample.EXACT_STYLES[:API_DAYS]
