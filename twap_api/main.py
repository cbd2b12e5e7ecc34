"""The app factory: settings, the read-only connection pool, the schema guard, access control,
middleware, error mapping and the routers.

Serve with ``twap api`` (``API_HOST``, ``API_PORT``, ``TWAP_API_WORKERS``) or
``uvicorn --factory twap_api.main:create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from swagger_ui_bundle import swagger_ui_path

from twap_api import logs
from twap_api.access import KEY_HEADER, AccessControl
from twap_api.middleware import REQUEST_ID_HEADER, JsonBodies, RequestContext
from twap_api.routes import coverage, export, fills, health, metrics, root, twaps
from twap_api.routes.root import STATIC
from twap_api.schema_guard import SchemaGuard, SchemaNotReady
from twap_api.settings import Settings, get_settings

# A table, column or function the code reads is missing: the schema is not the code's.
SCHEMA_ERRORS = (
    psycopg.errors.UndefinedTable,
    psycopg.errors.UndefinedColumn,
    psycopg.errors.UndefinedFunction,
)


def session_options(settings: Settings) -> str:
    """Read-only sessions with a statement timeout. Generic plans: each query has one right
    plan whatever its parameters (the wallet/time index, the primary key)."""
    return " ".join(
        (
            "-c default_transaction_read_only=on",
            "-c plan_cache_mode=force_generic_plan",
            f"-c statement_timeout={int(settings.statement_timeout_seconds * 1000)}",
        )
    )


def connection_options(settings: Settings) -> dict[str, object]:
    """Bounded waits: connecting, and a server that stops answering (TCP keepalives)."""
    return {
        "autocommit": True,
        "options": session_options(settings),
        "connect_timeout": settings.connect_timeout_seconds,
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": int(settings.statement_timeout_seconds * 1000) + 5000,
    }


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    pool = AsyncConnectionPool(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_seconds,
        kwargs=connection_options(settings),
        open=False,
    )
    await pool.open(wait=False)
    app.state.pool = pool
    try:
        problem = await asyncio.wait_for(
            app.state.schema_guard.check(pool), timeout=settings.health_timeout_seconds
        )
    except (psycopg.Error, PoolTimeout, TimeoutError) as exc:
        problem = f"database unreachable at start ({type(exc).__name__})"
    if problem is not None:
        logs.LOGGER.warning("serving 503 until this is fixed: %s", problem)
    flusher = asyncio.create_task(logs.flush_every())
    try:
        yield
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await pool.close()


def _unavailable(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=503)


def add_error_handlers(app: FastAPI) -> None:
    """Database trouble is a 503 that says what is wrong, never a 500."""

    async def schema_not_ready(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(str(exc))

    async def schema_changed(request: Request, exc: Exception) -> JSONResponse:
        guard: SchemaGuard = request.app.state.schema_guard
        guard.forget()
        try:
            problem = await guard.check(request.app.state.pool)
        except (psycopg.Error, PoolTimeout):
            problem = None
        return _unavailable(problem or "schema not initialised: run twap db upgrade")

    async def not_permitted(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(
            "the API's database role may not read the twap tables: GRANT SELECT on them "
            "(docs/operations.md)"
        )

    async def timed_out(request: Request, exc: Exception) -> JSONResponse:
        seconds = request.app.state.settings.statement_timeout_seconds
        return _unavailable(f"the database did not answer within {seconds:g} s")

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable("database unavailable")

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        logs.LOGGER.error("database error", exc_info=exc)
        return _unavailable(f"database error ({type(exc).__name__})")

    app.add_exception_handler(SchemaNotReady, schema_not_ready)
    for error in SCHEMA_ERRORS:
        app.add_exception_handler(error, schema_changed)
    app.add_exception_handler(psycopg.errors.InsufficientPrivilege, not_permitted)
    app.add_exception_handler(psycopg.errors.QueryCanceled, timed_out)
    app.add_exception_handler(psycopg.OperationalError, unavailable)
    app.add_exception_handler(PoolTimeout, unavailable)
    app.add_exception_handler(psycopg.Error, database_error)


def add_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost first: request id, logs and metrics; CORS; ETag, 304 and gzip."""
    app.add_middleware(JsonBodies)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET"],
            allow_headers=[KEY_HEADER, REQUEST_ID_HEADER.decode(), "If-None-Match"],
            expose_headers=[REQUEST_ID_HEADER.decode(), "ETag", "Retry-After"],
        )
    app.add_middleware(RequestContext)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; ``settings`` default to the environment (read once)."""
    settings = settings or get_settings()
    logs.configure(settings.log_format, settings.log_level)
    app = FastAPI(
        title="twap",
        version="1",
        summary="Complete history of Hyperliquid TWAP orders, by wallet and time.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.schema_guard = SchemaGuard()
    app.state.access = AccessControl(
        settings.api_keys, settings.rate_limit, settings.rate_limit_storage
    )
    add_error_handlers(app)
    add_middleware(app, settings)
    # Each resource's routes head the app's own list, busiest first: routes are matched in
    # order, and an included router would be matched through a routing layer of its own on
    # every request, a tenth of a light request's cost (docs/performance.md).
    app.router.routes[:0] = [
        route
        for module in (twaps, fills, export, coverage, health, metrics, root)
        for route in module.router.routes
    ]
    app.mount(STATIC, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    return app
