"""FastAPI app: a wallet's TWAPs by time range, one TWAP's lifecycle, health and coverage.

Run with ``uvicorn twap_api.app:app``. Settings come from the environment (settings.py); the
connection pool opens in the lifespan, read-only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BeforeValidator

from twap_api import queries
from twap_api.models import Coverage, Health, Twap, TwapPage
from twap_api.settings import Settings

WALLET_PATTERN = r"^0[xX][0-9a-fA-F]{40}$"
ASSET_PATTERN = r"^[^\x00-\x1f\x7f]+$"
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


def iso_time(value: Any) -> datetime:
    """ISO 8601 only (no epoch numbers, which pydantic would otherwise accept); naive is UTC."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("not an ISO 8601 time, e.g. 2025-06-01T00:00:00Z") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


IsoTime = Annotated[datetime, BeforeValidator(iso_time)]


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
        summary="A wallet's TWAPs with activity in [start, end), newest first",
    )
    async def wallet_twaps(
        request: Request,
        wallet: Annotated[
            str,
            Query(
                pattern=WALLET_PATTERN,
                description="Wallet address, 0x + 40 hex digits, any case",
                examples=["0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8"],
            ),
        ],
        start: Annotated[
            IsoTime | None,
            Query(description="Inclusive lower bound on event time, ISO 8601 (naive = UTC)"),
        ] = None,
        end: Annotated[
            IsoTime | None,
            Query(description="Exclusive upper bound on event time, ISO 8601 (naive = UTC)"),
        ] = None,
        asset: Annotated[
            str | None,
            Query(max_length=64, pattern=ASSET_PATTERN, description="Only this coin, e.g. BTC"),
        ] = None,
        latest_per_twap: Annotated[
            bool,
            Query(description="true: one summary per TWAP; false: also its events in range"),
        ] = True,
        limit: Annotated[int, Query(ge=1, le=5000, description="TWAPs per page")] = 500,
        cursor: Annotated[
            str | None,
            Query(max_length=200, description="next_cursor of the previous page"),
        ] = None,
    ) -> Response:
        if start is not None and end is not None and start >= end:
            raise invalid("start", "start must be before end", iso(start))
        before = decode_cursor(cursor) if cursor else None
        async with request.app.state.pool.connection() as conn:
            rows = await queries.wallet_page(
                conn, wallet.lower(), start, end, asset, not latest_per_twap, limit + 1, before
            )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1][0], rows[-1][1]) if more else None
        body = "".join(
            (
                '{"wallet":', json.dumps(wallet.lower()),
                ',"start":', json.dumps(iso(start)),
                ',"end":', json.dumps(iso(end)),
                ',"twaps":[', ",".join(row[2] for row in rows),
                '],"next_cursor":', json.dumps(next_cursor), "}",
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
            f'{{"first_day":{json.dumps(first)},"last_day":{json.dumps(last)},'
            f'"days_loaded":{days},"missing_days":{missing},"rows_per_day":{per_day}}}'
        )
        return Response(body, media_type=JSON)

    return app


app = create_app()
