from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("order-monitor/", include("django_order_monitor.urls")),
]
