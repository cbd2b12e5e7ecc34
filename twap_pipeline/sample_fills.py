"""Seeded slice fills consistent with the sample's statuses (``sample.generate_events``).

Every TWAP with a terminal event that executed something gets slice orders between its
activation and its end whose fills add up exactly to the terminal ``executedSz`` and
``executedNtl`` (the sample's notional is ``executedSz`` times one price, so a slice filled at
two prices one tick either side of it, in equal halves, keeps the sum exact). Each TWAP fill
has its counterparty's fill in the same block (same ``tid``, the other side, ``twapId`` null),
and a share of the counterparties are other TWAPs of the opposite side. Written as the node
writes them (LZ4 JSON lines, one block a line, hourly) or as Artemis' parquet mirror.
"""

from __future__ import annotations

import io
import itertools
import json
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import lz4.frame
import polars as pl

ZERO_HASH = "0x" + "0" * 64
FEE_RATE = Decimal("0.00035")
FILLS_PREFIX = "node_fills_by_block/hourly/"
LAYOUTS = ("node", "artemis")
FILL_FIELDS = [
    "coin", "px", "sz", "side", "time", "startPosition", "dir", "closedPnl", "hash", "oid",
    "crossed", "fee", "tid", "feeToken", "cloid", "builderFee", "twapId",
]  # fmt: skip


def _text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def _split(units: int, parts: int, rng: random.Random) -> list[int]:
    """``units`` as ``parts`` positive integers."""
    cuts = sorted(rng.sample(range(1, units), parts - 1)) if parts > 1 else []
    edges = [0, *cuts, units]
    return [b - a for a, b in itertools.pairwise(edges)]


def _tick(price: Decimal) -> Decimal:
    exponent = price.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(1).scaleb(min(exponent, 0))


def _direction(coin: str, side: str, closing: bool) -> str:
    if coin.startswith("@"):
        return "Buy" if side == "B" else "Sell"
    if side == "B":
        return "Close Short" if closing else "Open Long"
    return "Close Long" if closing else "Open Short"


def _fill(
    wallet: str, twap: dict, px: Decimal, sz: Decimal, when: datetime, oid: int, tid: int,
    side: str, twap_id: int | None, rng: random.Random,
) -> dict:  # fmt: skip
    coin = twap["state_coin"]
    closing = rng.random() < 0.4
    notional = px * sz
    spot_buy = coin.startswith("@") and side == "B"
    return {
        "user": wallet,
        "coin": coin,
        "px": _text(px),
        "sz": _text(sz),
        "side": side,
        "time": int(when.timestamp() * 1000),
        "startPosition": _text(Decimal(rng.randint(-5000, 5000)) / 10),
        "dir": _direction(coin, side, closing),
        "closedPnl": _text((notional * Decimal(rng.randint(-300, 300)) / 10000).quantize(
            Decimal("0.000001")) if closing else Decimal(0)),
        "hash": ZERO_HASH,
        "oid": oid,
        "crossed": twap_id is not None,
        "fee": "0.0",
        "tid": tid,
        "feeToken": coin if spot_buy else "USDC",
        "cloid": None,
        "builderFee": _text(Decimal("0.01")) if rng.random() < 0.1 else None,
        "twapId": twap_id,
    }  # fmt: skip


