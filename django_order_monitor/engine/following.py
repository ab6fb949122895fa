"""Starting, stopping and steering the monitoring of orders.

``start_monitoring`` is the public entry point for code that dispatches with
``update()`` or raw SQL (the post-save hook calls it for ``save()``). Starting
twice never creates a second chain: the ledger row is unique per order.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import F, Model
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop

from .. import providers, sql
from ..conf import app_settings
from ..exceptions import NotMonitorable, UnknownProviderError
from ..models import MonitoredOrder
from ..shop import orders
from . import policy, scheduling
from .logfields import about

logger = logging.getLogger(__name__)


class Reason(str):
    """Why an order cannot be followed: English as a ``str`` (logs, exceptions), translated by :meth:`translated`.

    Operators' screens (the admin's messages, the commands' output) show :meth:`translated`.
    """

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Reason:
        reason = super().__new__(cls, template % params)
        reason.template, reason.params = template, params
        return reason

    def translated(self) -> str:
        """The reason in the active language."""
        return gettext(self.template) % self.params


def translated(reason: str) -> str:
    """``reason`` in the active language when it is a :class:`Reason`, else as it is."""
    return reason.translated() if isinstance(reason, Reason) else reason


def why_not_monitorable(order: Model, provider: str | None = None) -> Reason | None:
    """The reason ``order`` cannot be followed (by ``provider`` when named), or ``None`` if it can."""
    external = orders.read(order, "external_status")
    if not orders.matches(external, app_settings.DISPATCHED_STATUSES):
        return Reason(gettext_noop("not dispatched (external status %(status)s)"), status=repr(external))
    if not orders.has_reference(orders.read(order, "reference")):
        return Reason(gettext_noop("no provider reference"))
    if provider is not None:
        return None  # named by the caller, and already validated
    name = resolve_provider_name(order)
    if not name:
        return Reason(gettext_noop("no provider (set ORDER_MONITOR_DEFAULT_PROVIDER or a resolver)"))
    if not providers.is_known(name):
        return Reason(gettext_noop("provider %(name)s is not in ORDER_MONITOR_PROVIDERS"), name=repr(name))
    return None


def start_monitoring(order: Model | Any, *, provider: str | None = None) -> MonitoredOrder:
    """Follow ``order`` (an instance or a primary key) until it ends.

    Idempotent: returns the existing ledger row if the order is already
    followed. The first check is enqueued when the current transaction
    commits. Raises :class:`NotMonitorable` with the reason otherwise.
    """
    if not isinstance(order, Model):
        order = orders.base_queryset().get(pk=order)
    if provider is not None:
        # A typo here would otherwise surface a day later as a timed-out (refunded) order.
        try:
            providers.validate_choice(provider)
        except UnknownProviderError as err:
            raise NotMonitorable(f"Order {order.pk} cannot be monitored: {err}") from None
    reason = why_not_monitorable(order, provider)
    if reason:
        existing = MonitoredOrder.objects.filter(order_id=order.pk).first()
        if existing is not None:
            return existing
        raise NotMonitorable(f"Order {order.pk} cannot be monitored: {reason}.")
    candidate = _new_entry(order, provider)
    # One atomic INSERT ... ON CONFLICT DO NOTHING: a repeated or concurrent start
    # keeps the row that is already there, and never a second chain.
    if not _insert_absent([candidate]):
        existing = MonitoredOrder.objects.get(order_id=order.pk)
        refollowed = _follow_again(existing, candidate)
        if refollowed is None:
            return existing
        candidate = refollowed
    _started(candidate)
    return candidate


def start_monitoring_many(orders) -> tuple[list[MonitoredOrder], dict[Any, Reason]]:
    """Follow many orders (the sweep's discovery) with one INSERT where the database allows.

    Returns the ledger rows created, and the reason for each order that cannot
    be followed. Orders already followed are skipped silently, as in
    :func:`start_monitoring`.
    """
    candidates, refused = [], {}
    for order in orders:
        reason = why_not_monitorable(order)
        if reason:
            refused[order.pk] = reason
        else:
            candidates.append(_new_entry(order))
    started = _insert_absent(candidates)
    inserted = {entry.order_id for entry in started}
    # Orders dispatched again (a new reference) after their last follow ended.
    leftovers = [candidate for candidate in candidates if candidate.order_id not in inserted]
    existing = MonitoredOrder.objects.in_bulk([c.order_id for c in leftovers], field_name="order_id") if leftovers else {}
    started += [
        refollowed
        for candidate in leftovers
        if candidate.order_id in existing and (refollowed := _follow_again(existing[candidate.order_id], candidate))
    ]
    for entry in started:
        _started(entry)
    return started, refused


def resolve_provider_name(order: Model) -> str | None:
    """Provider for ``order``: the resolver, then the provider field, then the default.

    Returns ``None`` when nothing names a configured provider.
    """
    if app_settings.PROVIDER_RESOLVER:
        name = import_string(app_settings.PROVIDER_RESOLVER)(order)
        if name:
            return str(name)
    field_value = orders.read(order, "provider")
    if field_value is not None and providers.is_known(str(field_value)):
        return str(field_value)
    return app_settings.DEFAULT_PROVIDER or None



def _follow_again(existing: MonitoredOrder, candidate: MonitoredOrder) -> MonitoredOrder | None:
    """Reuse an ended ledger row for an order dispatched again with a new reference.

    Returns the row, now watching the new reference, or None when the order
    is still followed or its reference did not change (never a second chain).
    The check history stays with the row.
    """
    if existing.is_active or existing.reference == candidate.reference:
        return None
    values = {
        "provider": candidate.provider,
        "reference": candidate.reference,
        "product": candidate.product,
        "dispatched_at": candidate.dispatched_at,
        "deadline_at": candidate.deadline_at,
        "next_check_at": candidate.next_check_at,
        "next_check_by": MonitoredOrder.Driver.TASK,
        "state": MonitoredOrder.State.WATCHING,
        "stop_reason": "",
        "answered_checks": 0,
        "consecutive_failed_checks": 0,
        "lease_until": None,
        "lease_token": "",
        "last_outcome": "",
        "last_provider_status": "",
        "last_message": "",
        "last_error": "",
        "provider_completed_at": None,
        "finished_at": None,
        "late_completed_at": None,
        "updated_at": timezone.now(),
    }
    # Compare-and-set on the ended row and its old reference: of two concurrent
    # starts, one wins; the other sees the reference already changed.
    won = (
        MonitoredOrder.objects.filter(pk=existing.pk, reference=existing.reference)
        .exclude(state__in=MonitoredOrder.ACTIVE_STATES)
        .update(**values)
    )
    if not won:
        return None
    for name, value in values.items():
        setattr(existing, name, value)
    logger.info(
        "Order %s was dispatched again (new reference); following it again", existing.order_id, extra=about(existing)
    )
    return existing


def _new_entry(order: Model, provider: str | None = None) -> MonitoredOrder:
    now = timezone.now()
    # A dispatch time in the future (a clock off, a typo) would put off every check: cap it at now.
    dispatched_at = min(orders.aware(orders.read(order, "dispatched_at")) or now, now)
    provider_name = provider or resolve_provider_name(order)
    if provider_name is None:  # callers ask why_not_monitorable() first, which names this
        raise NotMonitorable(f"Order {order.pk} cannot be monitored: no provider.")
    product = str(orders.read(order, "product") or "").strip()[:100]
    return MonitoredOrder(
        order_id=order.pk,
        provider=provider_name,
        reference=str(orders.read(order, "reference")).strip(),
        product=product,
        dispatched_at=dispatched_at,
        deadline_at=policy.deadline(dispatched_at),
        next_check_at=policy.get_policy().first_check(dispatched_at, now, provider_name, product),
        next_check_by=MonitoredOrder.Driver.TASK,
    )


def _started(entry: MonitoredOrder) -> None:
    scheduling.enqueue_check_on_commit(entry.pk, entry.next_check_at)
    logger.info(
        "Monitoring order %s (provider=%s reference=%s), first check at %s",
        entry.order_id,
        entry.provider,
        entry.reference,
        entry.next_check_at.isoformat() if entry.next_check_at else None,
        extra=about(entry),
    )


def _insert_absent(candidates: list[MonitoredOrder]) -> list[MonitoredOrder]:
    """Insert the candidates whose orders are not followed yet; returns those inserted (pk set).

    One statement (``INSERT ... RETURNING``) on PostgreSQL, SQLite and
    MariaDB, whatever the number of orders; the ORM, order by order, elsewhere
    (MySQL).
    """
    if sql.can_return_inserted_rows(sql.connection_for(MonitoredOrder)):
        return sql.insert_absent(candidates, "order_id")
    inserted = []
    for entry in candidates:
        if MonitoredOrder.objects.filter(order_id=entry.order_id).exists():
            continue
        # A concurrent start between the SELECT and the INSERT is told apart by created_at.
        MonitoredOrder.objects.bulk_create([entry], ignore_conflicts=True)
        stored = MonitoredOrder.objects.filter(order_id=entry.order_id).values_list("pk", "created_at").first()
        if stored is not None and stored[1] == entry.created_at:  # None: deleted meanwhile
            entry.pk = stored[0]
            entry._state.adding = False
            inserted.append(entry)
    return inserted


def restart_monitoring(entry: MonitoredOrder, *, now: dt.datetime | None = None) -> MonitoredOrder:
    """Follow an order again from now: fresh attempts and a new deadline.

    Only for orders that are not terminal (a completed or failed order already
    ran the shop's terminal callback; it is never finished twice).
    """
    now = now or timezone.now()
    if entry.state in MonitoredOrder.TERMINAL_STATES:
        raise NotMonitorable(f"Order {entry.order_id} already ended ({entry.state}); it is not restarted.")
    first = now
    MonitoredOrder.objects.filter(pk=entry.pk).exclude(state__in=MonitoredOrder.TERMINAL_STATES).update(
        state=MonitoredOrder.State.WATCHING,
        stop_reason="",
        lease_until=None,
        lease_token="",
        answered_checks=0,
        consecutive_failed_checks=0,
        deadline_at=policy.deadline(now),
        next_check_at=first,
        next_check_by=MonitoredOrder.Driver.TASK,
        finished_at=None,
        updated_at=now,
    )
    scheduling.enqueue_check_on_commit(entry.pk, first)
    entry.refresh_from_db()
    return entry


def stop_monitoring(entry: MonitoredOrder, reason: str) -> bool:
    """Stop following an order without touching the shop's row; False if not active."""
    stopped = MonitoredOrder.objects.active().filter(pk=entry.pk).update(
        state=MonitoredOrder.State.STOPPED,
        stop_reason=reason[:255],
        next_check_at=None,
        # A check in flight keeps running but can no longer release, finish or
        # block a restart: its lease token is gone with the lease.
        lease_until=None,
        lease_token="",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if stopped:
        logger.info("Stopped monitoring order %s: %s", entry.order_id, reason, extra=about(entry))
    return bool(stopped)


def extend_deadline(entry: MonitoredOrder, seconds: float) -> bool:
    """Push an active order's deadline back by ``seconds``; False if not active."""
    return bool(
        MonitoredOrder.objects.active()
        .filter(pk=entry.pk)
        .update(deadline_at=F("deadline_at") + dt.timedelta(seconds=seconds), updated_at=timezone.now())
    )
