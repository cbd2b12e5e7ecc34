"""``twap demo``: the whole product on one machine with nothing but Python.

Generates three weeks of sample TWAP files ending yesterday (UTC), and the slice fills that add
up to them, with the seeded generators; loads each day through Dagster's daily job and fills job
into PostgreSQL (``DATABASE_URL``, or an embedded server), prints what it loaded, then serves
the API and the Dagster UI (webserver + daemon) until Ctrl-C. The partitions of both assets
start at the sample's first day, so the UI shows every partition loaded and every check green.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import yaml

from twap_pipeline.embedded_postgres import ensure_database, start_embedded
from twap_pipeline.instance import write_dagster_home
from twap_pipeline.jobs import twap_daily_job, twap_fills_job
from twap_pipeline.sample_fills import FILLS_PREFIX

PREFIX = "raw/twap_statuses/"
SAMPLE = {"days": 21, "twaps_per_day": 800, "seed": 2025, "wallets": 150}
STOP_GRACE_SECONDS = 15
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class DemoError(RuntimeError):
    """A problem the user can fix; the message says how."""


@dataclass(frozen=True)
class DemoHome:
    """Everything the demo keeps, under one git-ignored folder."""

    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def fills_source(self) -> Path:
        return self.root / "fills"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def prepare(self) -> None:
        probe = self.root / ".write-test"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise DemoError(
                f"cannot write to {self.root} ({exc.strerror}): pass --home with a writable folder"
            ) from exc
        write_dagster_home(self.dagster_home, self.root / "dagster_storage")
        (self.root / "workspace.yaml").write_text(
            yaml.safe_dump({"load_from": [{"python_module": "twap_pipeline.definitions"}]})
        )

    def environment(self, database_url: str) -> dict[str, str]:
        """What the pipeline, the Dagster processes and the API read."""
        first_day = sample_days()[0].isoformat()
        return {
            "DATABASE_URL": database_url,
            "TWAP_SOURCE_DIR": str(self.source),
            "AWS_S3_PREFIX": PREFIX,
            "TWAP_LANDING_DIR": str(self.landing),
            "TWAP_FILLS_SOURCE_DIR": str(self.fills_source),
            "TWAP_FILLS_PREFIX": FILLS_PREFIX,
            "TWAP_START_DATE": first_day,
            "TWAP_FILLS_START_DATE": first_day,
            "TWAP_PARTITION_TODAY": "false",
            "DAGSTER_HOME": str(self.dagster_home),
        }


def sample_days(today: date | None = None) -> list[date]:
    """The sample's days: the ``SAMPLE["days"]`` days that end yesterday (UTC)."""
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=SAMPLE["days"])
    return [first + timedelta(days=n) for n in range(SAMPLE["days"])]


def database_url(home: DemoHome, say: Callable[[str], None]) -> str:
    if os.environ.get("DATABASE_URL"):
        say("database: DATABASE_URL")
        return os.environ["DATABASE_URL"]
    say(f"database: embedded PostgreSQL in {home.pgdata}")
    return ensure_database(start_embedded(home.pgdata), "twap")


def write_sample(home: DemoHome, say: Callable[[str], None]) -> None:
    """Generate the sample files (statuses, and their fills within the sample's days) once; a
    later demo reuses them."""
    wanted = {**SAMPLE, "start": sample_days()[0].isoformat(), "fills": True}
    marker = home.source / "sample.json"
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        say(f"sample files: reusing {home.source} and {home.fills_source}")
        return
    import polars as pl

    from twap_pipeline import sample, sample_fills

    for folder in (home.source, home.fills_source):
        if folder.exists():
            shutil.rmtree(folder)
    events = sample.generate_events(
        sample_days()[0], SAMPLE["days"], SAMPLE["twaps_per_day"],
        seed=SAMPLE["seed"], wallets=SAMPLE["wallets"],
    )  # fmt: skip
    dataset = sample.write_dataset(home.source, PREFIX, events)
    fills = sample_fills.generate_fills(events, wallets=SAMPLE["wallets"])
    fills = fills.filter(pl.col("day").is_in(sample_days()))
    fill_files = sample_fills.write_fills(home.fills_source, FILLS_PREFIX, fills)
    marker.write_text(json.dumps(wanted))
    say(f"sample files: {len(dataset.files)} written to {home.source} ({events.height:,} events)")
    say(
        f"sample fills: {len(fill_files)} written to {home.fills_source} "
        f"({fills.filter(pl.col('twapId').is_not_null()).height:,} TWAP fills)"
    )


