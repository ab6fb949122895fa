"""Consumers of the shadow-mode test: the monitor follows and decides, and writes nothing of the shop's."""

from tests.settings_consumer import *  # noqa: F401,F403

ORDER_MONITOR_SHADOW = True
