"""``/api/v1/twaps``: a wallet's TWAPs by time range (cursor or offset paged), and one TWAP
with its events."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from datetime import time as day_start
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from psycopg_pool import AsyncConnectionPool

from twap_api import queries
from twap_api.cursors import MAX_ID, decode_cursor, encode_cursor
from twap_api.deps import admit, check_range, invalid, query_parameters, wallet_query
from twap_api.json_text import MEDIA_TYPE, iso, json_string
from twap_api.models import MAX_EVENTS_PAGE, TwapDetail, TwapPage, ValidationErrors, WalletQuery

# How long the newest loaded day is remembered when deciding whether a page may be cached.
NEWEST_DAY_SECONDS = 60.0

# The two routes call their checks themselves rather than through FastAPI dependencies, whose
# resolution is a visible share of a light wallet's page (docs/performance.md).
router = APIRouter(prefix="/api/v1/twaps", tags=["twaps"])


def check(query: WalletQuery) -> None:
    """The rules between parameters, each a 422 naming one of them."""
    check_range(query.start, query.end)
    if query.cursor and query.offset:
        raise invalid("offset", "give either cursor or offset, not both", query.offset)
    if not query.latest_per_twap and query.limit > MAX_EVENTS_PAGE:
        raise invalid("limit", f"at most {MAX_EVENTS_PAGE} with latest_per_twap=false", query.limit)


async def newest_day(request: Request, pool: AsyncConnectionPool) -> date | None:
    """The newest loaded day (days before it are complete), remembered for a minute."""
    state = request.app.state
    cached = getattr(state, "newest_day", None)
    if cached is not None and time.monotonic() - cached[1] < NEWEST_DAY_SECONDS:
        return cached[0]
    async with pool.connection() as conn:
        day = await queries.newest_day(conn)
    state.newest_day = (day, time.monotonic())
    return day


async def cache_control(request: Request, pool: AsyncConnectionPool, end: datetime | None) -> str:
    """Pages that end before the newest loaded day began hold history: cacheable."""
    if end is not None:
        day = await newest_day(request, pool)
        if day is not None and end <= datetime.combine(day, day_start(), UTC):
            return f"public, max-age={request.app.state.settings.cache_max_age_seconds}"
    return "no-cache"


@router.get(
    "",
    response_model=TwapPage,
    openapi_extra=query_parameters(WalletQuery),
    responses={422: {"model": ValidationErrors, "description": "A query parameter is invalid"}},
    summary="A wallet's TWAPs with activity in [start, end), newest first",
)
async def wallet_twaps(request: Request) -> Response:
    query = wallet_query(request)
    await admit(request)
    pool = request.app.state.pool
    check(query)
    before = None
    if query.cursor:
        when, (twap_id,) = decode_cursor(query.cursor)
        before = (when, twap_id)
    async with pool.connection() as conn:
        items, last = await queries.wallet_page(conn, query, before)
    next_cursor = encode_cursor(*last) if last else None
    # The items arrive as JSON from PostgreSQL; the envelope is written around them.
    body = "".join(
        (
            '{"wallet":', json_string(query.wallet),
            ',"start":', json_string(iso(query.start)),
            ',"end":', json_string(iso(query.end)),
            ',"twaps":[', items,
            '],"next_cursor":', json_string(next_cursor), "}",
        )
    )  # fmt: skip
    headers = {"Cache-Control": await cache_control(request, pool, query.end)}
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


@router.get(
    "/{twap_id}",
    response_model=TwapDetail,
    responses={404: {"description": "No TWAP with this id is loaded"}},
    summary="One TWAP: its summary and all its events in time order (also as `rows`)",
)
async def one_twap(
    request: Request, twap_id: Annotated[int, Path(ge=0, le=MAX_ID, description="TWAP id")]
) -> Response:
    await admit(request)
    async with request.app.state.pool.connection() as conn:
        item = await queries.one_twap(conn, twap_id)
    if item is None:
        return JSONResponse({"detail": f"TWAP {twap_id} is not loaded"}, status_code=404)
    return Response(item, media_type=MEDIA_TYPE, headers={"Cache-Control": "no-cache"})
