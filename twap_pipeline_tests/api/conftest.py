"""The API tests' database: six generated days loaded through the pipeline, one left out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import psycopg
import pytest
from fastapi.testclient import TestClient

from twap_api.main import create_app
from twap_api.settings import Settings
from twap_pipeline import sample, sample_fills
from twap_pipeline.resources import LandingArea, LocalObjectSource
from twap_pipeline_tests.support import (
    API_DAYS,
    API_GAP,
    API_STYLES,
    FIRST_DAY,
    PREFIX,
    run_fills,
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


FILLS_FIRST = date(2025, 8, 1)
FILLS_DAYS = 3


@dataclass
class FillsDatabase:
    url: str
    events: pl.DataFrame
    fills: pl.DataFrame  # every fill written, counterparties included


@pytest.fixture(scope="module")
def fills_database(admin_url, tmp_path_factory) -> Iterator[FillsDatabase]:
    """Three days of statuses and their slice fills, both loaded through the pipeline."""
    events = sample.generate_events(FILLS_FIRST, FILLS_DAYS, twaps_per_day=80, seed=31, wallets=8)
    fills = sample_fills.generate_fills(events)
    name = f"twap_api_fills_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    root: Path = tmp_path_factory.mktemp("api_fills")
    sample.write_dataset(root / "statuses", PREFIX, events)
    sample_fills.write_fills(root / "fills", sample_fills.FILLS_PREFIX, fills)
    landing = LandingArea(directory=str(root / "landing"))
    last = FILLS_FIRST + timedelta(days=FILLS_DAYS - 1)
    statuses = LocalObjectSource(directory=str(root / "statuses"), prefix=PREFIX)
    assert run_pipeline(statuses, landing, url, FILLS_FIRST, last).success
    archive = LocalObjectSource(directory=str(root / "fills"), prefix=sample_fills.FILLS_PREFIX)
    assert run_fills(archive, landing, url, FILLS_FIRST, last).success
    yield FillsDatabase(url, events, fills)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def fills_client(fills_database) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=fills_database.url))) as test_client:
        yield test_client
