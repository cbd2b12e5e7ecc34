"""``/api/v1/twaps``: a wallet's TWAPs by time range (cursor-paged), and one TWAP's events."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from twap_api import queries
from twap_api.deps import Pool, invalid, single_valued_parameters
from twap_api.json_text import MEDIA_TYPE, iso, json_string
from twap_api.models import Twap, TwapPage, ValidationErrors, WalletQuery

MAX_TWAP_ID = 2**63 - 1

router = APIRouter(prefix="/api/v1/twaps", tags=["twaps"])


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


@router.get(
    "",
    response_model=TwapPage,
    dependencies=[Depends(single_valued_parameters)],
    responses={422: {"model": ValidationErrors, "description": "A query parameter is invalid"}},
    summary="A wallet's TWAPs with activity in [start, end), newest first",
)
async def wallet_twaps(query: Annotated[WalletQuery, Query()], pool: Pool) -> Response:
    start, end = query.start, query.end
    if start is not None and end is not None and start >= end:
        raise invalid("start", "start must be before end", iso(start))
    before = decode_cursor(query.cursor) if query.cursor else None
    async with pool.connection() as conn:
        items, last = await queries.wallet_page(conn, query, before)
    next_cursor = encode_cursor(*last) if last else None
    # The items arrive as JSON from PostgreSQL; the envelope is written around them.
    body = "".join(
        (
            '{"wallet":', json_string(query.wallet),
            ',"start":', json_string(iso(start)),
            ',"end":', json_string(iso(end)),
            ',"twaps":[', items,
            '],"next_cursor":', json_string(next_cursor), "}",
        )
    )  # fmt: skip
    return Response(body, media_type=MEDIA_TYPE)


@router.get(
    "/{twap_id}",
    response_model=Twap,
    responses={404: {"description": "No TWAP with this id is loaded"}},
    summary="One TWAP: its summary and all its events in time order",
)
async def one_twap(
    twap_id: Annotated[int, Path(ge=0, le=MAX_TWAP_ID, description="TWAP id")], pool: Pool
) -> Response:
    async with pool.connection() as conn:
        item = await queries.one_twap(conn, twap_id)
    if item is None:
        return JSONResponse({"detail": f"TWAP {twap_id} is not loaded"}, status_code=404)
    return Response(item, media_type=MEDIA_TYPE)
