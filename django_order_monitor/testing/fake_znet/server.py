"""The fake znet server: start and stop it, register orders, set faults, read what it did.

:class:`FakeZnetServer` runs a ``ThreadingHTTPServer`` (:mod:`.handler`) in a background
thread; it binds 127.0.0.1 by default and has no real security, so keep it on loopback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .faults import FaultConfig, FaultKind, parse_latency
from .handler import ZnetHTTPServer
from .plans import MixEntry, OrderPlan, PlanOutcome
from .state import ZnetState

__all__ = ["FakeZnetServer"]

logger = logging.getLogger(__name__)

class FakeZnetServer:
    """A fake znet provider on loopback, for tests, demos and benchmarks.

    Usage::

        with FakeZnetServer(seed=1, time_scale=60) as fake:
            provider = ZnetProvider(base_url=fake.url, kod=fake.kod, sifre=fake.sifre)
            ...
            stats = fake.stats()

    ``mix`` is a sequence of :class:`~.plans.MixEntry` (default: the reference
    workload); ``faults`` a :class:`~.faults.FaultConfig` or a mapping of its fields;
    ``latency`` milliseconds, fixed or ``(min, max)``. ``auto_register`` makes an
    unknown reference a new order (with a drawn plan) on its first status check.
    ``clock`` returns epoch seconds (replace it to drive time from a test).
    ``call_log`` > 0 keeps the times of the last that many requests (:meth:`calls_logged`),
    to measure a client's request rate.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        kod: str = "demo",
        sifre: str = "demo-secret",
        seed: int | str = 0,
        time_scale: float = 1.0,
        mix: Sequence[MixEntry] | None = None,
        faults: FaultConfig | Mapping[str, Any] | None = None,
        latency: float | tuple[float, float] | str | None = None,
        auto_register: bool = False,
        balance: float = 100_000.0,
        max_orders: int = 100_000,
        max_connections: int = 256,
        clock: Callable[[], float] = time.time,
        call_log: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.kod = kod
        self.sifre = sifre
        self.max_connections = max_connections
        self.state = ZnetState(
            kod=kod, sifre=sifre, seed=seed, time_scale=time_scale, mix=mix,
            auto_register=auto_register, balance=balance, max_orders=max_orders, clock=clock,
            call_log=call_log,
        )
        config = FaultConfig.coerce(faults)
        if latency is not None:
            config = config.replace(latency_ms=parse_latency(latency))
        self._faults = config
        #: Set while stopping: wakes handlers sleeping on latency or a slow fault.
        self.stopping = threading.Event()
        self._httpd: ZnetHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeZnetServer:
        """Bind and serve in a background (daemon) thread; returns self."""
        with self._lifecycle:
            if self._httpd is not None:
                return self
            self.stopping.clear()
            httpd = ZnetHTTPServer((self.host, self.port), self, self.max_connections)
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                name=f"fake-znet:{httpd.server_address[1]}", daemon=True,
            )
            self._thread.start()
        logger.info("fake-znet listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        with self._lifecycle:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
            if httpd is None:
                return
            self.stopping.set()
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()
            if thread is not None:
                thread.join(timeout=5)

    def __enter__(self) -> FakeZnetServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("the fake znet server is not started")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """Base URL with a trailing slash, e.g. ``http://127.0.0.1:54321/``."""
        host, port = self.address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    # -- orders and reports ----------------------------------------------------------

    def add_order(
        self,
        referans: str,
        plan: OrderPlan | None = None,
        *,
        outcome: PlanOutcome | str | None = None,
        delay: float | None = 0.0,
        pin: str | None = None,
        description: str | None = None,
        dispatched_at: float | None = None,
    ) -> dict[str, Any]:
        """Register an order as if ``pin_ekle`` had accepted it (now, or at ``dispatched_at``).

        With ``plan`` that plan is used; with ``outcome`` (``"completed"``, ``"failed"``
        or ``"never"``) it ends ``delay`` provider seconds after dispatch; with neither a
        plan is drawn from the mix. Re-adding a referans replaces it. Returns the order
        as :meth:`order` does.
        """
        return self.state.add_order(
            referans, plan, outcome=outcome, delay=delay, pin=pin,
            description=description, dispatched_at=dispatched_at,
        )

    def order(self, referans: str) -> dict[str, Any] | None:
        """One order's plan, times and poll counters (None if unknown)."""
        return self.state.order(referans)

    def stats(self) -> dict[str, Any]:
        """Everything ``GET /_fake/stats`` returns (a JSON-ready dict).

        Keys: ``now``; ``config`` (seed, time_scale, mix, faults); ``calls`` per
        endpoint; ``faults_injected`` per kind; ``calls_per_referans`` (pin_kontrol,
        unknown references included); ``balance``; ``summary``; and ``orders``, by
        referans, each with its ``plan``, ``outcome``, ``pin``, ``dispatched_at``,
        ``terminal_at`` (epoch seconds the provider turned terminal: dispatch +
        delay / time_scale, None for never), ``durum_now``, ``polls``,
        ``first_poll_at``/``last_poll_at`` and ``terminal_reported_at``/``_poll``
        (the first poll answered with the terminal durum). Detection delay of an
        order = (when the shop's row changed) − ``terminal_at``.
        """
        data = self.state.stats()
        data["config"]["faults"] = self._faults.as_dict()
        return data

    def calls_logged(self) -> list[tuple[float, str]]:
        """The last ``call_log`` protocol requests, oldest first, as ``(clock time, endpoint)``
        taken when each arrived (before any latency or fault); empty unless ``call_log`` > 0."""
        return self.state.calls_logged()

    def reset(self) -> None:
        """Forget orders and counters (``POST /_fake/reset``); faults and config stay."""
        self.state.reset()

    # -- faults ----------------------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        return self._faults

    def set_faults(self, faults: FaultConfig | Mapping[str, Any] | None = None, **fields: Any) -> FaultConfig:
        """Replace the whole fault config: ``set_faults(drop=0.1)``, ``set_faults(FaultConfig(...))``.

        Fields not given take their defaults, so ``set_faults()`` clears every fault
        (latency and outage included). Takes effect for the next request.
        """
        if faults is not None and fields:
            raise TypeError("pass a FaultConfig/mapping or keyword fields, not both")
        self._faults = FaultConfig.coerce(faults if faults is not None else fields)
        return self._faults

    def update_faults(self, **changes: Any) -> FaultConfig:
        """Change some fields of the current fault config, keeping the others."""
        self._faults = self._faults.replace(**changes)
        return self._faults

    def set_outage(self, kind: FaultKind | str | None = FaultKind.HTTP_500) -> FaultConfig:
        """Make every protocol request fail with ``kind`` (None ends the outage)."""
        return self.update_faults(outage=None if kind is None else FaultKind(kind))

    def set_latency(self, latency: float | tuple[float, float] | str | None) -> FaultConfig:
        """Base latency in milliseconds, fixed or ``(min, max)``."""
        return self.update_faults(latency_ms=parse_latency(latency))
