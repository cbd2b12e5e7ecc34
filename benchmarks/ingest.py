"""Ingest benchmark: the pipeline loading a partition range end to end, against the floor of
raw COPY of the same rows into an identical table, measured in the same run.

    python -m benchmarks.ingest [--days 60] [--twaps-per-day 6000] [--rounds 3]
        [--cases daily,hourly,lz4] [--empty-blocks 10]

Uses DATABASE_URL's server (default the local one) and creates scratch databases there; its
user must be allowed to CHECKPOINT. Absolute times drift on shared machines, so the floor and
the pipeline alternate for ``--rounds`` rounds and the median ratio is the result.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import psycopg
from dagster import AssetKey, DagsterInstance

from benchmarks.common import (
    BIN,
    CASES,
    Source,
    admin_url,
    apply_schema,
    data_arguments,
    generate,
    pipeline_env,
    scratch_database,
    timed,
)
from twap_pipeline.formats import read_status_file
from twap_pipeline.formats.status import STATUS_COLUMNS
from twap_pipeline.instance import write_dagster_home
from twap_pipeline.keys import date_from_key
from twap_pipeline.loading.files import csv_rows

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
    for file in sorted(p for p in source.root.rglob("*") if p.is_file()):
        key = file.relative_to(source.root).as_posix()
        day = date_from_key(key)
        if day is not None:
            frames.append(read_status_file(file, key, day).rows)
    events = pl.concat(frames)
    path.write_bytes(csv_rows(events))
    return events.height


def floor_copy(url: str, csv: Path) -> float:
    """(b) psql \\copy of the CSV into an identical empty table with the same indexes."""
    apply_schema(url)
    params = psycopg.conninfo.conninfo_to_dict(url)
    copy = f"\\copy twap_status ({', '.join(STATUS_COLUMNS)}) FROM '{csv}' (FORMAT csv)"
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
    """The instance the CLI runs record into (SQLite under ``work``)."""
    return DagsterInstance.from_config(
        str(write_dagster_home(work / "dagster_home", work / "dagster"))
    )


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


def settle() -> None:
    """Start each timed load from the same state: nothing left for a checkpoint to flush."""
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def one_round(source: Source, csv: Path, work: Path) -> tuple[float, float, dict[str, float]]:
    """The floor, then the pipeline, each into a new database: (floor s, pipeline s, where the
    pipeline's time went)."""
    with scratch_database("twap_bench_floor") as url:
        settle()
        floor = floor_copy(url, csv)
    # Dagster's own storage is created once per deployment, not per load: do it untimed.
    dagster_instance(work).dispose()
    with scratch_database("twap_bench_pipeline") as url:
        settle()
        pipeline = pipeline_range(source, url, work)
        breakdown = where_time_went(work, pipeline)
        with psycopg.connect(url) as conn:
            loaded = conn.execute("SELECT count(*) FROM twap_status").fetchone()[0]
        assert loaded == source.events, (loaded, source.events)
    return floor, pipeline, breakdown


def report_case(case: str, source: Source, rounds: list[tuple[float, float, dict]]) -> None:
    print(f"\n{case}: {len(source.days)} days, {source.events:,} events")
    print(f"{'round':8}{'floor s':>9}{'pipeline s':>12}{'floor ev/s':>12}{'pipeline ev/s':>15}"
          f"{'ratio':>8}")  # fmt: skip
    for n, (floor, pipeline, _) in enumerate(rounds, 1):
        print(f"{n:<8}{floor:9.2f}{pipeline:12.2f}{source.events / floor:12,.0f}"
              f"{source.events / pipeline:15,.0f}{pipeline / floor:7.2f}x")  # fmt: skip
    floor, pipeline, breakdown = sorted(rounds, key=lambda r: r[1] / r[0])[len(rounds) // 2]
    print(f"median ratio pipeline / floor: {pipeline / floor:.2f}x")
    print(f"where the median round's {pipeline:.2f} s went:")
    for name, seconds in breakdown.items():
        print(f"  {name:44}{seconds:7.2f} s")


def main() -> None:
    parser = data_arguments(__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="floor/pipeline pairs, alternated")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}"
    )
    parser.add_argument(
        "--empty-blocks", type=int, default=10, help="empty blocks after each block (lz4 case)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            source = generate(args.data_dir, args.days, args.twaps_per_day, case, args.empty_blocks)
            csv = Path(tmp) / f"{case}.csv"
            assert flatten_to_csv(source, csv) == source.events
            rounds = [one_round(source, csv, Path(tmp) / f"{case}{n}") for n in range(args.rounds)]
            report_case(case, source, rounds)
            if case == "daily":
                work = Path(tmp) / "single-day"
                with scratch_database("twap_bench_daily") as url:
                    pipeline_range(source, url, work)
                    settle()
                    daily = single_day(source, url, work)
                    steps = where_time_went(work, daily)
                print(f"\nsingle-day run, '*twap_orders', {source.days[-1]}: {daily:.2f} s")
                for name, seconds in steps.items():
                    print(f"  {name:44}{seconds:7.2f} s")


if __name__ == "__main__":
    main()