@dataclass(frozen=True)
class DemoLoad:
    """One asset the demo loads day by day: the job that loads it, what its rows are, and the
    query of the days it has loaded."""

    asset: str
    job: str
    rows: str
    loaded_days: str


LOADS = (
    DemoLoad("twap_status", twap_daily_job.name, "events",
             "SELECT partition_date FROM twap_status_days"),
    DemoLoad("twap_fills", twap_fills_job.name, "fills",
             "SELECT partition_date FROM twap_fills_days"),
)  # fmt: skip


def loaded_days(url: str) -> dict[str, set[date]]:
    """The days each asset has loaded (none before the schema exists)."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('twap_fills_days')").fetchone() == (None,):
            return {step.asset: set() for step in LOADS}
        return {
            step.asset: {row[0] for row in conn.execute(step.loaded_days).fetchall()}
            for step in LOADS
        }


def load(home: DemoHome, url: str, say: Callable[[str], None]) -> None:
    """Run the daily job, then the fills job, for every sample day either has not loaded yet,
    with a line for each. The code location reads the demo's environment (``run_demo`` sets it
    before this import)."""
    from dagster import DagsterInstance

    from twap_pipeline.definitions import defs

    done = loaded_days(url)
    todo = [d for d in sample_days() if any(d not in days for days in done.values())]
    if not todo:
        say(f"load: all {len(sample_days())} days already loaded")
        return
    with DagsterInstance.from_config(str(home.dagster_home)) as instance:
        for n, day in enumerate(todo, 1):
            started = time.perf_counter()
            loaded = []
            for step in LOADS:
                if day in done[step.asset]:
                    continue
                result = defs.resolve_job_def(step.job).execute_in_process(
                    partition_key=day.isoformat(), instance=instance, raise_on_error=False,
                    run_config=QUIET,
                )  # fmt: skip
                if not result.success:
                    raise DemoError(
                        f"loading {step.asset} of {day} failed: see run {result.run_id} in the "
                        "Dagster UI"
                    )
                metadata = result.asset_materializations_for_node(step.asset)[0].metadata
                loaded.append(f"{metadata['rows_loaded'].value:>6,} {step.rows}")
            seconds = time.perf_counter() - started
            say(f"load [{n:>2}/{len(todo)}] {day}: {', '.join(loaded)} ({seconds:.1f} s)")


SUMMARY = """
SELECT
    (SELECT count(DISTINCT partition_date) FROM twap_status),
    (SELECT min(partition_date)::text FROM twap_status),
    (SELECT max(partition_date)::text FROM twap_status),
    (SELECT count(*) FROM twap_status),
    (SELECT count(*) FROM twap_orders),
    (SELECT count(DISTINCT wallet) FROM twap_orders),
    (SELECT wallet FROM twap_orders GROUP BY wallet ORDER BY count(*) DESC, wallet LIMIT 1),
    (SELECT twap_id FROM twap_orders WHERE status = 'finished'
        ORDER BY fill_count > 0 DESC, twap_id DESC LIMIT 1),
    (SELECT count(*) FROM twap_fills)
