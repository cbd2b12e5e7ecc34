"""Fills benchmark: scanning days of the exchange's fills for TWAP slice fills, against the
floor of only decompressing the same files, measured in the same run; then the export of the
heaviest wallet's year.

    python -m benchmarks.fills [--days 1] [--twaps-per-day 30000] [--noise-blocks 10]
        [--rounds 3]

Each measurement runs in a process of its own (warmed on one file first, as a loader that has
run a while is), which reports its time and its peak memory (VmHWM). With the defaults a day
is ~2 GB of JSON lines (~500 MB of LZ4) in which about 2% of the fills are TWAP slices; the
files are generated once under .twap/bench/fills.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import psycopg

from benchmarks.common import BIN, REPO, scratch_database
from twap_pipeline import sample, sample_fills
from twap_pipeline.instance import write_dagster_home

FIRST_DAY = date(2025, 8, 1)
PREFIX = sample_fills.FILLS_PREFIX

# Child processes: each prints {"seconds", "maxrss_mb", ...} as JSON. A child's peak memory is
# read from its own address space (VmHWM): the ru_maxrss of a process forked from a large
# parent (this one, after generating the files) starts at the parent's size.
PEAK_MB = """
def peak_mb():
    with open("/proc/self/status") as status:
        return int(status.read().split("VmHWM:")[1].split()[0]) / 1024
"""
FLOOR = (
    PEAK_MB
    + """
import json, sys, time, lz4.frame
from twap_pipeline.formats.fills import CHUNK_BYTES
def decompress(path):
    size = 0
    with lz4.frame.open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            size += len(chunk)
    return size
decompress(sys.argv[1])  # warm, as a loader that has run a while is
started = time.perf_counter(); size = 0
for path in sys.argv[1:]:
    size += decompress(path)
print(json.dumps({"seconds": time.perf_counter() - started, "bytes": size,
    "maxrss_mb": peak_mb()}))
"""
)
SCAN = (
    PEAK_MB
    + """
import json, sys, time
from datetime import date
from pathlib import Path
from twap_pipeline.formats.fills import read_fills_files
day = date.fromisoformat(sys.argv[1])
files = [(Path(p), p) for p in sys.argv[2:]]
read_fills_files(files[:1], day)  # warm, as a loader that has run a while is
started = time.perf_counter()
rows = read_fills_files(files, day).rows
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows.height,
    "maxrss_mb": peak_mb()}))
"""
)
EXPORT = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True)
print(json.dumps({"seconds": time.perf_counter() - started,
    "maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def child(code: str, *args: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def generate(root: Path, days: int, twaps_per_day: int, noise_blocks: int) -> tuple[Path, int]:
    """The fills archive (reused when there), and how many TWAP fills it holds."""
    root = root / f"{days}x{twaps_per_day}-{noise_blocks}"
    marker = root / "twap_fills"
    if not marker.exists():
        events = sample.generate_events(FIRST_DAY, days, twaps_per_day, seed=3, wallets=2000)
        fills = sample_fills.generate_fills(events, wallets=5000)
        fills = fills.filter(pl.col("day") < FIRST_DAY + timedelta(days=days))
        sample_fills.write_fills(root, PREFIX, fills, "node", noise_blocks)
        marker.write_text(str(fills.filter(pl.col("twapId").is_not_null()).height))
    return root, int(marker.read_text())


def day_files(root: Path, day: date) -> list[str]:
    folder = root / PREFIX / day.strftime("%Y%m%d")
    return [str(p) for p in sorted(folder.glob("*.lz4"), key=lambda p: int(p.name.split(".")[0]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--twaps-per-day", type=int, default=30000)
    parser.add_argument("--noise-blocks", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path(".twap/bench/fills"))
    args = parser.parse_args()
    root, twap_fills = generate(args.data_dir, args.days, args.twaps_per_day, args.noise_blocks)
    files = day_files(root, FIRST_DAY)
    compressed = sum(Path(f).stat().st_size for f in files)
    ratios, floors, scans = [], [], []
    for _ in range(args.rounds):
        floor = child(FLOOR, *files)
        scan = child(SCAN, FIRST_DAY.isoformat(), *files)
        floors.append(floor)
        scans.append(scan)
        ratios.append(scan["seconds"] / floor["seconds"])
    median = sorted(range(args.rounds), key=lambda i: ratios[i])[args.rounds // 2]
    floor, scan = floors[median], scans[median]
    print(
        f"day {FIRST_DAY}: {len(files)} files, {compressed / 1e6:,.0f} MB LZ4, "
        f"{floor['bytes'] / 1e6:,.0f} MB of JSON lines; {scan['rows']:,} TWAP fills "
        f"({twap_fills:,} in the archive)"
    )
    print(f"{'':24}{'seconds':>10}{'MB/s':>10}{'peak RSS MB':>14}")
    for name, result in (("decompress only (floor)", floor), ("scan for TWAP fills", scan)):
        rate = floor["bytes"] / 1e6 / result["seconds"]
        print(f"{name:24}{result['seconds']:>10.2f}{rate:>10.0f}{result['maxrss_mb']:>14.0f}")
    print(
        f"scan / floor: {ratios[median]:.2f}x (rounds {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}x; target <= 2x)"
    )
    export_year(root, args.days)


def export_year(root: Path, days: int) -> None:
    """Load the archive's TWAP fills, then export the heaviest wallet's year in each format."""
    last = FIRST_DAY + timedelta(days=days - 1)
    with tempfile.TemporaryDirectory() as tmp, scratch_database("twap_bench_fills") as url:
        work = Path(tmp)
        env = {
            "DATABASE_URL": url,
            "TWAP_FILLS_SOURCE_DIR": str(root),
            "TWAP_FILLS_START_DATE": FIRST_DAY.isoformat(),
            "TWAP_START_DATE": FIRST_DAY.isoformat(),
            "TWAP_LANDING_DIR": str(work / "landing"),
            "DAGSTER_HOME": str(write_dagster_home(work / "home", work / "dagster")),
        }
        full_env = {**os.environ, **env}
        subprocess.run(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "twap_pipeline.definitions",
             "--select", "twap_fills", "--partition-range", f"{FIRST_DAY}...{last}"],
            check=True, capture_output=True, env=full_env, cwd=REPO,
        )  # fmt: skip
        with psycopg.connect(url) as conn:
            wallet, count = conn.execute(
                "SELECT wallet, count(*) FROM twap_fills GROUP BY wallet ORDER BY 2 DESC LIMIT 1"
            ).fetchone()  # type: ignore[misc]
        print(f"\nexport of the heaviest wallet's year ({count:,} fills):")
        print(f"{'format':14}{'seconds':>10}{'fills/s':>10}{'peak RSS MB':>14}{'MB written':>12}")
        for format_name in ("csv", "koinly", "awaken"):
            out = work / f"{format_name}.csv"
            result = child(
                EXPORT, str(BIN / "twap"), "export", "--wallet", wallet, "--year",
                str(FIRST_DAY.year), "--format", format_name, "--output", str(out),
                env=full_env,
            )  # fmt: skip
            print(
                f"{format_name:14}{result['seconds']:>10.2f}{count / result['seconds']:>10,.0f}"
                f"{result['maxrss_mb']:>14.0f}{out.stat().st_size / 1e6:>12.1f}"
            )


if __name__ == "__main__":
    main()
