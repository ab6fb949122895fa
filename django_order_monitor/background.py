"""The admin's way to hand work to the task queue: a port that ``tasks.py`` connects.

Like ``engine.scheduling`` for checks: the admin says *what* to run in the
background, ``tasks.py`` alone knows Huey and installs the functions that
enqueue. So the admin never imports the tasks module and there is no cycle
(tasks -> admin, for the chunk's body, is the only direction).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: ``check_now(monitored_order_id)``: an operator's forced check.
CheckNow = Callable[[int], None]
#: ``run_admin_action(action_name, monitored_order_ids, reason)``: one chunk of a large selection.
RunAdminAction = Callable[[str, Sequence[int], str], None]

_check_now: CheckNow | None = None
_run_admin_action: RunAdminAction | None = None


def install(*, check_now: CheckNow, run_admin_action: RunAdminAction) -> None:
    """Connect the port (``tasks.py`` does, at import; the app's ``ready()`` imports it)."""
    global _check_now, _run_admin_action
    _check_now, _run_admin_action = check_now, run_admin_action


def check_now(monitored_order_id: int) -> None:
    """Enqueue a forced check; raises when no queue is connected or the queue refuses it."""
    if _check_now is None:
        raise RuntimeError("no task queue is connected")
    _check_now(monitored_order_id)


def run_admin_action(action_name: str, monitored_order_ids: Sequence[int], reason: str) -> None:
    """Enqueue one chunk of an admin action; raises when no queue is connected or it refuses."""
    if _run_admin_action is None:
        raise RuntimeError("no task queue is connected")
    _run_admin_action(action_name, list(monitored_order_ids), reason)
