"""The app factory: settings, the read-only connection pool, error mapping and the routers.

Serve with ``uvicorn twap_api.main:app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from twap_api.routes import coverage, health, twaps
from twap_api.settings import Settings, get_settings

# Read-only sessions. Generic plans: each query has one right plan whatever its parameters
# (the wallet/time index, the primary key), so planning it again per request is wasted work.
SESSION_OPTIONS = "-c default_transaction_read_only=on -c plan_cache_mode=force_generic_plan"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings or get_settings()
    pool = AsyncConnectionPool(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_seconds,
        kwargs={"autocommit": True, "options": SESSION_OPTIONS},
        open=False,
    )
    await pool.open(wait=False)
    app.state.pool = pool
    app.state.health_timeout = settings.health_timeout_seconds
    try:
        yield
    finally:
        await pool.close()


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "database unavailable"}, status_code=503)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; ``settings`` default to the environment, read when it starts."""
    app = FastAPI(
        title="twap",
        version="1",
        summary="Complete history of Hyperliquid TWAP orders, by wallet and time.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_exception_handler(psycopg.OperationalError, database_unavailable)
    app.add_exception_handler(PoolTimeout, database_unavailable)
    for module in (twaps, coverage, health):
        app.include_router(module.router)
    return app


app = create_app()
