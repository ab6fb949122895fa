"""``manage.py order_monitor_status``: the dashboard's figures as text or JSON."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ...engine import stats
from ...models import MonitoredOrder
from ..common import stamp, to_json


class Command(BaseCommand):
    help = "Print a summary of order monitoring: states, overdue checks, the last 24 hours, providers."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args, **options):
        snap = stats.snapshot()
        if options["json"]:
            self.stdout.write(to_json(snap.as_dict()))
            return
        names = dict(MonitoredOrder.State.choices)
        write = self.stdout.write
        write(_("Order monitor status at %(time)s") % {"time": stamp(snap.at)})
        by_state = ", ".join(f"{names[state]} {count}" for state, count in snap.by_state.items())
        write(_("Orders by state: %(states)s") % {"states": by_state})
        line = _(
            "Followed now: %(watching)d; overdue checks: %(overdue)d; "
            "past their quick attempts: %(sweep_driven)d; stuck: %(stuck)d"
        ) % {"watching": snap.watching, "overdue": snap.overdue, "sweep_driven": snap.sweep_driven, "stuck": snap.stuck}
        write(line, self.style.WARNING if snap.overdue or snap.stuck else None)
        ended = ", ".join(f"{names[s]} {n}" for s, n in snap.ended_24h.items())
        write(_("Ended in the last 24 h: %(states)s") % {"states": ended})
        if snap.late_completions_24h:
            write(
                _(
                    "Completed at the provider after they had ended, last 24 h: %(count)d "
                    "(see ORDER_MONITOR_LATE_COMPLETION_HANDLER)"
                )
                % {"count": snap.late_completions_24h},
                self.style.WARNING,
            )
        ttp = snap.time_to_pin
        write(
            _("Time to PIN, last 24 h (%(orders)s): p50 %(p50)s, p90 %(p90)s, p99 %(p99)s")
            % {
                "orders": _orders(ttp.n, ttp.sampled),
                "p50": stats.humanize_seconds(ttp.p50),
                "p90": stats.humanize_seconds(ttp.p90),
                "p99": stats.humanize_seconds(ttp.p99),
            }
        )
        per_order = snap.checks_per_order
        mean = f"{per_order['mean']:.1f}" if per_order["mean"] is not None else "–"
        write(
            _("Checks per order ended in the last 24 h (%(orders)s): mean %(mean)s, max %(max)s")
            % {"orders": _orders(per_order["orders"], per_order["sampled"]), "mean": mean, "max": per_order["max"]}
        )
        if not snap.providers:
            write(_("Providers: no checks in the last 24 h"))
        windows = {"1h": _("last hour"), "24h": _("last 24 hours")}
        for figures in snap.providers:
            rate = f"{figures.failure_rate:.1%}" if figures.failure_rate is not None else "–"
            latency = figures.latency
            write(
                ngettext(
                    "Provider %(provider)s, %(window)s: %(checks)d check, %(failed)d failed (%(rate)s), "
                    "latency mean %(mean)s, p50 %(p50)s, p90 %(p90)s, p99 %(p99)s",
                    "Provider %(provider)s, %(window)s: %(checks)d checks, %(failed)d failed (%(rate)s), "
                    "latency mean %(mean)s, p50 %(p50)s, p90 %(p90)s, p99 %(p99)s",
                    figures.checks,
                )
                % {
                    "provider": figures.provider,
                    "window": windows.get(figures.window, figures.window),
                    "checks": figures.checks,
                    "failed": figures.failed_checks,
                    "rate": rate,
                    "mean": _ms(figures.latency_mean_ms),
                    "p50": _ms(latency.p50),
                    "p90": _ms(latency.p90),
                    "p99": _ms(latency.p99),
                }
            )


def _orders(n: int, sampled: bool) -> str:
    if sampled:
        return ngettext("%(count)d order, newest %(sample)d", "%(count)d orders, newest %(sample)d", n) % {
            "count": n,
            "sample": stats.SAMPLE_SIZE,
        }
    return ngettext("%(count)d order", "%(count)d orders", n) % {"count": n}


def _ms(value: float | None) -> str:
    return "–" if value is None else _("%(ms).0f ms") % {"ms": value}
