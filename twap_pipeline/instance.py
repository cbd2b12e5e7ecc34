"""Dagster's instance settings for the homes the project makes itself (the demo, the tests, the
benchmarks): SQLite storage in a folder of the caller's choice, and the same run queue, run
monitoring and run retries as the dagster.yaml files the repository ships (a test keeps them
equal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SETTINGS: dict[str, Any] = {
    "run_queue": {
        "max_concurrent_runs": 4,
        "tag_concurrency_limits": [
            {"key": "twap/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
            {
                "key": "twap/fills_partition",
                "value": {"applyLimitPerUniqueValue": True},
                "limit": 1,
            },
            {"key": "twap/fills", "limit": 2},
        ],
    },
    "run_monitoring": {
        "enabled": True,
        "start_timeout_seconds": 300,
        "cancel_timeout_seconds": 300,
        "max_runtime_seconds": 21600,
        "max_resume_run_attempts": 0,
        "poll_interval_seconds": 60,
    },
    "run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False},
    "telemetry": {"enabled": False},
}


def write_dagster_home(home: Path, storage_dir: Path) -> Path:
    """A DAGSTER_HOME whose runs are kept in SQLite files under ``storage_dir``."""
    home.mkdir(parents=True, exist_ok=True)
    config = {"storage": {"sqlite": {"base_dir": str(storage_dir.resolve())}}, **SETTINGS}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home
