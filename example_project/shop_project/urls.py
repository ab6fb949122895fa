"""URLs of the example shop: the admin (orders, wallet, the order monitor's dashboard)
and the order monitor's provider-callback endpoint."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("order-monitor/", include("django_order_monitor.urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
