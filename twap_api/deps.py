"""What routes receive from FastAPI: the connection pool and the checked query string."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ValidationError

from twap_api.json_text import iso
from twap_api.models import WalletQuery


def invalid(parameter: str, message: str, value: Any) -> RequestValidationError:
    """A 422 naming the query parameter, shaped like FastAPI's own validation errors."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", parameter), "msg": message, "input": value}]
    )


def check_range(start: datetime | None, end: datetime | None) -> None:
    """A time range's bounds in order, or a 422 naming ``start``."""
    if start is not None and end is not None and start >= end:
        raise invalid("start", "start must be before end", iso(start))


async def get_pool(request: Request) -> AsyncConnectionPool:
    """The read-only pool the app opened at start (main.lifespan)."""
    return request.app.state.pool


Pool = Annotated[AsyncConnectionPool, Depends(get_pool)]


def single_valued(request: Request) -> None:
    """A 422 for a parameter given twice (``wallet=A&wallet=B``), which would otherwise
    silently keep one of them."""
    items = request.query_params.multi_items()
    if len(items) == len(request.query_params):
        return
    seen: set[str] = set()
    for name, value in items:
        if name in seen:
            raise invalid(name, "given more than once", value)
        seen.add(name)


def wallet_query(request: Request) -> WalletQuery:
    """The list endpoint's query string, validated by ``WalletQuery`` in one call: a 422
    names each bad, unknown or repeated parameter. (FastAPI's own query-model parsing is
    measurably slower on the busiest route: docs/performance.md.)"""
    single_valued(request)
    try:
        return WalletQuery.model_validate(request.query_params)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s fields as OpenAPI query parameters (for a route that validates its query
    string with ``model`` itself), as FastAPI documents declared parameters."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": field.pop("description", ""),
            "schema": field,
        }
        for name, field in schema["properties"].items()
    ]
    return {"parameters": parameters}


async def admit(request: Request) -> None:
    """What every data endpoint (not /healthz, /metrics or the docs) checks first: the API key
    and rate limit when configured (401, 429), then that the database's schema is the one this
    code reads (503 naming what to do)."""
    access = request.app.state.access
    if access.enabled:
        await access.admit(request)
    await request.app.state.schema_guard.require(request.app.state.pool)


DATA_ENDPOINT = [Depends(admit)]
