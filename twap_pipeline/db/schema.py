"""The database schema's version: upgrade it, read it, and compare it with what the code needs.

The revisions live in ``migrations/versions`` (plain SQL run by Alembic, no ORM). The loader
upgrades before its first write; the API only reads the revision and refuses to serve a
database that is behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from twap_pipeline.db.urls import libpq_url, sqlalchemy_url

MIGRATIONS = Path(str(resources.files("twap_pipeline.db") / "migrations"))
VERSION_TABLE = "alembic_version"
# One lock serialises every writer of the TWAP tables: migrations and loads.
WRITE_LOCK_KEY = 0x7477_6170  # "twap"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The revision this code needs."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def upgrade(url: str, revision: str = "head", **connect_args: Any) -> None:
    """Bring the database at ``url`` to ``revision``; a no-op when it is there already (told
    without taking the writers' lock, which a long load may hold). ``connect_args`` go to
    psycopg (timeouts, session options)."""
    if revision == "head":
        with psycopg.connect(libpq_url(url), **connect_args) as conn:
            if current_revision(conn) == head_revision():
                return
    engine = create_engine(
        sqlalchemy_url(url, "psycopg"), poolclass=NullPool, connect_args=connect_args
    )
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(conn: psycopg.Connection) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    exists = conn.execute("SELECT to_regclass(%s)", [VERSION_TABLE]).fetchone()
    if exists is None or exists[0] is None:
        return None
    row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against the code: ``current`` None means no schema at all."""

    current: str | None
    head: str

    def problem(self) -> str | None:
        """What an operator must do, or None when the schema is the code's."""
        if self.current is None:
            return "schema not initialised: run twap db upgrade"
        if self.current != self.head:
            return f"schema at revision {self.current}, code needs {self.head}: run twap db upgrade"
        return None


def schema_state(url: str) -> SchemaState:
    with psycopg.connect(libpq_url(url)) as conn:
        return SchemaState(current_revision(conn), head_revision())
