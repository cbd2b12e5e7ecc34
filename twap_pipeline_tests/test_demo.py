"""`twap demo` says what to do when it cannot run. (Its happy path runs in .ci/run, in a fresh
virtual environment with DATABASE_URL unset, as a newcomer would run it.)"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from twap_pipeline.cli import main
from twap_pipeline.demo import DemoHome, sample_days, summary
from twap_pipeline.embedded_postgres import EmbeddedPostgresError, start_embedded


def test_port_in_use_is_named(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["demo", "--home", str(tmp_path / "home"), "--api-port", str(port)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"port {port} is in use" in err and "--api-port" in err


def test_unwritable_home_is_named(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = main(["demo", "--no-serve", "--home", str(blocker / "home")])
    assert code == 1
    err = capsys.readouterr().err
    assert f"cannot write to {blocker / 'home'}" in err and "--home" in err


def test_embedded_server_failure_says_what_to_do(tmp_path: Path):
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("9\n")  # a data directory of another major version
    with pytest.raises(EmbeddedPostgresError) as caught:
        start_embedded(pgdata)
    assert "Set DATABASE_URL" in str(caught.value)
    assert f"remove {pgdata}" in str(caught.value)


def test_summary_lists_what_was_loaded(database_url, db, source_tree, landing):
    from twap_pipeline.resources import TwapSource
    from twap_pipeline_tests.conftest import FIRST_DAY, PREFIX, run_pipeline

    source = TwapSource(source_dir=str(source_tree), prefix=PREFIX)
    assert run_pipeline(source, landing, database_url, FIRST_DAY).success
    lines = summary(database_url, 8123)
    events = db.execute("SELECT count(*) FROM twap_status").fetchone()[0]
    assert lines[0].startswith(f"loaded: 1 days ({FIRST_DAY} .. {FIRST_DAY}), {events:,} events")
    assert all("http://127.0.0.1:8123/" in line for line in lines[2:])


def test_home_layout_is_git_ignored_and_complete(tmp_path):
    home = DemoHome(tmp_path / "demo")
    home.prepare()
    assert (home.dagster_home / "dagster.yaml").exists()
    assert (home.root / "workspace.yaml").exists()
    env = home.environment("postgresql://x")
    assert env["TWAP_START_DATE"] == sample_days()[0].isoformat()
    ignored = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().split()
    assert ".twap/" in ignored
