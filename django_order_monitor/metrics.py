"""Prometheus metrics (the optional ``[metrics]`` extra), off unless ORDER_MONITOR_METRICS is set.

Counters and histograms count what the engine reports through its port
(:mod:`.engine.observing`) in *this* process. Checks run in the consumers, so
those are scraped from a consumer's own port (``METRICS["PORT"]``, served by
:func:`serve_on_port`, which ``tasks.py`` starts with the consumer); the web
process's URL (``views.metrics``) counts what happens there (pushes, admin
actions). Gauges (followed, overdue and stuck orders, paused providers) are
read from the database at scrape time, in one aggregate query over the
followed orders and one over provider health, whichever process is scraped.

``prometheus_client`` is imported only once metrics are on: the package runs
without it, and check ``order_monitor.E020`` says when it is missing. Labels
are provider names and outcome words only, never an order id, a reference or a
PIN: the number of series stays bounded however many orders pass.
"""

from __future__ import annotations

import hmac
import logging
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.db import DatabaseError, connections
from django.db.models import Count
from django.utils import timezone

from .conf import app_settings
from .engine import load, observing, stats
from .models import MonitoredOrder, ProviderHealth, StatusCheck

logger = logging.getLogger(__name__)

#: Provider call latency buckets, in seconds (znet's field timeouts are 5 s connect, 20 s read).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30)
#: Time-to-PIN buckets (dispatch to the PIN written), in seconds, up to the default 24 h deadline.
TIME_TO_PIN_BUCKETS = (10, 30, 60, 120, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
#: The terminal outcomes a transition is counted under (engine.transitions.TERMINAL_OUTCOMES).
OUTCOMES = ("completed", "failed", "timed_out")


def enabled() -> bool:
    """Whether ORDER_MONITOR_METRICS switches metrics on (read when used, like every setting)."""
    return app_settings.METRICS is not None


def available() -> bool:
    """Whether prometheus-client can be imported (the ``[metrics]`` extra)."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


class _Instruments:
    """This process's registry: the counters and histograms, and the gauges read at scrape time."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        provider = ["provider"]
        self.checks = Counter(
            "order_monitor_checks", "Rows added to the check history (provider answers and failed queries), by result.",
            [*provider, "result"], registry=self.registry,
        )
        self.transitions = Counter(
            "order_monitor_transitions", "Terminal transitions committed, by outcome.",
            [*provider, "outcome"], registry=self.registry,
        )
        self.late_completions = Counter(
            "order_monitor_late_completions", "Completions that arrived after the order had ended.", provider, registry=self.registry
        )
        self.rate_limit_deferrals = Counter(
            "order_monitor_rate_limit_deferrals", "Checks deferred because no call slot freed up in time.", provider,
            registry=self.registry,
        )
        self.budget_deferrals = Counter(
            "order_monitor_budget_deferrals", "Scheduled checks put off because the provider's call budget was spent.",
            provider, registry=self.registry,
        )
        self.breaker_pauses = Counter(
            "order_monitor_breaker_pauses", "Times the circuit breaker paused the provider.", provider, registry=self.registry
        )
        self.latency = Histogram(
            "order_monitor_provider_latency_seconds", "Duration of one provider status call (one order or one batch).",
            provider, buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.time_to_pin = Histogram(
            "order_monitor_time_to_pin_seconds", "From dispatch to the PIN written to the order, per completion.",
            provider, buckets=TIME_TO_PIN_BUCKETS, registry=self.registry,
        )
        self.registry.register(_DatabaseGauges())
        # Series of the configured providers exist from the first scrape (at zero), so that
        # rate() and alerts see them before the first event.
        for name in _configured_providers():
            for result in StatusCheck.Result.values:
                self.checks.labels(name, result)
            for outcome in OUTCOMES:
                self.transitions.labels(name, outcome)
            for metric in (
                self.late_completions, self.rate_limit_deferrals, self.budget_deferrals, self.breaker_pauses, self.latency,
                self.time_to_pin,
            ):
                metric.labels(name)


_instruments_lock = threading.Lock()
_instruments: _Instruments | None = None


def instruments() -> _Instruments | None:
    """This process's instruments, made on first use; None while metrics are off or the library is missing."""
    global _instruments
    if not enabled():
        return None
    if _instruments is not None:  # every check passes here: no lock once they exist
        return _instruments
    with _instruments_lock:
        # Double-checked: another thread may have created them while this one waited for the lock.
        if _instruments is None and available():  # type: ignore[redundant-expr]  # mypy: "always true"
            _instruments = _Instruments()
        return _instruments


def _configured_providers() -> list[str]:
    providers = app_settings.PROVIDERS
    return sorted(name for name in providers if isinstance(name, str)) if isinstance(providers, dict) else []


class _DatabaseGauges:
    """Gauges read from the database at each scrape (four aggregate queries).

    No ``describe()``: registering the collector must not query the database.
    """

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        now = timezone.now()
        try:
            row = MonitoredOrder.objects.active().aggregate(
                followed=Count("pk"),
                overdue=Count("pk", filter=stats.overdue_q(now)),
                stuck=Count("pk", filter=stats.stuck_q("any", now)),
            )
            paused = set(ProviderHealth.objects.filter(paused_until__gt=now).values_list("provider", flat=True))
            loads = load.provider_loads(now)
        except DatabaseError as err:
            # The counters are still worth a scrape while the database is away.
            logger.warning("Metrics: the database gauges are left out of this scrape (%s)", type(err).__name__)
            return
        yield GaugeMetricFamily("order_monitor_followed_orders", "Orders followed now.", value=row["followed"])
        yield GaugeMetricFamily(
            "order_monitor_overdue_orders",
            "Followed orders whose next check is later than LOST_TASK_GRACE + SWEEP_INTERVAL and that nobody is checking.",
            value=row["overdue"],
        )
        yield GaugeMetricFamily(
            "order_monitor_stuck_orders",
            "Followed orders past their deadline, failing queries in a row, or left by a dead worker.",
            value=row["stuck"],
        )
        breaker = GaugeMetricFamily(
            "order_monitor_breaker_open", "1 while the provider's circuit breaker pauses its checks, else 0.", labels=["provider"]
        )
        for name in sorted(set(_configured_providers()) | paused):
            breaker.add_metric([name], 1 if name in paused else 0)
        yield breaker
        # The call budget (engine.load): is the provider's rate limit what holds the checks back?
        families = {
            "limit": GaugeMetricFamily(
                "order_monitor_provider_call_limit_per_second", "Status calls per second the rate limit allows.", labels=["provider"]
            ),
            "calls": GaugeMetricFamily(
                "order_monitor_provider_calls_per_second", "Status calls per second over the last 5 minutes.", labels=["provider"]
            ),
            "dispatch": GaugeMetricFamily(
                "order_monitor_provider_dispatch_calls_per_second",
                "Dispatch calls per second through the adapter (about the last minute); they go before status calls.",
                labels=["provider"],
            ),
            "chance_needed": GaugeMetricFamily(
                "order_monitor_budget_chance_needed",
                "Chance of finding its order ended a check needs to get a call now (0: every due check calls).",
                labels=["provider"],
            ),
            "due": GaugeMetricFamily("order_monitor_due_checks", "Followed orders whose next check is due now.", labels=["provider"]),
            "oldest": GaugeMetricFamily(
                "order_monitor_oldest_due_check_seconds", "How long the oldest due check has waited.", labels=["provider"]
            ),
        }
        for provider_load in loads:
            labels = [provider_load.provider]
            if provider_load.limit_per_second is not None:
                families["limit"].add_metric(labels, provider_load.limit_per_second)
            families["calls"].add_metric(labels, provider_load.calls_per_second)
            families["dispatch"].add_metric(labels, provider_load.dispatch_per_second)
            families["chance_needed"].add_metric(labels, provider_load.chance_needed)
            families["due"].add_metric(labels, provider_load.due_now)
            families["oldest"].add_metric(labels, provider_load.oldest_due_seconds)
        yield from families.values()


class PrometheusObserver:
    """The engine's observer (:class:`.engine.observing.Observer`): counts while metrics are on."""

    def checked(self, provider: str, result: str) -> None:
        if (found := instruments()) is not None:
            found.checks.labels(provider, result).inc()

    def provider_called(self, provider: str, seconds: float) -> None:
        if (found := instruments()) is not None:
            found.latency.labels(provider).observe(seconds)

    def ended(self, provider: str, outcome: str, seconds_to_pin: float | None) -> None:
        if (found := instruments()) is not None:
            found.transitions.labels(provider, outcome).inc()
            if seconds_to_pin is not None:
                found.time_to_pin.labels(provider).observe(max(0.0, seconds_to_pin))

    def late_completion(self, provider: str) -> None:
        if (found := instruments()) is not None:
            found.late_completions.labels(provider).inc()

    def rate_limited(self, provider: str) -> None:
        if (found := instruments()) is not None:
            found.rate_limit_deferrals.labels(provider).inc()

    def breaker_opened(self, provider: str) -> None:
        if (found := instruments()) is not None:
            found.breaker_pauses.labels(provider).inc()

    def budget_deferred(self, provider: str) -> None:
        if (found := instruments()) is not None:
            found.budget_deferrals.labels(provider).inc()


def connect() -> None:
    """Connect the engine's port to Prometheus (``apps.py``, at start-up). Imports nothing until an event."""
    observing.install(PrometheusObserver())


# -- exposition ----------------------------------------------------------------------------------


def exposition() -> tuple[bytes, str]:
    """This process's metrics in Prometheus' text format, and its content type (metrics must be on)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    found = instruments()
    if found is None:
        raise RuntimeError("metrics are off or prometheus-client is missing")
    return generate_latest(found.registry), CONTENT_TYPE_LATEST


def token_matches(authorization: str) -> bool:
    """Whether an ``Authorization`` header carries METRICS' TOKEN as a bearer token (compared in constant time)."""
    token = (app_settings.METRICS or {}).get("TOKEN")
    if not token:
        return False
    return hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())


def may_view(user: Any) -> bool:
    """Staff who may view the ledger may read the metrics at the shop's URL, as they may the dashboard."""
    return bool(
        user is not None and user.is_active and user.is_staff and user.has_perm("order_monitor.view_monitoredorder")
    )


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper never holds up the consumer's exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a scrape every 15 s is not news for the consumer's log


def _port_app(environ: dict, start_response) -> list[bytes]:
    """The consumer port's WSGI app: the TOKEN (when set) as a bearer token, then the metrics."""
    try:
        if (app_settings.METRICS or {}).get("TOKEN") and not token_matches(environ.get("HTTP_AUTHORIZATION", "")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"a bearer token is required\n"]
        body, content_type = exposition()
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]
    finally:
        # Each scrape runs in a thread of its own that ends with it: close its connection.
        connections.close_all()


_server_lock = threading.Lock()
_server: _Server | None = None
_server_failed = False


def serve_on_port() -> int | None:
    """Serve this process's metrics on METRICS' PORT from a daemon thread, once; returns the port.

    ``tasks.py`` calls this as each consumer worker starts: the first call
    serves, the others find it served. None when no PORT is set, metrics are
    off, or the port cannot be bound (logged once: two consumers on one host
    need a port each).
    """
    global _server, _server_failed
    options = app_settings.METRICS
    if not isinstance(options, dict) or options.get("PORT") is None or not available():
        return None
    with _server_lock:
        if _server is None and not _server_failed:
            address, port = options.get("ADDRESS") or "0.0.0.0", options["PORT"]
            try:
                _server = make_server(address, port, _port_app, server_class=_Server, handler_class=_QuietHandler)
            except OSError as err:
                _server_failed = True
                logger.error("Metrics cannot be served on %s:%s (%s); give each consumer on a host its own PORT", address, port, err)
                return None
            threading.Thread(target=_server.serve_forever, name="order-monitor-metrics", daemon=True).start()
            logger.info("Metrics served on http://%s:%s/metrics", address, _server.server_port)
        return _server.server_port if _server is not None else None
