"""Slice fills: a TWAP's (``/api/v1/twaps/{twap_id}/fills``) and a wallet's in a time range
(``/api/v1/fills``), oldest first, cursor-paged."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from psycopg import sql

from twap_api import queries
from twap_api.cursors import MAX_ID, decode_cursor, encode_cursor
from twap_api.deps import DATA_ENDPOINT, Pool, check_range, single_valued
from twap_api.json_text import MEDIA_TYPE, json_string
from twap_api.models import FillPage, PageQuery, ValidationErrors, WalletFillsQuery

router = APIRouter(
    prefix="/api/v1",
    tags=["fills"],
    dependencies=[*DATA_ENDPOINT, Depends(single_valued)],
    responses={422: {"model": ValidationErrors, "description": "A query parameter is invalid"}},
)


async def _page(
    pool: Pool, query: sql.SQL, params: dict[str, Any], page: PageQuery, key_ids: int
) -> Response:
    after: dict[str, Any] = {
        "after_time": queries.NO_LOWER_BOUND,
        "after_tid": -1,
        "after_twap": -1,
    }
    if page.cursor:
        when, ids = decode_cursor(page.cursor, key_ids)
        after = {"after_time": when, "after_tid": ids[0], "after_twap": ids[-1]}
    async with pool.connection() as conn:
        items, last = await queries.fills_page(conn, query, {**params, **after}, page.limit)
    next_cursor = encode_cursor(*last) if last else None
    body = f'{{"fills":[{items}],"next_cursor":{json_string(next_cursor)}}}'
    return Response(body, media_type=MEDIA_TYPE)


@router.get(
    "/twaps/{twap_id}/fills",
    response_model=FillPage,
    summary="One TWAP's slice fills, oldest first",
)
async def twap_fills(
    pool: Pool,
    twap_id: Annotated[int, Path(ge=0, le=MAX_ID, description="TWAP id")],
    page: Annotated[PageQuery, Query()],
) -> Response:
    return await _page(pool, queries.TWAP_FILLS_PAGE, {"twap_id": twap_id}, page, key_ids=1)


@router.get(
    "/fills",
    response_model=FillPage,
    summary="A wallet's TWAP slice fills in [start, end), oldest first",
)
async def wallet_fills(pool: Pool, query: Annotated[WalletFillsQuery, Query()]) -> Response:
    check_range(query.start, query.end)
    params = {
        "wallet": query.wallet,
        "start": query.start or queries.NO_LOWER_BOUND,
        "end": query.end or queries.NO_UPPER_BOUND,
    }
    return await _page(pool, queries.WALLET_FILLS_PAGE, params, query, key_ids=2)
