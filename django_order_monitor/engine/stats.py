"""Operators' figures about monitoring, shared by the admin dashboard and ``order_monitor_status``.

Every query is an aggregate over an indexed column, bounded to the last 24 hours
where it reads history, so the figures stay cheap with millions of ledger rows.
Percentiles: :mod:`.percentiles`. Over 300 lines for a reason: one concern, each
figure a query of its own, and the figures the dashboard and the command share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connections
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext

from .. import sql
from ..conf import app_settings
from ..models import MonitoredOrder, StatusCheck, ledger_database
from . import percentiles
from .load import ProviderLoad, provider_loads
from .percentiles import SAMPLE_SIZE as SAMPLE_SIZE  # re-exported: the status command prints it
from .percentiles import PercentileCont, Percentiles

State = MonitoredOrder.State

#: History windows of the figures.
DAY = dt.timedelta(hours=24)
HOUR = dt.timedelta(hours=1)
#: Consecutive failed queries after which an order counts as stuck.
STUCK_ERROR_STREAK = 3
#: Check results that are failed queries, not answers.
ERROR_RESULTS = (StatusCheck.Result.QUERY_ERROR, StatusCheck.Result.TRANSPORT_ERROR)
#: Ends of the time-to-PIN histogram's buckets, in seconds (the last bucket is open).
DELAY_BUCKETS = (30, 60, 120, 300, 900, 1800, 3600, 3 * 3600)


def overdue_after() -> dt.timedelta:
    """How late a check may be before it counts as overdue.

    The sweep promises to recover a lost check at most LOST_TASK_GRACE +
    SWEEP_INTERVAL late; a check later than that means the promise is broken
    (no consumer running, the sweep failing, a batch too small).
    """
    return dt.timedelta(seconds=float(app_settings.LOST_TASK_GRACE) + float(app_settings.SWEEP_INTERVAL))


def overdue_q(now: dt.datetime) -> Q:
    """Followed orders whose next check is overdue and that nobody is checking."""
    unleased = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Q(state__in=MonitoredOrder.ACTIVE_STATES, next_check_at__lt=now - overdue_after()) & unleased


def stuck_q(kind: str, now: dt.datetime) -> Q:
    """Followed orders that are not making progress, by kind.

    ``past_deadline``: still followed although the deadline passed longer ago
    than a check may be late; ``failing``: the provider's last
    STUCK_ERROR_STREAK answers were failed queries; ``lease``: a worker took the
    order and never gave it back (it died mid-check); ``any``: one of these.
    """
    kinds = {
        "past_deadline": Q(deadline_at__lt=now - overdue_after()),
        "failing": Q(consecutive_failed_checks__gte=STUCK_ERROR_STREAK),
        "lease": Q(lease_until__lt=now) & ~Q(lease_token=""),
    }
    if kind == "any":
        condition = kinds["past_deadline"] | kinds["failing"] | kinds["lease"]
    else:
        condition = kinds[kind]
    return Q(state__in=MonitoredOrder.ACTIVE_STATES) & condition


@dataclass(frozen=True)
class ProviderFigures:
    """One provider's checks in one window: count, failed queries, latency in ms."""

    provider: str
    window: str
    checks: int
    failed_checks: int
    latency_mean_ms: float | None
    latency: Percentiles

    @property
    def failure_rate(self) -> float | None:
        return self.failed_checks / self.checks if self.checks else None


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int


@dataclass
class Snapshot:
    """Everything the dashboard and the status command show, computed at ``at``."""

    at: dt.datetime
    by_state: dict[str, int]
    watching: int
    overdue: int
    sweep_driven: int
    stuck: int
    ended_24h: dict[str, int]
    #: Completions that arrived after the order had ended (timed out, failed, or ended by the shop).
    late_completions_24h: int
    time_to_pin: Percentiles
    checks_per_order: dict[str, Any]
    providers: list[ProviderFigures] = field(default_factory=list)
    ended_by_hour: list[dict[str, Any]] = field(default_factory=list)
    delay_histogram: list[Bucket] = field(default_factory=list)
    #: Each provider's calls against its rate limit, the checks due and the oldest's wait.
    loads: list[ProviderLoad] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: datetimes in ISO 8601, durations in seconds."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["overdue_after_seconds"] = overdue_after().total_seconds()
        for hour in data["ended_by_hour"]:
            hour["hour"] = hour["hour"].isoformat()
        for provider, figures in zip(data["providers"], self.providers, strict=True):
            provider["failure_rate"] = figures.failure_rate
        for provider, load in zip(data["loads"], self.loads, strict=True):
            provider["share_used"] = load.share_used
        return data


