"""The list endpoint's query parameters, and the response shapes: the API's contract. The JSON
of TWAPs is assembled in PostgreSQL (queries.py); these models document it in OpenAPI, and the
tests validate every endpoint's answers against them. Decimals are strings (exact, never
floats); times are ISO 8601 UTC with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from twap_pipeline.exports import Format

WALLET_PATTERN = r"^0[xX][0-9a-fA-F]{40}$"
ASSET_PATTERN = r"^[^\x00-\x1f\x7f]+$"
# Bounds a query may give: Hyperliquid's era, with room on both sides.
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# latest_per_twap=false pages carry every event: their size is bounded by this many TWAPs.
MAX_EVENTS_PAGE = 1000


def iso_time(value: Any) -> datetime:
    """ISO 8601 only (no epoch numbers, which pydantic would otherwise accept); naive is UTC;
    within [EARLIEST, LATEST)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("not an ISO 8601 time, e.g. 2025-06-01T00:00:00Z") from None
    parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= parsed < LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise ValueError("outside the supported window 2020-01-01 .. 2100-01-01 (UTC)")
    return parsed


IsoTime = Annotated[datetime, BeforeValidator(iso_time)]


class Contract(BaseModel):
    """A response shape: a field the model does not name is an error, not a silent extra."""

    model_config = ConfigDict(extra="forbid")


class WalletQuery(BaseModel):
    """Query parameters of ``GET /api/v1/twaps``; any other parameter is a 422 naming it."""

    model_config = ConfigDict(extra="forbid")

    wallet: Annotated[str, AfterValidator(str.lower)] = Field(
        pattern=WALLET_PATTERN,
        description="Wallet address, 0x + 40 hex digits, any case (compared in lower case)",
        examples=["0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8"],
    )
    start: IsoTime | None = Field(
        default=None, description="Inclusive lower bound on event time, ISO 8601 (naive = UTC)"
    )
    end: IsoTime | None = Field(
        default=None, description="Exclusive upper bound on event time, ISO 8601 (naive = UTC)"
    )
    asset: str | None = Field(
        default=None, max_length=64, pattern=ASSET_PATTERN, description="Only this coin, e.g. BTC"
    )
    latest_per_twap: bool = Field(
        default=True, description="true: one summary per TWAP; false: also its events in range"
    )
    limit: int = Field(
        default=500,
        ge=1,
        le=5000,
        description=f"TWAPs per page (at most {MAX_EVENTS_PAGE} with latest_per_twap=false)",
    )
    offset: int = Field(
        default=0,
        ge=0,
        le=10_000_000,
        description="TWAPs to skip (the reference API's paging); next_cursor pages faster",
    )
    cursor: str | None = Field(
        default=None, max_length=200, description="next_cursor of the previous page"
    )


class ParameterError(BaseModel):
    type: str
    loc: list[str | int] = Field(description="Where: ['query', name of the parameter]")
    msg: str
    input: Any = None


class ValidationErrors(BaseModel):
    """A 422, shaped like FastAPI's own validation errors."""

    detail: list[ParameterError]


class Executed(Contract):
    size: str = Field(description="Cumulative executed size (decimal string)")
    notional: str = Field(description="Cumulative executed notional in USD (decimal string)")
    avg_price: str | None = Field(description="notional / size; null when nothing executed")


class Trigger(Contract):
    px: str = Field(description="Trigger price (decimal string)")
    above: bool | None = Field(description="Triggers when the price goes above px (else below)")


class Event(Contract):
    time: str = Field(description="Event time, ISO 8601 UTC (microseconds)")
    status: str = Field(
        description="waitingForTrigger | activated | finished | terminated | error; a status "
        "the source adds later is passed through as written"
    )
    error: str | None
    executed: Executed
    raw: dict[str, Any] = Field(description="The source row as published")


class FillSummary(Contract):
    """The TWAP's slice fills summed up (twap_fills); zeros and nulls until its fills load."""

    count: int = Field(description="Fills loaded for this TWAP")
    size: str | None = Field(description="Sum of the fills' sizes (decimal string)")
    notional: str | None = Field(description="Sum of px * sz over the fills (decimal string)")
    avg_price: str | None = Field(description="Fill-weighted price: notional / size")
    fees: dict[str, str] = Field(description="Total fee per fee token, e.g. {'USDC': '1.25'}")
    builder_fees: str | None = Field(description="Total builder fee, when any")
    closed_pnl: str | None = Field(description="Realised PnL of the fills (decimal string)")
    first_fill_at: str | None
    last_fill_at: str | None


