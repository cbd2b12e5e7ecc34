"""Response shapes, for the OpenAPI schema and the docs. Decimals are strings (exact, never
floats); times are ISO 8601 UTC with ``Z``. The JSON itself is built in PostgreSQL."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Executed(BaseModel):
    size: str = Field(description="Cumulative executed size (decimal string)")
    notional: str = Field(description="Cumulative executed notional in USD (decimal string)")
    avg_price: str | None = Field(description="notional / size; null when nothing executed")


class Event(BaseModel):
    time: str = Field(description="Event time, ISO 8601 UTC (microseconds)")
    status: str = Field(description="activated | finished | terminated | error")
    error: str | None
    executed: Executed
    raw: dict[str, Any] = Field(description="The source row as published")


class Twap(BaseModel):
    twap_id: str = Field(description="TWAP id (string: it can exceed JavaScript's integers)")
    wallet: str
    asset: str = Field(description="Coin: perp 'BTC', spot '@107', HIP-3 'xyz:NVDA'")
    side: str = Field(description="B buy, A sell")
    status: str = Field(description="Status of the latest event (in the range, for lists)")
    duration_minutes: int
    created_at: str
    latest_ts: str = Field(description="Time of the latest event (in the range, for lists)")
    executed: Executed
    requested_size: str
    reduce_only: bool
    randomize: bool
    error: str | None
    raw: dict[str, Any] = Field(description="The latest event's source row")
    events: list[Event] | None = Field(
        default=None, description="All events in time order (in the range, for lists)"
    )


class TwapPage(BaseModel):
    wallet: str
    start: str | None
    end: str | None
    twaps: list[Twap]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class Health(BaseModel):
    status: str = Field(description="ok | unavailable")
    database: str = Field(description="reachable | unreachable")
    newest_object_key: str | None = None
    newest_event_time: str | None = None
    lag_seconds: float | None = Field(default=None, description="now - newest event time")


class Coverage(BaseModel):
    first_day: str | None
    last_day: str | None
    days_loaded: int
    missing_days: list[str] = Field(description="Days between first and last with no rows")
    rows_per_day: dict[str, int]
