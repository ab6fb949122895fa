"""``manage.py order_monitor_sweep``: run the periodic sweep once, now (or show what it would do)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ... import providers
from ...conf import app_settings
from ...engine import sweep
from ..common import EXIT_USAGE, MonitorCommand, MonitorCommandError, to_json


class Command(MonitorCommand):
    help = "Start following dispatched orders nobody follows, and enqueue the checks that are due."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="Only show what the sweep would do.")
        parser.add_argument(
            "--limit", type=int, help="At most this many orders of each kind (default: ORDER_MONITOR_SWEEP_BATCH_SIZE)."
        )
        parser.add_argument(
            "--provider",
            help="Only this provider's due checks (discovery is left to the periodic sweep).",
        )

    def handle(self, *args, **options):
        limit, dry_run = options["limit"], options["dry_run"]
        if limit is not None and limit < 1:
            raise MonitorCommandError(_("--limit must be 1 or more."), code="invalid_limit", returncode=EXIT_USAGE)
        if not app_settings.ENABLED and not dry_run:
            raise MonitorCommandError(
                _("Monitoring is disabled (ORDER_MONITOR_ENABLED = False); use --dry-run to see what a sweep would do."),
                code="monitoring_disabled",
            )
        provider = options["provider"]
        if provider is not None and not providers.is_known(provider):
            known = ", ".join(sorted(app_settings.PROVIDERS or {})) or _("none")
            raise MonitorCommandError(
                _("Unknown provider %(provider)s; ORDER_MONITOR_PROVIDERS has: %(known)s.")
                % {"provider": repr(provider), "known": known},
                code="unknown_provider",
                returncode=EXIT_USAGE,
            )
        report = sweep.run_sweep(limit=limit, dry_run=dry_run, provider=provider)
        if options["json"]:
            data = {
                "dry_run": dry_run,
                "discovered_orders": [str(pk) for pk in report.discovered],
                "enqueued_monitored_orders": report.enqueued,
            }
            self.stdout.write(to_json(data))
            return
        if not report.discovered and not report.enqueued:
            self.say(_("Nothing to do: no unfollowed dispatched orders, no checks due."))
            return
        found = len(report.discovered)
        if found:
            pks = ", ".join(str(pk) for pk in report.discovered)
            if dry_run:
                text = ngettext(
                    "Dry run: would start following %(count)d dispatched order nobody followed: %(orders)s",
                    "Dry run: would start following %(count)d dispatched orders nobody followed: %(orders)s",
                    found,
                )
            else:
                text = ngettext(
                    "Started following %(count)d dispatched order nobody followed: %(orders)s",
                    "Started following %(count)d dispatched orders nobody followed: %(orders)s",
                    found,
                )
            self.say(text % {"count": found, "orders": pks})
        due = len(report.enqueued)
        if due:
            ids = ", ".join(str(pk) for pk in report.enqueued)
            if dry_run:
                text = ngettext(
                    "Dry run: would enqueue %(count)d due check (monitored orders %(ids)s)",
                    "Dry run: would enqueue %(count)d due checks (monitored orders %(ids)s)",
                    due,
                )
            else:
                text = ngettext(
                    "Enqueued %(count)d due check (monitored orders %(ids)s)",
                    "Enqueued %(count)d due checks (monitored orders %(ids)s)",
                    due,
                )
            self.say(text % {"count": due, "ids": ids})
