"""``manage.py order_monitor_shadow_report``: shadow mode's decisions beside the shop's own."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...conf import app_settings
from ...engine import shadow
from ...engine.stats import humanize_seconds
from ..common import EXIT_USAGE, MonitorCommand, MonitorCommandError, to_json

#: Orders listed per group in the text output (--json lists them all).
SHOWN = 20
#: The comparison's categories (``shadow.ShadowReport.counts``) in the text output; the JSON keeps the keys.
CATEGORIES = {
    "agree": gettext_lazy("agree"),
    "disagree": gettext_lazy("disagree"),
    "monitor only": gettext_lazy("monitor only"),
    "shop only": gettext_lazy("shop only"),
    "both open": gettext_lazy("both open"),
    "other": gettext_lazy("other"),
}


class Command(MonitorCommand):
    help = (
        "Compare what the monitor decided in shadow mode (ORDER_MONITOR_SHADOW) with what the shop's own "
        "code decided: orders where they disagree, and how much sooner or later the monitor noticed."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--hours", type=float, default=None, help="Only orders dispatched in the last N hours.")
        parser.add_argument("--limit", type=int, default=10_000, help="At most this many newest orders (default 10000).")

    def handle(self, *args, **options):
        if options["limit"] < 1:
            raise MonitorCommandError(_("--limit must be at least 1."), code="invalid_limit", returncode=EXIT_USAGE)
        since = timezone.now() - dt.timedelta(hours=options["hours"]) if options["hours"] else None
        report = shadow.compare(since=since, limit=options["limit"])
        if options["json"]:
            self.stdout.write(to_json(_as_dict(report)))
            return
        write = self.say
        if not app_settings.SHADOW:
            write(_("ORDER_MONITOR_SHADOW is off: the monitor writes to the shop, so both sides agree by construction."))
        write(_("Orders compared: %(count)d") % {"count": report.compared})
        write("; ".join(f"{CATEGORIES.get(name, name)}: {count}" for name, count in report.counts.items()))
        p50, p90 = report.lead_percentile(0.5), report.lead_percentile(0.9)
        if p50 is not None and p90 is not None:
            write(
                _(
                    "Where both decided alike (%(count)d with times), the monitor noticed "
                    "%(p50)s at the median and %(p90)s at p90."
                )
                % {"count": len(report.lead_seconds), "p50": _lead(p50), "p90": _lead(p90)}
            )
        if report.disagreements:
            write(_("Disagreements (%(count)d):") % {"count": len(report.disagreements)}, self.style.WARNING)
            for comparison in report.disagreements[:SHOWN]:
                write(f"  {_line(comparison)}")
        if report.monitor_only:
            write(_("Decided by the monitor, still open at the shop (%(count)d):") % {"count": len(report.monitor_only)})
            for comparison in report.monitor_only[:SHOWN]:
                write(f"  {_line(comparison)}")


def _lead(seconds: float) -> str:
    if abs(seconds) < 1:
        return _("at the same time")
    if seconds > 0:
        return _("%(delta)s sooner") % {"delta": humanize_seconds(seconds)}
    return _("%(delta)s later") % {"delta": humanize_seconds(-seconds)}


def _line(comparison: shadow.Comparison) -> str:
    return _("order %(order)s via %(provider)s (reference %(reference)s): monitor %(monitor)s, shop %(shop)s") % {
        "order": comparison.order_pk,
        "provider": comparison.provider,
        "reference": comparison.reference,
        "monitor": comparison.monitor,
        "shop": comparison.shop,
    }


def _as_dict(report: shadow.ShadowReport) -> dict:
    def row(comparison: shadow.Comparison) -> dict:
        return {
            "order": comparison.order_pk,
            "provider": comparison.provider,
            "reference": comparison.reference,
            "monitor": comparison.monitor,
            "shop": comparison.shop,
            "monitor_at": comparison.monitor_at,
            "shop_at": comparison.shop_at,
            "monitor_lead_seconds": comparison.monitor_lead_seconds,
        }

    return {
        "shadow": bool(app_settings.SHADOW),
        "compared": report.compared,
        "counts": report.counts,
        "monitor_lead_seconds": {"p50": report.lead_percentile(0.5), "p90": report.lead_percentile(0.9)},
        "disagreements": [row(c) for c in report.disagreements],
        "monitor_only": [row(c) for c in report.monitor_only],
    }
