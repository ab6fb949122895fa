"""The options every HTTP adapter shares, read and checked: timeouts and the reply's encoding.

Each reader returns the value to use (a default when the option is missing or
wrong) and the problems found, so :meth:`RequestsProvider.check_options` can
report every mistake at once and the constructor can refuse them.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_TIMEOUT", "encoding_of", "timeouts_of", "total_timeout_of"]

#: (connect, read) seconds, as used against znet in the field.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 20.0)


def _seconds(value: Any) -> float | None:
    """A positive, finite number of seconds, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 and math.isfinite(number) else None


def timeouts_of(options: Mapping[str, Any]) -> tuple[tuple[float, float], list[str]]:
    """(connect, read) from ``timeout``, ``connect_timeout`` and ``read_timeout``, and the problems found."""
    connect: Any
    read: Any
    connect, read = DEFAULT_TIMEOUT
    timeout = options.get("timeout")
    if isinstance(timeout, (tuple, list)) and len(timeout) == 2:
        connect, read = timeout
    elif timeout is not None:
        connect = read = timeout
    connect = options.get("connect_timeout", connect)
    read = options.get("read_timeout", read)
    problems = [
        f"option {name!r} must be a positive number of seconds"
        for name, value in (("connect_timeout", connect), ("read_timeout", read))
        if _seconds(value) is None
    ]
    return (_seconds(connect) or DEFAULT_TIMEOUT[0], _seconds(read) or DEFAULT_TIMEOUT[1]), problems


def total_timeout_of(options: Mapping[str, Any]) -> tuple[float, list[str]]:
    """The whole-call deadline in seconds (default connect + read timeout), and the problems found."""
    connect, read = timeouts_of(options)[0]
    value = options.get("total_timeout")
    if value is None:
        return connect + read, []
    seconds = _seconds(value)
    if seconds is None:
        return connect + read, ["option 'total_timeout' must be a positive number of seconds"]
    return seconds, []


def encoding_of(options: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The reply's text encoding (default UTF-8), and the problems found."""
    value = options.get("encoding", "utf-8")
    try:
        return codecs.lookup(value).name, []
    except (LookupError, TypeError):
        return "utf-8", ["option 'encoding' must name a text encoding such as 'utf-8'"]
