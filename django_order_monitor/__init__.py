"""Follow orders sent to external providers until each one ends (see README.rst)."""

__version__ = "0.1.0.dev0"


def start_monitoring(order, *, provider=None):
    """Follow ``order`` (instance or pk) until it ends; see :mod:`.monitoring`."""
    from .engine.following import start_monitoring as start

    return start(order, provider=provider)
