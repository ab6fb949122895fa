"""``manage.py shop_place_orders 20``: take orders from simulated customers and dispatch them to znet."""

from __future__ import annotations

import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders.simulation import place_orders


class Command(BaseCommand):
    help = "Take COUNT orders from simulated customers and dispatch each to znet (then the monitor follows them)."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="how many orders")
        parser.add_argument("--package", help=f"always this package (one of: {', '.join(settings.SHOP_PACKAGES)})")
        parser.add_argument(
            "--spread", type=float, default=0.0, help="seconds over which the orders arrive (default: at once)"
        )
        parser.add_argument("--seed", type=int, default=None, help="seed of the simulated customers and packages")

    def handle(self, *args, count, package, spread, seed, **options):
        if count < 1:
            raise CommandError("COUNT must be at least 1.")
        if package and package not in settings.SHOP_PACKAGES:
            raise CommandError(f"Unknown package {package!r}; known: {', '.join(settings.SHOP_PACKAGES)}.")
        outcomes = place_orders(count, rng=random.Random(seed), package=package, spread=spread)
        self.stdout.write(
            self.style.SUCCESS(
                f"{count} orders placed: {outcomes['sent']} sent to znet, {outcomes['rejected']} refused by znet "
                f"(rejected and refunded), {outcomes['unknown']} with an unknown outcome (monitored)"
                + (f", {outcomes['not_sent']} not sent (znet's rate limit was full; send them again)." if outcomes["not_sent"] else ".")
            )
        )
