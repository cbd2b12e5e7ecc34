"""A seeded generator of TWAP status archives shaped like the real ones (docs/data.md): the demo
loads its output, the tests compare the tables with it, the benchmarks time it.

Every TWAP is created at a random time of its day and emits ``activated`` and then one terminal
event (``finished`` after its full duration, ``terminated`` or an error earlier), which may land
in a later day's files; trigger TWAPs first wait (``waitingForTrigger``) and activate later.
Wallets are heavy-tailed (one market maker holds a large share). Each day is written in one
:class:`Style`: a key layout (daily or hourly, parquet or the node's JSON lines) and an encoding
of the rows (every variant of the data contract).
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import lz4.frame
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
    "state_trigger_px",
    "state_trigger_above",
    "state_stopPx",
    "status",
    "error",
]
STATE_FIELDS = [c.removeprefix("state_") for c in CANONICAL_COLUMNS if c.startswith("state_")]


@dataclass(frozen=True)
class Style:
    """How one day is written: ``layout`` names the keys and the file format, ``encoding`` how
    the rows are encoded inside (parquet encodings for parquet layouts, JSON ones for the
    node's)."""

    layout: str
    encoding: str

    def __post_init__(self) -> None:
        layouts = PARQUET_LAYOUTS | JSON_LAYOUTS
        if self.layout not in layouts:
            raise ValueError(f"unknown layout {self.layout!r}: one of {', '.join(layouts)}")
        encodings = JSON_ENCODINGS if self.json else PARQUET_ENCODINGS
        if self.encoding not in encodings:
            raise ValueError(
                f"encoding {self.encoding!r} is not one of the {self.layout} layout's: "
                f"{', '.join(encodings)}"
            )

    @property
    def json(self) -> bool:
        return self.layout in JSON_LAYOUTS


PARQUET_LAYOUTS = {
    "daily": "one file a day: <prefix>YYYY-MM-DD.parquet",
    "hive_date": "two parts a day: <prefix>date=YYYY-MM-DD/part-N.parquet",
    "compact": "one file a day: <prefix>twap_statuses_YYYYMMDD.parquet",
    "artemis_hourly": "24 files a day: <prefix>hourly/YYYY/MM/DD/HH/part-0.parquet",
    "hive_hourly": "24 files a day: <prefix>year=YYYY/month=MM/day=DD/hour=HH/part-0.parquet",
    "coinapi_hourly": "24 files a day: <prefix>D-YYYYMMDDHH/E-HYPERLIQUIDL4/part-0.parquet",
}
JSON_LAYOUTS = {
    "node_hourly": "24 files a day: <prefix>hourly/YYYYMMDD/H, JSON lines, one event a line",
    "node_blocks_lz4": "24 files a day: <prefix>hourly/YYYYMMDD/H.lz4, LZ4 JSON lines, one "
    "block a line (most blocks empty)",
    "node_blocks_plain_lz4": "24 files a day: <prefix>hourly/YYYYMMDD/H (no extension), LZ4 "
    "content, one block a line",
}
PARQUET_ENCODINGS = (
    "strings",
    "struct",
    "floats",
    "timestamp",
    "error_column",
    "mixed_case",
    "ms_in_ns",
    "vendor",
)
JSON_ENCODINGS = ("node", "info_api")
# Cycled over the days: every layout and every encoding whose times survive to the
# microsecond (``ms_in_ns`` keeps milliseconds only, so it is written on request).
STYLES = [
    Style("daily", "strings"),
    Style("hive_date", "struct"),
    Style("compact", "floats"),
    Style("artemis_hourly", "timestamp"),
    Style("hive_hourly", "error_column"),
    Style("node_blocks_lz4", "node"),
    Style("daily", "mixed_case"),
    Style("coinapi_hourly", "strings"),
    Style("node_hourly", "info_api"),
    Style("hive_date", "vendor"),
    Style("node_blocks_plain_lz4", "node"),
]
# Styles whose decimals are exact text all the way (no float encoding on the way).
EXACT_STYLES = [s for s in STYLES if s.encoding != "floats"]
MS_IN_NS = Style("artemis_hourly", "ms_in_ns")


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
    start: date,
    days: int,
    twaps_per_day: int = 300,
    seed: int = 7,
    wallets: int = 200,
    trigger_share: float = 0.05,
) -> pl.DataFrame:
    """Events of TWAPs created over ``days`` days from ``start``; events after the last day
    are not emitted (those TWAPs are still running, or still waiting for their trigger)."""
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
            trigger = None
            if rng.random() < trigger_share:
                above = rng.random() < 0.5
                trigger = (_decimal_text(price * Decimal("1.02" if above else "0.98")), above)
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
                *(trigger or (None, None)),
                None,
            )
            start_at = created + timedelta(microseconds=rng.randint(50_000, 900_000))
            if trigger is not None:
                rows.append((start_at, rng.randint(0, 999), *common, "waitingForTrigger", None,
                             "0.0", "0.0"))  # fmt: skip
                start_at = created + timedelta(seconds=rng.randint(60, 6 * 3600))
                if start_at >= horizon:
                    continue
            rows.append((start_at, rng.randint(0, 999), *common, "activated", None, "0.0", "0.0"))
            roll = rng.random()
            if roll < 0.7:
                status, end = "finished", start_at + timedelta(minutes=minutes, seconds=2)
                executed = size
            else:
                status = "terminated" if roll < 0.93 else "error"
                end = start_at + timedelta(seconds=rng.uniform(1, minutes * 60))
                executed = (size * Decimal(rng.randint(0, 100)) / 100).quantize(
                    Decimal(1).scaleb(-scale)
                )
            if end >= horizon:
                continue
            # At one price: the slice fills (sample_fills) add up to it exactly.
            notional = executed * price
            error = rng.choice(ERRORS) if status == "error" else None
            rows.append(
                (end, rng.randint(0, 999), *common, status, error, _decimal_text(executed),
                 _decimal_text(notional))
            )  # fmt: skip
    return _canonical_frame(rows)


