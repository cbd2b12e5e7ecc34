"""The ``twap`` command."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from dagster import BetaWarning, PreviewWarning

from twap_pipeline.demo import DemoError, run_demo
from twap_pipeline.embedded_postgres import EmbeddedPostgresError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twap", description="Hyperliquid TWAP history.")
    commands = parser.add_subparsers(dest="command", required=True)
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
    args = parser.parse_args(argv)
    # Dagster's notices about its own beta APIs say nothing to a demo user.
    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    try:
        run_demo(args.home, args.no_serve, args.api_port, args.ui_port)
    except (DemoError, EmbeddedPostgresError) as exc:
        print(f"twap demo: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
