"""The fake provider's memory and protocol logic: orders, balance, counters and replies.

No HTTP here: :class:`ZnetState` turns the query parameters of one call into the
reply text, and records what happened so a test can compare it with the shop's view.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .plans import (
    REFERENCE_MIX,
    MixEntry,
    OrderPlan,
    PlanOutcome,
    draw_plan,
    make_plan,
)

__all__ = ["AUTH_ERROR", "FakeOrder", "ZnetState"]

AUTH_ERROR = "8|Bağlantı Hatası,Kullanıcı Api Yetki, Kısıtlı Ip yada Kullanıcı Bilgileri Hatalı"
DUPLICATE_ERROR = "4|Daha Önce Gönderilmiş"
UNKNOWN_ORDER_ERROR = "3|Sipariş bulunamadı"
FULL_ERROR = "3|Sistem kapasitesi dolu"
NO_FUNDS_ERROR = "3|Yetersiz bakiye"


@dataclass
class FakeOrder:
    """One order as the fake provider sees it (times are wall-clock epoch seconds)."""

    referans: str
    plan: OrderPlan
    dispatched_at: float
    #: dispatched_at + plan.delay / time_scale; None if the order never ends.
    terminal_at: float | None
    source: str  # "pin_ekle", "add_order" or "auto_register"
    params: dict[str, str] = field(default_factory=dict)
    polls: int = 0
    first_poll_at: float | None = None
    last_poll_at: float | None = None
    #: When a reply carrying the terminal durum was first produced, and on which poll.
    terminal_reported_at: float | None = None
    terminal_reported_poll: int | None = None

    def durum_at(self, now: float) -> int:
        if self.terminal_at is None or now < self.terminal_at:
            return 1
        return self.plan.durum

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "referans": self.referans,
            "source": self.source,
            "plan": self.plan.as_dict(),
            "outcome": self.plan.outcome.value,
            "pin": self.plan.pin,
            "dispatched_at": self.dispatched_at,
            "terminal_at": self.terminal_at,
            "durum_now": self.durum_at(now),
            "polls": self.polls,
            "first_poll_at": self.first_poll_at,
            "last_poll_at": self.last_poll_at,
            "terminal_reported_at": self.terminal_reported_at,
            "terminal_reported_poll": self.terminal_reported_poll,
            "params": dict(self.params),
        }


class ZnetState:
    """Thread-safe memory of a fake znet provider.

    ``time_scale`` compresses the plans' delays (60 → a 30 min delay takes 30 s);
    ``clock`` returns epoch seconds and can be replaced in tests. ``call_log`` > 0
    keeps the last that many requests as ``(clock time, endpoint)`` (see :meth:`calls_logged`).
    """

    def __init__(
        self,
        *,
        kod: str,
        sifre: str,
        seed: int | str = 0,
        time_scale: float = 1.0,
        mix: Sequence[MixEntry] | None = None,
        auto_register: bool = False,
        balance: float = 100_000.0,
        max_orders: int = 100_000,
        clock: Callable[[], float] = time.time,
        call_log: int = 0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        if max_orders < 1:
            raise ValueError("max_orders must be >= 1")
        if call_log < 0:
            raise ValueError("call_log must be >= 0")
        self.call_log = call_log
        self.kod = kod
        self.sifre = sifre
        self.seed = seed
        self.time_scale = float(time_scale)
        self.mix = tuple(mix) if mix is not None else REFERENCE_MIX
        draw_plan(seed, "", self.mix)  # validate the mix now rather than on the first order
        self.auto_register = auto_register
        self.initial_balance = float(balance)
        self.max_orders = max_orders
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    # -- bookkeeping -----------------------------------------------------------------

    def reset(self) -> None:
        """Forget every order and counter (configuration is kept)."""
        with self._lock:
            self._orders: dict[str, FakeOrder] = {}
            self._calls: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            # Per endpoint, per referans ("" for calls without one).
            self._per_referans: dict[str, Counter[str]] = {}
            self._balance = self.initial_balance
            # Bounded like the counters: the oldest requests fall out.
            self._log: deque[tuple[float, str]] = deque(maxlen=self.call_log or 1)

    def count_call(self, endpoint: str, referans: str) -> int:
        """Count one request; return its number for this (endpoint, referans) pair."""
        with self._lock:
            self._calls[endpoint] += 1
            if self.call_log:
                self._log.append((self.clock(), endpoint))
            counter = self._per_referans.setdefault(endpoint, Counter())
            # Bounded: a client flooding random references must not grow memory forever.
            if referans in counter or len(counter) < self.max_orders:
                counter[referans] += 1
            if endpoint == "pin_kontrol":
                order = self._orders.get(referans)
                if order is not None:
                    now = self.clock()
                    order.polls += 1
                    if order.first_poll_at is None:
                        order.first_poll_at = now
                    order.last_poll_at = now
            return counter[referans]

    def calls_logged(self) -> list[tuple[float, str]]:
        """The logged requests, oldest first: ``(clock time on arrival, endpoint)``, at most
        ``call_log`` of them (none when ``call_log`` is 0). Faulted requests are included."""
        with self._lock:
            return list(self._log) if self.call_log else []

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def _register(self, referans: str, plan: OrderPlan, source: str, params: Mapping[str, str],
                  dispatched_at: float | None = None) -> FakeOrder:
        # Caller holds the lock.
        now = self.clock() if dispatched_at is None else dispatched_at
        terminal_at = None if plan.delay is None else now + plan.delay / self.time_scale
        order = FakeOrder(referans, plan, now, terminal_at, source, dict(params))
        self._orders[referans] = order
        return order

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
        """Register an order as if placed now; see :meth:`FakeZnetServer.add_order`."""
        if not referans:
            raise ValueError("referans must not be empty")
        if plan is None and outcome is not None:
            plan = make_plan(outcome, delay, referans=referans, seed=self.seed, pin=pin,
                             description=description)
        elif plan is None:
            plan = draw_plan(self.seed, referans, self.mix)
        with self._lock:
            if referans not in self._orders and len(self._orders) >= self.max_orders:
                raise ValueError(f"the fake holds max_orders={self.max_orders} orders already")
            order = self._register(referans, plan, "add_order", {}, dispatched_at)
            return order.as_dict(self.clock())

    def order(self, referans: str) -> dict[str, Any] | None:
        with self._lock:
            order = self._orders.get(referans)
            return None if order is None else order.as_dict(self.clock())

    def stats(self) -> dict[str, Any]:
        """A JSON-ready snapshot of counters and orders (see :meth:`FakeZnetServer.stats`)."""
        with self._lock:
            now = self.clock()
            orders = {ref: order.as_dict(now) for ref, order in self._orders.items()}
            by_outcome = Counter(order.plan.outcome.value for order in self._orders.values())
            terminal_now = sum(1 for order in self._orders.values() if order.durum_at(now) != 1)
            return copy.deepcopy({
                "now": now,
                "config": {
                    "seed": self.seed,
                    "time_scale": self.time_scale,
                    "auto_register": self.auto_register,
                    "mix": [
                        {"name": e.name, "weight": e.weight, "outcome": e.outcome.value,
                         "min_delay": e.min_delay, "max_delay": e.max_delay}
                        for e in self.mix
                    ],
                },
                "calls": dict(self._calls),
                "faults_injected": dict(self._faults),
                "calls_per_referans": {
                    ref: n for ref, n in self._per_referans.get("pin_kontrol", Counter()).items() if ref
                },
                "balance": round(self._balance, 2),
                "summary": {
                    "orders": len(self._orders),
                    "by_outcome": dict(by_outcome),
                    "terminal_now": terminal_now,
                },
                "orders": orders,
            })

    # -- protocol --------------------------------------------------------------------

    def authorized(self, params: Mapping[str, str]) -> bool:
        return params.get("kod") == self.kod and params.get("sifre") == self.sifre

    def pin_ekle(self, params: Mapping[str, str]) -> str:
        """Place an order: ``OK|cost|balance`` or ``code|message``."""
        if not self.authorized(params):
            return AUTH_ERROR
        missing = [name for name in ("oyun", "kupur", "referans") if not params.get(name, "").strip()]
        if missing:
            return "3|Eksik parametre: " + ", ".join(missing)
        referans = params["referans"].strip()
        plan = draw_plan(self.seed, referans, self.mix)
        with self._lock:
            if referans in self._orders:
                return DUPLICATE_ERROR
            if len(self._orders) >= self.max_orders:
                return FULL_ERROR
            if self._balance < plan.cost:
                return NO_FUNDS_ERROR
            kept = {k: v for k, v in params.items() if k not in ("kod", "sifre")}
            self._register(referans, plan, "pin_ekle", kept)
            self._balance -= plan.cost
            return f"OK|{plan.cost:.2f}|{self._balance:.2f}"

    def pin_kontrol(self, params: Mapping[str, str]) -> str:
        """Report an order: ``OK|durum|pin|description``, or ``3|...`` when unknown."""
        if not self.authorized(params):
            return AUTH_ERROR
        referans = params.get("tahsilat_api_islem_id", "").strip()
        if not referans:
            return "3|Eksik parametre: tahsilat_api_islem_id"
        with self._lock:
            order = self._orders.get(referans)
            if order is None and self.auto_register and len(self._orders) < self.max_orders:
                order = self._register(referans, draw_plan(self.seed, referans, self.mix),
                                       "auto_register", {})
                order.polls = 1  # count_call ran before the order existed; this is its first poll
                order.first_poll_at = order.last_poll_at = order.dispatched_at
            if order is None:
                return UNKNOWN_ORDER_ERROR
            now = self.clock()
            durum = order.durum_at(now)
            plan = order.plan
            if durum == 1:
                return f"OK|1|{plan.no_pin_field}|{plan.waiting_description}"
            if order.terminal_reported_at is None:
                order.terminal_reported_at = now
                order.terminal_reported_poll = order.polls
            if durum == 2:
                return f"OK|2|{plan.pin}|{plan.description}"
            return f"OK|3|{plan.no_pin_field}|{plan.description}"

    def bakiye_kontrol(self, params: Mapping[str, str]) -> str:
        """``OK|balance|debt``; an empty body on bad credentials, as the real one."""
        if not self.authorized(params):
            return ""
        with self._lock:
            return f"OK|{self._balance:.2f}|0.00"
