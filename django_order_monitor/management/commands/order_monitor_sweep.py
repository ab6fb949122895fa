"""``manage.py order_monitor_sweep``: run the periodic sweep once, now (or show what it would do)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ... import providers
from ...conf import app_settings
from ...engine import sweep
from ..common import to_json


class Command(BaseCommand):
    help = "Start following dispatched orders nobody follows, and enqueue the checks that are due."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only show what the sweep would do.")
        parser.add_argument(
            "--limit", type=int, help="At most this many orders of each kind (default: ORDER_MONITOR_SWEEP_BATCH_SIZE)."
        )
        parser.add_argument(
            "--provider",
            help="Only this provider's due checks (discovery is left to the periodic sweep).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        limit, dry_run = options["limit"], options["dry_run"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more.")
        if not app_settings.ENABLED and not dry_run:
            raise CommandError(
                "Monitoring is disabled (ORDER_MONITOR_ENABLED = False); use --dry-run to see what a sweep would do."
            )
        provider = options["provider"]
        if provider is not None and not providers.is_known(provider):
            known = ", ".join(sorted(app_settings.PROVIDERS or {})) or "none"
            raise CommandError(f"Unknown provider {provider!r}; ORDER_MONITOR_PROVIDERS has: {known}.")
        report = sweep.run_sweep(limit=limit, dry_run=dry_run, provider=provider)
        if options["json"]:
            data = {
                "dry_run": dry_run,
                "discovered_orders": [str(pk) for pk in report.discovered],
                "enqueued_monitored_orders": report.enqueued,
            }
            self.stdout.write(to_json(data))
            return
        prefix = "Dry run: would " if dry_run else ""
        if not report.discovered and not report.enqueued:
            self.stdout.write("Nothing to do: no unfollowed dispatched orders, no checks due.")
            return
        found = len(report.discovered)
        if found:
            verb = "start following" if dry_run else "Started following"
            noun = "order" if found == 1 else "orders"
            pks = ", ".join(str(pk) for pk in report.discovered)
            self.stdout.write(f"{prefix}{verb} {found} dispatched {noun} nobody followed: {pks}")
        due = len(report.enqueued)
        if due:
            verb = "enqueue" if dry_run else "Enqueued"
            noun = "check" if due == 1 else "checks"
            ids = ", ".join(str(pk) for pk in report.enqueued)
            self.stdout.write(f"{prefix}{verb} {due} due {noun} (monitored orders {ids})")
