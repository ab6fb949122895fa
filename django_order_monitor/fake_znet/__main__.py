"""Deprecated: ``python -m django_order_monitor.testing.fake_znet`` (see :mod:`django_order_monitor._moved`)."""

import sys

from django_order_monitor._moved import alias

if __name__ == "__main__":
    sys.exit(alias("django_order_monitor.fake_znet.__main__").main())
