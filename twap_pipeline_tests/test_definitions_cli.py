"""The shell path a user follows from the README: one `dagster asset materialize` process
loads a whole partition range as one run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from twap_pipeline.instance import write_dagster_home
from twap_pipeline_tests.support import PREFIX

pytestmark = pytest.mark.slow  # starts processes

REPO = Path(__file__).resolve().parents[1]
DAGSTER = str(Path(sys.executable).with_name("dagster"))


def materialize(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "twap_pipeline.definitions", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_partition_range_loads_in_one_run(source_tree, events, database_url, db, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TWAP_SOURCE_DIR": str(source_tree),
        "AWS_S3_PREFIX": PREFIX,
        "TWAP_LANDING_DIR": str(tmp_path / "landing"),
        "DAGSTER_HOME": str(write_dagster_home(tmp_path / "home", tmp_path / "dagster")),
    }
    env.pop("DAGSTER_PG_URL", None)
    done = materialize(
        ["--select", "*twap_status", "--partition-range", "2025-06-01...2025-06-04"], env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("RUN_SUCCESS") == 1
    days = db.execute(
        "SELECT partition_date::text, count(*) FROM twap_status GROUP BY 1 ORDER BY 1"
    ).fetchall()
    expected = events.filter(events["day"].cast(str) <= "2025-06-04").group_by("day").len()
    assert days == sorted((d.isoformat(), n) for d, n in expected.iter_rows())

    done = materialize(["--select", "*twap_orders", "--partition", "2025-06-05"], env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        db.execute(
            "SELECT count(*) FROM twap_status WHERE partition_date = '2025-06-05'"
        ).fetchone()[0]
        == events.filter(events["day"].cast(str) == "2025-06-05").height
    )
    assert db.execute("SELECT count(*) FROM twap_orders").fetchone()[0] > 0


def test_concurrent_first_runs_after_the_instance_is_initialised(
    source_tree, events, database_url, db, tmp_path
):
    """Three runs started at once on a new SQLite home all succeed once `dagster instance
    migrate` has created Dagster's schema (what compose and the demo do before any run)."""
    home = write_dagster_home(tmp_path / "home", tmp_path / "dagster")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TWAP_SOURCE_DIR": str(source_tree),
        "AWS_S3_PREFIX": PREFIX,
        "TWAP_LANDING_DIR": str(tmp_path / "landing"),
        "DAGSTER_HOME": str(home),
    }
    env.pop("DAGSTER_PG_URL", None)
    subprocess.run([DAGSTER, "instance", "migrate"], env=env, check=True, capture_output=True)
    command = [DAGSTER, "asset", "materialize", "-m", "twap_pipeline.definitions"]
    runs = [
        subprocess.Popen(
            [*command, "--select", "twap_status", "--partition", day],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in ("2025-06-01", "2025-06-02", "2025-06-03")
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    loaded = db.execute("SELECT count(DISTINCT partition_date) FROM twap_status").fetchone()
    assert loaded == (3,)