"""


def summary(url: str, api_port: int | None) -> list[str]:
    """What is loaded, and (when ``api_port`` is being served) requests to try."""
    with psycopg.connect(url) as conn:
        row = conn.execute(SUMMARY).fetchone()
    assert row is not None  # scalar subqueries: always one row
    days, first, last, events, twaps, wallets, heavy, twap_id, fills = row
    loaded = (
        f"loaded: {days} days ({first} .. {last}), {events:,} events, {twaps:,} TWAPs, "
        f"{wallets:,} wallets, {fills:,} fills"
    )
    if api_port is None:
        return [loaded]
    api = f"http://127.0.0.1:{api_port}"
    return [
        loaded,
        "try:",
        f"  curl '{api}/api/v1/twaps?wallet={heavy}&limit=5'",
        f"  curl '{api}/api/v1/twaps?wallet={heavy}&start={first}&end={last}"
        "&latest_per_twap=false&limit=2'",
        f"  curl '{api}/api/v1/twaps/{twap_id}'",
        f"  curl '{api}/api/v1/twaps/{twap_id}/fills'",
        f"  curl '{api}/api/v1/export?wallet={heavy}&format=koinly'",
        f"  curl '{api}/api/v1/coverage'",
        f"  curl '{api}/healthz'",
    ]


def ensure_port_free(port: int, flag: str) -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise DemoError(
                f"port {port} is in use (another twap demo, or another server): "
                f"stop it or pass {flag} with a free port"
            ) from exc


def _default_signals() -> None:
    """In the child: take Ctrl-C/SIGTERM normally even if the demo's own shell ignored them
    (dagster copies an ignored SIGINT onto SIGTERM and would then never stop)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def serve(home: DemoHome, env: dict[str, str], api_port: int, ui_port: int, say) -> None:
    """Run the API, the Dagster webserver and daemon until Ctrl-C or SIGTERM, then stop them."""
    ensure_port_free(api_port, "--api-port")
    ensure_port_free(ui_port, "--ui-port")
    bin_dir = Path(sys.executable).parent
    workspace = str(home.root / "workspace.yaml")
    commands = {
        "api": [sys.executable, "-m", "twap_pipeline.cli", "api"],
        "dagster-webserver": [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1",
                              "-p", str(ui_port), "-w", workspace],
        "dagster-daemon": [str(bin_dir / "dagster-daemon"), "run", "-w", workspace],
    }  # fmt: skip
    children: dict[str, subprocess.Popen] = {}
    api_env = {"API_HOST": "127.0.0.1", "API_PORT": str(api_port)}

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    # Ctrl-C must stop the demo even when its shell started it with SIGINT ignored.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen(
                command, env={**os.environ, **env, **api_env}, cwd=home.root,
                start_new_session=True, preexec_fn=_default_signals,
            )  # fmt: skip
        say(f"API:        http://127.0.0.1:{api_port}/docs")
        say(f"Dagster UI: http://127.0.0.1:{ui_port}  (sensor and schedule run in the daemon)")
        say("Ctrl-C stops everything.")
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    raise DemoError(f"{name} exited with code {child.returncode}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping ...")
    finally:
        _stop_all(children.values())
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _stop_all(children) -> None:
    """SIGTERM each child's whole process group (runs launched by the daemon included), then
    SIGKILL what is still there after the grace period."""
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def run_demo(home_dir: Path, no_serve: bool, api_port: int, ui_port: int, say=print) -> None:
    home = DemoHome(home_dir.resolve())
    home.prepare()
    if not no_serve:
        ensure_port_free(api_port, "--api-port")
        ensure_port_free(ui_port, "--ui-port")
    url = database_url(home, say)
    # The demo's own runs must land in the same Dagster storage the served processes read.
    os.environ.update(home.environment(url))
    write_sample(home, say)
    load(home, url, say)
    for line in summary(url, None if no_serve else api_port):
        say(line)
    if not no_serve:
        serve(home, home.environment(url), api_port, ui_port, say)
    say("stopped")
