"""Ground truth computed from the generated canonical events with polars alone, independently
of the pipeline's SQL, for the tests to compare the tables and the API against."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl

TERMINAL = ("finished", "terminated", "error")
RANK = {"waitingForTrigger": 0, "activated": 1, **dict.fromkeys(TERMINAL, 3)}


def expected_orders(events: pl.DataFrame) -> dict[int, dict]:
    """One summary per TWAP: final status, executed size/notional, average price."""
    orders: dict[int, dict] = {}
    for (twap_id,), group in events.sort("time").group_by("twap_id", maintain_order=True):
        rows = sorted(group.to_dicts(), key=_event_order)
        latest = rows[-1]
        terminal = next((r for r in rows if r["status"] in TERMINAL), None)
        activated = next((r for r in rows if r["status"] == "activated"), None)
        size = Decimal(latest["state_executedSz"])
        notional = Decimal(latest["state_executedNtl"])
        requested = Decimal(latest["state_sz"])
        orders[twap_id] = {
            "twap_id": twap_id,
            "wallet": latest["state_user"].lower(),
            "asset": latest["state_coin"],
            "side": latest["state_side"],
            "size_requested": requested,
            "duration_minutes": latest["state_minutes"],
            "status": terminal["status"] if terminal else latest["status"],
            "error": terminal["error"] if terminal else None,
            "activated_at": activated["time"][:26] if activated else None,
            "ended_at": terminal["time"][:26] if terminal else None,
            "size_executed": size,
            "notional_executed": notional,
            "avg_price": notional / size if size > 0 else None,
            "fill_ratio": size / requested if requested > 0 else None,
            "event_count": len(rows),
            "trigger_px": _decimal_or_none(latest["state_trigger_px"]),
            "trigger_above": latest["state_trigger_above"],
        }
    return orders


def api_decimal(text: str | None) -> str | None:
    """A source decimal as the API writes it: plain digits, no padding zeros ("24.36")."""
    if text is None:
        return None
    digits = format(Decimal(text), "f")
    return digits.rstrip("0").rstrip(".") if "." in digits else digits


def _trigger(row: dict) -> dict | None:
    if row["state_trigger_px"] is None:
        return None
    return {"px": api_decimal(row["state_trigger_px"]), "above": row["state_trigger_above"]}


def _decimal_or_none(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def _utc_text(time: str) -> str:
    """Canonical ns time text -> the API's form (µs, Z)."""
    return time[:26] + "Z"


def _created_text(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_order(row: dict) -> tuple:
    return (row["time"][:26], RANK.get(row["status"], 2), row["status"])


# The fill summary of a TWAP none of whose fills is loaded (these events come without fills).
NO_FILLS = {
    "count": 0,
    "size": None,
    "notional": None,
    "avg_price": None,
    "fees": {},
    "builder_fees": None,
    "closed_pnl": None,
    "first_fill_at": None,
    "last_fill_at": None,
}


def wallet_twaps(
    events: pl.DataFrame,
    wallet: str,
    start: str | None = None,
    end: str | None = None,
    asset: str | None = None,
) -> list[dict]:
    """What ``GET /api/v1/twaps`` must answer: per TWAP of the wallet with events in
    [start, end) (ISO µs strings), its latest event there, newest first; events in time order."""
    mine = events.filter(pl.col("state_user").str.to_lowercase() == wallet.lower())
    if asset is not None:
        mine = mine.filter(pl.col("state_coin") == asset)
    rows = [
        r
        for r in mine.to_dicts()
        if (start is None or r["time"][:26] >= start) and (end is None or r["time"][:26] < end)
    ]
    by_twap: dict[int, list[dict]] = {}
    for row in sorted(rows, key=_event_order):
        by_twap.setdefault(row["twap_id"], []).append(row)
    items = []
    for twap_id, twap_events in by_twap.items():
        latest = twap_events[-1]
        items.append(
            {
                "twap_id": str(twap_id),
                "wallet": latest["state_user"].lower(),
                "asset": latest["state_coin"],
                "side": latest["state_side"],
                "status": latest["status"],
                "duration_minutes": latest["state_minutes"],
                "created_at": _created_text(latest["state_timestamp"]),
                "latest_ts": _utc_text(latest["time"]),
                "size": api_decimal(latest["state_executedSz"]),
                "notional": api_decimal(latest["state_executedNtl"]),
                "requested_size": api_decimal(latest["state_sz"]),
                "reduce_only": latest["state_reduceOnly"],
                "randomize": latest["state_randomize"],
                "error": latest["error"],
                "trigger": _trigger(latest),
                "stop_px": api_decimal(latest["state_stopPx"]),
                "fills": NO_FILLS,
                "events": [
                    (
                        _utc_text(e["time"]),
                        e["status"],
                        e["error"],
                        api_decimal(e["state_executedSz"]),
                        api_decimal(e["state_executedNtl"]),
                    )
                    for e in twap_events
                ],
            }
        )
    return sorted(items, key=lambda i: (i["latest_ts"], int(i["twap_id"])), reverse=True)
