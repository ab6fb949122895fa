"""Did every order end the way the provider decided? The demo's and the tests' referee.

Compares the shop's database (orders, the monitor's ledger, the wallet) with what a
fake znet server says it did (``GET /_fake/stats``): each order's planned outcome,
PIN, the moment it turned terminal at the provider, and the status calls it got.
"""

from __future__ import annotations

import json
import math
import statistics
import urllib.request
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Count

from django_order_monitor.models import MonitoredOrder

from .models import ProductOrder, WalletEntry

#: Outcome labels, in the order the summary lists them.
COMPLETED, FAILED, TIMED_OUT, REFUSED, PENDING = "completed", "failed", "timed out", "refused at dispatch", "still open"
LABELS = (COMPLETED, FAILED, TIMED_OUT, REFUSED, PENDING)
#: The fake's planned outcome -> the label the order must end with.
EXPECTED = {"completed": COMPLETED, "failed": FAILED, "never": TIMED_OUT}
#: The fake's plan kinds (reference mix), as the summary names them.
KIND_NAMES = {
    "quick": "quick (5-30 s)",
    "manual": "manual (2-30 min)",
    "failed": "failed (10-120 s)",
    "never": "never finishes",
    "refused": "refused at dispatch",
}


def fetch_fake_stats(url: str, timeout: float = 10) -> dict[str, Any]:
    """``GET {url}_fake/stats`` of a fake znet server."""
    with urllib.request.urlopen(url.rstrip("/") + "/_fake/stats", timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def open_orders() -> int:
    """Orders not ended yet (pending in the shop, or still followed by the monitor)."""
    return ProductOrder.objects.filter(status="pending").count() + MonitoredOrder.objects.active().count()


def progress_counts() -> Counter:
    """Orders by label, for a progress line (cheap: three grouped queries)."""
    counts: Counter = Counter()
    ledger = dict(MonitoredOrder.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    counts["watching"] = ledger.get("watching", 0)
    counts[COMPLETED] = ledger.get("completed", 0)
    counts[FAILED] = ledger.get("failed", 0)
    counts[TIMED_OUT] = ledger.get("timed_out", 0)
    by_status = dict(ProductOrder.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    counts["orders"] = sum(by_status.values())
    monitored_rejected = counts[FAILED] + counts[TIMED_OUT]
    counts[REFUSED] = max(0, by_status.get("rejected", 0) - monitored_rejected)
    counts["ended"] = by_status.get("approved", 0) + by_status.get("rejected", 0)
    return counts


@dataclass
class OrderVerdict:
    order: str
    referans: str
    kind: str
    expected: str
    actual: str
    problems: list[str] = field(default_factory=list)
    #: Seconds from the provider turning terminal to our row saying so.
    detection_delay: float | None = None
    #: Status calls the provider received about this order.
    provider_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Report:
    orders: int
    verdicts: list[OrderVerdict]
    status_calls: int
    faults_injected: dict[str, int]
    refunds: int
    time_scale: float

    @property
    def mismatches(self) -> list[OrderVerdict]:
        return [v for v in self.verdicts if not v.ok]

    def count(self, attribute: str) -> Counter:
        return Counter(getattr(v, attribute) for v in self.verdicts)

    def delays(self, kind: str | None = None) -> list[float]:
        return sorted(
            v.detection_delay for v in self.verdicts if v.detection_delay is not None and kind in (None, v.kind)
        )

    def calls(self, kind: str | None = None) -> list[int]:
        return [v.provider_calls for v in self.verdicts if v.expected != REFUSED and kind in (None, v.kind)]

    def as_dict(self) -> dict[str, Any]:
        delays = self.delays()
        calls = self.calls()
        return {
            "orders": self.orders,
            "expected": dict(self.count("expected")),
            "actual": dict(self.count("actual")),
            "mismatches": len(self.mismatches),
            "mismatch_details": [asdict(v) for v in self.mismatches[:50]],
            "detection_delay_seconds": {
                "p50": percentile(delays, 50),
                "p90": percentile(delays, 90),
                "p99": percentile(delays, 99),
            },
            "provider_calls_per_order": statistics.fmean(calls) if calls else None,
            "status_calls": self.status_calls,
            "faults_injected": self.faults_injected,
            "refunds": self.refunds,
            "time_scale": self.time_scale,
        }


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when empty)."""
    if not values:
        return None
    rank = max(1, min(len(values), math.ceil(pct / 100 * len(values))))
    return values[rank - 1]


def build_report(stats: dict[str, Any], time_scale: float = 1.0) -> Report:
    """Judge every order in the database against the fake provider's ``stats``."""
    plans = stats.get("orders", {})
    calls_per_referans = stats.get("calls_per_referans", {})
    ledger = {str(order_id): state for order_id, state in MonitoredOrder.objects.values_list("order_id", "state")}
    refunds: dict[str, int] = defaultdict(int)
    for order_id in WalletEntry.objects.filter(kind=WalletEntry.Kind.REFUND).values_list("order_id", flat=True):
        refunds[str(order_id)] += 1

    verdicts = []
    rows = ProductOrder.objects.order_by("created_at").values(
        "id", "status", "external_status", "provider_referans", "pin_code", "completed_at"
    )
    for row in rows:
        pk = str(row["id"])
        referans = row["provider_referans"] or ""
        plan = plans.get(referans)
        state = ledger.get(pk)
        verdict = OrderVerdict(
            order=pk,
            referans=referans,
            kind=plan["plan"]["kind"] if plan else "refused",
            expected=EXPECTED[plan["outcome"]] if plan else REFUSED,
            actual=_actual(row["status"], state),
            provider_calls=int(calls_per_referans.get(referans, 0)),
        )
        verdict.problems = _problems(verdict, row, plan, refunds[pk])
        if plan and plan["terminal_at"] is not None and row["completed_at"] is not None and verdict.actual != TIMED_OUT:
            verdict.detection_delay = row["completed_at"].timestamp() - plan["terminal_at"]
        verdicts.append(verdict)
    return Report(
        orders=len(verdicts),
        verdicts=verdicts,
        status_calls=int(stats.get("calls", {}).get("pin_kontrol", 0)),
        faults_injected=dict(stats.get("faults_injected", {})),
        refunds=sum(refunds.values()),
        time_scale=time_scale,
    )


def _actual(status: str, state: str | None) -> str:
    if status == "pending" or state == "watching":
        return PENDING
    if state is None:
        return REFUSED if status == "rejected" else f"{status}, not monitored"
    return {"completed": COMPLETED, "failed": FAILED, "timed_out": TIMED_OUT}.get(state, state)


def _problems(verdict: OrderVerdict, row: dict[str, Any], plan: dict[str, Any] | None, refunds: int) -> list[str]:
    problems = []
    if verdict.actual != verdict.expected:
        problems.append(f"ended {verdict.actual!r}, the provider decided {verdict.expected!r}")
    if verdict.actual == PENDING:
        return problems
    if row["completed_at"] is None:
        problems.append("no completedAt")
    if verdict.expected == COMPLETED:
        if (row["status"], row["external_status"]) != ("approved", "done"):
            problems.append(f"status {row['status']}/{row['external_status']}, expected approved/done")
        if row["pin_code"] != plan["pin"]:
            problems.append("PIN differs from the provider's")
        if refunds:
            problems.append(f"{refunds} refund(s) on a completed order")
    else:
        if (row["status"], row["external_status"]) != ("rejected", "failed"):
            problems.append(f"status {row['status']}/{row['external_status']}, expected rejected/failed")
        if row["pin_code"]:
            problems.append("a PIN on a rejected order")
        if refunds != 1:
            problems.append(f"{refunds} refunds, expected exactly 1")
    return problems


def render(report: Report) -> str:
    """The summary table (ASCII only: Windows consoles choke on anything else)."""
    scale = report.time_scale
    lines = []
    header = f"{'':22}{'orders':>7}{'as planned':>12}{'detect p50':>18}{'detect p90':>18}{'calls/order':>13}"
    lines.append(header)
    lines.append("-" * len(header))
    kinds = [k for k in KIND_NAMES if any(v.kind == k for v in report.verdicts)]
    kinds += sorted({v.kind for v in report.verdicts} - set(kinds))
    for kind in [*kinds, None]:
        verdicts = [v for v in report.verdicts if kind in (None, v.kind)]
        delays = report.delays(kind)
        calls = report.calls(kind)
        name = KIND_NAMES.get(kind, kind) if kind else "all orders"
        if kind is None:
            lines.append("-" * len(header))
        lines.append(
            f"{name:22}{len(verdicts):>7}{sum(v.ok for v in verdicts):>12}"
            f"{_delay(percentile(delays, 50), scale):>18}{_delay(percentile(delays, 90), scale):>18}"
            f"{(f'{statistics.fmean(calls):.1f}' if calls else '-'):>13}"
        )
    lines.append("")
    actual = report.count("actual")
    lines.append(
        "ended: "
        + ", ".join(f"{actual.get(label, 0)} {label}" for label in LABELS if actual.get(label) or label != PENDING)
    )
    delays = report.delays()
    lines.append("detection delay, from the provider turning terminal to our completedAt (wall s, provider time):")
    lines.append(
        f"  p50 {_delay(percentile(delays, 50), scale)}   p90 {_delay(percentile(delays, 90), scale)}"
        f"   p99 {_delay(percentile(delays, 99), scale)}"
    )
    calls = report.calls()
    faults = sum(report.faults_injected.values())
    lines.append(
        f"provider status calls: {report.status_calls} ({statistics.fmean(calls) if calls else 0:.1f} per order,"
        f" median {statistics.median(calls) if calls else 0:g}, max {max(calls) if calls else 0});"
        f" {faults} answered with an injected fault, retried"
    )
    rejected = sum(actual.get(label, 0) for label in (FAILED, TIMED_OUT, REFUSED))
    lines.append(f"refunds: {report.refunds}, for {rejected} rejected orders")
    return "\n".join(lines)


def _delay(seconds: float | None, scale: float) -> str:
    if seconds is None:
        return "-"
    if scale == 1:
        return f"{seconds:.1f} s"
    return f"{seconds:.1f} s ({_human(seconds * scale)})"


def _human(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
