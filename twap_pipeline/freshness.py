"""What "fresh" means for the loaded tables, as a Dagster ``FreshnessPolicy`` that the daemon
evaluates: ``twap_status`` warns when its newest load is more than ``TWAP_FRESHNESS_WARN_HOURS``
(2) old, and fails past ``TWAP_FRESHNESS_FAIL_HOURS`` (26). With an hourly source the sensor
loads each new hour within minutes, so a healthy deployment stays under the warning; with a
daily source the warning is expected during the day, and the failure means the day that just
closed was not loaded by 02:00 UTC the day after."""

from __future__ import annotations

import os
from datetime import timedelta

from dagster import FreshnessPolicy

WARN_HOURS_ENV = "TWAP_FRESHNESS_WARN_HOURS"
FAIL_HOURS_ENV = "TWAP_FRESHNESS_FAIL_HOURS"


def _hours(name: str, default: float) -> timedelta:
    raw = os.environ.get(name) or str(default)
    try:
        return timedelta(hours=float(raw))
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number of hours") from exc


STATUS_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=_hours(FAIL_HOURS_ENV, 26), warn_window=_hours(WARN_HOURS_ENV, 2)
)
