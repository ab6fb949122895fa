"""The steering actions as admin actions: each one a single :class:`SteeringAction` declaration.

A declaration names the action's step (``services``: what it does to one
followed order), its label, its messages, whether it asks for a confirmation
(and a reason) first, like Django's delete action, and whether large selections
go to the background. Declared as a class attribute of a :class:`SteeringActions`
admin, it *is* the admin action (the attribute's name is the action's name), it
is listed for users with its permissions, and ``order_monitor.admin_action_chunk``
finds it by that name to run a chunk of a large selection.

``SteeringActions`` is mixed into the ledger admin and, through
``OrderMonitorAdminMixin``, into the shop's order admin. A selection is read as
ids and loaded a chunk at a time ("select all" over thousands of rows must not
build one huge query).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import ImproperlyConfigured
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy, ngettext_lazy

from . import services

try:  # Django 6.1 lists actions per place (the change list, or one object's change form).
    from django.contrib.admin.options import ActionLocation

    CHANGE_LIST: object = ActionLocation.CHANGE_LIST
except ImportError:  # Django 5.2 and 6.0: actions live on the change list only.
    CHANGE_LIST = None

if TYPE_CHECKING:
    # A mixin of ModelAdmins: type-checked as one, an ordinary base class at run time.
    from django.contrib.admin import ModelAdmin as _AdminBase

    # Admin texts: str, or lazy translations (gettext_lazy) resolved when a page is rendered.
    from django_stubs_ext import StrOrPromise as Text
else:
    _AdminBase = object

#: Every declared action by name: what a background chunk task runs.
DECLARED: dict[str, SteeringAction] = {}


@dataclass(frozen=True)
class Confirmation:
    """The page an action shows before it runs; the operator's reason goes to the step."""

    title: Text
    explanation: Text
    #: Prefilled and used when the operator clears the field; ``%(user)s`` is the operator.
    default_reason: Text


@dataclass(eq=False)
class SteeringAction:
    """One admin action over monitored orders, declared once as an attribute of a ``SteeringActions`` admin.

    Its name is global: background chunks carry only the name, so a second
    declaration under a name already taken is an error (remove an inherited
    action by setting its name to None on the subclass instead).
    """

    label: Text
    #: What the action does to one followed order (see ``services.Step``).
    step: services.Step
    #: What it reports for the orders it handled: ``ngettext_lazy(singular, plural, "count")``.
    done: Text
    #: Set (the same form as ``done``): above ``services.BACKGROUND_ABOVE`` followed orders the
    #: selection goes to background tasks, and this reports how many were queued.
    background: Text | None = None
    #: Set: ask first, and pass the operator's reason to the step.
    confirm: Confirmation | None = None
    #: What to do with selected shop orders the monitor does not follow (the mixin's lists).
    unfollowed: Callable[[Iterable, services.Tally], services.Tally] = services.skip_unfollowed
    #: Warn that nothing happens while ``ORDER_MONITOR_ENABLED`` is False (actions that queue checks).
    warns_when_disabled: bool = False
    permissions: tuple[str, ...] = ("change",)
    #: The attribute's name, set when the admin class is created.
    name: str = field(default="", init=False)

    def __set_name__(self, owner, name: str) -> None:
        if DECLARED.get(name, self) is not self:
            raise ImproperlyConfigured(f"The admin action {name!r} is declared twice; background tasks find it by name.")
        self.name = name
        DECLARED[name] = self

        def action(model_admin, request, queryset):
            return self.perform(model_admin, request, queryset)

        action.__name__ = action.__qualname__ = name
        self._function = admin.action(description=self.label, permissions=list(self.permissions))(action)

    def __get__(self, instance, owner=None):
        # What Django's admin looks up by the action's name: a function on the class, a method on the admin.
        return self._function if instance is None else types.MethodType(self._function, instance)

    def perform(self, model_admin, request, queryset):
        """Run the action on the selection (or show its confirmation page first) and report."""
        if self.confirm is not None and request.POST.get("post") != "yes":
            return model_admin.confirm_action(request, queryset, self)
        ids, unfollowed = model_admin.monitored_ids(queryset)
        reason = self.reason(request) if self.confirm is not None else ""
        if self.background is not None and len(ids) > services.BACKGROUND_ABOVE:
            tally = services.queue_in_background(self.name, ids, reason)
        else:
            tally = services.run(self.step, services.load_entries(ids), reason)
        self.unfollowed(unfollowed, tally)
        services.report(model_admin, request, self, tally)
        return None

    def reason(self, request) -> str:
        """The operator's reason from the confirmation page, else the default one (at most 255 characters)."""
        reason = " ".join(request.POST.get("reason", "").split())
        return (reason or self.default_reason(request))[:255]

    def default_reason(self, request) -> str:
        assert self.confirm is not None, "only actions that confirm take a reason"
        return str(self.confirm.default_reason) % {"user": request.user.get_username()}

    def run_chunk(self, monitored_order_ids: list[int], reason: str) -> None:
        """One background chunk of a large selection (``order_monitor.admin_action_chunk``)."""
        services.run_chunk(self.name, self.step, monitored_order_ids, reason)


def run_chunk(name: str, monitored_order_ids: list[int], reason: str) -> None:
    """Run the chunk of the action declared as ``name``; the task's entry point."""
    try:
        action = DECLARED[name]
    except KeyError:
        raise LookupError(f"No admin action {name!r} is declared (is the admin that declares it imported?)") from None
    action.run_chunk(monitored_order_ids, reason)


