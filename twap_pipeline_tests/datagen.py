"""Seeded generator of TWAP status files shaped like the data contract.

Every TWAP is created at a random time of its day, emits ``activated`` and then one terminal
event (``finished`` after its full duration, ``terminated`` or an error earlier), which may
land in a later day's file. Wallets are heavy-tailed (Zipf-like: one market maker holds a
large share), and files rotate through every layout and column variant of the contract.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

COINS = {
    "BTC": 97000,
    "ETH": 3600,
    "HYPE": 24,
    "SOL": 180,
    "@107": 25,
    "@142": 1.2,
    "xyz:NVDA": 180,
    "kPEPE": 0.012,
}
MINUTES = [5, 10, 15, 30, 60, 120, 240, 600, 1440]
MINUTE_WEIGHTS = [20, 20, 15, 15, 10, 8, 5, 4, 3]
ERRORS = [
    "Insufficient margin to place order.",
    "Reduce only order would increase position.",
    "Order price cannot be more than 80% away from the reference price",
]
# (layout, variant) per day, cycled: together they cover every variant of the contract.
FILE_STYLES = [
    ("iso", "strings"),
    ("hive", "struct"),
    ("compact", "floats"),
    ("iso", "timestamp"),
    ("hive", "error_column"),
    ("iso", "mixed_case"),
]
CANONICAL_COLUMNS = [
    "time",
    "twap_id",
    "state_coin",
    "state_user",
    "state_side",
    "state_sz",
    "state_executedSz",
    "state_executedNtl",
    "state_minutes",
    "state_reduceOnly",
    "state_randomize",
    "state_timestamp",
    "status",
    "error",
]


@dataclass
class Dataset:
    """Canonical events (one row per event, decimals as exact strings) and the files written."""

    events: pl.DataFrame
    files: dict[str, date]


def _address(rng: random.Random) -> str:
    return "0x" + f"{rng.getrandbits(160):040x}"


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def generate_events(
    start: date, days: int, twaps_per_day: int = 300, seed: int = 7, wallets: int = 200
) -> pl.DataFrame:
    """Events of TWAPs created over ``days`` days from ``start``; terminal events after the
    last day are not emitted (those TWAPs are still running)."""
    rng = random.Random(seed)
    pool = [_address(rng) for _ in range(wallets)]
    weights = [1 / (rank + 1) ** 1.2 for rank in range(wallets)]
    horizon = datetime.combine(start + timedelta(days=days), datetime.min.time(), UTC)
    coins = list(COINS)
    rows: list[tuple] = []
    twap_id = 1_400_000
    for offset in range(days):
        day_start = datetime.combine(start + timedelta(days=offset), datetime.min.time(), UTC)
        creations = sorted(rng.randrange(86_400_000) for _ in range(twaps_per_day))
        owners = rng.choices(pool, weights=weights, k=twaps_per_day)
        for created_ms, wallet in zip(creations, owners, strict=True):
            twap_id += rng.randint(1, 3)
            created = day_start + timedelta(milliseconds=created_ms)
            coin = rng.choice(coins)
            minutes = rng.choices(MINUTES, MINUTE_WEIGHTS)[0]
            scale = rng.choice([0, 1, 2, 3, 4])
            size = Decimal(rng.randint(1, 2_000_000)) / Decimal(10) ** scale
            price = Decimal(str(COINS[coin])) * Decimal(rng.randint(900, 1100)) / 1000
            common = (
                twap_id,
                coin,
                wallet,
                rng.choice("BA"),
                _decimal_text(size),
                minutes,
                rng.random() < 0.15,
                rng.random() < 0.3,
                int(created.timestamp() * 1000),
            )
            activated = created + timedelta(microseconds=rng.randint(50_000, 900_000))
            rows.append((activated, rng.randint(0, 999), *common, "activated", None, "0.0", "0.0"))
            roll = rng.random()
            if roll < 0.7:
                status, end = "finished", created + timedelta(minutes=minutes, seconds=2)
                executed = size
            else:
                status = "terminated" if roll < 0.93 else "error"
                end = created + timedelta(seconds=rng.uniform(1, minutes * 60))
                executed = (size * Decimal(rng.randint(0, 100)) / 100).quantize(
                    Decimal(1).scaleb(-scale)
                )
            if end >= horizon:
                continue
            notional = (executed * price).quantize(Decimal("0.000001"))
            error = rng.choice(ERRORS) if status == "error" else None
            rows.append(
                (
                    end,
                    rng.randint(0, 999),
                    *common,
                    status,
                    error,
                    _decimal_text(executed),
                    _decimal_text(notional),
                )
            )
    return _canonical_frame(rows)


def _canonical_frame(rows: list[tuple]) -> pl.DataFrame:
    columns = {name: [] for name in CANONICAL_COLUMNS}
    for (
        when,
        nanos,
        tid,
        coin,
        user,
        side,
        sz,
        minutes,
        reduce_only,
        randomize,
        created_ms,
        status,
        error,
        executed,
        notional,
    ) in rows:
        columns["time"].append(when.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{nanos:03d}")
        for name, value in (
            ("twap_id", tid),
            ("state_coin", coin),
            ("state_user", user),
            ("state_side", side),
            ("state_sz", sz),
            ("state_executedSz", executed),
            ("state_executedNtl", notional),
            ("state_minutes", minutes),
            ("state_reduceOnly", reduce_only),
            ("state_randomize", randomize),
            ("state_timestamp", created_ms),
            ("status", status),
            ("error", error),
        ):
            columns[name].append(value)
    frame = pl.DataFrame(columns, schema_overrides={"error": pl.String, "state_minutes": pl.Int64})
    return frame.with_columns(day=pl.col("time").str.slice(0, 10).str.to_date()).sort("time")


def style_for(day: date) -> tuple[str, str]:
    return FILE_STYLES[day.toordinal() % len(FILE_STYLES)]


def object_keys(prefix: str, day: date, layout: str) -> list[str]:
    """Object keys of one day in a layout; the hive layout splits a day into two parts."""
    if layout == "iso":
        return [f"{prefix}{day.isoformat()}.parquet"]
    if layout == "hive":
        return [f"{prefix}date={day.isoformat()}/part-{n}.parquet" for n in (0, 1)]
    return [f"{prefix}twap_statuses_{day.strftime('%Y%m%d')}.parquet"]


def to_source_frame(events: pl.DataFrame, variant: str) -> pl.DataFrame:
    """The canonical events as one file variant of the contract would hold them."""
    frame = events.drop("day")
    is_error = pl.col("status") == "error"
    if variant == "error_column":
        frame = frame.rename({"error": "description"})
    else:
        error_json = pl.format(
            '{{"error": {}}}', pl.col("error").map_elements(json.dumps, return_dtype=pl.String)
        )
        frame = frame.with_columns(
            status=pl.when(is_error).then(error_json).otherwise(pl.col("status"))
        ).drop("error")
    if variant == "floats":
        frame = frame.with_columns(
            pl.col("state_sz", "state_executedSz", "state_executedNtl").cast(pl.Float64)
        )
    if variant == "timestamp":
        frame = frame.with_columns(pl.col("time").str.to_datetime(time_unit="ns"))
    if variant == "mixed_case":
        frame = frame.with_columns(
            state_user=pl.lit("0x") + pl.col("state_user").str.slice(2).str.to_uppercase(),
            time=pl.col("time") + "Z",
        )
    if variant == "struct":
        state = [c for c in frame.columns if c.startswith("state_")]
        frame = frame.select(
            "time",
            "twap_id",
            pl.struct([pl.col(c).alias(c.removeprefix("state_")) for c in state]).alias("state"),
            "status",
        )
    return frame


def write_dataset(
    root: Path, prefix: str, events: pl.DataFrame, styles: dict[date, tuple[str, str]] | None = None
) -> Dataset:
    """Write one file (two for the hive layout) per day of ``events`` under ``root/prefix``."""
    files: dict[str, date] = {}
    for (day,), day_events in events.group_by("day", maintain_order=True):
        layout, variant = (styles or {}).get(day) or style_for(day)
        source = to_source_frame(day_events, variant)
        keys = object_keys(prefix, day, layout)
        bounds = [0, source.height // 2, source.height] if len(keys) == 2 else [0, source.height]
        for key, lo, hi in zip(keys, bounds, bounds[1:], strict=False):
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            source.slice(lo, hi - lo).write_parquet(path)
            files[key] = day
    return Dataset(events=events, files=files)
