"""`twap demo` says what to do when it cannot run. (Its happy path runs in .ci/run, in a fresh
virtual environment with DATABASE_URL unset, as a newcomer would run it.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx2
import pytest

from twap_pipeline.cli import main
from twap_pipeline.demo import DemoHome, sample_days, summary
from twap_pipeline.embedded_postgres import EmbeddedPostgresError, start_embedded
from twap_pipeline_tests.servers import free_port


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
    from twap_pipeline.resources import LocalObjectSource
    from twap_pipeline_tests.support import FIRST_DAY, PREFIX, run_pipeline

    source = LocalObjectSource(directory=str(source_tree), prefix=PREFIX)
    assert run_pipeline(source, landing, database_url, FIRST_DAY).success
    lines = summary(database_url, 8123)
    events = db.execute("SELECT count(*) FROM twap_status").fetchone()[0]
    assert lines[0].startswith(f"loaded: 1 days ({FIRST_DAY} .. {FIRST_DAY}), {events:,} events")
    assert all("http://127.0.0.1:8123/" in line for line in lines[2:])
    assert summary(database_url, None) == lines[:1]  # nothing served: nothing to curl


def test_the_sample_ends_yesterday_and_the_partitions_start_with_it():
    days = sample_days(date(2026, 3, 1))
    assert days[-1] == date(2026, 2, 28)
    assert days == [days[0] + timedelta(days=n) for n in range(len(days))]
    assert len(days) == 21


def test_home_layout_is_git_ignored_and_complete(tmp_path):
    home = DemoHome(tmp_path / "demo")
    home.prepare()
    assert (home.dagster_home / "dagster.yaml").exists()
    assert (home.root / "workspace.yaml").exists()
    env = home.environment("postgresql://x")
    assert env["TWAP_START_DATE"] == sample_days()[0].isoformat()
    assert env["TWAP_FILLS_START_DATE"] == env["TWAP_START_DATE"]
    assert env["TWAP_FILLS_SOURCE_DIR"] == str(home.fills_source)
    ignored = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().split()
    assert ".twap/" in ignored


@pytest.mark.slow  # starts the demo's servers
def test_serve_runs_everything_and_ctrl_c_leaves_nothing_behind(tmp_path, database_url, db):
    """The whole demo as a user runs it: load, serve API and Dagster UI, then Ctrl-C."""
    home = tmp_path / "demo-home"
    api, ui = free_port(), free_port()
    demo = subprocess.Popen(
        [str(Path(sys.executable).with_name("twap")), "demo", "--home", str(home),
         "--api-port", str(api), "--ui-port", str(ui)],
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        health = webserver = None
        while time.monotonic() < deadline and not (health and webserver):
            assert demo.poll() is None, demo.stdout.read()
            try:
                health = httpx2.get(f"http://127.0.0.1:{api}/healthz", timeout=2).json()
                webserver = httpx2.get(f"http://127.0.0.1:{ui}/server_info", timeout=2).json()
            except (httpx2.TransportError, ValueError):
                time.sleep(1)
        assert health and health["status"] == "ok"
        assert "dagster_webserver_version" in webserver
        loaded = db.execute(
            "SELECT (SELECT count(*) FROM twap_status_days), (SELECT count(*) FROM twap_fills_days)"
        ).fetchone()
        assert loaded == (len(sample_days()), len(sample_days()))
    finally:
        demo.send_signal(signal.SIGINT)
        output = demo.communicate(timeout=60)[0]
    assert demo.returncode == 0, output
    assert "stopping ..." in output and "\nstopped" in output
    # Nothing the demo started is still running: the ports are closed, and no process (the
    # Dagster processes and their code servers name the home folder) is left.
    for port in (api, ui):
        with pytest.raises(httpx2.TransportError):
            httpx2.get(f"http://127.0.0.1:{port}/", timeout=2)
    leftovers = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout
