"""Whether the database's schema is the one this code reads. The API never migrates: until
``twap db upgrade`` has run, every data endpoint answers 503 saying so."""

from __future__ import annotations

import time

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from twap_api import queries
from twap_pipeline.db.schema import SchemaState, head_revision

# A schema found missing or behind is looked at again at most this often.
RECHECK_SECONDS = 1.0


class SchemaNotReady(Exception):
    """The database cannot serve this code; the message says what the operator must do."""


class SchemaGuard:
    def __init__(self) -> None:
        self.head = head_revision()
        self.revision: str | None = None
        self.problem: str | None = "schema not checked yet"
        self._checked_at = float("-inf")

    async def check(self, pool: AsyncConnectionPool) -> str | None:
        """Read the revision now; the problem, or None when the schema is the code's."""
        async with pool.connection() as conn:
            return await self.read(conn)

    async def read(self, conn: AsyncConnection) -> str | None:
        """``check`` on a connection the caller holds."""
        self.revision = await queries.schema_revision(conn)
        self.problem = SchemaState(self.revision, self.head).problem()
        self._checked_at = time.monotonic()
        return self.problem

    async def require(self, pool: AsyncConnectionPool) -> None:
        """Raise :class:`SchemaNotReady` unless the schema is the code's."""
        if self.problem is None:
            return
        if time.monotonic() - self._checked_at >= RECHECK_SECONDS:
            await self.check(pool)
        if self.problem is not None:
            raise SchemaNotReady(self.problem)

    def forget(self) -> None:
        """A table or function went missing under a running API: look again next time."""
        self.problem = "schema changed under the API"
        self._checked_at = float("-inf")
