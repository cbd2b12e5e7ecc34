"""What an operator turns on: CORS, Prometheus metrics, structured request logs, API keys and
rate limits (in memory and in Redis), HTTP caching and compression, and offline docs."""

from __future__ import annotations

import json
import uuid

import httpx2
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from twap_api.main import create_app
from twap_api.settings import Settings

WALLET_PAGE = "/api/v1/twaps"
REDIS = "redis://127.0.0.1:6379"


def app_for(url: str, **settings) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, **settings)))


def heavy_wallet(loaded_events) -> str:
    counts = loaded_events.group_by("state_user").len().sort(["len", "state_user"])
    return counts["state_user"][-1].lower()


def test_cors_answers_a_preflight_from_an_allowed_origin_only(api_database):
    with app_for(api_database, cors_origins=["https://app.example"]) as client:
        allowed = client.options(
            WALLET_PAGE,
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-credentials" not in allowed.headers
        other = client.options(
            WALLET_PAGE,
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in other.headers


def test_metrics_count_requests_by_route_template(client, loaded_events):
    twap_id = loaded_events["twap_id"][0]
    for _ in range(3):
        assert client.get(f"/api/v1/twaps/{twap_id}").status_code == 200
    assert client.get("/api/v1/twaps/1").status_code == 404
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    requests = families["twap_api_requests"].samples
    routes = {s.labels["route"] for s in requests}
    assert f"/api/v1/twaps/{twap_id}" not in routes  # never the raw path
    ok = [
        s
        for s in requests
        if s.name == "twap_api_requests_total"
        and s.labels == {"method": "GET", "route": "/api/v1/twaps/{twap_id}", "status": "200"}
    ]
    assert ok and ok[0].value >= 3
    latency = families["twap_api_request_duration_seconds"].samples
    assert any(s.labels.get("route") == "/api/v1/twaps/{twap_id}" for s in latency)
    pool = {s.labels["state"]: s.value for s in families["twap_api_db_pool_connections"].samples}
    assert pool["size"] >= 1
    lag = families["twap_api_newest_event_lag_seconds"].samples[0].value
    assert lag > 0
    assert "twap_api_requests_in_flight" in families


def test_one_json_log_line_per_request_with_its_id(api_database, capsys):
    with app_for(api_database, log_format="json") as client:
        capsys.readouterr()
        given = client.get("/api/v1/coverage", headers={"X-Request-ID": "abc-123"})
        made = client.get("/api/v1/twaps/1")
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    requests = [line for line in lines if "route" in line]
    assert [(r["request_id"], r["route"], r["status"]) for r in requests] == [
        ("abc-123", "/api/v1/coverage", 200),
        (made.headers["x-request-id"], "/api/v1/twaps/{twap_id}", 404),
    ]
    assert all(r["duration_ms"] >= 0 and r["method"] == "GET" for r in requests)


def test_api_keys_guard_the_data_but_not_health_or_metrics(api_database):
    with app_for(api_database, api_keys=["k-one", "k-two"]) as client:
        assert client.get("/api/v1/coverage").status_code == 401
        assert client.get("/api/v1/coverage", headers={"X-API-Key": "nope"}).status_code == 401
        assert client.get("/api/v1/coverage", headers={"X-API-Key": "k-two"}).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200


def limited(client: TestClient, key: str) -> httpx2.Response:
    return client.get("/api/v1/coverage", headers={"X-API-Key": key})


def test_rate_limit_per_key_in_memory(api_database):
    with app_for(api_database, api_keys=["a", "b"], rate_limit="2/minute") as client:
        assert [limited(client, "a").status_code for _ in range(2)] == [200, 200]
        refused = limited(client, "a")
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert limited(client, "b").status_code == 200  # another key, its own budget


def test_rate_limit_shared_through_redis(api_database):
    key = f"k-{uuid.uuid4().hex}"
    settings = {"api_keys": [key], "rate_limit": "3/minute", "rate_limit_storage": REDIS}
    with app_for(api_database, **settings) as one, app_for(api_database, **settings) as two:
        assert limited(one, key).status_code == 200
        assert limited(two, key).status_code == 200
        assert limited(one, key).status_code == 200
        refused = limited(two, key)  # the fourth, counted across both processes
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_etag_and_304(client, loaded_events):
    params = {"wallet": heavy_wallet(loaded_events), "limit": 5}
    first = client.get(WALLET_PAGE, params=params)
    etag = first.headers["etag"]
    again = client.get(WALLET_PAGE, params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = client.get(WALLET_PAGE, params={**params, "limit": 6})
    assert other.headers["etag"] != etag


def test_history_is_cacheable_and_the_present_is_not(client, loaded_events):
    wallet = heavy_wallet(loaded_events)
    past = client.get(WALLET_PAGE, params={"wallet": wallet, "end": "2025-06-02"})
    assert past.headers["cache-control"].startswith("public, max-age=")
    now = client.get(WALLET_PAGE, params={"wallet": wallet})
    assert now.headers["cache-control"] == "no-cache"


def test_large_pages_are_gzipped_when_asked(client, loaded_events):
    params = {"wallet": heavy_wallet(loaded_events), "limit": 200}
    zipped = client.get(WALLET_PAGE, params=params, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    plain = client.get(WALLET_PAGE, params=params, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json()  # the client decodes the gzipped body


def test_root_says_what_this_is_and_the_docs_work_offline(client):
    root = client.get("/").json()
    assert root["docs"] == "/docs" and root["name"] == "twap"
    docs = client.get("/docs").text
    assert "/static/swagger-ui/swagger-ui-bundle.js" in docs
    assert "cdn." not in docs and "unpkg" not in docs
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/swagger-ui/swagger-ui.css").status_code == 200
