"""An adaptive policy: poll where completions are likely, learned from each provider's history.

:class:`AdaptivePolicy` keeps, per provider and product (and process), the distribution of
how long orders took from dispatch to a terminal answer, built from the ledger
(completed and failed orders over a recent window; timed-out orders count as
"never") and blended with a prior shaped like the reference workload (70 %
within 5-30 s, 20 % within 2-30 min, 7 % failing within 10-120 s, 3 % never),
so a provider without history starts sensibly. Where the shop maps the
``product`` role, each product's own history is shrunk toward its provider's
model (``PRIOR_WEIGHT`` orders of it), so a product is learned as soon as it has
history and falls back to its provider until then.

The rule: after ``e`` seconds without a terminal answer, the next check is at
the time by which a fraction ``QUANTILE`` of the orders still open at ``e``
have ended, i.e. ``F(t) = F(e) + QUANTILE * (1 - F(e))``. Checks are dense
where the hazard is high and sparse in the tail; beyond the last completion
ever seen they fall back to ``BACKOFF_MAX``. Every delay is kept within
``[MIN_INTERVAL, BACKOFF_MAX]``, jittered by ``BACKOFF_JITTER``, and the deadline
is always the last regular check.

Options (``ORDER_MONITOR_ADAPTIVE``, a dict; all optional)::

    QUANTILE      0.12     share of the open orders expected to end before the next check
    MIN_INTERVAL  2        seconds; never poll one order more often
    WINDOW        604800   seconds of history read (7 days)
    MAX_SAMPLES   5000     most recent terminal orders read per provider
    PRIOR_WEIGHT  50       the prior counts as this many orders
    CACHE_TTL     300      seconds a provider's distribution is reused (per process)
    TIME_SCALE    1        divides the prior and these times (compressed demos/benchmarks)

The policy needs ``dispatched_at`` (the chained task passes it); without it, it
behaves as the seed :class:`~django_order_monitor.engine.policy.Policy`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..conf import app_settings
from .policy import (
    NextCheck,
    Policy,
    clamp,
    jittered,
)

__all__ = ["DEFAULT_OPTIONS", "REFERENCE_PRIOR", "AdaptivePolicy", "CompletionModel", "clear_cache"]

DEFAULT_OPTIONS: dict[str, float] = {
    "QUANTILE": 0.12,
    "MIN_INTERVAL": 2.0,
    "WINDOW": 7 * 24 * 3600.0,
    "MAX_SAMPLES": 5000,
    "PRIOR_WEIGHT": 50.0,
    "CACHE_TTL": 300.0,
    "TIME_SCALE": 1.0,
    # Used by engine.placement.ModelPolicy: seconds of expected detection delay one call is worth.
    "CALL_WORTH": 20.0,
}

#: (weight, first second, last second) of uniform slices; ``None`` seconds = never ends.
REFERENCE_PRIOR: tuple[tuple[float, float | None, float | None], ...] = (
    (0.70, 5.0, 30.0),
    (0.20, 120.0, 1800.0),
    (0.07, 10.0, 120.0),
    (0.03, None, None),
)

_PRIOR_POINTS = 200


class CompletionModel:
    """A weighted empirical distribution of seconds from dispatch to a terminal answer.

    ``never`` is the weight of orders that never ended (timed out). ``cdf(t)``
    counts it as mass at infinity, so ``1 - cdf(t)`` is the chance an order is
    still open at ``t``.
    """

    def __init__(self, points: Iterable[tuple[float, float]], never: float = 0.0, samples: int = 0) -> None:
        pairs = sorted((max(0.0, float(t)), float(w)) for t, w in points if w > 0)
        self.times = [t for t, _ in pairs]
        self.cumulative: list[float] = []
        #: Running sums of weight x time: the expected delay of a wait is read from them in O(log n).
        self.cumulative_moment: list[float] = []
        running = moment = 0.0
        for at, weight in pairs:
            running += weight
            moment += weight * at
            self.cumulative.append(running)
            self.cumulative_moment.append(moment)
        self.finite = running
        self.never = max(0.0, float(never))
        self.total = self.finite + self.never
        #: How many real (history) orders went into the model.
        self.samples = samples

    def cdf(self, t: float) -> float:
        """Share of orders that ended by ``t`` seconds after dispatch."""
        if self.total <= 0:
            return 0.0
        index = bisect.bisect_right(self.times, t)
        return (self.cumulative[index - 1] if index else 0.0) / self.total

    def time_of(self, p: float) -> float | None:
        """The first time by which a share ``p`` of the orders ended; None if never."""
        if self.total <= 0:
            return None
        target = p * self.total
        if target > self.finite * (1 + 1e-12):
            return None
        index = bisect.bisect_left(self.cumulative, target - 1e-9 * self.total)
        return self.times[min(index, len(self.times) - 1)]

    def next_check(self, elapsed: float, quantile: float) -> float | None:
        """Seconds after dispatch of the next check for an order open at ``elapsed``;
        None when no completion is expected any more (the tail)."""
        done = self.cdf(elapsed)
        if done >= 1.0 - 1e-12:
            return None  # every order seen had ended by now
        return self.time_of(done + quantile * (1.0 - done))

    def find_chance(self, since: float, until: float) -> float:
        """Chance that an order still open ``since`` seconds after dispatch has ended by ``until``."""
        still_open = 1.0 - self.cdf(since)
        if still_open <= 1e-12 or until <= since:
            return 0.0
        return max(0.0, self.cdf(until) - self.cdf(since)) / still_open

    def worth_point(self, elapsed: float, worth: float) -> float | None:
        """Seconds after dispatch of the next check of an order open at ``elapsed``, placed where
        waiting longer would cost more expected detection delay than ``worth`` seconds.

        The expected delay of waiting until ``t`` is ``E[(t - T) ; elapsed < T <= t] / P(T > elapsed)``
        (``T`` the completion time): small where completions are rare (the tail, orders that
        never end), large where they are dense, so checks follow the hazard over the whole life
        of the order. With a locally constant hazard ``h`` the gap is ``sqrt(2 worth / h)``, the
        classic inspection interval. None when no completion is expected after ``elapsed``.
        """
        start = bisect.bisect_right(self.times, elapsed)
        if start >= len(self.times) or self.total <= 0:
            return None
        open_weight = self.total - (self.cumulative[start - 1] if start else 0.0)
        base_w = self.cumulative[start - 1] if start else 0.0
        base_m = self.cumulative_moment[start - 1] if start else 0.0
        target = worth * open_weight

        def cost_at(index: int) -> tuple[float, float]:
            # Weight and moment of the completions in (elapsed, times[index]].
            return self.cumulative[index] - base_w, self.cumulative_moment[index] - base_m

        low, high = start, len(self.times) - 1
        weight, moment = cost_at(high)
        if weight * self.times[high] - moment < target:
            # Past the last completion ever seen the cost grows linearly with the time.
            return (target + moment) / weight
        while low < high:  # the first point where the expected delay reaches the target
            middle = (low + high) // 2
            weight, moment = cost_at(middle)
            if weight * self.times[middle] - moment >= target:
                high = middle
            else:
                low = middle + 1
        if low == start:
            return self.times[start] if target <= 0 else max(self.times[start], elapsed)
        weight, moment = cost_at(low - 1)
        # Between two points the cost is linear: solve weight * t - moment = target.
        return min(self.times[low], (target + moment) / weight)

    @classmethod
    def blend(
        cls,
        history: Sequence[float | None],
        prior: Sequence[tuple[float, float | None, float | None]] = REFERENCE_PRIOR,
        *,
        prior_weight: float = 50.0,
        time_scale: float = 1.0,
    ) -> CompletionModel:
        """History (seconds, None = never ended) plus ``prior_weight`` orders of ``prior``."""
        points: list[tuple[float, float]] = []
        never = 0.0
        for seconds in history:
            if seconds is None:
                never += 1.0
            else:
                points.append((float(seconds), 1.0))
        total_prior = sum(weight for weight, _, _ in prior) or 1.0
        for weight, low, high in prior:
            share = prior_weight * weight / total_prior
            if low is None or high is None:
                never += share
                continue
            for step in range(_PRIOR_POINTS):
                at = low + (high - low) * (step + 0.5) / _PRIOR_POINTS
                points.append((at / time_scale, share / _PRIOR_POINTS))
        return cls(points, never=never, samples=len(history))

    @classmethod
    def shrunk_toward(cls, history: Sequence[float | None], base: CompletionModel, *, weight: float) -> CompletionModel:
        """History plus ``weight`` orders distributed like ``base``.

        A product's model, pulled toward its provider's: with no history of its
        own it is the provider's model; with much more than ``weight`` orders it
        is its own.
        """
        points = [(float(seconds), 1.0) for seconds in history if seconds is not None]
        never = float(sum(1 for seconds in history if seconds is None))
        if base.total > 0:
            share = weight / base.total
            previous = 0.0
            for at, cumulative in zip(base.times, base.cumulative, strict=True):
                points.append((at, (cumulative - previous) * share))
                previous = cumulative
            never += base.never * share
        return cls(points, never=never, samples=len(history))


#: ``StatusCheck.source`` of a provider's push (``push.handle``).
_PUSH_SOURCE = "callback"


def _ended_after(dispatched: dt.datetime, open_until: dt.datetime | None, finished: dt.datetime) -> float:
    """Seconds from dispatch to the imputed end: the middle of (last seen open, terminal answer].

    Why the middle: the policies space the checks so that each gap holds about the
    same share of the orders still open (the quantile rule; the worth rule keeps
    the expected delay per gap constant), so within one gap the ends are about
    evenly spread and the middle is their mean, off by a quarter of the gap on
    average. The model's own conditional mean over the gap would feed the model
    being learned back into itself, the loop this removes, for no gain that
    survives the jitter of the checks. With a wide first gap (no answer before the
    first check) the middle can be early or late by half of it; it is still the
    even bet, where the terminal answer was always late.
    """
    lower = dispatched if open_until is None else max(dispatched, min(open_until, finished))
    middle = lower + (finished - lower) / 2
    return max(0.0, (middle - dispatched).total_seconds())


# (provider, product, time scale, prior weight) -> (expires at, model), per process.
_cache: dict[tuple, tuple[float, CompletionModel]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every learned distribution (tests; after importing history)."""
    with _cache_lock:
        _cache.clear()


