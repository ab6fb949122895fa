"""The admin of the monitoring ledger: list, filters, check history, actions and the dashboard."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from ..conf import app_settings, get_order_model
from ..engine import stats
from ..models import MonitoredOrder, StatusCheck
from . import charts, display
from .actions import SteeringActions


class ProviderFilter(admin.SimpleListFilter):
    """Providers from ORDER_MONITOR_PROVIDERS, and those of followed orders when a loader
    keeps providers in the shop's rows (no DISTINCT over the whole ledger)."""

    title = _("provider")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        names = set(app_settings.PROVIDERS or {})
        if app_settings.PROVIDER_LOADER:
            names.update(MonitoredOrder.objects.active().values_list("provider", flat=True).distinct())
        return [(name, name) for name in sorted(names)]

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue check")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("overdue"))]

    def queryset(self, request, queryset):
        return queryset.filter(stats.overdue_q(timezone.now())) if self.value() == "yes" else queryset


class StuckFilter(admin.SimpleListFilter):
    """Followed orders that make no progress (see ``stats.stuck_q``)."""

    title = _("stuck")
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [
            ("any", _("any reason")),
            ("past_deadline", _("past the deadline")),
            ("failing", _("failing queries")),
            ("lease", _("abandoned by a worker")),
        ]

    def queryset(self, request, queryset):
        reason = self.value()
        if reason is not None and reason in dict(self.lookup_choices):
            return queryset.filter(stats.stuck_q(reason, timezone.now()))
        return queryset


class LateCompletionFilter(admin.SimpleListFilter):
    """Orders the provider completed after they had ended: a PIN was charged that nobody got."""

    title = _("completed after it ended")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("yes", _("completed at the provider after it ended"))]

    def queryset(self, request, queryset):
        return queryset.filter(late_completed_at__isnull=False) if self.value() == "yes" else queryset


class StatusCheckInline(admin.TabularInline):
    """The check history of one order, newest first. Never holds a PIN."""

    model = StatusCheck
    fields = ("checked_at", "source", "result", "provider_status", "message", "latency_ms", "worker")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # The history is part of the ledger row: whoever may see the row sees its checks.
        return request.user.has_perm("order_monitor.view_monitoredorder") or request.user.has_perm(
            "order_monitor.change_monitoredorder"
        )


