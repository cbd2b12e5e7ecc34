"""``/metrics``: Prometheus text format. The pool's use and the newest event's lag are read
when scraped."""

from __future__ import annotations

import asyncio
import math

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import PoolTimeout

from twap_api import queries
from twap_api.deps import Pool
from twap_api.metrics import NEWEST_EVENT_LAG, POOL, REGISTRY

router = APIRouter(tags=["health"])


async def _lag(pool: Pool) -> float:
    async with pool.connection() as conn:
        newest = await queries.newest(conn)
    return newest[2] if newest else math.nan


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, pool: Pool) -> Response:
    stats = pool.get_stats()
    POOL.labels("size").set(stats.get("pool_size", 0))
    POOL.labels("available").set(stats.get("pool_available", 0))
    POOL.labels("waiting").set(stats.get("requests_waiting", 0))
    try:
        lag = await asyncio.wait_for(
            _lag(pool), timeout=request.app.state.settings.health_timeout_seconds
        )
    except (psycopg.Error, PoolTimeout, TimeoutError):
        lag = math.nan
    NEWEST_EVENT_LAG.set(lag)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
