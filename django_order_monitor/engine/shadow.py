"""Shadow mode's comparison: what the monitor decided beside what the shop's own code decided.

With ``ORDER_MONITOR_SHADOW = True`` the monitor follows every order to its own
decision and records it only in its ledger. :func:`compare` reads both sides
(the ledger, and the shop's status and time columns through the role map) so a
shop that already polls can see, before switching, where the two disagree and
which of them noticed first. Nothing here writes; the PIN is never read.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..conf import app_settings
from ..models import MonitoredOrder
from ..shop import orders

#: The shop's roles that say when it noticed the end, most precise first.
SHOP_TIME_ROLES = ("completed_at", "last_sync_at")

#: A decision, on either side: completed, failed, ended (the shop ended it some other way),
#: open (still waiting), stopped (the monitor stopped following), gone (the shop's row is deleted).
DECIDED = ("completed", "failed")


@dataclass(frozen=True)
class Comparison:
    """One order: each side's decision and when it was made (``None``: not known)."""

    order_pk: Any
    provider: str
    reference: str
    monitor: str
    shop: str
    monitor_at: dt.datetime | None
    shop_at: dt.datetime | None

    @property
    def both_decided(self) -> bool:
        return self.monitor in DECIDED and self.shop in DECIDED

    @property
    def agree(self) -> bool:
        return self.both_decided and self.monitor == self.shop

    @property
    def monitor_lead_seconds(self) -> float | None:
        """How much sooner the monitor noticed (negative: later); None unless both decided, with times."""
        if not self.both_decided or self.monitor_at is None or self.shop_at is None:
            return None
        return (self.shop_at - self.monitor_at).total_seconds()


@dataclass(frozen=True)
class ShadowReport:
    compared: int
    #: "agree", "disagree", "monitor only", "shop only", "both open", "other" -> orders.
    counts: dict[str, int]
    #: Orders where both decided and differ (the ones to read before switching).
    disagreements: list[Comparison] = field(default_factory=list)
    #: Orders the monitor decided and the shop has not (yet).
    monitor_only: list[Comparison] = field(default_factory=list)
    #: Seconds the monitor was sooner (negative: later), over agreeing orders with both times.
    lead_seconds: list[float] = field(default_factory=list)

    def lead_percentile(self, fraction: float) -> float | None:
        if not self.lead_seconds:
            return None
        ordered = sorted(self.lead_seconds)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def monitor_decision(entry: MonitoredOrder) -> str:
    State = MonitoredOrder.State
    if entry.state == State.COMPLETED:
        return "completed"
    # A timed-out order is failed on the shop's row when the monitor writes (TIMEOUT_ACTION "failed").
    if entry.state in (State.FAILED, State.TIMED_OUT):
        return "failed"
    return "open" if entry.state == State.WATCHING else "stopped"


def shop_decision(roles: dict[str, Any] | None) -> str:
    if roles is None:
        return "gone"
    if orders.is_open(roles):
        return "open"
    external = roles.get("external_status")
    internal = roles.get("status")
    external_values = app_settings.EXTERNAL_STATUS_VALUES or {}
    internal_values = app_settings.INTERNAL_STATUS_VALUES or {}
    words = {"completed": app_settings.SUCCESS_STATUSES or [], "failed": app_settings.FAILURE_STATUSES or []}
    for outcome in DECIDED:
        written = [word for word in (external_values.get(outcome),) if word]
        if orders.matches(external, [*written, *words[outcome]]):
            return outcome
        if internal is not None and internal == internal_values.get(outcome):
            return outcome
    return "ended"


def _category(comparison: Comparison) -> str:
    if comparison.both_decided:
        return "agree" if comparison.agree else "disagree"
    if comparison.monitor in DECIDED and comparison.shop == "open":
        return "monitor only"
    if comparison.shop in DECIDED and comparison.monitor == "open":
        return "shop only"
    if comparison.monitor == comparison.shop == "open":
        return "both open"
    return "other"


def compare(since: dt.datetime | None = None, limit: int = 10_000) -> ShadowReport:
    """Compare the newest ``limit`` followed orders (dispatched at or after ``since``)."""
    newest = MonitoredOrder.objects.order_by("-dispatched_at")
    if since is not None:
        newest = newest.filter(dispatched_at__gte=since)
    entries = list(newest[:limit])
    shop_rows = orders.roles_bulk([entry.order_id for entry in entries], (*orders.STATUS_ROLES, *SHOP_TIME_ROLES))
    comparisons = []
    for entry in entries:
        roles = shop_rows.get(entry.order_id)
        shop = shop_decision(roles)
        shop_at = next((orders.aware(roles[role]) for role in SHOP_TIME_ROLES if roles and roles.get(role)), None)
        comparisons.append(
            Comparison(
                order_pk=entry.order_id,
                provider=entry.provider,
                reference=entry.reference,
                monitor=monitor_decision(entry),
                shop=shop,
                monitor_at=entry.finished_at if entry.finished_at else None,
                shop_at=shop_at if shop in DECIDED else None,
            )
        )
    counts = Counter(_category(comparison) for comparison in comparisons)
    return ShadowReport(
        compared=len(comparisons),
        counts={name: counts.get(name, 0) for name in ("agree", "disagree", "monitor only", "shop only", "both open", "other")},
        disagreements=[c for c in comparisons if c.both_decided and not c.agree],
        monitor_only=[c for c in comparisons if _category(c) == "monitor only"],
        lead_seconds=[lead for c in comparisons if c.agree and (lead := c.monitor_lead_seconds) is not None],
    )
