"""The fake znet's HTTP side: the protocol endpoints with their injected faults, and ``/_fake/`` control.

The server and handler only translate HTTP; what an order answers lives in
:mod:`.state`, which faults to inject in :mod:`.faults`, and the running server
in :class:`~.server.FakeZnetServer`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import FaultKind

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ENDPOINT_PATHS", "ZnetHTTPServer"]

logger = logging.getLogger(__name__)

#: URL path → endpoint name. Paths are matched without a leading slash.
ENDPOINT_PATHS = {
    "servis/pin_ekle.php": "pin_ekle",
    "servis/pin_kontrol.php": "pin_kontrol",
    "servis/bakiye_kontrol.php": "bakiye_kontrol",
}
#: Query parameter naming the order, per endpoint (for per-order counters and fault seeds).
_REFERANS_PARAM = {"pin_ekle": "referans", "pin_kontrol": "tahsilat_api_islem_id"}

_TEXT = "text/plain; charset=utf-8"
_HTML = "text/html; charset=utf-8"
_JSON = "application/json; charset=utf-8"
_MAX_BODY = 64 * 1024
_BUSY_REPLY = "3|Sistem meşgul"
_GARBAGE_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
_GARBAGE_PHP = (
    b"<br />\n<b>Warning</b>:  mysqli_connect(): (HY000/1040): Too many connections in "
    b"<b>/var/www/servis/baglanti.php</b> on line <b>3</b><br />\n"
)
_ERROR_500 = b"<html><body><h1>500 Internal Server Error</h1></body></html>"


class ZnetHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its :class:`~.server.FakeZnetServer` and caps connections.

    ``fake`` is typed ``Any``: the fake server builds this one, so naming its class here would
    make the two modules import each other.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: Any, max_connections: int) -> None:
        self.fake = fake
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Bounded: refuse connections beyond the cap instead of spawning threads forever.
        if not self._slots.acquire(timeout=5):
            self.shutdown_request(request)
            return
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)
            self._slots.release()

    def close_connections(self) -> None:
        """End keep-alive connections too: a stopped server must not answer anyone."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed: nothing left to end
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: ZnetHTTPServer
    # HTTP/1.1 keeps connections alive, as a real PHP host does; every reply has a length.
    protocol_version = "HTTP/1.1"
    server_version = "fake-znet"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 10
    # Headers and body go out in separate writes; with Nagle on, the client's delayed
    # ACK would add ~40 ms to every reply.
    disable_nagle_algorithm = True

    # -- plumbing --------------------------------------------------------------------

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line holds kod and sifre in its query: log the path only.
        logger.debug("fake-znet %s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("fake-znet: " + format, *args)

    def _send(self, status: int, body: bytes, content_type: str = _TEXT) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            # The client went away (typically after its read timeout on a slow reply).
            self.close_connection = True

    def _send_json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"), _JSON)

    def _drop(self) -> None:
        """Close the connection without a reply."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # already closed by the peer: same result
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        if self.server.fake.stopping.is_set():
            self._drop()
            return
        split = urlsplit(self.path)
        path = split.path.lstrip("/")
        if path.startswith("_fake/") or path == "_fake":
            self._control(path)
            return
        endpoint = ENDPOINT_PATHS.get(path)
        if endpoint is None:
            self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>", _HTML)
            return
        if self.command == "POST":
            self._discard_body()
        # PHP's $_GET: the first value of each parameter, blanks kept.
        params = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self._protocol(endpoint, params)

    def _discard_body(self) -> None:
        """Consume a request body we ignore, so the kept-alive connection stays in step."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY or "chunked" in self.headers.get("Transfer-Encoding", ""):
            self.close_connection = True
        elif length:
            self.rfile.read(length)

    # -- protocol endpoints ----------------------------------------------------------

    def _protocol(self, endpoint: str, params: Mapping[str, str]) -> None:
        fake = self.server.fake
        state = fake.state
        referans = params.get(_REFERANS_PARAM.get(endpoint, ""), "").strip()
        number = state.count_call(endpoint, referans)
        faults = fake.faults  # one immutable snapshot for the whole request
        rng = random.Random(f"{state.seed}:fault:{endpoint}:{referans}:{number}")
        kind = faults.draw(rng, endpoint)
        latency = faults.draw_latency(rng)
        bom = faults.bom > 0 and rng.random() < faults.bom
        if latency and fake.stopping.wait(latency):
            self._drop()
            return
        if kind is not None:
            state.count_fault(kind.value)
            logger.debug("fake-znet: injecting %s on %s", kind.value, endpoint)
        if kind is FaultKind.HTTP_500:
            self._send(500, _ERROR_500, _HTML)
        elif kind is FaultKind.GARBAGE:
            choice = rng.randrange(3)
            if choice == 0:
                self._send(200, _GARBAGE_HTML, _HTML)
            elif choice == 1:
                self._send(200, _GARBAGE_PHP, _HTML)
            else:
                self._send(200, b"\xff\xfe\x00<" + rng.randbytes(29))
        elif kind is FaultKind.EMPTY:
            self._send(200, b"")
        elif kind is FaultKind.DROP:
            self._drop()
        elif kind is FaultKind.QUERY_ERROR:
            self._send(200, _BUSY_REPLY.encode("utf-8"))
        else:
            # Work first, reply late: a slow pin_ekle still places the order, which is
            # exactly the ambiguous case a client that timed out must cope with.
            reply = getattr(state, endpoint)(params)
            if kind is FaultKind.SLOW and fake.stopping.wait(faults.slow_seconds):
                self._drop()
                return
            self._send(200, (("\ufeff" if bom else "") + reply).encode("utf-8"))

    # -- control endpoints -----------------------------------------------------------

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw.decode("utf-8")) if raw.strip() else {}

    def _control(self, path: str) -> None:
        fake = self.server.fake
        method = self.command
        try:
            if path == "_fake/stats" and method in ("GET", "HEAD"):
                self._send_json(200, fake.stats())
            elif path == "_fake/reset" and method == "POST":
                fake.reset()
                self._send_json(200, {"ok": True})
            elif path.startswith("_fake/orders/") and method in ("GET", "HEAD"):
                order = fake.order(unquote(path[len("_fake/orders/"):]))
                if order is None:
                    self._send_json(404, {"error": "unknown referans"})
                else:
                    self._send_json(200, order)
            elif path == "_fake/orders" and method == "POST":
                data = self._read_json()
                fake_order = fake.add_order(
                    str(data["referans"]),
                    outcome=data.get("outcome"),
                    delay=data.get("delay", 0.0),
                    pin=data.get("pin"),
                    description=data.get("description"),
                )
                self._send_json(200, fake_order)
            elif path == "_fake/faults" and method in ("GET", "HEAD"):
                self._send_json(200, fake.faults.as_dict())
            elif path == "_fake/faults" and method == "POST":
                data = self._read_json()
                if not isinstance(data, dict):
                    raise ValueError("expected a JSON object of FaultConfig fields")
                # Changes apply on top of the current config unless "replace" is true.
                config = fake.set_faults(data) if data.pop("replace", False) else fake.update_faults(**data)
                self._send_json(200, config.as_dict())
            else:
                self._send_json(404, {"error": f"no control endpoint {method} /{path}"})
        except (ValueError, KeyError, TypeError) as err:
            self.close_connection = True  # the body may be unread: do not reuse the connection
            self._send_json(400, {"error": f"{type(err).__name__}: {err}"})