def _canonical_frame(rows: list[tuple]) -> pl.DataFrame:
    columns: dict[str, list] = {name: [] for name in CANONICAL_COLUMNS}
    for row in rows:
        when, nanos, *common, status, error, executed, notional = row
        (tid, coin, user, side, sz, minutes, reduce_only, randomize, created_ms, trigger_px,
         trigger_above, stop_px) = common  # fmt: skip
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
            ("state_trigger_px", trigger_px),
            ("state_trigger_above", trigger_above),
            ("state_stopPx", stop_px),
            ("status", status),
            ("error", error),
        ):
            columns[name].append(value)
    frame = pl.DataFrame(
        columns,
        schema_overrides={
            "error": pl.String,
            "state_minutes": pl.Int64,
            "state_trigger_px": pl.String,
            "state_trigger_above": pl.Boolean,
            "state_stopPx": pl.String,
        },
    )
    return frame.with_columns(day=pl.col("time").str.slice(0, 10).str.to_date()).sort("time")


def style_for(day: date) -> Style:
    return STYLES[day.toordinal() % len(STYLES)]


def object_keys(prefix: str, day: date, layout: str) -> list[str]:
    """Object keys of one day in a layout (hourly layouts: hour 0 to 23)."""
    ymd = day.strftime("%Y%m%d")
    y, m, d = day.strftime("%Y"), day.strftime("%m"), day.strftime("%d")
    hourly = {
        "artemis_hourly": lambda h: f"{prefix}hourly/{y}/{m}/{d}/{h:02d}/part-0.parquet",
        "hive_hourly": lambda h: f"{prefix}year={y}/month={m}/day={d}/hour={h:02d}/part-0.parquet",
        "coinapi_hourly": lambda h: f"{prefix}D-{ymd}{h:02d}/E-HYPERLIQUIDL4/part-0.parquet",
        "node_hourly": lambda h: f"{prefix}hourly/{ymd}/{h}",
        "node_blocks_lz4": lambda h: f"{prefix}hourly/{ymd}/{h}.lz4",
        "node_blocks_plain_lz4": lambda h: f"{prefix}hourly/{ymd}/{h}",
    }
    if layout in hourly:
        return [hourly[layout](h) for h in range(24)]
    if layout == "daily":
        return [f"{prefix}{day.isoformat()}.parquet"]
    if layout == "hive_date":
        return [f"{prefix}date={day.isoformat()}/part-{n}.parquet" for n in (0, 1)]
    if layout == "compact":
        return [f"{prefix}twap_statuses_{ymd}.parquet"]
    raise ValueError(f"unknown layout {layout!r}")


def _state_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("state_")]


