"""A client written from the reference specification's text alone
(Davidrsdiaz/Hyperliquid-TWAP-API-Open-Source, docs/original-spec.md): it pages with
``offset += limit`` until ``twaps`` is empty, and reads a TWAP's ``rows`` (``ts``, ``wallet``,
``status``, ``raw``). It runs against this API unchanged."""

from __future__ import annotations

import polars as pl

from twap_pipeline_tests.support import API_DAYS, FIRST_DAY


def spec_client_twap_ids(http, wallet: str, start: str, end: str, limit: int) -> list[str]:
    offset, seen = 0, []
    while True:
        response = http.get(
            "/api/v1/twaps",
            params={"wallet": wallet, "start": start, "end": end, "limit": limit, "offset": offset},
        )
        assert response.status_code == 200, response.text
        twaps = response.json()["twaps"]
        if not twaps:
            return seen
        seen.extend(t["twap_id"] for t in twaps)
        offset += limit
        assert offset < 1_000_000, "the client would loop forever"


def test_an_offset_client_gets_every_twap_of_a_wallet_once(client, loaded_events):
    counts = loaded_events.group_by(pl.col("state_user").str.to_lowercase().alias("w")).agg(
        pl.col("twap_id").unique()
    )
    start, end = FIRST_DAY.isoformat(), f"{FIRST_DAY.replace(year=FIRST_DAY.year + 1)}"
    for wallet, ids in counts.sort("w").head(8).iter_rows():
        seen = spec_client_twap_ids(client, wallet, start, end, limit=7)
        assert len(seen) == len(set(seen))
        assert sorted(seen, key=int) == sorted(map(str, ids), key=int)
    assert API_DAYS > 1


def test_a_twap_has_the_specs_rows(client, loaded_events):
    twap_id = loaded_events["twap_id"][0]
    events = loaded_events.filter(pl.col("twap_id") == twap_id).sort("time")
    body = client.get(f"/api/v1/twaps/{twap_id}").json()
    assert body["twap_id"] == str(twap_id)
    rows = body["rows"]
    assert [r["status"] for r in rows] == [e["status"] for e in body["events"]]
    assert [r["ts"] for r in rows] == [e["time"] for e in body["events"]]
    assert len(rows) == events.height
    for row in rows:
        assert row["wallet"] == events["state_user"][0].lower()
        assert row["raw"]["twap_id"] == twap_id
        assert set(row["executed"]) >= {"size", "notional"}
