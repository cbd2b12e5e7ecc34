"""The PostgreSQL database holding the TWAP tables, reached with bounded waits: a database that
stops answering fails a load within about a minute, never holds it for good."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy.exc
from dagster import ConfigurableResource
from pydantic import Field

from twap_pipeline.db import schema
from twap_pipeline.db.urls import libpq_url


class DatabaseUnavailableError(RuntimeError):
    """PostgreSQL could not be reached, or stopped answering."""


class PostgresResource(ConfigurableResource):
    """Connections for loads: ``connect_timeout``, TCP keepalives (a silent peer is noticed
    after ``keepalive_idle + keepalive_interval * keepalive_count`` seconds) and statement and
    lock timeouts suited to loading a day."""

    database_url: str = Field(description="postgresql://user:password@host:port/database")
    connect_timeout_seconds: int = Field(default=10, ge=1)
    keepalive_idle_seconds: int = Field(default=30, ge=1)
    keepalive_interval_seconds: int = Field(default=10, ge=1)
    keepalive_count: int = Field(default=3, ge=1)
    statement_timeout_seconds: int = Field(
        default=1800, ge=1, description="Longest a statement of a load may run"
    )
    lock_timeout_seconds: int = Field(
        default=900, ge=1, description="Longest a load waits for another writer to finish"
    )

    def _connect_args(self) -> dict[str, Any]:
        """Bounded waits on both ends: the client notices a silent server, and the server
        (``tcp_keepalives_*`` in the session) a vanished client, so a dead load frees the
        writers' lock."""
        silence = self._silence_seconds()
        options = " ".join(
            f"-c {name}={value}"
            for name, value in {
                "statement_timeout": self.statement_timeout_seconds * 1000,
                "lock_timeout": self.lock_timeout_seconds * 1000,
                "tcp_keepalives_idle": self.keepalive_idle_seconds,
                "tcp_keepalives_interval": self.keepalive_interval_seconds,
                "tcp_keepalives_count": self.keepalive_count,
                "tcp_user_timeout": silence * 1000,
            }.items()
        )
        return {
            "connect_timeout": self.connect_timeout_seconds,
            "keepalives": 1,
            "keepalives_idle": self.keepalive_idle_seconds,
            "keepalives_interval": self.keepalive_interval_seconds,
            "keepalives_count": self.keepalive_count,
            "tcp_user_timeout": silence * 1000,
            "options": options,
        }

    def _silence_seconds(self) -> int:
        return self.keepalive_idle_seconds + self.keepalive_interval_seconds * self.keepalive_count

    @contextmanager
    def connect(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A connection; without ``autocommit`` its block is one transaction, committed on
        success and rolled back on any exception. Raises :class:`DatabaseUnavailableError`
        when the server cannot be reached or stops answering."""
        try:
            with psycopg.connect(
                libpq_url(self.database_url), autocommit=autocommit, **self._connect_args()
            ) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(self.explain(exc)) from exc

    def explain(self, exc: BaseException | None) -> str:
        """What went wrong with the database, in words an operator can act on."""
        detail = str(exc).strip()
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return f"a statement ran longer than {self.statement_timeout_seconds} s: {detail}"
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return (
                f"waited {self.lock_timeout_seconds} s for another load to release the "
                f"writers' lock: {detail}"
            )
        if not isinstance(exc, psycopg.Error) or exc.sqlstate is None:
            return (
                "PostgreSQL could not be reached or stopped answering (no reply within "
                f"{self._silence_seconds()} s): {detail}"
            )
        return detail

    def ensure_schema(self) -> None:
        """Upgrade the schema to the revision this code needs (no-op when it is there)."""
        try:
            schema.upgrade(self.database_url, **self._connect_args())
        except sqlalchemy.exc.OperationalError as exc:
            raise DatabaseUnavailableError(self.explain(exc.orig)) from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(self.explain(exc)) from exc
