"""The API as a deployed service: a schema it does not manage, a database that stops
answering or refuses, bounds that overflow. Never a 500; a 503 that says what to do."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from twap_api.main import create_app
from twap_api.settings import Settings
from twap_pipeline.db.schema import head_revision, upgrade

WALLET = "0x9d6a5ab97a8eed617bde9968d9ab6fcf72fde1b8"
DATA_ENDPOINTS = [f"/api/v1/twaps?wallet={WALLET}", "/api/v1/twaps/1", "/api/v1/coverage"]


def app_for(url: str, **settings) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, **settings)))


def test_an_empty_database_is_503_saying_what_to_do_until_upgraded(empty_database):
    with app_for(empty_database) as client:
        for path in DATA_ENDPOINTS:
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.json() == {"detail": "schema not initialised: run twap db upgrade"}
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["database"] == "reachable"
        assert health.json()["detail"] == "schema not initialised: run twap db upgrade"
        upgrade(empty_database)
        time.sleep(1.1)  # the guard looks again at most once a second
        for path in DATA_ENDPOINTS:
            assert client.get(path).status_code in (200, 404), path
        assert client.get("/healthz").json()["status"] == "ok"


def test_an_older_revision_is_named(empty_database):
    upgrade(empty_database, "0003")
    with app_for(empty_database) as client:
        response = client.get("/api/v1/coverage")
        assert response.status_code == 503
        assert response.json()["detail"] == (
            f"schema at revision 0003, code needs {head_revision()}: run twap db upgrade"
        )
        assert client.get("/healthz").json()["schema_revision"] == "0003"


def test_a_table_dropped_under_a_running_api_is_503(empty_database):
    upgrade(empty_database)
    with app_for(empty_database) as client:
        assert client.get("/api/v1/coverage").status_code == 200
        with psycopg.connect(empty_database, autocommit=True) as conn:
            conn.execute("DROP TABLE twap_status_days")
        response = client.get("/api/v1/coverage")
        assert response.status_code == 503
        assert "run twap db upgrade" in response.json()["detail"]


@pytest.fixture
def reader_without_grant(api_database) -> Iterator[str]:
    role = f"twap_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(api_database, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
    yield psycopg.conninfo.make_conninfo(api_database, user=role, password="")
    with psycopg.connect(api_database, autocommit=True) as conn:
        conn.execute(f'DROP ROLE "{role}"')


def test_a_reader_role_without_its_grant_is_503_naming_the_grant(reader_without_grant):
    with app_for(reader_without_grant) as client:
        for path in DATA_ENDPOINTS:
            response = client.get(path)
            assert response.status_code == 503, path
            assert "GRANT SELECT" in response.json()["detail"]


def test_a_statement_that_waits_too_long_is_503(api_database):
    with app_for(api_database, statement_timeout_seconds=0.5) as client:
        assert client.get("/api/v1/coverage").status_code == 200
        with psycopg.connect(api_database) as blocker:
            blocker.execute("LOCK TABLE twap_status_days IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            response = client.get("/api/v1/coverage")
            assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.json() == {"detail": "the database did not answer within 0.5 s"}


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word (a black-holed database)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        yield f"postgresql://twap@127.0.0.1:{port}/twap"


def test_health_answers_within_its_deadline_when_the_database_is_silent(silent_server):
    settings = {"health_timeout_seconds": 1.0, "pool_timeout_seconds": 1.0}
    with app_for(silent_server, **settings) as client:
        started = time.monotonic()
        response = client.get("/healthz")
        assert time.monotonic() - started < 3
        assert response.status_code == 503
        assert response.json()["detail"] == "no answer within 1 s"
        started = time.monotonic()
        assert client.get(DATA_ENDPOINTS[0]).status_code == 503
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("start", "0001-01-01T00:00:00+01:00"),
        ("end", "9999-12-31T23:00:00-05:00"),
        ("start", "0001-01-01"),
        ("end", "2199-01-01"),
    ],
)
def test_bounds_outside_the_window_are_422(client, parameter, value):
    response = client.get("/api/v1/twaps", params={"wallet": WALLET, parameter: value})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [d["loc"] for d in detail] == [["query", parameter]]
    assert "2020-01-01 .. 2100-01-01" in detail[0]["msg"]


def test_health_says_stale_past_the_configured_lag(api_database):
    """The test data is from 2025: stale after an hour, fresh under a century."""
    with app_for(api_database, stale_after_hours=1) as client:
        stale = client.get("/healthz")
    assert stale.status_code == 200
    assert stale.json()["status"] == "stale" and stale.json()["database"] == "reachable"
    assert "hours old (stale after 1)" in stale.json()["detail"]
    with app_for(api_database, stale_after_hours=1_000_000) as client:
        assert client.get("/healthz").json()["status"] == "ok"


def test_coverage_reads_the_day_counts_not_the_events(api_database):
    """Coverage costs O(days): its plan never touches twap_status."""
    from twap_api.queries import COVERAGE

    with psycopg.connect(api_database) as conn:
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + COVERAGE).fetchall())
    assert "twap_status_days" in plan
    assert "on twap_status " not in plan.replace("twap_status_days", "")
