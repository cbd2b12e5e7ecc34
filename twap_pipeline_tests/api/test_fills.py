"""Slice fills through the API: a TWAP's and a wallet's, cursor-paged, exact; fill summaries on
TWAPs; the export streamed as CSV; every bad parameter a 422 naming it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import polars as pl
import pytest

from twap_api.models import FillPage, TwapDetail, TwapPage


def twap_fills(fills: pl.DataFrame) -> pl.DataFrame:
    return fills.filter(pl.col("twapId").is_not_null())


def walk(client, path: str, params: dict) -> list[dict]:
    """Every page of a fills endpoint, following next_cursor."""
    found, cursor = [], None
    while True:
        response = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = FillPage.model_validate(response.json())
        found += response.json()["fills"]
        cursor = page.next_cursor
        if cursor is None:
            return found


def test_a_twaps_fills_page_by_page_exactly(fills_client, fills_database):
    mine = twap_fills(fills_database.fills)
    busiest = mine.group_by("twapId").len().sort(["len", "twapId"])["twapId"][-1]
    expected = mine.filter(pl.col("twapId") == busiest).sort("time", "tid")
    got = walk(fills_client, f"/api/v1/twaps/{busiest}/fills", {"limit": 2})
    assert [(f["tid"], f["px"], f["sz"], f["fee"]) for f in got] == [
        (str(r["tid"]), r["px"], r["sz"], r["fee"]) for r in expected.iter_rows(named=True)
    ]
    assert all(f["twap_id"] == str(busiest) for f in got)


def test_a_wallets_fills_in_a_range_once_each(fills_client, fills_database):
    mine = twap_fills(fills_database.fills)
    wallet = mine.group_by("user").len().sort(["len", "user"])["user"][-1]
    got = walk(fills_client, "/api/v1/fills", {"wallet": wallet.upper().replace("0X", "0x"),
                                                "limit": 7})  # fmt: skip
    expected = mine.filter(pl.col("user") == wallet)
    assert sorted((f["twap_id"], f["tid"]) for f in got) == sorted(
        (str(r["twapId"]), str(r["tid"])) for r in expected.iter_rows(named=True)
    )
    times = [f["time"] for f in got]
    assert times == sorted(times)
    first, last = times[0], times[-1]
    inside = walk(fills_client, "/api/v1/fills", {"wallet": wallet, "start": first, "end": last})
    assert len(inside) == sum(1 for t in times if first <= t < last)


def test_twap_detail_and_list_items_carry_the_fill_summary(fills_client, fills_database):
    mine = twap_fills(fills_database.fills)
    twap_id = mine["twapId"][0]
    own = mine.filter(pl.col("twapId") == twap_id)
    detail = fills_client.get(f"/api/v1/twaps/{twap_id}")
    TwapDetail.model_validate(detail.json())
    summary = detail.json()["fills"]
    assert summary["count"] == own.height
    assert Decimal(summary["size"]) == sum(Decimal(v) for v in own["sz"])
    assert Decimal(summary["fees"]["USDC"]) == sum(Decimal(v) for v in own["fee"])
    pnl = sum(Decimal(v) for v in own["closedPnl"])
    assert Decimal(summary["closed_pnl"]) == pnl
    wallet = own["user"][0]
    page = fills_client.get("/api/v1/twaps", params={"wallet": wallet}).json()
    TwapPage.model_validate(page)
    item = next(t for t in page["twaps"] if t["twap_id"] == str(twap_id))
    assert item["fills"] == summary


@pytest.mark.parametrize("format_name", ["awaken", "awaken_spot", "koinly", "csv"])
def test_export_streams_the_platforms_csv(fills_client, fills_database, format_name):
    mine = twap_fills(fills_database.fills)
    wallet = mine.group_by("user").len().sort(["len", "user"])["user"][-1]
    response = fills_client.get(
        "/api/v1/export",
        params={"wallet": wallet, "start": "2025-01-01", "end": "2026-01-01",
                "format": format_name},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.text)))
    own = mine.filter(pl.col("user") == wallet)
    spot = own.filter(pl.col("coin").str.starts_with("@")).height
    expected = {"awaken": own.height - spot, "awaken_spot": spot}.get(format_name, own.height)
    assert len(table) == 1 + expected


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/api/v1/fills", {"wallet": "0x12"}, "wallet"),
        ("/api/v1/fills", {"wallet": "0x" + "a" * 40, "cursor": "nope"}, "cursor"),
        ("/api/v1/fills", {"wallet": "0x" + "a" * 40, "page": "2"}, "page"),
        (
            "/api/v1/fills",
            {"wallet": "0x" + "a" * 40, "start": "2025-02-01", "end": "2025-01-01"},
            "start",
        ),
        ("/api/v1/twaps/5/fills", {"limit": "0"}, "limit"),
        ("/api/v1/export", {"wallet": "0x" + "a" * 40, "format": "turbotax"}, "format"),
    ],
)
def test_bad_parameters_are_422_naming_them(fills_client, path, params, named):
    response = fills_client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert named in [e["loc"][-1] for e in response.json()["detail"]]


def test_a_repeated_parameter_is_422(fills_client):
    wallet = "0x" + "a" * 40
    response = fills_client.get(f"/api/v1/fills?wallet={wallet}&wallet={wallet}")
    assert response.status_code == 422
