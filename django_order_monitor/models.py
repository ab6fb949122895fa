"""The monitor's own tables: the ledger (one row per followed order) and the check history.

The ledger is the memory; Huey is only the clock. Everything needed to decide
what to check next lives here, so a lost, late or duplicated task is harmless.
The PIN is never stored in these tables.
"""

from __future__ import annotations

from django.db import models, router
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ._moved import renamed
from .conf import order_model_reference
from .outcomes import Outcome


class ProviderReferansMixin(models.Model):
    """Abstract mixin adding ``provider_referans`` to a *managed* order model.

    Add it to the shop's order model and run ``makemigrations`` in the shop's app.
    (Legacy, unmanaged tables get the column from our migration instead.)
    """

    provider_referans = models.CharField(
        _("provider reference"), max_length=255, blank=True, null=True, db_index=True
    )

    class Meta:
        abstract = True


class MonitoredOrderQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state__in=MonitoredOrder.ACTIVE_STATES)


class MonitoredOrder(models.Model):
    """The monitoring state of one order of the shop."""

    class State(models.TextChoices):
        WATCHING = "watching", _("watching")
        COMPLETED = "completed", _("completed")
        FAILED = "failed", _("failed")
        TIMED_OUT = "timed_out", _("timed out")
        STOPPED = "stopped", _("stopped")

    class Driver(models.TextChoices):
        """Who brings the next check: a chained Huey task, or the periodic sweep."""

        TASK = "task", _("chained task")
        SWEEP = "sweep", _("sweep")

    ACTIVE_STATES = (State.WATCHING,)
    TERMINAL_STATES = (State.COMPLETED, State.FAILED, State.TIMED_OUT)

    # db_constraint=False: the shop's table may be legacy and owned by another
    # database user; we only need the join, never a constraint on their table.
    order = models.OneToOneField(
        order_model_reference(),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="monitoring",
        verbose_name=_("order"),
    )
    provider = models.CharField(_("provider"), max_length=100)
    reference = models.CharField(_("provider reference"), max_length=255)
    #: The shop's product (the optional ``product`` role); the adaptive policy learns per product.
    product = models.CharField(_("product"), max_length=100, blank=True, default="")
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.WATCHING)
    stop_reason = models.CharField(_("stop reason"), max_length=255, blank=True, default="")

    answered_checks = models.PositiveIntegerField(_("answered checks"), default=0)
    consecutive_failed_checks = models.PositiveIntegerField(_("consecutive failed queries"), default=0)
    failed_checks = models.PositiveIntegerField(_("failed queries"), default=0)
    dispatched_at = models.DateTimeField(_("dispatched at"))
    deadline_at = models.DateTimeField(_("deadline"))
    next_check_at = models.DateTimeField(_("next check at"), null=True, blank=True)
    next_check_by = models.CharField(
        _("next check by"), max_length=10, choices=Driver.choices, default=Driver.TASK
    )

    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    lease_token = models.CharField(_("lease token"), max_length=32, blank=True, default="")

    last_checked_at = models.DateTimeField(_("last checked at"), null=True, blank=True)
    last_outcome = models.CharField(_("last outcome"), max_length=20, blank=True, default="")
    last_provider_status = models.CharField(_("last provider status"), max_length=50, blank=True, default="")
    last_message = models.CharField(_("last provider message"), max_length=500, blank=True, default="")
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")

    provider_completed_at = models.DateTimeField(_("provider answered terminal at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    #: When a completion arrived after the order had ended (see engine.late.LateCompletion).
    late_completed_at = models.DateTimeField(_("completed at the provider after it ended"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = MonitoredOrderQuerySet.as_manager()

    # The 0.1 names, readable for one release.
    referans = renamed("reference")
    attempts = renamed("answered_checks")
    errors = renamed("failed_checks")
    error_streak = renamed("consecutive_failed_checks")

    class Meta:
        verbose_name = _("monitored order")
        verbose_name_plural = _("monitored orders")
        indexes = [
            # The sweep: active orders by due time, oldest first.
            models.Index(
                fields=["next_check_at"],
                name="order_monitor_due_idx",
                condition=Q(state="watching"),
            ),
            models.Index(fields=["provider", "reference"], name="order_monitor_ref_idx"),
            models.Index(fields=["state", "finished_at"], name="order_monitor_state_idx"),
        ]
        permissions = [("view_pin", _("Can see delivered PINs in full"))]

    def __str__(self) -> str:
        return _("%(order)s via %(provider)s (%(state)s)") % {
            "order": self.order_id,
            "provider": self.provider,
            "state": self.get_state_display(),
        }

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class StatusCheck(models.Model):
    """One call to a provider about one order. Never holds the PIN."""

    class Result(models.TextChoices):
        """The adapters' :class:`Outcome` words, plus the two ways a call itself can fail."""

        COMPLETED = Outcome.COMPLETED.value, _("completed")
        PROCESSING = Outcome.PROCESSING.value, _("processing")
        FAILED = Outcome.FAILED.value, _("failed")
        QUERY_ERROR = Outcome.QUERY_ERROR.value, _("query error")
        TRANSPORT_ERROR = "transport_error", _("transport error")
        #: Something of ours failed during the check (database, a shop callback, a setting).
        INTERNAL_ERROR = "internal_error", _("internal error")

    monitored_order = models.ForeignKey(
        MonitoredOrder, on_delete=models.CASCADE, related_name="checks", verbose_name=_("monitored order")
    )
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    provider_status = models.CharField(_("provider status"), max_length=50, blank=True, default="")
    message = models.CharField(_("message"), max_length=500, blank=True, default="")
    source = models.CharField(_("source"), max_length=20, default="poll")
    worker = models.CharField(_("worker"), max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("status check")
        verbose_name_plural = _("status checks")
        ordering = ["-checked_at", "-id"]
        indexes = [
            models.Index(fields=["monitored_order", "checked_at"], name="order_monitor_check_idx"),
            # Operators' figures (error rate, latency) read the last hour / day of checks.
            models.Index(fields=["checked_at"], name="order_monitor_checked_at_idx"),
        ]

    def __str__(self) -> str:
        return _("%(result)s at %(time)s") % {
            "result": self.get_result_display(),
            "time": f"{self.checked_at:%Y-%m-%d %H:%M:%S}",
        }


class ProviderHealth(models.Model):
    """Each provider's circuit breaker, shared by every consumer through the database."""

    provider = models.CharField(_("provider"), max_length=100, unique=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive transport failures"), default=0)
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True)
    pause_reason = models.CharField(_("pause reason"), max_length=255, blank=True, default="")
    times_paused = models.PositiveIntegerField(_("times paused"), default=0)
    last_failure_at = models.DateTimeField(_("last failure at"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("provider health")
        verbose_name_plural = _("provider health")

    def __str__(self) -> str:
        return self.provider

    def is_paused(self, now=None) -> bool:
        return self.paused_until is not None and self.paused_until > (now or timezone.now())


class CallbackReceipt(models.Model):
    """A signed provider callback already accepted; a second copy is a replay."""

    digest = models.CharField(_("signature digest"), max_length=64, unique=True)
    provider = models.CharField(_("provider"), max_length=100)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("callback receipt")
        verbose_name_plural = _("callback receipts")


def ledger_database() -> str:
    """The database the ledger is written to (the router's choice).

    Every transaction and on-commit hook of the monitor runs here; the shop's order
    table must live in the same database (check ``order_monitor.E022``), so that the
    terminal write, the shop's callback and the ledger commit as one.
    """
    return router.db_for_write(MonitoredOrder)


class SweepRun(models.Model):
    """The fleet's periodic sweep: which consumer claimed the latest one, and when it ran.

    One row (``name`` "sweep"). Every consumer's scheduler enqueues the sweep; the
    first to claim the row runs it, and the claim expires when the next interval
    begins (``engine.periodic``). Also the
    operators' "when did the sweep last run" (``order_monitor_status``, health).
    """

    name = models.CharField(_("name"), max_length=50, primary_key=True)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("sweep run")
        verbose_name_plural = _("sweep runs")

    def __str__(self) -> str:
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M:%S}"
