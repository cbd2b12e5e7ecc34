"""Shared fixtures: a throw-away PostgreSQL database, moto's S3 server on loopback, generated
source data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import polars as pl
import psycopg
import pytest
from dagster import DagsterInstance
from moto.server import ThreadedMotoServer

from twap_pipeline import sample
from twap_pipeline.embedded_postgres import start_embedded
from twap_pipeline.resources import LandingArea, PostgresResource, S3ObjectSource
from twap_pipeline_tests.support import DAYS, FIRST_DAY, PREFIX


@pytest.fixture(scope="session")
def admin_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The server the tests create their databases on: ``DATABASE_URL`` when set, otherwise
    an embedded PostgreSQL started for this session (no server needs to be installed)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    return start_embedded(tmp_path_factory.mktemp("embedded-postgres") / "pgdata")


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """A database of its own for this test session, dropped at the end."""
    name = f"twap_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    PostgresResource(database_url=url).ensure_schema()
    yield url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database(admin_url: str) -> Iterator[str]:
    """A database of its own with no tables at all, dropped after the test."""
    name = f"twap_empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to empty TWAP tables."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE twap_status, twap_orders, twap_status_days, twap_fills, twap_fills_days"
        )
        yield conn


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback, with dummy credentials for the whole session."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Bucket:
    name: str
    client: Any
    endpoint: str

    def upload_tree(self, root: Path) -> None:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            self.client.upload_file(str(path), self.name, path.relative_to(root).as_posix())

    def source(self, cls: type[S3ObjectSource] = S3ObjectSource, **overrides: Any):
        settings = {
            "endpoint_url": self.endpoint,
            "region_name": "us-east-1",
            "prefix": PREFIX,
            **overrides,
        }
        return cls(bucket=self.name, **settings)


@pytest.fixture
def bucket(s3_endpoint: str) -> Bucket:
    """An empty bucket of its own, marked requester-pays like the real one."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    name = f"twap-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    client.put_bucket_request_payment(
        Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"}
    )
    return Bucket(name, client, s3_endpoint)


@pytest.fixture(scope="session")
def events() -> pl.DataFrame:
    """Canonical events of DAYS days of generated TWAPs."""
    return sample.generate_events(FIRST_DAY, DAYS, twaps_per_day=250, seed=11, wallets=60)


@pytest.fixture
def source_tree(tmp_path: Path, events: pl.DataFrame) -> Path:
    """The generated events written as the bucket would hold them, a different style a day."""
    root = tmp_path / "source"
    sample.write_dataset(root, PREFIX, events)
    return root


@pytest.fixture
def landing(tmp_path: Path) -> LandingArea:
    return LandingArea(directory=str(tmp_path / "landing"))


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as inst:
        yield inst
