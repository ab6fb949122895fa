"""Health: the few facts an alert or a liveness probe needs, in three cheap queries.

A *problem* is one of ``PROBLEMS``: ``overdue`` (followed orders whose check is
later than the sweep's recovery promise), ``stuck`` (orders making no progress:
past their deadline, failing queries, or a dead worker's lease) and
``sweep-late`` (no sweep started for two intervals). ``order_monitor_status
--fail-on`` and the health view report the same :class:`Health`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils import timezone

from ..models import MonitoredOrder
from . import periodic, stats

#: What can be unhealthy, by the name the command and the view take.
PROBLEMS = ("overdue", "stuck", "sweep-late")


@dataclass(frozen=True)
class Health:
    at: dt.datetime
    watching: int
    overdue: int
    stuck: int
    last_sweep_at: dt.datetime | None
    last_sweep_finished_at: dt.datetime | None
    sweep_late: bool

    def problems(self, among: tuple[str, ...] | list[str] = PROBLEMS) -> list[str]:
        """The problems present, of those in ``among``, each with one line saying what is wrong."""
        found = {
            "overdue": f"overdue: {self.overdue} followed orders checked later than promised" if self.overdue else "",
            "stuck": f"stuck: {self.stuck} followed orders making no progress" if self.stuck else "",
            "sweep-late": (
                f"sweep-late: no sweep since {self.last_sweep_at.isoformat() if self.last_sweep_at else 'ever'}"
                if self.sweep_late else ""
            ),
        }
        return [found[name] for name in among if found[name]]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes in ISO 8601; ``problems`` lists the names of those present."""
        return {
            "at": self.at.isoformat(),
            "watching": self.watching,
            "overdue": self.overdue,
            "stuck": self.stuck,
            "last_sweep_at": self.last_sweep_at.isoformat() if self.last_sweep_at else None,
            "last_sweep_finished_at": self.last_sweep_finished_at.isoformat() if self.last_sweep_finished_at else None,
            "sweep_late": self.sweep_late,
            "problems": [line.split(":", 1)[0] for line in self.problems()],
        }


def check(now: dt.datetime | None = None) -> Health:
    """The monitor's health at ``now``."""
    now = now or timezone.now()
    counts = MonitoredOrder.objects.active().aggregate(
        watching=Count("pk"),
        overdue=Count("pk", filter=stats.overdue_q(now)),
        stuck=Count("pk", filter=stats.stuck_q("any", now)),
    )
    last = periodic.last_sweep()
    return Health(
        at=now,
        watching=counts["watching"],
        overdue=counts["overdue"],
        stuck=counts["stuck"],
        last_sweep_at=last.started_at if last else None,
        last_sweep_finished_at=last.finished_at if last else None,
        sweep_late=last is None or last.started_at < now - periodic.late_after(),
    )
