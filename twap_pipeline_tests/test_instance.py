"""Dagster's own storage follows DAGSTER_PG_URL, with SQLite as the local default."""

from pathlib import Path

import psycopg
import pytest
from dagster import DagsterInstance

from twap_pipeline.instance import psycopg2_url

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h:5432/d", "postgresql+psycopg2://u@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
    ],
)
def test_urls_are_switched_to_the_psycopg2_driver(url, expected):
    assert psycopg2_url(url) == expected


def home_with_repo_config(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    return home


def test_sqlite_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    monkeypatch.setenv("TWAP_DAGSTER_STORAGE_DIR", str(tmp_path / "storage"))
    home = home_with_repo_config(tmp_path)
    with DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__module__.startswith("dagster._core.storage.runs.sqlite")
    assert (tmp_path / "storage").exists()


def test_postgres_when_dagster_pg_url_is_set(tmp_path, monkeypatch, admin_url):
    name = "twap_test_dagster_storage"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    params = psycopg.conninfo.conninfo_to_dict(url)
    # host= as a query parameter works for TCP hosts and Unix socket directories alike.
    monkeypatch.setenv(
        "DAGSTER_PG_URL",
        f"postgresql://{params.get('user', 'postgres')}@/{name}"
        f"?host={params.get('host', '127.0.0.1')}&port={params.get('port', 5432)}",
    )
    home = home_with_repo_config(tmp_path)
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__module__.startswith("dagster_postgres")
            assert instance.get_runs_count() == 0
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('runs')").fetchone()[0] == "runs"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
