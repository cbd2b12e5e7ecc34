"""Pure ASGI middleware (no per-request task or body copy beyond what each needs).

- ``RequestContext``: a request id (``X-Request-ID`` when the client sends a sane one, else a
  new one; always returned), one log line per request, and the request metrics, labelled by
  the route's template (never the raw path).
- ``JsonBodies``: every 200 JSON answer to a GET carries an ``ETag`` (a hash of its body);
  ``If-None-Match`` naming it gets a 304 without the body; bodies of ``GZIP_MINIMUM_BYTES`` or
  more are gzip-compressed for clients that accept it. (It holds the whole body for the
  ETag anyway; a separate gzip middleware would buffer it a second time.)
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import time
import zlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twap_api.logs import LOGGER, log_request
from twap_api.metrics import IN_FLIGHT, LATENCY, REQUESTS

REQUEST_ID_HEADER = b"x-request-id"
# Smaller bodies go out as they are: compressing them would cost more than it saves.
GZIP_MINIMUM_BYTES = 1024
GZIP_LEVEL = 5
SANE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The labelled series, made once per (method, route, status): labels() costs more
        # than the increment itself.
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}
        # Counted here and read when scraped: the event loop is this count's only writer.
        self.in_flight = 0
        IN_FLIGHT.set_function(lambda: self.in_flight)

    def _record(self, method: str, template: str, status: int, seconds: float) -> None:
        key = (method, template, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = REQUESTS.labels(method, template, str(status))
        counter.inc()
        histogram = self._latency.get(key[:2])
        if histogram is None:
            histogram = self._latency[key[:2]] = LATENCY.labels(method, template)
        histogram.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, REQUEST_ID_HEADER)
        request_id = (
            given if given and SANE_REQUEST_ID.match(given) else os.urandom(16).hex().encode()
        )
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
            await send(message)

        self.in_flight += 1
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.in_flight -= 1
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self._record(method, template, status, seconds)
            if LOGGER.isEnabledFor(logging.INFO):
                client = scope.get("client")
                log_request(
                    method, template, scope["path"], status, seconds, request_id.decode(),
                    client[0] if client else None,
                )  # fmt: skip


class JsonBodies:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        passing = False
        body: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start, passing
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", ()))
                json = headers.get(b"content-type", b"").startswith(b"application/json")
                if message["status"] != 200 or not json:
                    passing = True
                    await send(message)
                else:
                    start = message
                return
            if passing or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                assert start is not None
                await self._answer(scope, start, b"".join(body), send)

        await self.app(scope, receive, buffered)

    @staticmethod
    async def _answer(scope: Scope, start: Message, content: bytes, send: Send) -> None:
        # A weak validator from the length and CRC-32 of the body: far cheaper than a
        # cryptographic hash on a large page, and a collision needs the same URL, the same
        # length and the same CRC.
        etag = b'W/"%x-%08x"' % (len(content), zlib.crc32(content))
        headers = [(k, v) for k, v in start.get("headers", ()) if k != b"content-length"]
        headers.append((b"etag", etag))
        wanted = _header(scope, b"if-none-match")
        if wanted is not None and (wanted.strip() == b"*" or etag in _etags(wanted)):
            headers = [(k, v) for k, v in headers if k != b"content-type"]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"vary", b"Accept-Encoding"))
        if len(content) >= GZIP_MINIMUM_BYTES and b"gzip" in (
            _header(scope, b"accept-encoding") or b""
        ):
            content = gzip.compress(content, GZIP_LEVEL, mtime=0)
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(content)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _etags(header: bytes) -> set[bytes]:
    """The ETags of an If-None-Match header, weak or strong alike (a GET compares weakly)."""
    tags = {tag.strip() for tag in header.split(b",")}
    return tags | {b"W/" + tag for tag in tags if not tag.startswith(b"W/")}
