"""Deprecated name, see :mod:`django_order_monitor._moved`."""

from django_order_monitor._moved import alias

alias(__name__)
