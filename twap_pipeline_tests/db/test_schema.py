"""Migrations: an empty database and one created before migrations existed both reach the
code's revision, keeping every row."""

from __future__ import annotations

import psycopg

from twap_pipeline.db.schema import head_revision, schema_state, upgrade

LEGACY_ROW = """
INSERT INTO twap_status (twap_id, event_time, status, wallet, asset, side, size_requested,
    size_executed, notional_executed, duration_minutes, reduce_only, randomize, created_at,
    s3_object_key, partition_date, raw)
VALUES (1, '2025-06-01T00:00:01Z', 'activated', '0xab', 'BTC', 'B', 1, 0, 0, 5, false, false,
    '2025-06-01T00:00:00Z', 'k', '2025-06-01', '{"twap_id": 1}')
"""


def raw_type(conn: psycopg.Connection) -> str:
    return conn.execute(
        """SELECT data_type FROM information_schema.columns
           WHERE table_name = 'twap_status' AND column_name = 'raw'"""
    ).fetchone()[0]


def test_empty_database_is_upgraded_to_head_and_says_so(empty_database):
    before = schema_state(empty_database)
    assert before.current is None
    assert before.problem() == "schema not initialised: run twap db upgrade"
    upgrade(empty_database)
    upgrade(empty_database)  # and again: nothing to do
    after = schema_state(empty_database)
    assert (after.current, after.problem()) == (head_revision(), None)


def test_database_from_before_migrations_keeps_its_rows(empty_database):
    # What the loader's old idempotent DDL left: the first schema, no version table.
    upgrade(empty_database, "0001")
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("DROP TABLE alembic_version")
        conn.execute(LEGACY_ROW)
        assert raw_type(conn) == "jsonb"
    upgrade(empty_database)
    with psycopg.connect(empty_database) as conn:
        assert raw_type(conn) == "json"
        assert conn.execute("SELECT twap_id, raw->>'twap_id' FROM twap_status").fetchall() == [
            (1, "1")
        ]
    assert schema_state(empty_database).problem() is None


def test_an_older_revision_is_named(empty_database):
    upgrade(empty_database, "0001")
    state = schema_state(empty_database)
    assert state.problem() == (
        f"schema at revision 0001, code needs {head_revision()}: run twap db upgrade"
    )


def test_the_day_counts_are_filled_from_the_rows_already_loaded(empty_database):
    upgrade(empty_database, "0003")
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(LEGACY_ROW)
        conn.execute(LEGACY_ROW.replace("(1, ", "(2, "))
    upgrade(empty_database)
    with psycopg.connect(empty_database) as conn:
        days = conn.execute("SELECT partition_date::text, events FROM twap_status_days").fetchall()
        assert days == [("2025-06-01", 2)]
        assert conn.execute("SELECT count(*) FROM twap_status").fetchone() == (2,)
