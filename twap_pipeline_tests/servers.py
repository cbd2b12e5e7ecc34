"""Real servers on loopback for the tests, the demo test and the API benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(NamedTuple):
    url: str
    pid: int


@contextmanager
def uvicorn(
    app: str,
    database_url: str,
    startup_seconds: float = 20,
    factory: bool = False,
    output: int | None = None,
    cwd: Path | None = None,
) -> Iterator[Server]:
    """One uvicorn worker serving ``app`` on a free loopback port; yields its base URL and
    process id once it answers (every FastAPI app serves /openapi.json). ``output``: where its
    stdout and stderr go (``subprocess.DEVNULL``; default: this process's). ``cwd``: the
    directory it runs in, whose packages it imports first (default: this process's)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--log-level", "warning", "--no-access-log",
         *(["--factory"] if factory else [])],
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=output,
        stderr=output,
        cwd=cwd,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                httpx2.get(base + "/openapi.json", timeout=1)
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"uvicorn {app} did not start") from None
                time.sleep(0.05)
        yield Server(base, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
