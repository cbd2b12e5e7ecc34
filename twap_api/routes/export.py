"""``/api/v1/export``: a wallet's TWAP slice fills in [start, end) as a tax platform's CSV,
streamed as it is read (never held in memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from twap_api import queries
from twap_api.deps import DATA_ENDPOINT, Pool, check_range, single_valued
from twap_api.models import ExportQuery, ValidationErrors
from twap_pipeline.exports import CsvWriter

router = APIRouter(
    prefix="/api/v1",
    tags=["export"],
    dependencies=[*DATA_ENDPOINT, Depends(single_valued)],
    responses={422: {"model": ValidationErrors, "description": "A query parameter is invalid"}},
)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The CSV file"}},
    summary="A wallet's TWAP slice fills as Awaken, Koinly or plain CSV",
)
async def export(pool: Pool, query: Annotated[ExportQuery, Query()]) -> StreamingResponse:
    check_range(query.start, query.end)

    async def lines() -> AsyncIterator[str]:
        writer = CsvWriter(query.format)
        yield writer.header()
        async with pool.connection() as conn:
            async for fill in queries.wallet_fills(conn, query.wallet, query.start, query.end):
                line = writer.row(fill)
                if line is not None:
                    yield line

    years = (
        "-".join(str(when.year) for when in (query.start, query.end) if when is not None) or "all"
    )
    name = f"twap-fills-{query.wallet}-{years}-{query.format}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
