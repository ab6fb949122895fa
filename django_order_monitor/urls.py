"""URLs of django_order_monitor: ``path("order-monitor/", include("django_order_monitor.urls"))``."""

from django.urls import path

from . import views

app_name = "order_monitor"

urlpatterns = [
    path("callback/<str:provider>/", views.provider_callback, name="provider_callback"),
    path("metrics", views.metrics_view, name="metrics"),
    path("health/", views.health_view, name="health"),
]
