"""Keeping provider credentials out of logs and tracebacks.

Credentials often travel in the query string (``?kod=...&sifre=...``). urllib3 logs
full URLs at DEBUG and in retry warnings, and ``str()`` of a requests exception holds
the URL too. This module masks them: by parameter name (:func:`redact_query`, the
urllib3 log filter) and by exact value (:func:`secret_value_forms`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import requests

__all__ = ["redact_query", "register_secret_params", "scrubbed", "secret_value_forms"]

# A shop that turns the root logger to DEBUG would write our credentials to its logs,
# so records of these loggers get the values of registered secret parameters masked.
_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")
_secret_params: set[str] = set()
_registry_lock = threading.Lock()
_filter_installed = False
#: Shorter secret values are not masked by value: they would hit innocent text.
_MIN_SECRET_VALUE_LENGTH = 6


def redact_query(text: str, names: Iterable[str]) -> str:
    """Replace the values of query parameters ``names`` in ``text`` by ``***``."""
    names = sorted(set(names))
    if not names or not text:
        return text
    pattern = r"(?i)(?<![\w])(" + "|".join(re.escape(name) for name in names) + r")=[^&\s'\"#)]*"
    return re.sub(pattern, r"\1=***", text)


class _RedactSecretParams(logging.Filter):
    """Masks registered secret query parameters in third-party log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        names = frozenset(_secret_params)
        if not names:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record: logging reports it itself
        redacted = redact_query(message, names)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def register_secret_params(names: Iterable[str]) -> None:
    """Mask the values of query parameters ``names`` in urllib3's log records from now on."""
    global _filter_installed
    with _registry_lock:
        _secret_params.update(names)
        if not _filter_installed:
            redactor = _RedactSecretParams()
            for name in _URLLIB3_LOGGERS:
                logging.getLogger(name).addFilter(redactor)
            _filter_installed = True


def secret_value_forms(options: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The values of options ``names`` as they may appear in text (plain and URL-quoted), longest first.

    For places where a secret could appear outside a ``key=value`` pair; values
    too short to be told from innocent text are left out.
    """
    return sorted(
        {
            form
            for name in names
            if len(value := str(options.get(name) or "")) >= _MIN_SECRET_VALUE_LENGTH
            for form in (value, quote(value, safe=""), quote_plus(value))
        },
        key=len,
        reverse=True,
    )


def scrubbed(err: requests.RequestException, redact) -> BaseException:
    """A same-class copy of ``err`` whose text went through ``redact``, with ``err``'s traceback."""
    text = redact(str(err))
    try:
        clone: BaseException = type(err)(text)
    except TypeError:  # a subclass with another constructor signature
        clone = requests.RequestException(text)
    return clone.with_traceback(err.__traceback__)
