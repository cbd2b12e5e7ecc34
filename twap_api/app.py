"""FastAPI app: a wallet's TWAPs by time range, one TWAP's lifecycle, health and coverage.

Run with ``uvicorn twap_api.app:app``. Settings come from the environment (settings.py); the
connection pool opens in the lifespan, read-only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import ValidationError

from twap_api import queries
from twap_api.models import Coverage, Health, Invalid, Twap, TwapPage, WalletQuery
from twap_api.settings import Settings

MAX_TWAP_ID = 2**63 - 1
JSON = "application/json"
# Read-only sessions. Generic plans: each query has one right plan whatever its parameters
# (the wallet/time index, the primary key), and planning it again per request (psycopg
# prepares repeated queries) cost ~0.5 ms of a ~2 ms light-wallet page.
SESSION_OPTIONS = "-c default_transaction_read_only=on -c plan_cache_mode=force_generic_plan"


def invalid(parameter: str, message: str, value: Any) -> RequestValidationError:
    """A 422 naming the query parameter, shaped like FastAPI's own validation errors."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", parameter), "msg": message, "input": value}]
    )


def plain_json(text: str | None) -> str:
    """A JSON string of text that needs no escaping (validated wallets, our own times,
    cursors, dates), or null: json.dumps cost the list endpoint ~10 us a request for four."""
    return "null" if text is None else f'"{text}"'


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_cursor(event_time: datetime, twap_id: int) -> str:
    text = f"{event_time.astimezone(UTC).isoformat()}|{twap_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, twap_id = text.split("|")
        parsed = datetime.fromisoformat(when)
        number = int(twap_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid("cursor", "not a cursor returned by this endpoint", cursor) from exc
    if parsed.tzinfo is None or not 0 <= number <= MAX_TWAP_ID:
        raise invalid("cursor", "not a cursor returned by this endpoint", cursor)
    return parsed, number


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings or Settings.from_env()
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


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; ``settings`` default to the environment, read when it starts."""
    app = FastAPI(
        title="twap",
        version="1",
        summary="Complete history of Hyperliquid TWAP orders, by wallet and time.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "database unavailable"}, status_code=503)

    @app.get(
        "/api/v1/twaps",
        response_model=TwapPage,
        openapi_extra={"parameters": WalletQuery.openapi_parameters()},
        responses={422: {"model": Invalid, "description": "A query parameter is invalid"}},
        summary="A wallet's TWAPs with activity in [start, end), newest first",
    )
    async def wallet_twaps(request: Request) -> Response:
        try:
            query = WalletQuery.model_validate(request.query_params)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        start, end = query.start, query.end
        if start is not None and end is not None and start >= end:
            raise invalid("start", "start must be before end", iso(start))
        before = decode_cursor(query.cursor) if query.cursor else None
        async with request.app.state.pool.connection() as conn:
            items, last = await queries.wallet_page(conn, query, before)
        next_cursor = encode_cursor(*last) if last else None
        body = "".join(
            (
                '{"wallet":', plain_json(query.wallet),
                ',"start":', plain_json(iso(start)),
                ',"end":', plain_json(iso(end)),
                ',"twaps":[', items,
                '],"next_cursor":', plain_json(next_cursor), "}",
            )
        )  # fmt: skip
        return Response(body, media_type=JSON)

    @app.get(
        "/api/v1/twaps/{twap_id}",
        response_model=Twap,
        responses={404: {"description": "No TWAP with this id is loaded"}},
        summary="One TWAP: its summary and all its events in time order",
    )
    async def one_twap(
        request: Request,
        twap_id: Annotated[int, Path(ge=0, le=MAX_TWAP_ID, description="TWAP id")],
    ) -> Response:
        async with request.app.state.pool.connection() as conn:
            item = await queries.one_twap(conn, twap_id)
        if item is None:
            return JSONResponse({"detail": f"TWAP {twap_id} is not loaded"}, status_code=404)
        return Response(item, media_type=JSON)

    @app.get(
        "/healthz",
        response_model=Health,
        responses={503: {"model": Health, "description": "Database unreachable"}},
        summary="Database status and how far behind the newest loaded event is",
    )
    async def healthz(request: Request) -> JSONResponse:
        try:
            async with request.app.state.pool.connection(
                timeout=request.app.state.health_timeout
            ) as conn:
                newest = await queries.newest(conn)
        except (psycopg.Error, PoolTimeout):
            down = Health(status="unavailable", database="unreachable")
            return JSONResponse(down.model_dump(), status_code=503)
        health = Health(status="ok", database="reachable")
        if newest is not None:
            health.newest_object_key, health.newest_event_time = newest[0], iso(newest[1])
            health.lag_seconds = round(newest[2], 3)
        return JSONResponse(health.model_dump())

    @app.get(
        "/api/v1/coverage",
        response_model=Coverage,
        summary="Which days are loaded: first, last, gaps, rows per day",
    )
    async def coverage(request: Request) -> Response:
        async with request.app.state.pool.connection() as conn:
            first, last, days, missing, per_day = await queries.coverage(conn)
        body = (
            f'{{"first_day":{plain_json(first)},"last_day":{plain_json(last)},'
            f'"days_loaded":{days},"missing_days":{missing},"rows_per_day":{per_day}}}'
        )
        return Response(body, media_type=JSON)

    return app


app = create_app()
