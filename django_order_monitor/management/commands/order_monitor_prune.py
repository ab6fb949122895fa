"""``manage.py order_monitor_prune``: delete what ORDER_MONITOR_RETENTION no longer keeps, now, to the end."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ...conf import app_settings
from ...engine import retention
from ..common import MonitorCommand, MonitorCommandError, stamp, to_json


class Command(MonitorCommand):
    help = (
        "Delete check history and ended orders' ledger rows older than ORDER_MONITOR_RETENTION, in batches "
        "(the periodic sweep does the same a little at a time)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, **options):
        if app_settings.RETENTION is None:
            raise MonitorCommandError(
                _("ORDER_MONITOR_RETENTION is None: everything is kept. Set it (seconds, e.g. 2592000 for 30 days)."),
                code="retention_disabled",
            )
        verbosity, dry_run = options["verbosity"], options["dry_run"]

        def on_batch(kind: str, rows: int) -> None:
            if verbosity >= 2 and not options["json"]:
                self.stdout.write(_("  deleted a batch of %(rows)s") % {"rows": (orders if kind == "ledger" else history)(rows)})

        report = retention.prune(dry_run=dry_run, on_batch=on_batch)
        if options["json"]:
            data = {
                "dry_run": dry_run,
                "cutoff": report.cutoff,
                "history_rows": report.history,
                "ended_orders": report.ledger,
                "batches": report.batches,
                "ended_orders_kept_because": report.ledger_kept or None,
            }
            self.stdout.write(to_json(data))
            return
        if verbosity < 1:
            return
        parts = {"history": history(report.history), "orders": orders(report.ledger), "cutoff": stamp(report.cutoff)}
        if dry_run:
            self.stdout.write(_("Dry run: would delete %(history)s and %(orders)s older than %(cutoff)s.") % parts)
        else:
            self.stdout.write(_("Deleted %(history)s and %(orders)s older than %(cutoff)s.") % parts)
        if report.ledger_kept:
            self.stdout.write(
                _("Ended orders' ledger rows are kept: the order model has no dispatched_at role (only the history is pruned).")
            )


def history(count: int) -> str:
    return ngettext("%(count)d check history row", "%(count)d check history rows", count) % {"count": count}


def orders(count: int) -> str:
    return ngettext("%(count)d ended order", "%(count)d ended orders", count) % {"count": count}
