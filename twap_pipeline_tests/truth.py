"""Ground truth computed from the generated canonical events with polars alone, independently
of the pipeline's SQL, for the tests to compare the tables and the API against."""

from __future__ import annotations

from decimal import Decimal

import polars as pl


def expected_orders(events: pl.DataFrame) -> dict[int, dict]:
    """One summary per TWAP: final status, executed size/notional, average price."""
    orders: dict[int, dict] = {}
    for (twap_id,), group in events.sort("time").group_by("twap_id", maintain_order=True):
        rows = group.to_dicts()
        latest = rows[-1]
        terminal = next((r for r in rows if r["status"] != "activated"), None)
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
            "status": terminal["status"] if terminal else "activated",
            "error": terminal["error"] if terminal else None,
            "activated_at": activated["time"][:26] if activated else None,
            "ended_at": terminal["time"][:26] if terminal else None,
            "size_executed": size,
            "notional_executed": notional,
            "avg_price": notional / size if size > 0 else None,
            "fill_ratio": size / requested if requested > 0 else None,
            "event_count": len(rows),
        }
    return orders
