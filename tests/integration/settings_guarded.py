"""Consumers of the guarded-path test: the shop's status service performs every transition.

As ``tests.settings_consumer``, but with ``TRANSITION_HANDLER`` set to the shop's
status service and no terminal callback: refunds and approval dates come only
from the shop's own code.
"""

from tests.settings_consumer import *  # noqa: F401,F403

ORDER_MONITOR_TRANSITION_HANDLER = "tests.hooks.status_service"
ORDER_MONITOR_TERMINAL_CALLBACK = None
