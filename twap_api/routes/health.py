"""``/healthz``: can the database serve this code, and how old is the newest loaded event."""

from __future__ import annotations

import asyncio

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from twap_api import queries
from twap_api.deps import Pool
from twap_api.json_text import iso
from twap_api.models import Health

router = APIRouter(tags=["health"])


async def _look(request: Request, pool: Pool) -> Health:
    guard = request.app.state.schema_guard
    async with pool.connection() as conn:
        problem = await guard.read(conn)
        if problem is not None:
            return Health(
                status="unavailable",
                database="reachable",
                detail=problem,
                schema_revision=guard.revision,
            )
        newest = await queries.newest(conn)
    health = Health(status="ok", database="reachable", schema_revision=guard.revision)
    if newest is None:
        health.detail = "no data loaded yet"
        return health
    health.newest_object_key, health.newest_event_time = newest[0], iso(newest[1])
    health.lag_seconds = round(newest[2], 3)
    stale_hours = request.app.state.settings.stale_after_hours
    if newest[2] > stale_hours * 3600:
        health.status = "stale"
        health.detail = (
            f"the newest event is {newest[2] / 3600:.1f} hours old (stale after {stale_hours:g})"
        )
    return health


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Database unreachable or schema not ready"}},
    summary="Can the database serve this code, and how far behind is the newest event",
)
async def healthz(request: Request, pool: Pool) -> JSONResponse:
    deadline = request.app.state.settings.health_timeout_seconds
    try:
        health = await asyncio.wait_for(_look(request, pool), timeout=deadline)
    except (psycopg.Error, PoolTimeout, TimeoutError) as exc:
        detail = (
            f"no answer within {deadline:g} s"
            if isinstance(exc, TimeoutError | PoolTimeout)
            else "the database refused the connection or the query"
        )
        health = Health(status="unavailable", database="unreachable", detail=detail)
    code = 503 if health.status == "unavailable" else 200
    return JSONResponse(health.model_dump(), status_code=code)