def to_source_frame(events: pl.DataFrame, encoding: str) -> pl.DataFrame:
    """The canonical events as one parquet encoding of the contract would hold them."""
    frame = events.drop("day")
    is_error = pl.col("status") == "error"
    if encoding == "error_column":
        frame = frame.rename({"error": "description"})
    elif encoding == "vendor":
        # A vendor flattening: "error: <message>", Buy/Sell, 0/1 flags, digit-string ids, the
        # trigger as JSON text, and columns of its own.
        frame = frame.with_columns(
            status=pl.when(is_error)
            .then(pl.lit("error: ") + pl.col("error"))
            .otherwise(pl.col("status")),
            state_side=pl.col("state_side").replace_strict({"B": "Buy", "A": "Sell"}),
            state_reduceOnly=pl.col("state_reduceOnly").cast(pl.Int8),
            state_randomize=pl.col("state_randomize").cast(pl.Int8),
            twap_id=pl.col("twap_id").cast(pl.String),
            state_trigger=pl.when(pl.col("state_trigger_px").is_not_null()).then(
                pl.format(
                    '{{"px":"{}","above":{}}}',
                    pl.col("state_trigger_px"),
                    pl.col("state_trigger_above").cast(pl.String).str.to_lowercase(),
                )
            ),
            exchange=pl.lit("HYPERLIQUID"),
            ingested_by=pl.lit("vendor-export-2.3"),
        ).drop("error", "state_trigger_px", "state_trigger_above")
    else:
        error_json = pl.format(
            '{{"error": {}}}', pl.col("error").map_elements(json.dumps, return_dtype=pl.String)
        )
        frame = frame.with_columns(
            status=pl.when(is_error).then(error_json).otherwise(pl.col("status"))
        ).drop("error")
    if encoding == "floats":
        frame = frame.with_columns(
            pl.col("state_sz", "state_executedSz", "state_executedNtl").cast(pl.Float64)
        )
    if encoding == "timestamp":
        frame = frame.with_columns(pl.col("time").str.to_datetime(time_unit="ns"))
    if encoding == "ms_in_ns":
        # Artemis' quirk: millisecond epochs written into timestamp[ns] columns.
        millis = pl.col("time").str.to_datetime(time_unit="ms").dt.epoch("ms")
        frame = frame.with_columns(time=millis.cast(pl.Datetime("ns")))
    if encoding == "mixed_case":
        frame = frame.with_columns(
            state_user=pl.lit("0x") + pl.col("state_user").str.slice(2).str.to_uppercase(),
            time=pl.col("time") + "Z",
        )
    if encoding == "struct":
        trigger = pl.when(pl.col("state_trigger_px").is_not_null()).then(
            pl.struct(
                pl.col("state_trigger_px").alias("px"), pl.col("state_trigger_above").alias("above")
            )
        )
        frame = frame.with_columns(state_trigger=trigger).drop(
            "state_trigger_px", "state_trigger_above"
        )
        state = _state_columns(frame)
        frame = frame.select(
            "time",
            "twap_id",
            pl.struct([pl.col(c).alias(c.removeprefix("state_")) for c in state]).alias("state"),
            "status",
        )
    return frame


def _node_event(row: dict, encoding: str) -> dict:
    """One event as the node (or the info API) writes it."""
    state = {f: row[f"state_{f}"] for f in STATE_FIELDS if not f.startswith("trigger")}
    px = row["state_trigger_px"]
    state["trigger"] = {"px": px, "above": row["state_trigger_above"]} if px else None
    state = {k: state[k] for k in [*STATE_FIELDS[:-3], "trigger", "stopPx"]}
    status: object = row["status"]
    if encoding == "info_api":
        status = {"status": row["status"]}
        if row["status"] == "error":
            status["description"] = row["error"]
    elif row["status"] == "error":
        status = {"error": row["error"]}
    return {"time": row["time"], "twap_id": row["twap_id"], "state": state, "status": status}


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def node_lines(events: pl.DataFrame, encoding: str, blocks: bool, empty_blocks: int) -> bytes:
    """The events as the node's JSON lines: one event a line, or one block a line (the events
    sharing a block time), with ``empty_blocks`` empty blocks written after each."""
    rows = events.sort("time").to_dicts()
    if not blocks:
        return "".join(_compact(_node_event(r, encoding)) + "\n" for r in rows).encode()
    out: list[str] = []
    lowest = events["twap_id"].min()
    number = 800_000_000 + (int(lowest) if isinstance(lowest, int) else 0)
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["time"], []).append(_node_event(row, encoding))
    for when, block_events in grouped.items():
        for events_of_block in (block_events, *([] for _ in range(empty_blocks))):
            number += 1
            block = {"local_time": when, "block_time": when, "block_number": number,
                     "events": events_of_block}  # fmt: skip
            out.append(_compact(block))
    return ("\n".join(out) + "\n").encode() if out else b""


def _hour_of(events: pl.DataFrame) -> pl.Series:
    return events["time"].str.slice(11, 2).cast(pl.Int32)


def write_day(
    root: Path, prefix: str, day: date, events: pl.DataFrame, style: Style, empty_blocks: int = 4
) -> list[str]:
    """Write one day's events in ``style``; returns the keys written."""
    keys = object_keys(prefix, day, style.layout)
    if len(keys) == 24:
        hours = _hour_of(events)
        parts = [events.filter(hours == h) for h in range(24)]
    elif len(keys) == 2:
        half = events.height // 2
        parts = [events.slice(0, half), events.slice(half)]
    else:
        parts = [events]
    for key, part in zip(keys, parts, strict=True):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if style.json:
            blocks = style.layout != "node_hourly"
            data = node_lines(part, style.encoding, blocks, empty_blocks)
            path.write_bytes(lz4.frame.compress(data) if blocks else data)
        else:
            buffer = io.BytesIO()
            to_source_frame(part, style.encoding).write_parquet(buffer)
            path.write_bytes(buffer.getvalue())
    return keys


def write_dataset(
    root: Path,
    prefix: str,
    events: pl.DataFrame,
    styles: dict[date, Style] | None = None,
    empty_blocks: int = 4,
) -> Dataset:
    """Write every day of ``events`` under ``root/prefix``, each day in its style."""
    files: dict[str, date] = {}
    for (day,), day_events in events.group_by("day", maintain_order=True):
        style = (styles or {}).get(day) or style_for(day)
        for key in write_day(root, prefix, day, day_events, style, empty_blocks):
            files[key] = day
    return Dataset(events=events, files=files)
