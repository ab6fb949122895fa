"""A fake batch-status JSON provider (``GET /client/api/check?orders=[..]``) on loopback.

Orders and their fates come from fake_znet's seeded plan machinery (the same
reference mix and ``time_scale``), so both fakes agree on what an order does.
``http_calls`` counts requests; ``order_queries`` counts orders asked about.

    with FakeBatchJsonServer(seed=1, time_scale=60) as fake:
        fake.add_order("1001")
        provider = BatchJsonProvider(base_url=fake.url, api_token=fake.api_token)
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .fake_znet.state import ZnetState

__all__ = ["STATUS_WORDS", "FakeBatchJsonServer"]

#: The words the fake sends, by durum (1 waiting, 2 completed, 3 failed).
STATUS_WORDS = {1: ("pending", "wait", "processing", "queued"), 2: ("success", "done", "completed", "accept"), 3: ("rejected", "cancelled", "failed")}


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        return None

    def _send(self, status: int, data: Any) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        fake: FakeBatchJsonServer = self.server.fake
        split = urlsplit(self.path)
        if split.path.strip("/") != "client/api/check":
            self._send(404, {"status": "ERROR", "message": "not found"})
            return
        if fake.latency:
            time.sleep(fake.latency)
        if self.headers.get("api-token") != fake.api_token:
            self._send(401, {"status": "ERROR", "message": "unauthorized"})
            return
        raw = parse_qs(split.query).get("orders", ["[]"])[0]
        ids = [part.strip().strip('"') for part in raw.strip().lstrip("[").rstrip("]").split(",") if part.strip()]
        self._send(200, {"status": "OK", "data": fake.answer(ids)})


class FakeBatchJsonServer:
    """Serve the batch check endpoint in a background thread; see the module docstring.

    ``latency`` is seconds added to every call. ``set_word(ref, word)`` makes an
    order answer with that status word; ``set_fields(ref, pin=None, ...)`` sets any
    fields of its entry as given (JSON values of any type, for misbehaving-provider
    tests); unknown references are left out of the reply.
    """

    def __init__(self, *, seed: int | str = 0, time_scale: float = 1.0, api_token: str = "fake-token", latency: float = 0.0) -> None:
        self.api_token = api_token
        self.latency = latency
        self.state = ZnetState(kod="-", sifre="-", seed=seed, time_scale=time_scale)
        self.http_calls = 0
        self.order_queries: Counter[str] = Counter()
        self.words: dict[str, str] = {}
        self.fields: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def add_order(self, referans: str, **kwargs: Any) -> dict[str, Any]:
        """Register an order (see ``FakeZnetServer.add_order``)."""
        return self.state.add_order(referans, **kwargs)

    def set_word(self, referans: str, word: str) -> None:
        self.words[referans] = word

    def set_fields(self, referans: str, **fields: Any) -> None:
        """Answer for ``referans`` with these entry fields, whatever its plan says."""
        self.fields.setdefault(referans, {}).update(fields)

    def answer(self, ids: list[str]) -> list[dict[str, Any]]:
        with self._lock:
            self.http_calls += 1
            self.order_queries.update(ids)
        data = []
        for ref in ids:
            self.state.count_call("pin_kontrol", ref)  # per-order poll counters and terminal_reported_at
            order = self.state.order(ref)
            if order is None:
                continue
            durum = order["durum_now"]
            plan = order["plan"]
            word = self.words.get(ref) or STATUS_WORDS[durum][len(ref) % len(STATUS_WORDS[durum])]
            data.append({
                "order_id": ref,
                "status": word,
                "pin": plan["pin"] if durum == 2 else None,
                "note": plan["description"] if durum != 1 else plan["waiting_description"],
                **self.fields.get(ref, {}),
            })
        return data

    def stats(self) -> dict[str, Any]:
        data = self.state.stats()
        data["http_calls"] = self.http_calls
        data["order_queries"] = sum(self.order_queries.values())
        return data

    def start(self) -> FakeBatchJsonServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeBatchJsonServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake batch server is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"
