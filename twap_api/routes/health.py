"""``/healthz``: is the database reachable, and how old is the newest loaded event."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from twap_api import queries
from twap_api.deps import Pool
from twap_api.json_text import iso
from twap_api.models import Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Database unreachable"}},
    summary="Database status and how far behind the newest loaded event is",
)
async def healthz(request: Request, pool: Pool) -> JSONResponse:
    try:
        async with pool.connection(timeout=request.app.state.health_timeout) as conn:
            newest = await queries.newest(conn)
    except (psycopg.Error, PoolTimeout):
        down = Health(status="unavailable", database="unreachable")
        return JSONResponse(down.model_dump(), status_code=503)
    health = Health(status="ok", database="reachable")
    if newest is not None:
        health.newest_object_key, health.newest_event_time = newest[0], iso(newest[1])
        health.lag_seconds = round(newest[2], 3)
    return JSONResponse(health.model_dump())
