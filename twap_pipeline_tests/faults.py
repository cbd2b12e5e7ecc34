"""Faults on loopback, for the tests that prove what the pipeline does on a bad day: an HTTP proxy
in front of moto that corrupts or stalls bodies and forges listings, a TCP forwarder, and a
network path (a namespace and a veth pair) that can be cut like a cable."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class S3Faults:
    """What the proxy does to the traffic; change it between runs."""

    corrupt: dict[str, int] = field(default_factory=dict)  # key -> times left (-1: always)
    forged_etags: dict[str, str] = field(default_factory=dict)  # key -> ETag to list
    stall: set[str] = field(default_factory=set)  # keys whose body stops halfway
    fail_all_gets: int | None = None  # HTTP status every object GET answers with
    gets: Counter[str] = field(default_factory=Counter)  # key -> object GETs seen


class S3FaultProxy:
    """An HTTP proxy in front of an S3 server (path-style requests) that injects ``faults``."""

    def __init__(self, target: str):
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults = S3Faults()
        self._stop = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_request(self) -> None:
                proxy.forward(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_request

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> S3FaultProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def _key(self, path: str) -> str:
        parts = urlsplit(path)
        return unquote(parts.path.lstrip("/").split("/", 1)[-1]) if "/" in parts.path[1:] else ""

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = handler.headers.get("Host", "")
        key = self._key(handler.path)
        is_object_get = handler.command == "GET" and key and "?" not in handler.path
        faults = self.faults
        if is_object_get:
            faults.gets[key] += 1
            if faults.fail_all_gets:
                error = b"<Error><Code>AccessDenied</Code><Message>injected</Message></Error>"
                self._reply(
                    handler, faults.fail_all_gets, {"Content-Type": "application/xml"}, error
                )
                return
        upstream = http.client.HTTPConnection(*self.target, timeout=30)
        upstream.request(handler.command, handler.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        out_headers = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
        if handler.command == "HEAD":
            out_headers["Content-Length"] = response.getheader("Content-Length", "0")
        upstream.close()
        if is_object_get and faults.corrupt.get(key):
            if faults.corrupt[key] > 0:
                faults.corrupt[key] -= 1
            middle = len(data) // 2
            data = data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 8]) + data[
                middle + 8 :
            ]  # fmt: skip
        if handler.command == "GET" and "list-type=2" in handler.path:
            data = self._forge_listing(data)
        if is_object_get and key in faults.stall:
            self._stall(handler, response.status, out_headers, data)
            return
        self._reply(handler, response.status, out_headers, data, head=handler.command == "HEAD")

    def _forge_listing(self, xml: bytes) -> bytes:
        text = xml.decode()
        for key, etag in self.faults.forged_etags.items():
            pattern = rf"(<Key>{re.escape(key)}</Key>.*?<ETag>)(.*?)(</ETag>)"
            text = re.sub(pattern, rf"\g<1>&quot;{etag}&quot;\g<3>", text, flags=re.S)
        return text.encode()

    def _reply(self, handler, status, headers, data: bytes, head: bool = False) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if not head:
            handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if not head:
            handler.wfile.write(data)

    def _stall(self, handler, status, headers, data: bytes) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])
        handler.wfile.flush()
        self._stop.wait(120)


class TcpForwarder:
    """Forwards TCP connections to ``target``. Its accepted sockets use short keepalives, so
    that when the path to its client is cut it notices within seconds and closes the server
    side too (as a server would, on a real network)."""

    def __init__(self, target: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0)):
        self.target = target
        self.sock = socket.create_server(listen)
        self.address = self.sock.getsockname()[:2]
        self.client_bytes = 0
        self.on_bytes: Callable[[int], None] | None = None
        self._closing = threading.Event()
        self._open: list[socket.socket] = []

    def __enter__(self) -> TcpForwarder:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        self.sock.close()
        self.drop_connections()

    def drop_connections(self) -> None:
        """Close every open connection, both ways (new ones are still accepted)."""
        for sock in list(self._open):
            _close(sock)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            _short_keepalive(client)
            server = socket.create_connection(self.target)
            self._open += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if from_client:
                    self.client_bytes += len(data)
                    if self.on_bytes is not None:
                        self.on_bytes(self.client_bytes)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _short_keepalive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 3000)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def can_make_network_namespaces() -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["ip", "netns", "list"], capture_output=True).returncode == 0


@dataclass
class NetworkPath:
    """A network namespace joined to this one by a veth pair: a process run inside reaches
    ``host_address``, and ``cut()`` takes the link down (packets vanish, nothing is refused)."""

    namespace: str
    host_link: str
    host_address: str = "10.231.0.1"
    inside_address: str = "10.231.0.2"

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *argv]

    def cut(self) -> None:
        subprocess.run(["ip", "link", "set", self.host_link, "down"], check=True)


@contextmanager
def network_path() -> Iterator[NetworkPath]:
    suffix = uuid.uuid4().hex[:6]
    path = NetworkPath(f"twap-{suffix}", f"twap{suffix}a")
    inside = f"twap{suffix}b"
    steps = [
        ["ip", "netns", "add", path.namespace],
        ["ip", "link", "add", path.host_link, "type", "veth", "peer", "name", inside],
        ["ip", "link", "set", inside, "netns", path.namespace],
        ["ip", "addr", "add", f"{path.host_address}/30", "dev", path.host_link],
        ["ip", "link", "set", path.host_link, "up"],
        path.command(["ip", "addr", "add", f"{path.inside_address}/30", "dev", inside]),
        path.command(["ip", "link", "set", inside, "up"]),
        path.command(["ip", "link", "set", "lo", "up"]),
    ]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        time.sleep(0.2)
        yield path
    finally:
        subprocess.run(["ip", "link", "del", path.host_link], capture_output=True)
        subprocess.run(["ip", "netns", "del", path.namespace], capture_output=True)
