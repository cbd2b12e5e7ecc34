"""The baseline the API is measured against in the same run: the least a database-backed
FastAPI endpoint can do on the same pool settings (one trivial query; 500 rows as JSON)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from psycopg_pool import AsyncConnectionPool


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = AsyncConnectionPool(
        os.environ["DATABASE_URL"], min_size=2, max_size=10, kwargs={"autocommit": True},
        open=False,
    )  # fmt: skip
    await pool.open()
    app.state.pool = pool
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/select1")
async def select1(request: Request) -> Response:
    async with request.app.state.pool.connection() as conn:
        row = await (await conn.execute("SELECT 1")).fetchone()
    return Response(f'{{"one":{row[0]}}}', media_type="application/json")


@app.get("/rows500")
async def rows500(request: Request) -> Response:
    async with request.app.state.pool.connection() as conn:
        cursor = await conn.execute("SELECT row_to_json(t)::text FROM twap_status t LIMIT 500")
        rows = await cursor.fetchall()
    return Response("[" + ",".join(r[0] for r in rows) + "]", media_type="application/json")
