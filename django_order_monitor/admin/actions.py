"""The steering actions as admin actions, for any ModelAdmin that can list its monitored orders.

``SteeringActions`` is mixed into the ledger admin and, through
``OrderMonitorAdminMixin``, into the shop's order admin. Stopping and marking
failed ask for a confirmation (and a reason) first, like Django's delete action.

A selection is read as ids and loaded a chunk at a time ("select all" over
thousands of rows must not build one huge query). Above
``services.BACKGROUND_ABOVE`` followed orders, "mark failed", "check now" and
"restart" are handed to background tasks and the operator is told how many.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services

MONITOR_ACTIONS = (
    "monitor_check_now",
    "monitor_restart",
    "monitor_stop",
    "monitor_mark_failed",
    "monitor_extend_deadline",
)


class SteeringActions:
    """Admin actions over monitored orders. Subclasses implement :meth:`monitored_entries`."""

    class Media:
        css = {"all": ("order_monitor/admin.css",)}

    def monitored_ids(self, queryset) -> tuple[list[int], list]:
        """(ledger ids of the selection, selected shop orders that have none), in the list's order."""
        raise NotImplementedError

    def monitored_entries(self, queryset) -> tuple[list, list]:
        """(ledger rows of the selection, selected shop orders that have none)."""
        ids, unfollowed = self.monitored_ids(queryset)
        return list(services.load_entries(ids)), unfollowed

    @admin.action(description=gettext_lazy("Check status now"), permissions=["change"])
    def monitor_check_now(self, request, queryset):
        ids, unfollowed = self.monitored_ids(queryset)
        if len(ids) > services.BACKGROUND_ABOVE:
            tally = services.queue_in_background("check_now", ids, services.Tally())
        else:
            tally = services.check_now(services.load_entries(ids))
        services.start_unfollowed(unfollowed, tally, check_now=True)
        services.report(self, request, "check_now", tally)

    @admin.action(description=gettext_lazy("Restart monitoring (new attempts and deadline)"), permissions=["change"])
    def monitor_restart(self, request, queryset):
        ids, unfollowed = self.monitored_ids(queryset)
        if len(ids) > services.BACKGROUND_ABOVE:
            tally = services.queue_in_background("restart", ids, services.Tally())
        else:
            tally = services.restart(services.load_entries(ids))
        services.start_unfollowed(unfollowed, tally)
        services.report(self, request, "restart", tally)

    @admin.action(description=gettext_lazy("Stop monitoring"), permissions=["change"])
    def monitor_stop(self, request, queryset):
        if request.POST.get("post") != "yes":
            return self._confirm(
                request,
                queryset,
                "monitor_stop",
                title=_("Stop monitoring"),
                explanation=_(
                    "The monitor stops asking the provider about these orders. The shop's orders are not "
                    "changed and no refund runs; restart monitoring to follow them again."
                ),
                default_reason=_("stopped by %(user)s in the admin") % {"user": request.user.get_username()},
            )
        ids, unfollowed = self.monitored_ids(queryset)
        reason = self._reason(request, _("stopped by %(user)s in the admin"))
        self._report_skipping_unfollowed(request, "stop", services.stop(services.load_entries(ids), reason), unfollowed)

    @admin.action(description=gettext_lazy("Mark failed (runs the shop's failure path)"), permissions=["change"])
    def monitor_mark_failed(self, request, queryset):
        if request.POST.get("post") != "yes":
            return self._confirm(
                request,
                queryset,
                "monitor_mark_failed",
                title=_("Mark orders failed"),
                explanation=_(
                    "These orders end as failed exactly as if the provider had failed them: the shop's "
                    "order is rejected and the shop's failure handling (refund) runs once. This cannot "
                    "be undone."
                ),
                default_reason=_("marked failed by %(user)s in the admin") % {"user": request.user.get_username()},
            )
        ids, unfollowed = self.monitored_ids(queryset)
        message = self._reason(request, _("marked failed by %(user)s in the admin"))
        if len(ids) > services.BACKGROUND_ABOVE:
            tally = services.queue_in_background("mark_failed", ids, services.Tally(), message)
        else:
            tally = services.mark_failed(services.load_entries(ids), message)
        self._report_skipping_unfollowed(request, "mark_failed", tally, unfollowed)

    @admin.action(description=gettext_lazy("Extend the deadline by 24 hours"), permissions=["change"])
    def monitor_extend_deadline(self, request, queryset):
        ids, unfollowed = self.monitored_ids(queryset)
        tally = services.extend_deadline(services.load_entries(ids))
        self._report_skipping_unfollowed(request, "extend_deadline", tally, unfollowed)

    def _report_skipping_unfollowed(self, request, action: str, tally, unfollowed) -> None:
        # These actions steer followed orders only; name the others instead of starting them.
        for order in unfollowed:
            tally.skip(_("not being followed"), order.pk)
        services.report(self, request, action, tally)

    def _reason(self, request, default: str) -> str:
        reason = " ".join(request.POST.get("reason", "").split())
        return (reason or default % {"user": request.user.get_username()})[:255]

    def _confirm(self, request, queryset, action: str, *, title, explanation, default_reason):
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "explanation": explanation,
            "objects": list(queryset[:100]),
            "count": queryset.count(),
            "action": action,
            "default_reason": default_reason,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "opts": opts,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "order_monitor/admin/confirm_action.html", context)
