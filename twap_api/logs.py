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


class UtcFormatter(logging.Formatter):
    """Text lines stamped in UTC; the stamp's date and time are formatted once a second."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
        return f"{self._stamp},{int(record.msecs):03d}"


def log_request(
    method: str,
    route: str,
    path: str,
    status: int,
    seconds: float,
    request_id: str,
    client: str | None,
) -> None:
    """One request's line, when INFO is enabled (the caller checks). The record goes to the
    logger's handlers directly: ``Logger.info`` would also walk the stack for its caller, the
    largest part of a line's cost, for a line whose origin never varies."""
    record = logging.LogRecord(
        LOGGER.name, logging.INFO, "", 0, "%s %s %s %.1f ms",
        (method, path, status, seconds * 1000), None,
    )  # fmt: skip
    record.request_id = request_id
    record.method = method
    record.route = route
    record.path = path
    record.status = status
    record.duration_ms = round(seconds * 1000, 3)
    record.client = client
    LOGGER.handle(record)


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
        handler.setFormatter(UtcFormatter("%(asctime)sZ %(levelname)s %(name)s %(message)s"))
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
