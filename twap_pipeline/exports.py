"""A wallet's TWAP slice fills as the CSV files tax platforms import (``twap export`` and
``GET /api/v1/export`` both write them, a row at a time).

- ``csv``: every column of ``twap_fills``, plus the row's transaction id.
- ``awaken``: Awaken Tax's perpetuals template (``Date,Asset,Amount,Fee,P&L,Payment Token,
  Notes,Transaction Hash,Tag``), one row per perp fill, tagged ``open_position`` or
  ``close_position`` from its ``dir``; dates ``MM/DD/YYYY HH:MM:SS`` in UTC.
- ``awaken_spot``: Awaken Tax's standard template for the spot fills, each a trade of the coin
  against USDC.
- ``koinly``: Koinly's universal template: spot fills as trades; perp fills as their realised
  PnL (``realized gain``) with the fee, or, when they realise nothing (opening a position), the
  fee alone (``cost``).

Slice fills carry an all-zero hash, so every row gets a stable transaction id from the wallet
and the trade id (``tid``): importing the same file twice never counts a fill twice. The TWAP
id is in the notes of every row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

import psycopg
from psycopg.rows import dict_row

from twap_pipeline.tables.fills import EXPORT_COLUMNS, WALLET_FILLS

Format = Literal["awaken", "awaken_spot", "koinly", "csv"]
FORMATS: tuple[str, ...] = get_args(Format)
QUOTE = "USDC"
# Rows fetched from the server-side cursor at a time: memory stays flat for any wallet.
BATCH_ROWS = 5000

Fill = dict[str, Any]


def transaction_id(fill: Fill) -> str:
    """Stable and unique per fill of a wallet: both sides of a trade share its ``tid``."""
    return f"hl-{fill['wallet']}-{fill['tid']}"


def is_spot(coin: str) -> bool:
    """Spot pairs are ``@<index>`` or ``BASE/QUOTE``; everything else is a perpetual."""
    return coin.startswith("@") or "/" in coin


def number(value: Decimal | None) -> str:
    """A decimal as plain text: no exponent, no padding zeros."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _note(fill: Fill) -> str:
    return (
        f"TWAP {fill['twap_id']}: {fill['dir'] or fill['side']} {number(fill['sz'])} "
        f"{fill['coin']} @ {number(fill['px'])}"
    )


def _fee(fill: Fill) -> Decimal:
    return (fill["fee"] or Decimal(0)) + (fill["builder_fee"] or Decimal(0))


def _awaken_time(when: datetime) -> str:
    return when.strftime("%m/%d/%Y %H:%M:%S")


def _closing(fill: Fill) -> bool:
    direction = fill["dir"] or ""
    return direction.startswith("Close") or ">" in direction  # "Long > Short" flips close too


def _awaken(fill: Fill) -> list[str] | None:
    if is_spot(fill["coin"]):
        return None
    closing = _closing(fill)
    return [
        _awaken_time(fill["fill_time"]),
        fill["coin"],
        number(fill["sz"]),
        number(_fee(fill)),
        number(fill["closed_pnl"] or Decimal(0)) if closing else "0",
        fill["fee_token"] or QUOTE,
        _note(fill),
        transaction_id(fill),
        "close_position" if closing else "open_position",
    ]


def _legs(fill: Fill) -> tuple[str, str, str, str]:
    """(received amount, currency, sent amount, currency) of a spot fill."""
    value = number(fill["px"] * fill["sz"])
    if fill["side"] == "B":
        return number(fill["sz"]), fill["coin"], value, QUOTE
    return value, QUOTE, number(fill["sz"]), fill["coin"]


def _awaken_spot(fill: Fill) -> list[str] | None:
    if not is_spot(fill["coin"]):
        return None
    received, received_currency, sent, sent_currency = _legs(fill)
    return [
        _awaken_time(fill["fill_time"]), received, received_currency, sent, sent_currency,
        number(_fee(fill)), fill["fee_token"] or QUOTE, _note(fill), transaction_id(fill),
    ]  # fmt: skip


