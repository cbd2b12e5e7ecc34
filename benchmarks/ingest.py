"""Ingest benchmark: the pipeline loading a partition range end to end, against the floor of
raw COPY of the same rows into an identical table, measured in the same run.

    python -m benchmarks.ingest [--days 60] [--twaps-per-day 6000]

Uses DATABASE_URL's server (default the local one) and creates scratch databases there.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import polars as pl
import psycopg
from dagster import AssetKey, DagsterInstance

from benchmarks.common import (
    BIN,
    REPO,
    Source,
    apply_schema,
    generate,
    pipeline_env,
    scratch_database,
    timed,
)
from twap_pipeline.loading import CSV_TIME
from twap_pipeline.parsing import TABLE_COLUMNS, parse_file
from twap_pipeline.partitions import date_from_key

MATERIALIZE = [str(BIN / "dagster"), "asset", "materialize", "-m", "twap_pipeline.definitions"]


def pipeline_range(source: Source, url: str, work: Path) -> float:
    """(a) one `dagster asset materialize --partition-range` process into an empty table."""
    days = f"{source.days[0]}...{source.days[-1]}"
    env = pipeline_env(source, url, work)
    return timed([*MATERIALIZE, "--select", "*twap_status", "--partition-range", days], env)


def single_day(source: Source, url: str, work: Path) -> float:
    """The daily case: one `--partition` run of the whole chain, twap_status and twap_orders."""
    env = pipeline_env(source, url, work)
    day = source.days[-1].isoformat()
    return timed([*MATERIALIZE, "--select", "*twap_orders", "--partition", day], env)


def flatten_to_csv(source: Source, path: Path) -> int:
    """The same rows the pipeline loads, already flattened to CSV (not timed)."""
    frames = []
    for file in sorted(source.root.rglob("*.parquet")):
        key = file.relative_to(source.root).as_posix()
        frames.append(parse_file(file, key, date_from_key(key)))
    events = pl.concat(frames)
    events.write_csv(path, include_header=False, datetime_format=CSV_TIME)
    return events.height


def floor_copy(url: str, csv: Path) -> float:
    """(b) psql \\copy of the CSV into an identical empty table with the same indexes."""
    apply_schema(url)
    params = psycopg.conninfo.conninfo_to_dict(url)
    copy = f"\\copy twap_status ({', '.join(TABLE_COLUMNS)}) FROM '{csv}' (FORMAT csv)"
    target = ["-d", url]
    if str(params.get("host", "")).startswith("/"):  # a Unix socket directory
        target = [
            "-h",
            params["host"],
            "-U",
            params.get("user", "postgres"),
            "-d",
            params["dbname"],
        ]
    return timed(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *target, "-c", copy], {})


def dagster_instance(work: Path) -> DagsterInstance:
    """The instance the CLI runs record into (repo dagster.yaml, SQLite under ``work``)."""
    os.environ["TWAP_DAGSTER_STORAGE_DIR"] = str(work / "dagster")
    return DagsterInstance.from_config(str(REPO))


def where_time_went(work: Path, total: float) -> dict[str, float]:
    """The latest run's steps and twap_status phases, from Dagster's own records."""
    with dagster_instance(work) as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
        stats = instance.get_run_stats(run_id)
        steps = {s.step_key: s.end_time - s.start_time
                 for s in instance.get_run_step_stats(run_id)}  # fmt: skip
        event = instance.get_latest_materialization_event(AssetKey("twap_status"))
    phases = event.asset_materialization.metadata["seconds"].value
    run = stats.end_time - stats.start_time
    return {
        "process start, load definitions, exit": total - run,
        "run (start to end)": run,
        **{f"  step {k}": v for k, v in steps.items()},
        **{f"    twap_status {k}": v for k, v in phases.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--twaps-per-day", type=int, default=6000)
    parser.add_argument("--data-dir", type=Path, default=Path(".twap/bench/source"))
    args = parser.parse_args()
    source = generate(args.data_dir, args.days, args.twaps_per_day)
    print(f"data: {args.days} days x {args.twaps_per_day} TWAPs/day = {source.events:,} events")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv = work / "events.csv"
        assert flatten_to_csv(source, csv) == source.events
        with scratch_database("twap_bench_floor") as url:
            floor = floor_copy(url, csv)
        # Dagster's own storage is created once per deployment, not per load: do it untimed.
        dagster_instance(work).dispose()
        with scratch_database("twap_bench_pipeline") as url:
            pipeline = pipeline_range(source, url, work)
            range_breakdown = where_time_went(work, pipeline)
            with psycopg.connect(url) as conn:
                loaded = conn.execute("SELECT count(*) FROM twap_status").fetchone()[0]
            assert loaded == source.events, (loaded, source.events)
            daily = single_day(source, url, work)
            daily_breakdown = where_time_went(work, daily)
    print(f"{'':28}{'seconds':>9}{'events/s':>12}")
    for label, seconds in (("floor: psql \\copy", floor), ("pipeline: range run", pipeline)):
        print(f"{label:28}{seconds:9.2f}{source.events / seconds:12,.0f}")
    print(f"ratio pipeline / floor: {pipeline / floor:.2f}x (target <= 1.5x)")
    runs = {
        f"range run, '*twap_status', {len(source.days)} days: {pipeline:.2f} s": range_breakdown,
        f"single-day run, '*twap_orders', {source.days[-1]}: {daily:.2f} s": daily_breakdown,
    }
    for title, breakdown in runs.items():
        print(f"\n{title}")
        for name, seconds in breakdown.items():
            print(f"  {name:44}{seconds:7.2f} s")


if __name__ == "__main__":
    main()