@admin.register(MonitoredOrder)
class MonitoredOrderAdmin(SteeringActions, admin.ModelAdmin):
    list_display = (
        "order_column",
        "provider",
        "reference",
        "state_column",
        "answered_checks",
        "next_check_column",
        "age_column",
        "last_provider_status",
        "last_error_column",
        "pin_column",
    )
    list_filter = ("state", "next_check_by", ProviderFilter, OverdueFilter, StuckFilter, LateCompletionFilter)
    search_fields = ("reference",)
    search_help_text = _("An order id (exact), or any part of a provider reference.")
    ordering = ("-pk",)
    # A count of a million-row ledger on every filtered page is not worth it.
    show_full_result_count = False
    list_per_page = 50
    inlines = (StatusCheckInline,)
    change_list_template = "order_monitor/admin/change_list.html"
    fieldsets = (
        (None, {"fields": ("order_column", "provider", "reference", "product", "state", "stop_reason", "pin_column")}),
        (
            _("Schedule"),
            {
                "fields": (
                    "answered_checks",
                    "failed_checks",
                    "consecutive_failed_checks",
                    "dispatched_at",
                    "deadline_at",
                    "next_check_at",
                    "next_check_by",
                    "lease_until",
                )
            },
        ),
        (
            _("Last check"),
            {"fields": ("last_checked_at", "last_outcome", "last_provider_status", "last_message", "last_error")},
        ),
        (
            _("Times"),
            {"fields": ("provider_completed_at", "finished_at", "late_completed_at", "created_at", "updated_at")},
        ),
    )

    # -- the ledger is written by the monitor only ------------------------------------------

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in self.model._meta.concrete_fields]
        return [*fields, "order_column", "pin_column", "pin_in_full"]

    def get_fieldsets(self, request, obj=None):
        if not display.can_view_pin(request):
            return self.fieldsets
        # Only the detail page ever shows a PIN in full, and only with the permission.
        first = self.fieldsets[0][1]["fields"]
        return (
            (None, {"fields": tuple("pin_in_full" if f == "pin_column" else f for f in first)}),
            *self.fieldsets[1:],
        )

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        # Prefetch, not a join: a ledger row whose shop order was deleted stays listed.
        return super().get_queryset(request).prefetch_related("order")

    def lookup_allowed(self, lookup, value, request=None):
        # ``?order__pin_code__startswith=`` would recover a PIN one character at a time.
        if (request is None or not display.can_view_pin(request)) and display.touches_pin(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(reference__icontains=term)
        order_pk = _as_order_pk(term)
        if order_pk is not None:
            condition |= Q(order_id=order_pk)
        return queryset.filter(condition), False

    def monitored_ids(self, queryset):
        # Ids only: the list's prefetch of the shop's orders would be one OR per row (a 500 on SQLite).
        return list(queryset.prefetch_related(None).values_list("pk", flat=True)), []

    # -- columns -----------------------------------------------------------------------------

    @admin.display(description=_("order"), ordering="order_id")
    def order_column(self, entry):
        return display.order_admin_link(get_order_model(), entry.order_id)

    @admin.display(description=_("state"), ordering="state")
    def state_column(self, entry):
        return display.state_badge(entry)

    @admin.display(description=_("next check"), ordering="next_check_at")
    def next_check_column(self, entry):
        return display.next_check(entry)

    @admin.display(description=_("age"), ordering="dispatched_at")
    def age_column(self, entry):
        age = stats.humanize_seconds((timezone.now() - entry.dispatched_at).total_seconds())
        return format_html('<span class="om-when">{}</span>', age)

    @admin.display(description=_("last error"))
    def last_error_column(self, entry):
        text = Truncator(entry.last_error).chars(40)
        # A provider's or Python's message: laid out in its own direction (in Arabic, English stays readable).
        return format_html("<bdi>{}</bdi>", text) if text else display.EMPTY

    @admin.display(description=_("PIN"))
    def pin_column(self, entry):
        return display.mask_pin(display.order_pin(_order_or_none(entry)))

    @admin.display(description=_("PIN"))
    def pin_in_full(self, entry):
        return display.order_pin(_order_or_none(entry)) or display.EMPTY

    # -- the dashboard -----------------------------------------------------------------------

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name=f"{opts.app_label}_{opts.model_name}_dashboard",
            ),
            *super().get_urls(),
        ]

    def dashboard_view(self, request):
        """Figures for operators (staff with the view permission on the ledger)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        snap = stats.snapshot()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Order monitoring dashboard"),
            "opts": self.model._meta,
            "snap": snap,
            # Isolated left to right: after Arabic words an ISO date's digits would be laid out as
            # Arabic numbers, and "2026-11-01" shown as "01-11-2026".
            "figures_at": format_html(
                '<bdi dir="ltr">{}</bdi>', dateformat.format(timezone.localtime(snap.at), "Y-m-d H:i:s T")
            ),
            "states": [(label, snap.by_state[value]) for value, label in MonitoredOrder.State.choices],
            "ended": [(label, snap.ended_24h[value]) for value, label in MonitoredOrder.State.choices if value != "watching"],
            "time_to_pin": [(name, stats.humanize_seconds(getattr(snap.time_to_pin, name))) for name in ("p50", "p90", "p99")],
            "checks_mean": f"{snap.checks_per_order['mean']:.1f}" if snap.checks_per_order["mean"] is not None else "–",
            "providers": [_provider_row(f) for f in snap.providers],
            "loads": [_load_row(load) for load in snap.loads],
            "ended_chart": charts.ended_by_hour(snap.ended_by_hour),
            "delay_chart": charts.delay_histogram(snap.delay_histogram),
            "overdue_after": stats.humanize_seconds(stats.overdue_after().total_seconds()),
            "quick_attempts": app_settings.QUICK_ATTEMPTS,
            "stuck_streak": stats.STUCK_ERROR_STREAK,
        }
        return TemplateResponse(request, "order_monitor/admin/dashboard.html", context)


def _provider_row(figures: stats.ProviderFigures) -> dict:
    rate = figures.failure_rate
    latency = figures.latency
    return {
        "provider": figures.provider,
        "window": _window_label(figures.window),
        "checks": figures.checks,
        "failed_checks": figures.failed_checks,
        "failure_rate": f"{rate:.1%}" if rate is not None else "–",
        "mean": f"{figures.latency_mean_ms:.0f}" if figures.latency_mean_ms is not None else "–",
        "p50": f"{latency.p50:.0f}" if latency.p50 is not None else "–",
        "p90": f"{latency.p90:.0f}" if latency.p90 is not None else "–",
        "p99": f"{latency.p99:.0f}" if latency.p99 is not None else "–",
        "sampled": latency.sampled,
        "alarm": rate is not None and rate >= 0.2,
    }


def _load_row(load) -> dict:
    share = load.share_used
    return {
        "provider": load.provider,
        "limit": f"{load.limit_per_second:g}" if load.limit_per_second is not None else "–",
        "calls": f"{load.calls_per_second:.2f}",
        "dispatch": f"{load.dispatch_per_second:.2f}",
        "share": f"{share:.0%}" if share is not None else "–",
        "chance_needed": f"{load.chance_needed:.0%}" if load.chance_needed else "–",
        "due": load.due_now,
        "oldest": stats.humanize_seconds(load.oldest_due_seconds) if load.due_now else "–",
        # Spent and a backlog waiting: more calls would find PINs sooner.
        "alarm": share is not None and share >= 0.9 and load.due_now > 0,
    }


def _window_label(window: str) -> str:
    """The figures' history window (``stats.provider_figures``: ``1h``, ``24h``) for people."""
    labels = {"1h": _("last hour"), "24h": _("last 24 hours")}
    return str(labels.get(window, window))


def _order_or_none(entry):
    try:
        return entry.order
    except ObjectDoesNotExist:
        return None


def _as_order_pk(term: str):
    """``term`` as a primary key of the shop's order model, or None when it cannot be one."""
    try:
        return get_order_model()._meta.pk.to_python(term)
    except (ValidationError, ValueError, TypeError):
        return None
