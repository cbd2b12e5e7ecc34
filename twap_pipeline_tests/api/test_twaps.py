"""The REST API over tables the pipeline loaded from generated files, against a ground truth
computed from those files with polars alone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import polars as pl
import pytest
from fastapi.testclient import TestClient

from twap_api.main import create_app
from twap_api.settings import Settings
from twap_pipeline_tests.support import API_DAYS, API_GAP, FIRST_DAY, PREFIX
from twap_pipeline_tests.truth import wallet_twaps


def wallets_by_size(events: pl.DataFrame) -> list[str]:
    counts = events.group_by(pl.col("state_user").str.to_lowercase()).agg(
        pl.col("twap_id").n_unique()
    )
    return counts.sort(["twap_id", "state_user"], descending=True)["state_user"].to_list()


def comparable(item: dict) -> dict:
    """An API item in the truth's shape (avg_price checked separately)."""
    out = {k: v for k, v in item.items() if k not in ("executed", "raw", "events", "rows")}
    out["size"] = item["executed"]["size"]
    out["notional"] = item["executed"]["notional"]
    out["events"] = [
        (e["time"], e["status"], e["error"], e["executed"]["size"], e["executed"]["notional"])
        for e in item.get("events") or []
    ]
    return out


def assert_avg_price(item: dict) -> None:
    executed = item["executed"]
    if Decimal(executed["size"]) == 0:
        assert executed["avg_price"] is None
    else:
        expected = Decimal(executed["notional"]) / Decimal(executed["size"])
        assert abs(Decimal(executed["avg_price"]) - expected) <= expected * Decimal("1e-15")


def collect(client: TestClient, **params) -> list[dict]:
    """Every page of a query, following next_cursor."""
    items, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/twaps", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["twaps"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_every_wallet_gets_its_complete_twap_history(client, loaded_events):
    for wallet in wallets_by_size(loaded_events):
        page = client.get("/api/v1/twaps", params={"wallet": wallet, "limit": 5000}).json()
        assert page["next_cursor"] is None
        expected = wallet_twaps(loaded_events, wallet)
        for item in expected:
            item["events"] = []
        assert [comparable(i) for i in page["twaps"]] == expected
        for item in page["twaps"]:
            assert_avg_price(item)
            assert item["raw"]["twap_id"] == int(item["twap_id"])


def test_range_gives_the_latest_status_within_it(client, loaded_events):
    wallet = wallets_by_size(loaded_events)[0]
    start, end = "2025-06-01T12:00:00.000000", "2025-06-02T06:30:00.000000"
    page = client.get(
        "/api/v1/twaps",
        params={
            "wallet": wallet.upper().replace("0X", "0x"),
            "start": start,
            "end": end,
            "latest_per_twap": "false",
            "limit": 1000,
        },
    ).json()
    assert (page["wallet"], page["start"], page["end"]) == (wallet, start + "Z", end + "Z")
    expected = wallet_twaps(loaded_events, wallet, start, end)
    assert [comparable(i) for i in page["twaps"]] == expected
    # TWAPs still running at `end` show as activated although they finished later.
    final = {i["twap_id"]: i["status"] for i in wallet_twaps(loaded_events, wallet)}
    assert any(i["status"] == "activated" != final[i["twap_id"]] for i in page["twaps"])


def test_cursor_paging_returns_each_twap_once(client, loaded_events):
    wallet = wallets_by_size(loaded_events)[0]
    expected = [i["twap_id"] for i in wallet_twaps(loaded_events, wallet)]
    assert len(expected) > 100
    items = collect(client, wallet=wallet, limit=7)
    assert [i["twap_id"] for i in items] == expected
    ranged = collect(
        client,
        wallet=wallet,
        limit=3,
        start="2025-06-02",
        end="2025-06-05",
        latest_per_twap="false",
    )
    truth = wallet_twaps(loaded_events, wallet, "2025-06-02", "2025-06-05")
    assert [comparable(i) for i in ranged] == truth


def test_next_cursor_only_when_another_page_follows(client, loaded_events):
    wallets = wallets_by_size(loaded_events)
    wallet = next(w for w in wallets if 2 < len(wallet_twaps(loaded_events, w)) < 50)
    expected = [i["twap_id"] for i in wallet_twaps(loaded_events, wallet)]
    total = len(expected)
    exact = client.get("/api/v1/twaps", params={"wallet": wallet, "limit": total}).json()
    assert [i["twap_id"] for i in exact["twaps"]] == expected
    assert exact["next_cursor"] is None
    short = client.get("/api/v1/twaps", params={"wallet": wallet, "limit": total - 1}).json()
    assert [i["twap_id"] for i in short["twaps"]] == expected[:-1]
    rest = client.get(
        "/api/v1/twaps",
        params={"wallet": wallet, "limit": total - 1, "cursor": short["next_cursor"]},
    ).json()
    assert ([i["twap_id"] for i in rest["twaps"]], rest["next_cursor"]) == (expected[-1:], None)
    nobody = client.get("/api/v1/twaps", params={"wallet": "0x" + "0" * 40}).json()
    assert (nobody["twaps"], nobody["next_cursor"]) == ([], None)


def test_asset_filter(client, loaded_events):
    wallet = wallets_by_size(loaded_events)[0]
    items = collect(client, wallet=wallet, asset="@107")
    assert items
    assert [comparable(i) | {"events": []} for i in items] == [
        t | {"events": []} for t in wallet_twaps(loaded_events, wallet, asset="@107")
    ]


