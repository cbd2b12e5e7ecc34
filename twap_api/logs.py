"""The API's logging: one line per request, as text or JSON (``LOG_FORMAT``), at
``LOG_LEVEL``."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

LOGGER = logging.getLogger("twap_api")
# Request lines reach stderr at most this late.
FLUSH_SECONDS = 1.0
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


class BatchedStreamHandler(logging.StreamHandler):
    """Collects lines and writes them to the stream a batch at a time: a write per request
    line would put a system call on every request's path. A warning or worse, a full batch,
    and :meth:`flush` (the app calls it every ``FLUSH_SECONDS``, and at exit) write the batch."""

    def __init__(self, capacity: int = 256) -> None:
        super().__init__()
        self.capacity = capacity
        self._lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or len(self._lines) >= self.capacity:
            self.flush()

    def flush(self) -> None:
        self.acquire()
        try:
            if self._lines:
                text = "\n".join(self._lines) + "\n"
                self._lines.clear()
                self.stream.write(text)
        finally:
            self.release()
        super().flush()


def configure(log_format: str, level: str) -> None:
    """Send the ``twap_api`` logger's lines to stderr in ``log_format``."""
    handler = BatchedStreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        text = logging.Formatter("%(asctime)sZ %(levelname)s %(name)s %(message)s")
        text.converter = time.gmtime  # UTC, like every time the API writes
        handler.setFormatter(text)
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(level)
    LOGGER.propagate = False


def flush() -> None:
    for handler in LOGGER.handlers:
        handler.flush()


async def flush_every(seconds: float = FLUSH_SECONDS) -> None:
    """Write the collected lines every ``seconds``, and once more when cancelled (the app
    runs this beside itself for its lifetime)."""
    try:
        while True:
            await asyncio.sleep(seconds)
            flush()
    finally:
        flush()
