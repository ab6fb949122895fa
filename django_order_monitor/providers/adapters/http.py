"""HTTP plumbing shared by adapters built on ``requests``: session, timeouts, error wrapping.

Over 300 lines for a reason: one concern, a GET bounded end to end (origin-only
redirects, one deadline, a size cap, errors without credentials), whose steps share
the provider's limits and error texts. Options: :mod:`.options`; masking: :mod:`.redaction`.

Error messages and log lines are built from the path and error classes only, never from
``str()`` of a requests exception: that text holds the full URL, query credentials included.
A reply is read against a total deadline and a size cap, and decoded strictly: a PIN
reaches an adapter exactly as the provider sent it, or the query fails.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from django.core.exceptions import ImproperlyConfigured
from urllib3.exceptions import ReadTimeoutError

import django_order_monitor

from ...exceptions import (
    ProviderConnectionError,
    ProviderError,
    ProviderResponseError,
    ProviderTimeout,
)
from .base import BaseProvider
from .options import DEFAULT_TIMEOUT, encoding_of, timeouts_of, total_timeout_of
from .redaction import redact_query, register_secret_params, scrubbed, secret_value_forms

__all__ = ["DEFAULT_TIMEOUT", "MAX_REDIRECTS", "MAX_REPLY_BYTES", "RequestsProvider", "redact_query"]

logger = logging.getLogger(__name__)

#: Largest reply body accepted (after content decoding); a status reply is a few hundred bytes.
MAX_REPLY_BYTES = 1024 * 1024
#: Redirects followed per call, all within the call's total deadline.
MAX_REDIRECTS = 5
_READ_SIZE = 64 * 1024


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, default ports made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def _socket_of(raw: Any) -> Any:
    """The socket under a urllib3 response, when it can be reached (for per-read timeouts)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    return sock if callable(getattr(sock, "settimeout", None)) else None


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
    (seconds, default 5 and 20) or ``timeout`` (one number or a pair);
    ``total_timeout`` (seconds, default connect + read): no call, redirects and
    body included, lasts longer, however slowly the reply trickles in;
    ``encoding`` of the replies (default ``utf-8``, decoded strictly). One
    ``requests.Session`` is created lazily per instance and shared by threads.
    Subclasses list in ``secret_params`` the query parameters holding credentials;
    those are masked wherever a URL could be logged. Redirects are followed only
    within the origin (scheme, host and port) of ``base_url``, so credentials in
    headers, query or session auth never travel to another host.
    """

    secret_params: ClassVar[frozenset[str]] = frozenset()
    #: Largest reply body accepted, in bytes after content decoding.
    max_reply_bytes: ClassVar[int] = MAX_REPLY_BYTES

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with ``base_url``, the timeouts and ``encoding`` (see the class docstring)."""
        problems = []
        if not str(options.get("base_url") or "").strip().startswith(("http://", "https://")):
            problems.append("option 'base_url' must be an http(s) URL")
        problems.extend(timeouts_of(options)[1])
        problems.extend(total_timeout_of(options)[1])
        problems.extend(encoding_of(options)[1])
        return problems

    @classmethod
    def call_deadline(cls, options: Mapping[str, Any]) -> float | None:
        """``total_timeout`` in seconds (default connect + read timeout): no call lasts longer."""
        return total_timeout_of(options)[0]

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        problems = type(self).check_options(options)
        if problems:
            raise ImproperlyConfigured(f"{self.name or type(self).__name__} provider: {'; '.join(problems)}")
        base_url = str(options["base_url"]).strip()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout: tuple[float, float] = timeouts_of(options)[0]
        self.total_timeout: float = total_timeout_of(options)[0]
        self.encoding: str = encoding_of(options)[0]
        self._secret_values = secret_value_forms(options, self.secret_params)
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()
        if self.secret_params:
            register_secret_params(self.secret_params)

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
        """GET ``base_url + path`` and return the response (status < 400), its body read.

        The whole call, redirects and body included, ends within ``total_timeout``;
        the body is at most ``max_reply_bytes``. Redirects within ``base_url``'s
        origin are followed (at most :data:`MAX_REDIRECTS`); a redirect elsewhere is
        refused, unfollowed, as a :class:`ProviderResponseError`. Raises :class:`ProviderTimeout`,
        :class:`ProviderConnectionError` or :class:`ProviderResponseError`
        (``status_code`` set for HTTP errors). The chained ``__cause__`` is a copy of
        the requests exception with its URL redacted, so a logged traceback shows no
        credentials either.
        """
        path = path.lstrip("/")
        started = time.monotonic()
        deadline = started + self.total_timeout
        origin = _origin(self.base_url)
        url: str = self.base_url + path
        query: Mapping[str, str] | None = params
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send(url, query, deadline, path)
            target = self.session.get_redirect_target(response)
            if target is None:
                break
            response.close()
            url, query = urljoin(response.url, target), None
            if _origin(url) != origin:
                # The session would send its headers (API tokens), auth and the
                # query's credentials to whoever the Location names.
                raise ProviderResponseError(
                    f"{self.name}: refused a redirect to another host, scheme or port on {path} "
                    "(if the provider moved, change base_url)",
                    provider=self.name,
                    status_code=response.status_code,
                )
        else:
            raise ProviderResponseError(f"{self.name}: more than {MAX_REDIRECTS} redirects on {path}", provider=self.name)
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s: GET %s -> HTTP %s in %.0f ms", self.name, path, response.status_code, elapsed_ms)
        if response.status_code >= 400:
            response.close()
            raise ProviderResponseError(
                f"{self.name}: HTTP {response.status_code} on {path}",
                provider=self.name,
                status_code=response.status_code,
            )
        try:
            body = self._read_body(response, deadline, path)
        finally:
            response.close()
        # What requests' own Response.content does after reading: .content, .text and
        # .json() now answer from this body.
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]  # requests' private flag; the stubs omit it
        return response

    def _send(self, url: str, query: Mapping[str, str] | None, deadline: float, path: str) -> requests.Response:
        """One GET, redirects not followed; the response's body is still unread."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._too_slow(path)
        connect, read = self.timeout
        try:
            return self.session.get(
                url,
                params=query,
                timeout=(min(connect, remaining), min(read, remaining)),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as err:
            failure = self._too_slow(path) if time.monotonic() >= deadline else self._wrap_error(err, path)
            cause = scrubbed(err, self.redact)
        # Raised outside the except block so the original exception (URL and all) is not
        # kept as __context__ either.
        logger.debug("%s", failure)
        raise failure from cause

    def _read_body(self, response: requests.Response, deadline: float, path: str) -> bytes:
        """The body, read before ``deadline`` and at most ``max_reply_bytes`` long.

        requests' read timeout bounds each socket read, not the reply: a server
        sending a byte at a time would hold the call (and the order's lease)
        forever. So each read returns what one socket read brings, with the socket's
        timeout cut to the time left.
        """
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_reply_bytes:
            raise self._too_big(path)
        raw = response.raw
        read_timeout = self.timeout[1]
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._too_slow(path)
            cut = remaining < read_timeout
            failure: ProviderError | None = None
            try:
                # Asked afresh each time: once the reply is read, urllib3 gives the
                # connection back to the pool (or closes it), and its socket may then
                # be another thread's.
                sock = _socket_of(raw)
                if sock is not None:
                    sock.settimeout(min(read_timeout, remaining))
                chunk = raw.read1(_READ_SIZE, decode_content=True)
            except urllib3.exceptions.DecodeError:
                failure = ProviderResponseError(f"{self.name}: undecodable content encoding on {path}", provider=self.name)
            except ReadTimeoutError:
                failure = self._too_slow(path) if cut else self._read_timeout(path)
            except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as err:
                failure = ProviderConnectionError(
                    f"{self.name}: connection failed while reading {path} ({_root_cause_name(err)})",
                    provider=self.name,
                )
            if failure is not None:
                logger.debug("%s", failure)
                raise failure from None
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_reply_bytes:
                raise self._too_big(path)
            chunks.append(chunk)

    def _too_slow(self, path: str) -> ProviderTimeout:
        return ProviderTimeout(
            f"{self.name}: no complete reply within {self.total_timeout:g}s on {path}", provider=self.name
        )

    def _too_big(self, path: str) -> ProviderResponseError:
        return ProviderResponseError(
            f"{self.name}: reply larger than {self.max_reply_bytes} bytes on {path}", provider=self.name
        )

    def _read_timeout(self, path: str) -> ProviderTimeout:
        return ProviderTimeout(f"{self.name}: read timeout after {self.timeout[1]:g}s on {path}", provider=self.name)

    def _wrap_error(self, err: requests.RequestException, path: str) -> ProviderError:
        connect, _read = self.timeout
        # ConnectTimeout is both a Timeout and a ConnectionError: test timeouts first.
        if isinstance(err, requests.ConnectTimeout):
            return ProviderTimeout(f"{self.name}: connect timeout after {connect:g}s on {path}", provider=self.name)
        if isinstance(err, requests.Timeout) or any(isinstance(e, ReadTimeoutError) for e in _causes(err)):
            # requests reports a timeout while reading the body as a ConnectionError.
            return self._read_timeout(path)
        if isinstance(err, requests.ConnectionError):
            return ProviderConnectionError(
                f"{self.name}: connection failed on {path} ({_root_cause_name(err)})", provider=self.name
            )
        return ProviderError(f"{self.name}: request failed on {path} ({type(err).__name__})", provider=self.name)

    def text(self, response: requests.Response) -> str:
        """The body as text, BOM and surrounding whitespace stripped.

        Decoded strictly with the ``encoding`` option: a body that is not valid text
        raises :class:`ProviderResponseError` (a failed query), because a replaced
        byte could be part of a PIN.
        """
        try:
            text = response.content.decode(self.encoding)
        except UnicodeDecodeError:
            raise ProviderResponseError(f"{self.name}: reply is not valid {self.encoding} text", provider=self.name) from None
        return text.strip().lstrip("\ufeff").strip()
