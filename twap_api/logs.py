"""The API's logging: one line per request, as text or JSON (``LOG_FORMAT``), at
``LOG_LEVEL``."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

LOGGER = logging.getLogger("twap_api")
REQUEST_FIELDS = ("request_id", "method", "route", "path", "status", "duration_ms", "client")


class JsonFormatter(logging.Formatter):
    """A JSON object a line: time, level, logger, message, and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: getattr(record, k) for k in REQUEST_FIELDS if hasattr(record, k)})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure(log_format: str, level: str) -> None:
    """Send the ``twap_api`` logger's lines to stderr in ``log_format``."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        text = logging.Formatter("%(asctime)sZ %(levelname)s %(name)s %(message)s")
        text.converter = time.gmtime  # UTC, like every time the API writes
        handler.setFormatter(text)
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(level)
    LOGGER.propagate = False
