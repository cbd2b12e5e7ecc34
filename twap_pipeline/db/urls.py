"""``DATABASE_URL`` in every form users copy, turned into what each client library needs."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from sqlalchemy.engine import URL

# Schemes seen in the wild for the same server: libpq's own, and SQLAlchemy's driver-qualified.
POSTGRES_SCHEMES = {
    "postgresql",
    "postgres",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "postgresql+asyncpg",
    "postgresql+pg8000",
}
# asyncpg's spelling of libpq parameters.
QUERY_RENAMES = {"ssl": "sslmode"}


class DatabaseUrlError(ValueError):
    """A ``DATABASE_URL`` that names no PostgreSQL server."""


def libpq_url(url: str) -> str:
    """``url`` as libpq (psycopg) accepts it: ``postgresql://...`` for any PostgreSQL scheme,
    or a ``key=value`` connection string unchanged. Raises :class:`DatabaseUrlError` naming
    what is wrong."""
    text = url.strip()
    if not text:
        raise DatabaseUrlError("DATABASE_URL is empty: set it to postgresql://user:pass@host/db")
    if "://" not in text:
        try:
            psycopg.conninfo.conninfo_to_dict(text)
        except psycopg.ProgrammingError as exc:
            raise DatabaseUrlError(f"DATABASE_URL is not a PostgreSQL URL: {exc}") from None
        return text
    parts = urlsplit(text)
    if parts.scheme.lower() not in POSTGRES_SCHEMES:
        raise DatabaseUrlError(
            f"DATABASE_URL scheme {parts.scheme!r} is not PostgreSQL: use postgresql://user:pass"
            "@host:port/db (postgres://, postgresql+psycopg://, +psycopg2 and +asyncpg work too)"
        )
    query = urlencode([(QUERY_RENAMES.get(k, k), v) for k, v in parse_qsl(parts.query)])
    return urlunsplit(("postgresql", parts.netloc, parts.path, query, parts.fragment))


def sqlalchemy_url(url: str, driver: str) -> URL:
    """``url`` for SQLAlchemy with ``driver`` (``psycopg`` for Alembic, ``psycopg2`` for
    dagster-postgres): keyword strings and Unix-socket hosts included."""
    params = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(libpq_url(url)).items()}
    port = params.pop("port", None)
    return URL.create(
        f"postgresql+{driver}",
        username=params.pop("user", None),
        password=params.pop("password", None),
        host=params.pop("host", None),
        port=int(port) if port else None,
        database=params.pop("dbname", None),
        query=params,
    )