def _koinly(fill: Fill) -> list[str]:
    when = fill["fill_time"].strftime("%Y-%m-%d %H:%M:%S UTC")
    fee, fee_token = number(_fee(fill)), fill["fee_token"] or QUOTE
    if is_spot(fill["coin"]):
        received, received_currency, sent, sent_currency = _legs(fill)
        label = ""
    else:
        pnl = fill["closed_pnl"] or Decimal(0)
        received = received_currency = sent = sent_currency = ""
        if pnl > 0:
            received, received_currency, label = number(pnl), QUOTE, "realized gain"
        elif pnl < 0:
            sent, sent_currency, label = number(-pnl), QUOTE, "realized gain"
        else:
            sent, sent_currency, label = fee, fee_token, "cost"
            fee = fee_token = ""
    return [
        when, sent, sent_currency, received, received_currency, fee, fee_token, "", "", label,
        _note(fill), transaction_id(fill),
    ]  # fmt: skip


def _plain(fill: Fill) -> list[str]:
    cells = []
    for column in EXPORT_COLUMNS:
        value = fill[column]
        if isinstance(value, Decimal):
            cells.append(number(value))
        elif isinstance(value, datetime):
            cells.append(value.isoformat().replace("+00:00", "Z"))
        elif isinstance(value, bool):
            cells.append("true" if value else "false")
        else:
            cells.append("" if value is None else str(value))
    return [*cells, transaction_id(fill)]


HEADERS = {
    "awaken": [
        "Date", "Asset", "Amount", "Fee", "P&L", "Payment Token", "Notes", "Transaction Hash",
        "Tag",
    ],
    "awaken_spot": [
        "Date", "Received Quantity", "Received Currency", "Sent Quantity", "Sent Currency",
        "Fee Amount", "Fee Currency", "Notes", "Transaction Hash",
    ],
    "koinly": [
        "Date", "Sent Amount", "Sent Currency", "Received Amount", "Received Currency",
        "Fee Amount", "Fee Currency", "Net Worth Amount", "Net Worth Currency", "Label",
        "Description", "TxHash",
    ],
    "csv": [*EXPORT_COLUMNS, "transaction_id"],
}  # fmt: skip
ROWS: dict[str, Callable[[Fill], list[str] | None]] = {
    "awaken": _awaken,
    "awaken_spot": _awaken_spot,
    "koinly": _koinly,
    "csv": _plain,
}


def wallet_fills(
    conn: psycopg.Connection, wallet: str, start: datetime, end: datetime
) -> Iterator[Fill]:
    """The wallet's fills in [start, end), oldest first, read through a server-side cursor
    (``conn`` must be in a transaction)."""
    with conn.cursor("twap_export", row_factory=dict_row) as cursor:
        cursor.itersize = BATCH_ROWS
        cursor.execute(WALLET_FILLS, {"wallet": wallet.lower(), "start": start, "end": end})
        yield from cursor


class CsvWriter:
    """Lines of one format: the header, then a line per fill the format takes."""

    def __init__(self, format_name: str):
        self._row_of = ROWS[format_name]
        self._header = HEADERS[format_name]
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def _line(self, cells: list[str]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(cells)
        return self._buffer.getvalue()

    def header(self) -> str:
        return self._line(self._header)

    def row(self, fill: Fill) -> str | None:
        """The fill's line, or None when the format does not take it (a spot fill in the
        perpetuals template)."""
        cells = self._row_of(fill)
        return None if cells is None else self._line(cells)


def csv_lines(format_name: str, fills: Iterable[Fill]) -> Iterator[str]:
    """The header, then one CSV line per fill the format takes (in the order given)."""
    writer = CsvWriter(format_name)
    yield writer.header()
    for fill in fills:
        line = writer.row(fill)
        if line is not None:
            yield line
