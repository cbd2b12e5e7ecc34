"""Dagster's instance settings: every dagster.yaml the project ships or writes has the run
queue limit, run monitoring and run retries; storage follows the file."""

from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance

from twap_pipeline.instance import SETTINGS, write_dagster_home

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["dagster.yaml", "dagster.postgres.yaml"])
def test_shipped_files_carry_the_same_settings(name):
    config = yaml.safe_load((REPO / name).read_text())
    assert {k: v for k, v in config.items() if k != "storage"} == SETTINGS


def test_a_written_home_monitors_and_retries_dead_runs(tmp_path):
    home = write_dagster_home(tmp_path / "home", tmp_path / "storage")
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds == 21600
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert limits == SETTINGS["run_queue"]["tag_concurrency_limits"]
        # Days of fills load two at a time through the run queue.
        assert {"key": "twap/fills", "limit": 2} in limits
        assert type(instance.run_storage).__module__.startswith("dagster._core.storage.runs.sqlite")
    assert (tmp_path / "storage").exists()


def test_postgres_storage_follows_dagster_pg_url(tmp_path, monkeypatch, admin_url):
    import psycopg

    name = "twap_test_dagster_storage"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    params = psycopg.conninfo.conninfo_to_dict(psycopg.conninfo.make_conninfo(admin_url))
    monkeypatch.setenv(
        "DAGSTER_PG_URL",
        f"postgresql+psycopg2://{params.get('user', 'postgres')}@/{name}"
        f"?host={params.get('host', '127.0.0.1')}&port={params.get('port', 5432)}",
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.postgres.yaml").read_text())
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__module__.startswith("dagster_postgres")
            assert instance.get_runs_count() == 0
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
