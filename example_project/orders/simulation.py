"""Simulated customers for the demo and the tests: take orders and dispatch them to znet."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable

from django.conf import settings

from . import dispatch, services


def pick_package(rng: random.Random) -> str:
    codes = list(settings.SHOP_PACKAGES)
    weights = [float(settings.SHOP_PACKAGES[code].get("weight", 1)) for code in codes]
    return rng.choices(codes, weights=weights)[0]


def place_orders(
    count: int,
    *,
    rng: random.Random | None = None,
    package: str | None = None,
    spread: float = 0.0,
    customers: int = 40,
    on_each: Callable[[int, dispatch.DispatchResult], None] | None = None,
) -> Counter:
    """Take ``count`` orders from random customers and dispatch each one.

    ``spread`` seconds: orders arrive evenly over that time instead of all at once.
    Returns the dispatch outcomes counted (``sent``, ``rejected``, ``unknown``, ``not_sent``).
    """
    rng = rng or random.Random()
    users = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(max(1, customers))]
    outcomes: Counter = Counter()
    started = time.monotonic()
    for number in range(count):
        if spread > 0:
            due = started + spread * number / max(1, count)
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        order = services.create_order(
            user_id=rng.choice(users),
            package_code=package or pick_package(rng),
            player_id=str(rng.randrange(10**8, 10**9)),
        )
        result = dispatch.dispatch_order(order.pk)
        outcomes[result.outcome.value] += 1
        if on_each is not None:
            on_each(number + 1, result)
    return outcomes
