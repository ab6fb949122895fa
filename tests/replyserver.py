"""A tiny HTTP server on 127.0.0.1 that answers every GET with the reply a test sets.

For adapter tests that need a provider to send exact bytes, send them slowly, or
redirect: set ``body`` (bytes), ``status``, ``headers``, ``trickle`` (seconds
between bytes) or ``location`` (a redirect target for paths starting with
``redirect_from``) before the call. Every request is recorded in ``requests`` as
``(path, headers)``, and the client's port in ``client_ports``.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        return None

    def do_GET(self) -> None:
        reply: ReplyServer = self.server.reply
        with reply.lock:
            reply.requests.append((self.path, dict(self.headers)))
            reply.client_ports.append(self.client_address[1])
            body, status, headers, trickle, location = (
                reply.body, reply.status, dict(reply.headers), reply.trickle, reply.location
            )
        if location is not None and self.path.startswith(reply.redirect_from):
            status, body = (status if 300 <= status < 400 else 302), b""
            headers["Location"] = location
        self.send_response(status)
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            if not trickle:
                self.wfile.write(body)
                return
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(trickle)
        except OSError:
            self.close_connection = True  # the client gave up: expected in deadline tests


class ReplyServer:
    """See the module docstring. Use as a context manager; ``url`` ends with ``/``."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.headers: dict[str, str] = {}
        self.trickle = 0.0
        self.location: str | None = None
        self.redirect_from = "/"
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.client_ports: list[int] = []
        self.lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> ReplyServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.reply = self  # type: ignore[attr-defined]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the reply server is not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"
