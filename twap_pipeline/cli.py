"""The ``twap`` command: ``twap demo``, ``twap api``, ``twap export``, and ``twap db upgrade``
/ ``twap db current``."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from dagster import BetaWarning, PreviewWarning

from twap_api.models import WALLET_PATTERN
from twap_pipeline.db.schema import schema_state, upgrade
from twap_pipeline.db.urls import DatabaseUrlError, libpq_url
from twap_pipeline.demo import DemoError, run_demo
from twap_pipeline.embedded_postgres import EmbeddedPostgresError
from twap_pipeline.exports import FORMATS, csv_lines, wallet_fills

WALLET = re.compile(WALLET_PATTERN)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="twap", description="Hyperliquid TWAP history.")
    commands = root.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="load a generated sample through Dagster, then serve the API and the Dagster UI",
        description="Without DATABASE_URL, runs an embedded PostgreSQL under --home.",
    )
    demo.add_argument("--no-serve", action="store_true", help="load, print a summary, exit")
    demo.add_argument(
        "--home",
        type=Path,
        default=Path(".twap/demo"),
        help="where the demo keeps its data (default: .twap/demo)",
    )
    demo.add_argument("--api-port", type=int, default=8000, help="API port (default 8000)")
    demo.add_argument("--ui-port", type=int, default=3000, help="Dagster UI port (default 3000)")
    commands.add_parser(
        "api",
        help="serve the REST API",
        description="Listens on API_HOST:API_PORT (127.0.0.1:8000) with TWAP_API_WORKERS (1) "
        "processes; every other setting from the environment (README).",
    )
    export = commands.add_parser(
        "export",
        help="write a wallet's TWAP slice fills of one year as a tax platform's CSV",
        description="Reads twap_fills on DATABASE_URL; writes to --output or standard output.",
    )
    export.add_argument("--wallet", required=True, help="0x + 40 hex digits")
    export.add_argument("--year", required=True, type=int, help="UTC calendar year, e.g. 2025")
    export.add_argument("--format", required=True, choices=FORMATS, help="the CSV template")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    db = commands.add_parser("db", help="the database schema (DATABASE_URL)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="create or upgrade the tables to this version")
    db_commands.add_parser("current", help="print the schema revision and what the code needs")
    return root


def database(args: argparse.Namespace) -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("twap db: DATABASE_URL is not set", file=sys.stderr)
        return 2
    if args.db_command == "upgrade":
        upgrade(url)
    state = schema_state(url)
    print(f"schema revision: {state.current or 'none'} (code needs {state.head})")
    if state.problem():
        print(state.problem())
        return 1
    return 0


def export(args: argparse.Namespace) -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("twap export: DATABASE_URL is not set", file=sys.stderr)
        return 2
    if not WALLET.match(args.wallet):
        print(f"twap export: --wallet {args.wallet!r} is not 0x + 40 hex digits", file=sys.stderr)
        return 2
    if not 2020 <= args.year < 2100:
        print(f"twap export: --year {args.year} is outside 2020..2099", file=sys.stderr)
        return 2
    start = datetime(args.year, 1, 1, tzinfo=UTC)
    end = datetime(args.year + 1, 1, 1, tzinfo=UTC)
    with (
        psycopg.connect(libpq_url(url)) as conn,
        conn.transaction(),
        (
            args.output.open("w", newline="") if args.output else contextlib.nullcontext(sys.stdout)
        ) as out,
    ):
        for line in csv_lines(args.format, wallet_fills(conn, args.wallet, start, end)):
            out.write(line)
    return 0


def serve_api() -> int:
    import uvicorn
    from pydantic import ValidationError

    from twap_api.settings import ServerSettings, Settings

    try:
        Settings()  # fail here, in one line, rather than in every worker
        server = ServerSettings()
    except ValidationError as exc:
        print(f"twap api: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        "twap_api.main:create_app",
        factory=True,
        host=server.host,
        port=server.port,
        workers=server.workers,
        access_log=False,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Dagster's notices about its own beta APIs say nothing to a user of the command.
    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    # The embedded PostgreSQL asks platformdirs for a runtime folder; without a login session
    # (containers, CI) it falls back to /tmp and says so, which is fine for the demo.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        if args.command == "db":
            return database(args)
        if args.command == "api":
            return serve_api()
        if args.command == "export":
            return export(args)
        run_demo(args.home, args.no_serve, args.api_port, args.ui_port)
    except (DemoError, EmbeddedPostgresError, DatabaseUrlError) as exc:
        print(f"twap {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