def snapshot(now: dt.datetime | None = None) -> Snapshot:
    """All operators' figures at ``now`` (about ten aggregate queries)."""
    now = now or timezone.now()
    since = now - DAY
    by_state = dict.fromkeys(State.values, 0)
    for row in MonitoredOrder.objects.order_by().values("state").annotate(n=Count("pk")):
        by_state[row["state"]] = row["n"]
    active = MonitoredOrder.objects.active().aggregate(
        overdue=Count("pk", filter=overdue_q(now)),
        sweep_driven=Count("pk", filter=Q(next_check_by=MonitoredOrder.Driver.SWEEP)),
        stuck=Count("pk", filter=stuck_q("any", now)),
    )
    ended_24h: dict[str, int] = dict.fromkeys(_ENDED_STATES, 0)
    ended = MonitoredOrder.objects.filter(state__in=_ENDED_STATES, finished_at__gte=since, finished_at__lte=now)
    for row in ended.order_by().values("state").annotate(n=Count("pk")):
        ended_24h[row["state"]] = row["n"]
    return Snapshot(
        at=now,
        by_state=by_state,
        watching=by_state[State.WATCHING],
        overdue=active["overdue"],
        sweep_driven=active["sweep_driven"],
        stuck=active["stuck"],
        ended_24h=ended_24h,
        late_completions_24h=MonitoredOrder.objects.filter(late_completed_at__gte=since, late_completed_at__lte=now).count(),
        time_to_pin=time_to_pin(since),
        checks_per_order=checks_per_order(since),
        providers=provider_figures(now),
        ended_by_hour=_ended_by_hour(now),
        delay_histogram=delay_histogram(since),
        loads=provider_loads(now),
    )


_ENDED_STATES = (State.COMPLETED, State.FAILED, State.TIMED_OUT, State.STOPPED)


