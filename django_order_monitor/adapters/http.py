"""HTTP plumbing shared by adapters built on ``requests``: session, timeouts, error wrapping.

Error messages and log lines are built from the path and error classes only, never from
``str()`` of a requests exception: that text holds the full URL, query credentials included.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import requests
from django.core.exceptions import ImproperlyConfigured
from urllib3.exceptions import ReadTimeoutError

import django_order_monitor

from ..exceptions import ProviderConnectionError, ProviderError, ProviderResponseError, ProviderTimeout
from .base import BaseProvider

__all__ = ["DEFAULT_TIMEOUT", "RequestsProvider", "redact_query"]

logger = logging.getLogger(__name__)

#: (connect, read) seconds, as used against znet in the field.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 20.0)

# urllib3 logs full URLs (query included) at DEBUG and in retry warnings. A shop that
# turns the root logger to DEBUG would write our credentials to its logs, so records of
# these loggers get the values of registered secret parameters masked.
_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")
_secret_params: set[str] = set()
_registry_lock = threading.Lock()
_filter_installed = False


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


def _register_secret_params(names: Iterable[str]) -> None:
    global _filter_installed
    with _registry_lock:
        _secret_params.update(names)
        if not _filter_installed:
            redactor = _RedactSecretParams()
            for name in _URLLIB3_LOGGERS:
                logging.getLogger(name).addFilter(redactor)
            _filter_installed = True


def _seconds(value: Any) -> float | None:
    """A positive number of seconds, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _timeouts(options: Mapping[str, Any]) -> tuple[tuple[float, float], list[str]]:
    """(connect, read) from the options, and the problems found."""
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


def _causes(err: BaseException) -> list[BaseException]:
    """``err`` and what it wraps (``reason``, exception args, ``__cause__``), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        nested = getattr(current, "reason", None)
        if not isinstance(nested, BaseException):
            nested = next((arg for arg in current.args if isinstance(arg, BaseException)), None)
        current = nested if nested is not None else (current.__cause__ or current.__context__)
    return chain


def _root_cause_name(err: BaseException) -> str:
    """The class name of the innermost cause (e.g. ``ConnectionRefusedError``); no text."""
    return type(_causes(err)[-1]).__name__


class RequestsProvider(BaseProvider):
    """A provider reached over HTTP with ``requests``.

    Options: ``base_url`` (required), ``connect_timeout`` and ``read_timeout``
    (seconds, default 5 and 20) or ``timeout`` (one number or a pair). One
    ``requests.Session`` is created lazily per instance and shared by threads.
    Subclasses list in ``secret_params`` the query parameters holding credentials;
    those are masked wherever a URL could be logged.
    """

    secret_params: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with ``base_url`` and the timeouts (see the class docstring)."""
        problems = []
        if not str(options.get("base_url") or "").strip().startswith(("http://", "https://")):
            problems.append("option 'base_url' must be an http(s) URL")
        problems.extend(_timeouts(options)[1])
        return problems

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        problems = type(self).check_options(options)
        if problems:
            raise ImproperlyConfigured(f"{self.name or type(self).__name__} provider: {'; '.join(problems)}")
        base_url = str(options["base_url"]).strip()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout: tuple[float, float] = _timeouts(options)[0]
        # Exact secret values too (when long enough not to hit innocent text), for
        # places where they could appear outside a key=value pair.
        self._secret_values = sorted(
            {
                form
                for name in self.secret_params
                if len(value := str(options.get(name) or "")) >= 6
                for form in (value, quote(value, safe=""), quote_plus(value))
            },
            key=len,
            reverse=True,
        )
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()
        if self.secret_params:
            _register_secret_params(self.secret_params)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    # -- session ---------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        """The instance's session, created on first use (thread-safe)."""
        session = self._session
        if session is None:
            with self._session_lock:
                if self._session is None:
                    self._session = self.create_session()
                session = self._session
        return session

    def create_session(self) -> requests.Session:
        """Build the session; override to add headers, auth or adapters."""
        session = requests.Session()
        session.headers["User-Agent"] = f"django-order-monitor/{django_order_monitor.__version__}"
        # With trust_env on, requests walks os.environ for proxy and CA-bundle
        # settings on every call (about 0.7 ms of CPU per check). Read them once
        # here instead: the same settings, fixed for the life of the session.
        session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            session.verify = ca_bundle
        session.trust_env = False
        return session

    def close(self) -> None:
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    # -- requests --------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with this provider's secret parameters and values masked."""
        text = redact_query(text, self.secret_params)
        for value in self._secret_values:
            text = text.replace(value, "***")
        return text

    def _get(self, path: str, params: Mapping[str, str]) -> requests.Response:
        """GET ``base_url + path`` and return the response (status < 400).

        Raises :class:`ProviderTimeout`, :class:`ProviderConnectionError` or
        :class:`ProviderResponseError` (``status_code`` set for HTTP errors). The
        chained ``__cause__`` is a copy of the requests exception with its URL
        redacted, so a logged traceback shows no credentials either.
        """
        path = path.lstrip("/")
        started = time.monotonic()
        failure: ProviderError | None = None
        cause: BaseException | None = None
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as err:
            failure = self._wrap_error(err, path)
            cause = self._scrubbed(err)
        # Raised outside the except block so the original exception (URL and all) is not
        # kept as __context__ either.
        if failure is not None:
            logger.debug("%s", failure)
            raise failure from cause
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s: GET %s -> HTTP %s in %.0f ms", self.name, path, response.status_code, elapsed_ms)
        if response.status_code >= 400:
            raise ProviderResponseError(
                f"{self.name}: HTTP {response.status_code} on {path}",
                provider=self.name,
                status_code=response.status_code,
            )
        return response

    def _wrap_error(self, err: requests.RequestException, path: str) -> ProviderError:
        connect, read = self.timeout
        # ConnectTimeout is both a Timeout and a ConnectionError: test timeouts first.
        if isinstance(err, requests.ConnectTimeout):
            return ProviderTimeout(f"{self.name}: connect timeout after {connect:g}s on {path}", provider=self.name)
        if isinstance(err, requests.Timeout) or any(isinstance(e, ReadTimeoutError) for e in _causes(err)):
            # requests reports a timeout while reading the body as a ConnectionError.
            return ProviderTimeout(f"{self.name}: read timeout after {read:g}s on {path}", provider=self.name)
        if isinstance(err, requests.ConnectionError):
            return ProviderConnectionError(
                f"{self.name}: connection failed on {path} ({_root_cause_name(err)})", provider=self.name
            )
        return ProviderError(f"{self.name}: request failed on {path} ({type(err).__name__})", provider=self.name)

    def _scrubbed(self, err: requests.RequestException) -> BaseException:
        """A same-class copy of ``err`` whose text has the credentials masked."""
        text = self.redact(str(err))
        try:
            clone: BaseException = type(err)(text)
        except TypeError:  # a subclass with another constructor signature
            clone = requests.RequestException(text)
        return clone.with_traceback(err.__traceback__)

    @staticmethod
    def text(response: requests.Response) -> str:
        """The body as text: UTF-8 (undecodable bytes replaced), BOM and whitespace stripped."""
        return response.content.decode("utf-8", errors="replace").strip().lstrip("\ufeff").strip()
