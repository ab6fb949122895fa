"""Adapter for the JSON provider family that answers many orders in one call (Barakat/Apstore style).

``GET {base_url}client/api/check?orders=[id1,id2]`` with the ``api-token`` header
returns ``{"status": "OK", "data": [{"order_id": .., "status": .., "pin": .., "note": ..}]}``.
Status words (any case) mean what :func:`django_order_monitor.providers.vocabulary.classify` says
(success/ok/done/complete/completed/accept -> completed; reject/rejected/failed/fail/
error/cancelled/canceled -> failed; wait/pending/processing/inprogress/queued/queue ->
processing, by default). An unknown word, a success without a usable PIN (see
:func:`~.base.pin_problem`: the PIN must be non-blank text), an order missing from the
reply, or a reply whose ``status`` is not OK is a failed *query* (never a failed
order). The token travels in a header only and never appears in logs or exceptions.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import requests

from ...exceptions import NotMonitorable, ProviderResponseError
from ..vocabulary import classify
from .base import (
    Outcome,
    StatusResult,
    clean_pin,
    pin_problem,
)
from .http import RequestsProvider

__all__ = ["BatchJsonProvider", "parse_entry"]

logger = logging.getLogger(__name__)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
_MASK = "***"


def _text(value: Any, limit: int = 300) -> str:
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_entry(entry: Mapping[str, Any]) -> StatusResult:
    """One ``data`` item -> :class:`StatusResult` (the PIN masked in ``raw`` and the note).

    A success word completes the order only with a PIN :func:`~.base.pin_problem`
    accepts, taken as sent (stripped); a null, blank, ``-``, non-text (number,
    boolean, list) or unprintable PIN makes it a QUERY_ERROR, asked again later.
    """
    word = _text(entry.get("status"), 40)
    sent_pin = entry.get("pin")
    pin = clean_pin(sent_pin)
    # A number is no PIN, but could still be one the provider meant: mask it too (when
    # long enough to be one, so "0" does not blot out the reply).
    shown = pin if isinstance(pin, str) else str(pin) if isinstance(pin, (int, float)) and len(str(pin)) >= 4 else None
    note = _text(entry.get("note"))
    if shown:
        note = note.replace(shown, _MASK)
    raw = json.dumps({**entry, "pin": _MASK if pin is not None else sent_pin}, ensure_ascii=False, default=str)
    if shown:
        # Other fields (the note) may echo the PIN: mask it as text and as JSON writes it.
        for form in (shown, json.dumps(shown, ensure_ascii=False)[1:-1]):
            raw = raw.replace(form, _MASK)
    raw = _text(raw)
    outcome = classify(word)
    if outcome is Outcome.COMPLETED:
        problem = pin_problem(sent_pin)
        if problem is not None:
            return StatusResult.query_error(f"batchjson: {problem}", provider_status=word, raw=raw)
        return StatusResult(Outcome.COMPLETED, pin=pin, message=note, provider_status=word, raw=raw)
    if outcome is Outcome.FAILED:
        return StatusResult(Outcome.FAILED, message=note or "rejected by the provider", provider_status=word, raw=raw)
    if outcome is Outcome.PROCESSING:
        return StatusResult(Outcome.PROCESSING, message=note, provider_status=word, raw=raw)
    return StatusResult.query_error(f"batchjson: unknown status word {word!r}", raw=raw)


class BatchJsonProvider(RequestsProvider):
    """A provider with a batch status endpoint.

    Options: ``base_url``, ``api_token`` (required); ``check_path`` (default
    ``client/api/check``); ``batch_size`` (ids per call, default 50); timeouts as
    for :class:`RequestsProvider`.
    """

    name: ClassVar[str] = "batchjson"
    supports_batch: ClassVar[bool] = True
    secret_params: ClassVar[frozenset[str]] = frozenset({"api_token"})

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = super().check_options(options)
        if not str(options.get("api_token") or "").strip():
            problems.append("option 'api_token' is required")
        size = options.get("batch_size", 50)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            problems.append("option 'batch_size' must be a positive integer")
        return problems

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._token = str(options["api_token"]).strip()
        self.check_path = str(options.get("check_path") or "client/api/check").lstrip("/")
        self.batch_size = int(options.get("batch_size", 50))

    def create_session(self) -> requests.Session:
        session = super().create_session()
        session.headers["api-token"] = self._token
        return session

    def fetch_status(self, reference: str) -> StatusResult:
        reference = str(reference or "").strip()
        if not reference:
            raise NotMonitorable("batchjson: cannot check an order without a reference")
        return self.fetch_statuses([reference])[reference]

    def fetch_statuses(self, references: Iterable[str]) -> dict[str, StatusResult]:
        """Ask about every reference, ``batch_size`` per call; every reference gets a result.

        Raises :class:`ProviderError` when a call fails in transport or its body is
        not the expected JSON (then nothing is known about any of them).
        """
        refs = list(dict.fromkeys(str(ref).strip() for ref in references if str(ref).strip()))
        results: dict[str, StatusResult] = {}
        for start in range(0, len(refs), self.batch_size):
            results.update(self._check(refs[start : start + self.batch_size]))
        return results

    def _check(self, refs: list[str]) -> dict[str, StatusResult]:
        params = {"orders": "[" + ",".join(refs) + "]"}
        if all(_UUID.match(ref) for ref in refs):
            params["uuid"] = "1"
        response = self._get(self.check_path, params)
        try:
            body = json.loads(self.text(response))
        except (ValueError, RecursionError):
            raise ProviderResponseError(f"{self.name}: unreadable JSON from {self.check_path}", provider=self.name) from None
        try:
            return self._parse(body, refs)
        except RecursionError:
            # Nesting deep enough to load but not to print back (str(), json.dumps).
            raise ProviderResponseError(f"{self.name}: reply nested too deeply from {self.check_path}", provider=self.name) from None

    def _parse(self, body: Any, refs: list[str]) -> dict[str, StatusResult]:
        if not isinstance(body, dict):
            raise ProviderResponseError(f"{self.name}: unexpected reply from {self.check_path}", provider=self.name)
        if str(body.get("status", "")).upper() != "OK":
            message = _text(self.redact(str(body.get("message") or body.get("error") or body.get("status") or "no detail")), 200)
            return {ref: StatusResult.query_error(f"{self.name}: query failed: {message}") for ref in refs}
        entries = body.get("data")
        if not isinstance(entries, list):
            raise ProviderResponseError(f"{self.name}: reply without a data list from {self.check_path}", provider=self.name)
        by_id = {str(item.get("order_id", "")).strip(): item for item in entries if isinstance(item, dict)}
        results = {}
        for ref in refs:
            item = by_id.get(ref)
            if item is None:
                results[ref] = StatusResult.query_error(f"{self.name}: no entry for the order in the reply")
                continue
            result = parse_entry(item)
            if result.outcome is Outcome.QUERY_ERROR:
                logger.warning("%s: %s for order %s", self.name, result.message, ref)
            results[ref] = result
        return results