def test_one_twap_has_all_its_events(client, loaded_events):
    finished = loaded_events.filter(pl.col("status") == "finished")["twap_id"][3]
    item = client.get(f"/api/v1/twaps/{finished}").json()
    wallet = item["wallet"]
    [expected] = [i for i in wallet_twaps(loaded_events, wallet) if i["twap_id"] == str(finished)]
    assert comparable(item) == expected
    assert [e["status"] for e in item["events"]] == ["activated", "finished"]
    assert item["events"][1]["raw"]["status"] == "finished"


def test_unknown_twap_is_404(client):
    response = client.get("/api/v1/twaps/1")
    assert response.status_code == 404
    assert response.json() == {"detail": "TWAP 1 is not loaded"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"wallet": "0x123"}, "wallet"),
        ({"wallet": "9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8aa"}, "wallet"),
        ({}, "wallet"),
        ({"start": "2025-06-02", "end": "2025-06-01"}, "start"),
        ({"start": "2025-06-02T00:00:00Z", "end": "2025-06-02T00:00:00Z"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"start": "1717200000"}, "start"),
        ({"end": "2025-13-01"}, "end"),
        ({"limit": 0}, "limit"),
        ({"limit": 5001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "MjAyNS0wNi0wMXwxMjM"}, "cursor"),  # "2025-06-01|123": naive time
        ({"asset": "BTC\x00"}, "asset"),
        ({"latest_per_twap": "maybe"}, "latest_per_twap"),
        ({"latest_per_twap": "false", "limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 3, "cursor": "MjAyNS0wNi0wMXwxMjM"}, "offset"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(client, params, parameter):
    query = {"wallet": "0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8", **params}
    if "wallet" not in params and params == {}:
        query = {}
    response = client.get("/api/v1/twaps", params=query)
    assert response.status_code == 422, response.text
    assert [d["loc"] for d in response.json()["detail"]] == [["query", parameter]]


def test_an_unknown_parameter_is_422_naming_it(client):
    """A client of another API's paging (``offset``) must not loop over the same page."""
    response = client.get(
        "/api/v1/twaps", params={"wallet": "0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8", "page": 3}
    )
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["query", "page"]]


def test_a_repeated_parameter_is_422_naming_it(client):
    wallets = [
        ("wallet", "0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8"),
        ("wallet", "0x0000000000000000000000000000000000000001"),
    ]
    response = client.get("/api/v1/twaps", params=wallets)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [d["loc"] for d in detail] == [["query", "wallet"]]
    assert detail[0]["msg"] == "given more than once"


@pytest.mark.parametrize("twap_id", ["abc", "-1", "99999999999999999999"])
def test_bad_twap_id_is_422(client, twap_id):
    response = client.get(f"/api/v1/twaps/{twap_id}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "twap_id"]


def test_health_reports_the_newest_load(client, loaded_events):
    body = client.get("/healthz").json()
    newest = loaded_events.sort("time")[-1].to_dicts()[0]
    assert body["status"] == "stale" and body["database"] == "reachable"  # 2025 data
    assert body["newest_event_time"] == newest["time"][:26] + "Z"
    assert body["newest_object_key"].startswith(PREFIX)
    assert body["lag_seconds"] > 0


def test_health_is_503_when_the_database_is_down():
    settings = Settings(
        database_url="postgresql://twap:secret@127.0.0.1:1/twap",
        pool_timeout_seconds=0.5,
        health_timeout_seconds=0.5,
    )
    with TestClient(create_app(settings)) as down:
        response = down.get("/healthz")
        assert response.status_code == 503
        body = response.json()
        assert (body["status"], body["database"]) == ("unavailable", "unreachable")
        assert body["newest_event_time"] is None and body["lag_seconds"] is None
        listing = down.get(
            "/api/v1/twaps", params={"wallet": "0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8"}
        )
        assert listing.status_code == 503
        assert "secret" not in listing.text


def test_coverage_names_the_missing_day(client, loaded_events):
    body = client.get("/api/v1/coverage").json()
    per_day = loaded_events.group_by("day").len().sort("day")
    assert body == {
        "first_day": FIRST_DAY.isoformat(),
        "last_day": (FIRST_DAY + timedelta(days=API_DAYS - 1)).isoformat(),
        "days_loaded": API_DAYS - 1,
        "missing_days": [API_GAP.isoformat()],
        "rows_per_day": {d.isoformat(): n for d, n in per_day.iter_rows()},
    }


def test_openapi_documents_every_parameter(client):
    schema = client.get("/openapi.json").json()
    parameters = schema["paths"]["/api/v1/twaps"]["get"]["parameters"]
    assert {p["name"] for p in parameters} == {
        "wallet",
        "start",
        "end",
        "asset",
        "latest_per_twap",
        "limit",
        "offset",
        "cursor",
    }
    assert all(p.get("description") for p in parameters)
    assert client.get("/docs").status_code == 200


def test_decimals_carry_no_padding_zeros(client, loaded_events):
    wallet = wallets_by_size(loaded_events)[0]
    page = client.get("/api/v1/twaps", params={"wallet": wallet, "limit": 1000}).json()
    decimals = [
        value
        for item in page["twaps"]
        for value in (
            item["requested_size"],
            item["executed"]["size"],
            item["executed"]["notional"],
            item["executed"]["avg_price"],
        )
        if value is not None
    ]
    assert decimals
    padded = [d for d in decimals if "." in d and (d.endswith("0") or d.endswith("."))]
    assert padded == []
