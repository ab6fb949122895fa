"""``manage.py shop_report --fake-url URL``: compare every order with what the fake znet server did."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders import reporting


class Command(BaseCommand):
    help = "Check that every order ended as the fake znet provider decided; exit 1 on any mismatch."

    def add_arguments(self, parser):
        parser.add_argument("--fake-url", required=True, help="base URL of the fake znet server")
        parser.add_argument("--wait", type=float, default=0.0, help="first wait up to SECONDS for open orders to end")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the report as JSON")

    def handle(self, *args, fake_url, wait, as_json, **options):
        deadline = time.monotonic() + wait
        while reporting.open_orders() and time.monotonic() < deadline:
            time.sleep(0.5)
        try:
            stats = reporting.fetch_fake_stats(fake_url)
        except OSError as err:
            raise CommandError(f"Cannot read the fake server's stats at {fake_url}: {err}") from err
        report = reporting.build_report(stats, time_scale=settings.TIME_SCALE)
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=1))
        else:
            self.stdout.write(reporting.render(report))
            for verdict in report.mismatches[:20]:
                self.stdout.write(f"MISMATCH order {verdict.order} ({verdict.kind}): {'; '.join(verdict.problems)}")
        if report.mismatches:
            raise CommandError(f"{len(report.mismatches)} order(s) did not end as the provider decided.")
