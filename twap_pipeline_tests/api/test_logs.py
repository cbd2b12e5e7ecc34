"""Request log lines are written a batch at a time; warnings and errors at once."""

from __future__ import annotations

import io
import logging

from twap_api.logs import BatchedStreamHandler


def record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("twap_api", level, __file__, 1, message, None, None)


def test_info_lines_wait_for_a_flush_and_a_warning_writes_the_batch():
    handler = BatchedStreamHandler()
    handler.setStream(io.StringIO())
    handler.handle(record(logging.INFO, "one"))
    handler.handle(record(logging.INFO, "two"))
    assert handler.stream.getvalue() == ""
    handler.flush()
    assert handler.stream.getvalue() == "one\ntwo\n"
    handler.handle(record(logging.INFO, "three"))
    handler.handle(record(logging.WARNING, "trouble"))
    assert handler.stream.getvalue() == "one\ntwo\nthree\ntrouble\n"


def test_a_full_batch_is_written_without_waiting():
    handler = BatchedStreamHandler(capacity=3)
    handler.setStream(io.StringIO())
    for n in range(4):
        handler.handle(record(logging.INFO, str(n)))
    assert handler.stream.getvalue() == "0\n1\n2\n"
