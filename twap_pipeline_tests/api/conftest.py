"""The API tests' database: six generated days loaded through the pipeline, one left out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import psycopg
import pytest
from fastapi.testclient import TestClient

from twap_api.main import create_app
from twap_api.settings import Settings
from twap_pipeline import sample
from twap_pipeline.resources import LandingArea, LocalObjectSource
from twap_pipeline_tests.support import (
    API_DAYS,
    API_GAP,
    API_STYLES,
    FIRST_DAY,
    PREFIX,
    run_pipeline,
)


@pytest.fixture(scope="module")
def api_events() -> pl.DataFrame:
    events = sample.generate_events(
        FIRST_DAY, API_DAYS, twaps_per_day=200, seed=23, wallets=40, trigger_share=0.1
    )
    return events


@pytest.fixture(scope="module")
def loaded_events(api_events) -> pl.DataFrame:
    """The events whose day is loaded (every day but API_GAP)."""
    return api_events.filter(pl.col("day") != API_GAP)


@pytest.fixture(scope="module")
def api_database(admin_url, api_events, tmp_path_factory) -> Iterator[str]:
    name = f"twap_api_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    root: Path = tmp_path_factory.mktemp("api_source")
    styles = {FIRST_DAY + timedelta(days=n): API_STYLES[n] for n in range(API_DAYS)}
    sample.write_dataset(root, PREFIX, api_events, styles)
    source = LocalObjectSource(directory=str(root), prefix=PREFIX)
    landing = LandingArea(directory=str(root / "landing"))
    assert run_pipeline(source, landing, url, FIRST_DAY, API_GAP - timedelta(days=1)).success
    last = FIRST_DAY + timedelta(days=API_DAYS - 1)
    assert run_pipeline(source, landing, url, API_GAP + timedelta(days=1), last).success
    yield url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def client(api_database) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=api_database))) as test_client:
        yield test_client
