"""App configuration: wires the checks, the task edge, the post-save hook and the metrics, nothing else."""

from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class OrderMonitorConfig(AppConfig):
    name = "django_order_monitor"
    label = "order_monitor"
    verbose_name = _("Order monitor")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the system checks)
            metrics,
            tasks,  # noqa: F401  (registers the Huey tasks and connects the scheduling port)
        )
        from .conf import app_settings, is_model_label
        from .hook import order_saved

        metrics.connect()  # counts only while ORDER_MONITOR_METRICS is set

        # A missing or malformed label is check order_monitor.E001's to report, not a crash here.
        if is_model_label(app_settings.ORDER_MODEL):
            post_save.connect(
                order_saved,
                sender=app_settings.ORDER_MODEL,
                dispatch_uid="django_order_monitor.order_saved",
            )