class Twap(Contract):
    twap_id: str = Field(description="TWAP id (string: it can exceed JavaScript's integers)")
    wallet: str
    asset: str = Field(description="Coin: perp 'BTC', spot '@107', HIP-3 'xyz:NVDA'")
    side: str = Field(description="B buy, A sell")
    status: str = Field(description="Status of the latest event (in the range, for lists)")
    duration_minutes: int | None = Field(description="Null when the source omits it")
    created_at: str
    latest_ts: str = Field(description="Time of the latest event (in the range, for lists)")
    executed: Executed
    requested_size: str
    reduce_only: bool | None
    randomize: bool | None
    error: str | None
    trigger: Trigger | None = Field(description="The trigger of a trigger TWAP (2026+)")
    stop_px: str | None = Field(description="Stop price (decimal string), when set")
    fills: FillSummary | None = Field(
        description="The TWAP's slice fills summed up; null until twap_orders knows the TWAP"
    )
    raw: dict[str, Any] = Field(description="The latest event's source row")
    events: list[Event] | None = Field(
        default=None, description="All events in time order (in the range, for lists)"
    )


class Row(Contract):
    """One event in the reference specification's row shape."""

    ts: str = Field(description="Event time, ISO 8601 UTC (microseconds)")
    wallet: str
    asset: str
    side: str
    status: str
    error: str | None
    duration_minutes: int | None
    size_requested: str
    size_executed: str
    notional_executed: str
    executed: Executed
    raw: dict[str, Any] = Field(description="The source row as published")


class TwapDetail(Twap):
    """One TWAP: its summary, its events, and the same events as the reference's ``rows``."""

    events: list[Event] = Field(description="All events in time order")
    rows: list[Row] = Field(description="All events in time order, in the reference's shape")


class TwapPage(Contract):
    wallet: str
    start: str | None
    end: str | None
    twaps: list[Twap]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class Fill(Contract):
    """One TWAP slice fill: the TWAP's side of one trade."""

    twap_id: str
    tid: str = Field(description="Trade id; both sides of a trade share it")
    wallet: str
    time: str = Field(description="Fill time, ISO 8601 UTC")
    coin: str
    px: str
    sz: str
    side: str = Field(description="B buy, A sell")
    dir: str | None = Field(description="Open Long, Close Short, Buy, Sell, ...")
    start_position: str | None
    closed_pnl: str | None
    fee: str | None
    fee_token: str | None
    builder_fee: str | None
    oid: str = Field(description="The slice order; one order may fill at several prices")
    cloid: str | None
    crossed: bool | None
    block_number: int | None
    hash: str | None = Field(description="All zeros for TWAP slices")


class FillPage(Contract):
    fills: list[Fill] = Field(description="Oldest first")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class PageQuery(BaseModel):
    """Query parameters of a cursor-paged list of fills."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=500, ge=1, le=5000, description="Fills per page")
    cursor: str | None = Field(
        default=None, max_length=200, description="next_cursor of the previous page"
    )


class WalletRange(BaseModel):
    """A wallet and a time range [start, end)."""

    model_config = ConfigDict(extra="forbid")

    wallet: Annotated[str, AfterValidator(str.lower)] = Field(
        pattern=WALLET_PATTERN, description="Wallet address, 0x + 40 hex digits, any case"
    )
    start: IsoTime | None = Field(default=None, description="Inclusive lower bound, ISO 8601")
    end: IsoTime | None = Field(default=None, description="Exclusive upper bound, ISO 8601")


class WalletFillsQuery(WalletRange, PageQuery):
    """Query parameters of ``GET /api/v1/fills``."""


class ExportQuery(WalletRange):
    """Query parameters of ``GET /api/v1/export``."""

    format: Format = Field(
        default="csv",
        description="awaken: Awaken's perpetuals CSV; awaken_spot: Awaken's standard CSV for "
        "spot fills; koinly: Koinly's universal CSV; csv: every column",
    )


class Health(Contract):
    status: Literal["ok", "stale", "unavailable"] = Field(
        description="ok; stale: the newest event is older than TWAP_API_STALE_HOURS; "
        "unavailable: the database or its schema cannot serve (503)"
    )
    database: Literal["reachable", "unreachable"]
    detail: str | None = Field(default=None, description="What is wrong, when something is")
    schema_revision: str | None = Field(default=None, description="The database's revision")
    newest_object_key: str | None = None
    newest_event_time: str | None = None
    lag_seconds: float | None = Field(default=None, description="now - newest event time")


class Service(Contract):
    """``GET /``: what this service is and where its documentation is."""

    name: str
    description: str
    version: str
    docs: str
    openapi: str
    health: str


class Coverage(Contract):
    first_day: str | None
    last_day: str | None
    days_loaded: int
    missing_days: list[str] = Field(description="Days between first and last with no rows")
    rows_per_day: dict[str, int]
