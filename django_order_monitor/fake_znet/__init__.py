"""Deprecated name, see :mod:`django_order_monitor._moved`."""

from django_order_monitor._moved import package_alias

__getattr__ = package_alias(__name__)
