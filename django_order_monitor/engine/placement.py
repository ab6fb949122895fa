"""Checks placed by the completion-time model, over the whole life of the order.

:class:`ModelPolicy` learns each provider's (and product's) completion times
exactly as :class:`~.adaptive.AdaptivePolicy` does (history blended with the
reference prior, so it starts sensibly before it has data), but places every
check by one rule: the next check goes where waiting any longer would cost more
expected detection delay than one call is worth (``CALL_WORTH`` seconds, in
``ORDER_MONITOR_ADAPTIVE``; see :meth:`.CompletionModel.worth_point`).

So checks are dense where orders end (high hazard) and sparse where they
rarely do, and an order that has stayed open long is increasingly likely to be
one that never ends, so it is asked less often. There is no hand-off to the
sweep: the chained task drives every check (the sweep only recovers lost
tasks). ``BACKOFF_MAX`` and ``MIN_INTERVAL`` are limits on the gap, and the
deadline is the last regular check; ``QUICK_ATTEMPTS`` plays no part.

Raise ``CALL_WORTH`` for fewer calls and later detection; the call budget
(:mod:`.budget`) stretches the schedule further when the provider's budget is
short.
"""

from __future__ import annotations

import datetime as dt

from .adaptive import AdaptivePolicy, CompletionModel
from .policy import NextCheck, backoff, clamp, jittered

__all__ = ["ModelPolicy"]


class ModelPolicy(AdaptivePolicy):
    """Each check where the expected delay of waiting longer exceeds what a call is worth."""

    def next_point(self, model: CompletionModel, elapsed: float) -> float | None:
        return model.worth_point(elapsed, self.seconds("CALL_WORTH"))

    def driver(self, attempts: int, wait: float) -> str:
        # However long the wait, the chain keeps the order: no hand-off to the sweep.
        return "task"

    def after_error(self, error_streak: int, attempts: int, deadline_at: dt.datetime, now: dt.datetime) -> NextCheck:
        # Failed queries back off as in the seed's policy, but the chain keeps the order.
        return clamp(now + dt.timedelta(seconds=jittered(backoff(error_streak - 1))), deadline_at, now, "task")