class SteeringActions(_AdminBase):
    """Admin actions over monitored orders. Subclasses implement :meth:`monitored_ids`.

    Every :class:`SteeringAction` attribute (of this class or a subclass) is offered
    to users with its permissions, next to the admin's own ``actions``.
    """

    class Media:
        css = {"all": ("order_monitor/admin.css",)}

    monitor_check_now = SteeringAction(
        label=gettext_lazy("Check status now"),
        step=services.check_now,
        done=ngettext_lazy(
            "Enqueued a status check of %(count)d order.", "Enqueued status checks of %(count)d orders.", "count"
        ),
        background=ngettext_lazy(
            "Queued status checks of %(count)d order in the background.",
            "Queued status checks of %(count)d orders in the background; orders no longer followed are skipped.",
            "count",
        ),
        unfollowed=services.start_and_check,
        warns_when_disabled=True,
    )
    monitor_restart = SteeringAction(
        label=gettext_lazy("Restart monitoring (new attempts and deadline)"),
        step=services.restart,
        done=ngettext_lazy(
            "Restarted monitoring of %(count)d order (new attempts and deadline).",
            "Restarted monitoring of %(count)d orders (new attempts and deadline).",
            "count",
        ),
        background=ngettext_lazy(
            "Queued a restart of monitoring of %(count)d order in the background.",
            "Queued a restart of monitoring of %(count)d orders in the background; ended orders are skipped.",
            "count",
        ),
        unfollowed=services.start_unfollowed,
        warns_when_disabled=True,
    )
    monitor_stop = SteeringAction(
        label=gettext_lazy("Stop monitoring"),
        step=services.stop,
        done=ngettext_lazy("Stopped monitoring %(count)d order.", "Stopped monitoring %(count)d orders.", "count"),
        confirm=Confirmation(
            title=gettext_lazy("Stop monitoring"),
            explanation=gettext_lazy(
                "The monitor stops asking the provider about these orders. The shop's orders are not "
                "changed and no refund runs; restart monitoring to follow them again."
            ),
            default_reason=gettext_lazy("stopped by %(user)s in the admin"),
        ),
    )
    monitor_mark_failed = SteeringAction(
        label=gettext_lazy("Mark failed (runs the shop's failure path)"),
        step=services.mark_failed,
        done=ngettext_lazy("Marked %(count)d order failed.", "Marked %(count)d orders failed.", "count"),
        background=ngettext_lazy(
            "Queued %(count)d order to be marked failed in the background.",
            "Queued %(count)d orders to be marked failed in the background; orders no longer followed are skipped. "
            "Refresh the list to follow the progress.",
            "count",
        ),
        confirm=Confirmation(
            title=gettext_lazy("Mark orders failed"),
            explanation=gettext_lazy(
                "These orders end as failed exactly as if the provider had failed them: the shop's "
                "order is rejected and the shop's failure handling (refund) runs once. This cannot "
                "be undone."
            ),
            default_reason=gettext_lazy("marked failed by %(user)s in the admin"),
        ),
    )
    monitor_extend_deadline = SteeringAction(
        label=gettext_lazy("Extend the deadline by 24 hours"),
        step=services.extend_deadline,
        done=ngettext_lazy(
            "Extended the deadline of %(count)d order by 24 hours.",
            "Extended the deadline of %(count)d orders by 24 hours.",
            "count",
        ),
    )

    @classmethod
    def steering_actions(cls) -> list[SteeringAction]:
        """The actions declared on this admin and its bases, bases' first, in declaration order."""
        names = dict.fromkeys(
            name
            for klass in reversed(cls.__mro__)
            for name, value in vars(klass).items()
            if isinstance(value, SteeringAction)
        )
        # A subclass may replace an action, or remove it by setting its name to None.
        declared = (inspect.getattr_static(cls, name) for name in names)
        return [action for action in declared if isinstance(action, SteeringAction)]

    def get_actions(self, request, action_location=CHANGE_LIST):
        # Django 6.1 passes ``action_location`` and warns about an override without it; 5.2 and 6.0
        # have no such argument, so it is passed on only where Django has it.
        location: dict[str, Any] = {} if CHANGE_LIST is None else {"action_location": action_location}
        actions = super().get_actions(request, **location)
        if self.actions is None or admin.options.IS_POPUP_VAR in request.GET or action_location != CHANGE_LIST:
            return actions
        # Added here, not through ``actions``, so a shop's own ``actions = [...]`` keeps them.
        for declared in self.steering_actions():
            if declared.name in actions:
                continue
            # A (func, name, description) tuple up to Django 6.0; an ``Action`` from 6.1, where
            # unpacking it as a tuple is deprecated. Django's own code reads either, so it is kept as is.
            entry = self.get_action(declared.name)
            if entry is None:
                continue
            func = getattr(entry, "func", None) or entry[0]
            # No allowed_permissions: allowed to all, as Django's own filter does.
            if all(getattr(self, f"has_{p}_permission")(request) for p in getattr(func, "allowed_permissions", ())):
                actions[declared.name] = entry
        return actions

    def monitored_ids(self, queryset) -> tuple[list[int], list]:
        """(ledger ids of the selection, selected shop orders that have none), in the list's order."""
        raise NotImplementedError

    def confirm_action(self, request, queryset, action: SteeringAction):
        """The confirmation page of ``action``; it posts back with ``post=yes`` and the reason."""
        assert action.confirm is not None, "perform() asks only actions that confirm"
        context = {
            **self.admin_site.each_context(request),
            "title": action.confirm.title,
            "explanation": action.confirm.explanation,
            "objects": list(queryset[:100]),
            "count": queryset.count(),
            "action": action.name,
            "default_reason": action.default_reason(request),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "order_monitor/admin/confirm_action.html", context)