class AdaptivePolicy(Policy):
    """Checks at quantiles of the provider's remaining completion time (see the module docstring)."""

    #: Per-instance overrides of ORDER_MONITOR_ADAPTIVE (simulations set them directly).
    overrides: dict[str, Any] = {}
    #: Monotonic clock of the cache; a simulation may replace it.
    clock: Callable[[], float] = staticmethod(time.monotonic)
    #: Where learned models are kept: one dict per process, shared by the instances.
    cache: dict[tuple, tuple[float, CompletionModel]] = _cache

    def option(self, name: str) -> float:
        configured = app_settings.ADAPTIVE or {}
        value = self.overrides.get(name, configured.get(name, DEFAULT_OPTIONS[name]))
        return float(value)

    def seconds(self, name: str) -> float:
        return self.option(name) / self.option("TIME_SCALE")

    # -- history -----------------------------------------------------------------------

    def load_history(self, provider: str, product: str = "") -> list[float | None]:
        """Seconds from dispatch to the end of recent terminal orders of ``provider``
        (of ``product`` only, when given; None for those that timed out), newest
        first. Override to learn elsewhere.

        The end is when the order ended *at the provider*, not when the monitor saw
        it (``finished_at``, the terminal answer): it lies after the last answer that
        said the order was still processing (the dispatch, when the first answer was
        terminal or the history was pruned) and by the terminal answer, and is
        taken at the middle of that gap. Learning the moments the monitor saw
        would add its own detection delay to every time, place the checks later,
        make the delays longer and the learned times later still (a feedback loop,
        worst under a call budget). An end told by the provider's push is exact.
        """
        from django.db.models import DateTimeField, F, OuterRef, Q, Subquery
        from django.db.models.functions import Coalesce
        from django.utils import timezone

        from ..models import MonitoredOrder, StatusCheck

        states = MonitoredOrder.State
        results = StatusCheck.Result
        since = timezone.now() - dt.timedelta(seconds=self.seconds("WINDOW"))
        rows = MonitoredOrder.objects.filter(
            provider=provider,
            state__in=(states.COMPLETED, states.FAILED, states.TIMED_OUT),
            finished_at__gte=since,
        )
        if product:
            rows = rows.filter(product=product)
        # The last moment the order is known to have been open: its latest "processing"
        # answer up to the terminal one. A failed query (transport, query or internal
        # error, a completion the gate refused) says nothing: the order may have ended
        # before it. A terminal push (recorded at finished_at) tells the end as it
        # happens, so it closes the gap. Read in the same query, by the
        # (monitored_order, checked_at) index, newest first.
        open_until = (
            StatusCheck.objects.filter(monitored_order=OuterRef("pk"), checked_at__lte=OuterRef("finished_at"))
            .filter(
                Q(result=results.PROCESSING)
                | Q(result__in=(results.COMPLETED, results.FAILED), source=_PUSH_SOURCE)
            )
            .order_by("-checked_at")
            .values("checked_at")[:1]
        )
        samples = (
            rows.annotate(open_until=Coalesce(Subquery(open_until), F("dispatched_at"), output_field=DateTimeField()))
            .order_by("-finished_at")
            .values_list("state", "dispatched_at", "open_until", "finished_at")[: int(self.option("MAX_SAMPLES"))]
        )
        return [
            None if state == states.TIMED_OUT or finished is None else _ended_after(dispatched, open_until, finished)
            for state, dispatched, open_until, finished in samples
        ]

    def model(self, provider: str, product: str = "") -> CompletionModel:
        """The completion model of ``provider`` (and ``product``), rebuilt at most every CACHE_TTL seconds.

        A provider's model is its history blended with the reference prior; a
        product's is its own history shrunk toward its provider's model.
        """
        key = (provider or "", product or "", self.option("TIME_SCALE"), self.option("PRIOR_WEIGHT"))
        now = self.clock()
        with _cache_lock:
            cached = self.cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        if product:
            built = CompletionModel.shrunk_toward(
                self.load_history(provider, product), self.model(provider), weight=self.option("PRIOR_WEIGHT")
            )
        else:
            built = CompletionModel.blend(
                self.load_history(provider),
                prior_weight=self.option("PRIOR_WEIGHT"),
                time_scale=self.option("TIME_SCALE"),
            )
        with _cache_lock:
            self.cache[key] = (now + self.seconds("CACHE_TTL"), built)
        return built

    # -- the policy --------------------------------------------------------------------

    def next_point(self, model: CompletionModel, elapsed: float) -> float | None:
        """Seconds after dispatch of the next check (None: beyond what the model knows)."""
        return model.next_check(elapsed, self.option("QUANTILE"))

    def delay(self, provider: str, elapsed: float, product: str = "") -> float:
        """Seconds to wait before the next check of an order open ``elapsed`` seconds."""
        cap = float(app_settings.BACKOFF_MAX)
        floor = min(self.seconds("MIN_INTERVAL"), cap)
        at = self.next_point(self.model(provider, product), max(0.0, elapsed))
        wait = cap if at is None else at - elapsed
        return min(cap, max(floor, wait))

    def find_chance(
        self, dispatched_at: dt.datetime, since: dt.datetime, now: dt.datetime, provider: str = "", product: str = ""
    ) -> float:
        """The model's chance that an order open at ``since`` has ended by ``now``."""
        return self.model(provider, product).find_chance(
            (since - dispatched_at).total_seconds(), (now - dispatched_at).total_seconds()
        )

    def first_check(
        self, dispatched_at: dt.datetime, now: dt.datetime, provider: str = "", product: str = ""
    ) -> dt.datetime:
        elapsed = (now - dispatched_at).total_seconds()
        wait = self.delay(provider, elapsed, product)
        return max(now, dispatched_at + dt.timedelta(seconds=max(0.0, elapsed) + jittered(wait)))

    def after_answer(
        self,
        attempts: int,
        deadline_at: dt.datetime,
        now: dt.datetime,
        *,
        dispatched_at: dt.datetime | None = None,
        provider: str = "",
        product: str = "",
    ) -> NextCheck:
        if dispatched_at is None:
            return super().after_answer(attempts, deadline_at, now, provider=provider, product=product)
        wait = jittered(self.delay(provider, (now - dispatched_at).total_seconds(), product))
        return clamp(now + dt.timedelta(seconds=wait), deadline_at, now, self.driver(attempts, wait))

    def driver(self, attempts: int, wait: float) -> str:
        """Who brings the next check: the chain drives the dense part; long waits past the quick attempts go to the sweep."""
        late = attempts >= int(app_settings.QUICK_ATTEMPTS) and wait >= float(app_settings.SWEEP_INTERVAL)
        return "sweep" if late else "task"

