"""What routes receive from FastAPI: the connection pool and the checked query string."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import AsyncConnectionPool


def invalid(parameter: str, message: str, value: Any) -> RequestValidationError:
    """A 422 naming the query parameter, shaped like FastAPI's own validation errors."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", parameter), "msg": message, "input": value}]
    )


async def get_pool(request: Request) -> AsyncConnectionPool:
    """The read-only pool the app opened at start (main.lifespan)."""
    return request.app.state.pool


Pool = Annotated[AsyncConnectionPool, Depends(get_pool)]


async def single_valued_parameters(request: Request) -> None:
    """A 422 for a parameter given twice (``wallet=A&wallet=B``): FastAPI would silently keep
    one of them."""
    items = request.query_params.multi_items()
    if len(items) == len(request.query_params):
        return
    seen: set[str] = set()
    for name, value in items:
        if name in seen:
            raise invalid(name, "given more than once", value)
        seen.add(name)