def _slices(twap: dict, start: datetime, end: datetime, rng: random.Random) -> list[tuple]:
    """(time, px, sz, oid) of each fill of one TWAP; the sums are the terminal ones."""
    executed = Decimal(twap["state_executedSz"])
    notional = Decimal(twap["state_executedNtl"])
    if executed <= 0:
        return []
    price = notional / executed
    unit = _tick(executed)
    units = int(executed / unit)
    orders = _split(units, min(units, rng.randint(1, 6)), rng)
    tick = _tick(price)
    span = (end - start) / (len(orders) + 1)
    fills = []
    for n, size in enumerate(orders):
        when = start + span * (n + 1)
        oid = twap["twap_id"] * 100 + n
        if size % 2 == 0 and price > tick and rng.random() < 0.4:
            half = unit * (size // 2)
            fills += [(when, price + tick, half, oid), (when, price - tick, half, oid)]
        else:
            fills.append((when, price, unit * size, oid))
    return fills


def _lifecycles(events: pl.DataFrame) -> list[tuple[dict, datetime, datetime]]:
    """(terminal event, activation time, terminal time) of every TWAP that ended."""
    times = events.with_columns(at=pl.col("time").str.slice(0, 26).str.to_datetime(time_zone="UTC"))
    active = times.filter(pl.col("status") == "activated").select("twap_id", started=pl.col("at"))
    ended = times.filter(pl.col("status").is_in(["finished", "terminated", "error"]))
    joined = ended.join(active, on="twap_id").sort("twap_id")
    return [(row, row["started"], row["at"]) for row in joined.to_dicts()]


def generate_fills(events: pl.DataFrame, seed: int = 11, wallets: int = 500) -> pl.DataFrame:
    """Every fill the TWAPs of ``events`` made, and their counterparties' fills."""
    rng = random.Random(seed)
    others = ["0x" + f"{rng.getrandbits(160):040x}" for _ in range(wallets)]
    rows: list[dict] = []
    # TWAP fills not yet matched with another TWAP, by (coin, side, px).
    open_fills: dict[tuple[str, str, str], list[dict]] = {}
    tids = iter(range(900_000_000, 10**12, 7))

    def record(fill: dict) -> None:
        rows.append(fill)
        open_fills.setdefault((fill["coin"], fill["side"], fill["px"]), []).append(fill)

    for twap, started, ended in _lifecycles(events):
        side = twap["state_side"]
        window = (int(started.timestamp() * 1000), int(ended.timestamp() * 1000))
        for when, px, sz, oid in _slices(twap, started, ended, rng):
            mine = _fill(twap["state_user"], twap, px, sz, when, oid, next(tids), side,
                         twap["twap_id"], rng)  # fmt: skip
            other_side = "A" if side == "B" else "B"
            candidates = open_fills.get((mine["coin"], other_side, mine["px"]), [])
            theirs = next(
                (f for f in candidates
                 if f["user"] != mine["user"] and window[0] <= f["time"] <= window[1]),
                None,
            )  # fmt: skip
            if theirs is None or rng.random() < 0.3:
                record(mine)
                continue
            # Another TWAP of the opposite side took this trade: both fills share its tid,
            # time and size; what is left of the larger one fills at the same price.
            candidates.remove(theirs)
            size = min(Decimal(theirs["sz"]), sz)
            for fill, whole in ((theirs, Decimal(theirs["sz"])), (mine, sz)):
                if whole > size:
                    record({**fill, "sz": _text(whole - size), "tid": next(tids)})
                fill["sz"] = _text(size)
            mine.update(tid=theirs["tid"], time=theirs["time"])
            rows.append(mine)
    for fill in [f for fills in open_fills.values() for f in fills]:
        counterpart = {**fill, "user": rng.choice(others), "twapId": None, "crossed": False}
        counterpart["side"] = "A" if fill["side"] == "B" else "B"
        counterpart["dir"] = _direction(fill["coin"], counterpart["side"], False)
        counterpart["oid"] = fill["oid"] + 10**12
        rows.append(counterpart)
    for fill in rows:
        fill["fee"] = _text((Decimal(fill["px"]) * Decimal(fill["sz"]) * FEE_RATE).quantize(
            Decimal("0.000001")))  # fmt: skip
    frame = pl.DataFrame(rows, schema_overrides={"cloid": pl.String, "builderFee": pl.String})
    when = pl.from_epoch(pl.col("time"), time_unit="ms").dt.replace_time_zone("UTC")
    return frame.with_columns(day=when.dt.date()).sort("time", "tid", "side")


def fill_keys(prefix: str, day: date, layout: str) -> list[str]:
    ymd, y, m, d = (
        day.strftime("%Y%m%d"),
        day.strftime("%Y"),
        day.strftime("%m"),
        day.strftime("%d"),
    )
    if layout == "node":
        return [f"{prefix}{ymd}/{h}.lz4" for h in range(24)]
    if layout == "artemis":
        return [f"{prefix}{y}/{m}/{d}/{h:02d}/part-0.parquet" for h in range(24)]
    raise ValueError(f"unknown fills layout {layout!r}")


def _noise(block_number: int, rng: random.Random, others: list[str]) -> list:
    """A block of ordinary trades (no TWAP on either side)."""
    events = []
    for _ in range(rng.randint(1, 4)):
        tid = rng.getrandbits(48)
        for side in "BA":
            events.append([rng.choice(others), {
                "coin": "BTC", "px": "97000.0", "sz": "0.01", "side": side,
                "time": 0, "startPosition": "0.0", "dir": "Open Long" if side == "B" else
                "Open Short", "closedPnl": "0.0", "hash": "0x" + f"{rng.getrandbits(256):064x}",
                "oid": block_number, "crossed": side == "B", "fee": "0.3", "tid": tid,
                "feeToken": "USDC", "twapId": None,
            }])  # fmt: skip
    return events


def node_block_lines(fills: pl.DataFrame, noise_blocks: int = 0, seed: int = 3) -> bytes:
    """Fills as the node writes them: one block a line (the fills sharing a time), each
    followed by ``noise_blocks`` blocks of other trades."""
    rng = random.Random(seed)
    others = ["0x" + f"{rng.getrandbits(160):040x}" for _ in range(50)]
    out: list[str] = []
    grouped: dict[int, list] = {}
    for row in fills.drop("day").to_dicts():
        user = row.pop("user")
        grouped.setdefault(row["time"], []).append([user, {k: row[k] for k in FILL_FIELDS}])
    number = 600_000_000
    for when, events in grouped.items():
        stamp = datetime.fromtimestamp(when / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        # The TWAP fills' block holds other trades too, as the exchange's blocks do.
        busy = [*events, *_noise(number, rng, others)] if noise_blocks else events
        for block_events in (busy, *(_noise(number, rng, others) for _ in range(noise_blocks))):
            number += 1
            block = {"local_time": stamp, "block_time": stamp, "block_number": number,
                     "events": block_events}  # fmt: skip
            out.append(json.dumps(block, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode() if out else b""


def write_fills(
    root: Path, prefix: str, fills: pl.DataFrame, layout: str = "node", noise_blocks: int = 2
) -> dict[str, date]:
    """Write every day of ``fills`` under ``root/prefix`` in ``layout``, 24 hour files a day;
    returns the keys written and their days."""
    files: dict[str, date] = {}
    hours = pl.from_epoch(pl.col("time"), time_unit="ms").dt.hour()
    for (day,), day_fills in fills.group_by("day", maintain_order=True):
        keys = fill_keys(prefix, day, layout)
        by_hour = day_fills.with_columns(hour=hours)
        for hour, key in enumerate(keys):
            part = by_hour.filter(pl.col("hour") == hour).drop("hour")
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            if layout == "node":
                path.write_bytes(lz4.frame.compress(node_block_lines(part, noise_blocks, hour)))
            else:
                buffer = io.BytesIO()
                block_time = pl.from_epoch(pl.col("time"), time_unit="ms")
                part.drop("day").with_columns(
                    block_number=pl.lit(700_000_000) + pl.int_range(pl.len()),
                    block_time=block_time,
                ).write_parquet(buffer)
                path.write_bytes(buffer.getvalue())
            files[key] = day
    return files