def _ended_by_hour(now: dt.datetime) -> list[dict[str, Any]]:
    """Orders that ended in each hour of the clock, the current one and 23 before, by final state."""
    tz = timezone.get_current_timezone()
    first = now.astimezone(tz).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)
    hours = [first + dt.timedelta(hours=i) for i in range(24)]
    table = {hour: {"hour": hour, **dict.fromkeys(_ENDED_STATES, 0)} for hour in hours}
    rows = (
        MonitoredOrder.objects.filter(state__in=_ENDED_STATES, finished_at__gte=first, finished_at__lte=now)
        .annotate(hour=TruncHour("finished_at", tzinfo=tz))
        .order_by()
        .values("hour", "state")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        table[row["hour"].astimezone(tz)][row["state"]] += row["n"]
    return [table[hour] for hour in hours]


def _seconds_between(start: str, end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def time_to_pin(since: dt.datetime) -> Percentiles:
    """Seconds from dispatch to completion of the orders completed since ``since``.

    This includes the provider's own work: the provider does not say when it
    finished, so the monitor's own detection delay cannot be measured here.
    """
    queryset = MonitoredOrder.objects.filter(state=State.COMPLETED, finished_at__gte=since)
    return percentiles.of_durations(queryset, _seconds_between("dispatched_at", "finished_at"), newest="-finished_at")


def delay_histogram(since: dt.datetime) -> list[Bucket]:
    """Time to PIN of the orders completed since ``since``, in DELAY_BUCKETS (one query)."""
    edges = [dt.timedelta(seconds=s) for s in DELAY_BUCKETS]
    counts = {}
    lower = None
    for index, upper in enumerate([*edges, None]):
        condition = Q()
        if lower is not None:
            condition &= Q(finished_at__gte=F("dispatched_at") + lower)
        if upper is not None:
            condition &= Q(finished_at__lt=F("dispatched_at") + upper)
        counts[f"b{index}"] = Count("pk", filter=condition)
        lower = upper
    row = MonitoredOrder.objects.filter(state=State.COMPLETED, finished_at__gte=since).aggregate(**counts)
    labels = _bucket_labels()
    return [Bucket(label, row[f"b{i}"]) for i, label in enumerate(labels)]


def _bucket_labels() -> list[str]:
    """``< 30 s``, ``30 s–1 min``, ``1–2 min`` … ``≥ 3 h``."""
    edges = [humanize_seconds(s) for s in DELAY_BUCKETS]
    labels = [f"< {edges[0]}"]
    for low, high in zip(edges, edges[1:], strict=False):
        low_number, _, low_unit = low.partition(" ")
        high_number, _, high_unit = high.partition(" ")
        labels.append(f"{low_number}–{high}" if low_unit == high_unit else f"{low}–{high}")
    return [*labels, f"≥ {edges[-1]}"]


def checks_per_order(since: dt.datetime) -> dict[str, Any]:
    """Provider calls per order, over the orders that ended since ``since``.

    Counted from the check history (answers and failed queries alike), over the
    newest SAMPLE_SIZE of those orders (``sampled`` says when there were more).
    The orders' own counters are not used: the terminal answer is not one of
    ``attempts``, and a provider's callback ends an order without any check.
    """
    ended = MonitoredOrder.objects.filter(state__in=_ENDED_STATES, finished_at__gte=since)
    orders = ended.count()
    if not orders:
        return {"orders": 0, "mean": None, "max": 0, "sampled": False}
    newest = sql.sliced_for_in(ended.order_by("-finished_at").values("pk")[:SAMPLE_SIZE])
    totals = (
        StatusCheck.objects.filter(monitored_order__in=newest)
        .order_by()
        .values("monitored_order")
        .annotate(n=Count("pk"))
        .aggregate(total=Sum("n"), most=Max("n"))
    )
    # Orders that ended without any check (stopped, marked failed) count as zero.
    return {
        "orders": orders,
        "mean": (totals["total"] or 0) / min(orders, SAMPLE_SIZE),
        "max": totals["most"] or 0,
        "sampled": orders > SAMPLE_SIZE,
    }


def provider_figures(now: dt.datetime) -> list[ProviderFigures]:
    """Per provider: checks, failed queries and latency over the last hour and the last 24 h."""
    windows = {"1h": now - HOUR, "24h": now - DAY}
    recent = StatusCheck.objects.filter(checked_at__gte=windows["24h"], checked_at__lte=now)
    # Ledger ids grow with time: bounding the ledger side by the oldest id checked in
    # the window lets the database read a range of its primary key instead of the
    # whole ledger (an old order checked again only widens the range).
    first_id = recent.aggregate(first=Min("monitored_order_id"))["first"]
    if first_id is None:
        return []
    postgres = connections[ledger_database()].vendor == "postgresql"
    annotations: dict[str, Any] = {}
    for name, start in windows.items():
        in_window = Q(checks__checked_at__gte=start)
        annotations[f"checks_{name}"] = Count("checks", filter=in_window)
        annotations[f"errors_{name}"] = Count("checks", filter=in_window & Q(checks__result__in=ERROR_RESULTS))
        annotations[f"mean_{name}"] = Avg("checks__latency_ms", filter=in_window)
        if postgres:
            for p in (50, 90, 99):
                annotations[f"p{p}_{name}"] = PercentileCont("checks__latency_ms", p / 100, filter=in_window)
    # Mapping: the stubs know only the "provider" key of these rows, not the annotations named at run time.
    rows: Iterable[Mapping[str, Any]] = (
        MonitoredOrder.objects.filter(
            pk__gte=first_id, checks__checked_at__gte=windows["24h"], checks__checked_at__lte=now
        )
        .order_by()
        .values("provider")
        .annotate(**annotations)
        .order_by("provider")
    )
    figures = []
    for row in rows:
        provider = row["provider"]
        for name, start in windows.items():
            if postgres:
                latency = Percentiles(row[f"checks_{name}"], row[f"p50_{name}"], row[f"p90_{name}"], row[f"p99_{name}"])
            else:
                sample = recent.filter(monitored_order__provider=provider, checked_at__gte=start)
                latency = percentiles.sampled(sample, F("latency_ms"), "-checked_at", row[f"checks_{name}"])
            figures.append(
                ProviderFigures(
                    provider=provider,
                    window=name,
                    checks=row[f"checks_{name}"],
                    failed_checks=row[f"errors_{name}"],
                    latency_mean_ms=row[f"mean_{name}"],
                    latency=latency,
                )
            )
    return figures


def humanize_seconds(seconds: float | None) -> str:
    """A short duration for people: ``45 s``, ``3 min 20 s``, ``2 h 5 min``, ``1 d 3 h``, in the active language.

    Each text is a number, a space and a unit (the histogram's labels rely on that).
    """
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return gettext("%(seconds)d s") % {"seconds": seconds}
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        if secs:
            return gettext("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": secs}
        return gettext("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
        return gettext("%(hours)d h") % {"hours": hours}
    days, hours = divmod(hours, 24)
    if hours:
        return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    return gettext("%(days)d d") % {"days": days}
