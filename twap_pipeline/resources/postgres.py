"""The PostgreSQL database holding the TWAP tables, reached with bounded waits: a database that
stops answering fails a load within about a minute, never holds it for good."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
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

    def _silence_seconds(self) -> int:
        return self.keepalive_idle_seconds + self.keepalive_interval_seconds * self.keepalive_count

    @contextmanager
    def connect(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A connection; without ``autocommit`` its block is one transaction, committed on
        success and rolled back on any exception. Raises :class:`DatabaseUnavailableError`
        when the server cannot be reached or stops answering."""
        options = (
            f"-c statement_timeout={self.statement_timeout_seconds * 1000} "
            f"-c lock_timeout={self.lock_timeout_seconds * 1000}"
        )
        try:
            with psycopg.connect(
                libpq_url(self.database_url),
                autocommit=autocommit,
                connect_timeout=self.connect_timeout_seconds,
                keepalives=1,
                keepalives_idle=self.keepalive_idle_seconds,
                keepalives_interval=self.keepalive_interval_seconds,
                keepalives_count=self.keepalive_count,
                tcp_user_timeout=self._silence_seconds() * 1000,
                options=options,
            ) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(self._explain(exc)) from exc

    def _explain(self, exc: psycopg.OperationalError) -> str:
        detail = str(exc).strip()
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return f"a statement ran longer than {self.statement_timeout_seconds} s: {detail}"
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return (
                f"waited {self.lock_timeout_seconds} s for another load to release the "
                f"writers' lock: {detail}"
            )
        if exc.sqlstate is None:
            return (
                "PostgreSQL could not be reached or stopped answering (no reply within "
                f"{self._silence_seconds()} s): {detail}"
            )
        return detail

    def ensure_schema(self) -> None:
        """Upgrade the schema to the revision this code needs (no-op when it is there)."""
        schema.upgrade(self.database_url)
