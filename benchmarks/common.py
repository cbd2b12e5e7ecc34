"""Shared by the benchmarks: a scratch database, generated source files, and timing."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg

from twap_pipeline import sample
from twap_pipeline.db.schema import upgrade
from twap_pipeline.instance import write_dagster_home

PREFIX = "raw/twap_statuses/"
FIRST_DAY = date(2025, 3, 1)
REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Source:
    root: Path
    days: list[date]
    events: int


def admin_url() -> str:
    return os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database(prefix: str, keep: bool = False):
    """A new empty database (dropped afterwards unless ``keep``); yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(admin_url(), dbname=name)
    try:
        yield url
    finally:
        if not keep:
            with psycopg.connect(admin_url(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def data_arguments(description: str) -> argparse.ArgumentParser:
    """The command line both benchmarks share: how much data, and where its files are kept."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--twaps-per-day", type=int, default=6000)
    parser.add_argument("--data-dir", type=Path, default=Path(".twap/bench/source"))
    return parser


# The archives each benchmark case loads: one or two parquet files a day in every parquet
# encoding (the case earlier rounds measured), 24 parquet files a day (Artemis' hourly layout),
# and the node's LZ4 JSON lines (24 files a day, one block a line).
CASES = {
    "daily": [
        sample.Style("daily", "strings"),
        sample.Style("hive_date", "struct"),
        sample.Style("compact", "floats"),
        sample.Style("daily", "timestamp"),
        sample.Style("hive_date", "error_column"),
        sample.Style("daily", "mixed_case"),
    ],
    "hourly": [sample.Style("artemis_hourly", "strings")],
    "lz4": [sample.Style("node_blocks_lz4", "node")],
}


def generate(
    root: Path, days: int, twaps_per_day: int, case: str = "daily", empty_blocks: int = 10
) -> Source:
    """Generated archives of ``case`` for ``days`` days; reused when already there."""
    root = root / case
    marker = root / f"generated-{days}x{twaps_per_day}-{empty_blocks}"
    if not marker.exists():
        events = sample.generate_events(FIRST_DAY, days, twaps_per_day, seed=1, wallets=2000)
        styles = CASES[case]
        day_styles = {day: styles[day.toordinal() % len(styles)] for day in events["day"].unique()}
        sample.write_dataset(root, PREFIX, events, day_styles, empty_blocks=empty_blocks)
        marker.write_text(str(events.height))
    return Source(root, [FIRST_DAY + timedelta(n) for n in range(days)], int(marker.read_text()))


def pipeline_env(source: Source, url: str, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "TWAP_SOURCE_DIR": str(source.root),
        "AWS_S3_PREFIX": PREFIX,
        "TWAP_LANDING_DIR": str(work / "landing"),
        "DAGSTER_HOME": str(write_dagster_home(work / "dagster_home", work / "dagster")),
    }


def timed(command: list[str], env: dict[str, str], cwd: Path = REPO) -> float:
    """Wall-clock seconds of a whole process, start-up included; raises if it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{done.stderr[-4000:]}")
    return elapsed


def apply_schema(url: str) -> None:
    upgrade(url)
