"""``/api/v1/coverage``: which days are loaded, from the per-day counts the load keeps."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from twap_api import queries
from twap_api.deps import DATA_ENDPOINT, Pool
from twap_api.json_text import MEDIA_TYPE, json_string
from twap_api.models import Coverage

router = APIRouter(prefix="/api/v1", tags=["coverage"], dependencies=DATA_ENDPOINT)


@router.get(
    "/coverage",
    response_model=Coverage,
    summary="Which days are loaded: first, last, gaps, rows per day",
)
async def coverage(pool: Pool) -> Response:
    async with pool.connection() as conn:
        first, last, days, missing, per_day = await queries.coverage(conn)
    body = (
        f'{{"first_day":{json_string(first)},"last_day":{json_string(last)},'
        f'"days_loaded":{days},"missing_days":{missing},"rows_per_day":{per_day}}}'
    )
    return Response(body, media_type=MEDIA_TYPE)
