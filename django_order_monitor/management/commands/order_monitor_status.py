"""``manage.py order_monitor_status``: the dashboard's figures as text or JSON; with ``--fail-on``, an alert.

Exit codes (for cron and liveness probes), with ``--fail-on overdue,stuck,sweep-late``
or any of them: 0 none of the named problems; 1 one or more of them (each on
stderr, one line); 2 a wrong ``--fail-on``; 3 the monitor's tables cannot be read.
"""

from __future__ import annotations

import time

from django.db import DatabaseError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ...engine import health, stats
from ...models import MonitoredOrder
from ..common import EXIT_USAGE, MonitorCommand, MonitorCommandError, stamp, to_json


class Command(MonitorCommand):
    help = "Print a summary of order monitoring: states, overdue checks, the last 24 hours, providers."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--fail-on", default="", metavar="PROBLEMS",
            help=f"Exit 1 when any of these comma-separated problems is present: {', '.join(health.PROBLEMS)} "
            "(2: a wrong name, 3: the database cannot be read).",
        )
        parser.add_argument(
            "--watch", nargs="?", const=2.0, type=float, default=None, metavar="SECONDS",
            help="Refresh the figures in place every SECONDS (default 2), like top; Ctrl-C stops.",
        )

    def handle(self, *args, **options):
        fail_on = _problem_names(options["fail_on"])
        if options["watch"] is not None:
            if options["json"] or fail_on:
                raise MonitorCommandError(
                    "--watch shows the figures as text: it does not combine with --json or --fail-on.",
                    code="usage", returncode=EXIT_USAGE,
                )
            if not options["watch"] > 0:
                raise MonitorCommandError("--watch needs a number of seconds above 0.", code="usage", returncode=EXIT_USAGE)
            self._watch(options["watch"])
            return
        try:
            snap = stats.snapshot()
            state = health.check(snap.at)
        except DatabaseError as err:
            raise MonitorCommandError(
                f"Cannot read the monitor's tables: {type(err).__name__}", code="database_unreadable", returncode=3
            ) from err
        if options["json"]:
            self.stdout.write(to_json({**snap.as_dict(), "health": state.as_dict()}))
        else:
            self._write_text(snap, state)
        problems = state.problems(fail_on)
        if problems:
            # The figures (with their health) are already out: under --json no second document.
            raise MonitorCommandError("; ".join(problems), code="problems", returncode=1, result_written=True)

    def _watch(self, interval: float) -> None:
        """Redraw the text figures every ``interval`` seconds until Ctrl-C (which exits 0)."""
        # On a terminal, home the cursor and clear the screen, as top does; into a file or a
        # pipe, frames follow each other with a blank line between them.
        clear = "\x1b[H\x1b[2J" if self.stdout.isatty() else ""
        try:
            while True:
                snap = stats.snapshot()
                state = health.check(snap.at)
                if clear:
                    self.stdout.write(clear, ending="")
                self._write_text(snap, state)
                self.say(_("Refreshed every %(seconds)g s; Ctrl-C stops.") % {"seconds": interval})
                self.stdout.flush()
                time.sleep(interval)
                if not clear:
                    self.say("")
        except KeyboardInterrupt:
            return

    def _write_text(self, snap, state) -> None:
        names = dict(MonitoredOrder.State.choices)
        write = self.say
        write(_("Order monitor status at %(time)s") % {"time": stamp(snap.at)})
        by_state = ", ".join(f"{names[state]} {count}" for state, count in snap.by_state.items())
        write(_("Orders by state: %(states)s") % {"states": by_state})
        line = _(
            "Followed now: %(watching)d; overdue checks: %(overdue)d; "
            "past their quick attempts: %(sweep_driven)d; stuck: %(stuck)d"
        ) % {"watching": snap.watching, "overdue": snap.overdue, "sweep_driven": snap.sweep_driven, "stuck": snap.stuck}
        write(line, self.style.WARNING if snap.overdue or snap.stuck else None)
        sweep = _("Last sweep: started %(started)s, finished %(finished)s") % {
            "started": stamp(state.last_sweep_at), "finished": stamp(state.last_sweep_finished_at)
        }
        write(sweep + (_("; LATE") if state.sweep_late else ""), self.style.WARNING if state.sweep_late else None)
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


def _problem_names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in health.PROBLEMS]
    if unknown:
        raise MonitorCommandError(
            f"--fail-on: unknown {', '.join(unknown)}; choose from {', '.join(health.PROBLEMS)}.",
            code="invalid_fail_on",
            returncode=EXIT_USAGE,
        )
    return names
