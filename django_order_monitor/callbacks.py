"""Provider callbacks: verify a signed push of an order's status, then apply it.

Signature: ``X-Order-Monitor-Signature`` = hex HMAC-SHA256 of
``"<timestamp>." + body`` with the provider's ``CALLBACK_SECRET``;
``X-Order-Monitor-Timestamp`` = Unix seconds. A push outside
CALLBACK_TOLERANCE or seen before (same signature) is rejected. An accepted
push goes through the same idempotent path as a poll.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import breaker, transitions
from .adapters.base import StatusResult
from .conf import app_settings
from .models import CallbackReceipt, MonitoredOrder
from .statuses import classify

SIGNATURE_HEADER = "X-Order-Monitor-Signature"
TIMESTAMP_HEADER = "X-Order-Monitor-Timestamp"


class CallbackRejected(Exception):
    """The push is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class CallbackOutcome:
    order_pk: object
    applied: bool
    state: str


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a provider (or a test) sends for ``body`` at ``timestamp``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def secret_for(provider: str) -> str | None:
    return ((app_settings.PROVIDERS or {}).get(provider) or {}).get("CALLBACK_SECRET") or None


def verify(provider: str, timestamp: str, signature: str, body: bytes, now: float | None = None) -> str:
    """Check signature and freshness; returns the digest that identifies this push."""
    secret = secret_for(provider)
    if secret is None:
        raise CallbackRejected(404, "callbacks are not enabled for this provider")
    try:
        sent_at = float(timestamp)
    except (TypeError, ValueError):
        raise CallbackRejected(400, f"missing or malformed {TIMESTAMP_HEADER}") from None
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, (signature or "").strip().lower()):
        raise CallbackRejected(403, "bad signature")
    if abs((now or time.time()) - sent_at) > float(app_settings.CALLBACK_TOLERANCE):
        raise CallbackRejected(403, "timestamp outside the accepted window")
    return hashlib.sha256(expected.encode()).hexdigest()


def parse(body: bytes) -> tuple[str, StatusResult]:
    """``{"referans": str, "status": word, "pin": str?, "message": str?}`` -> (referans, result)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CallbackRejected(400, "body is not JSON") from None
    if not isinstance(data, dict) or not str(data.get("referans") or "").strip():
        raise CallbackRejected(400, "body needs a 'referans'")
    outcome = classify(str(data.get("status") or ""))
    if outcome is None:
        raise CallbackRejected(400, "unknown status word")
    result = StatusResult(
        outcome,
        pin=str(data["pin"]) if data.get("pin") is not None else None,
        message=str(data.get("message") or "")[:500],
        provider_status=str(data.get("status"))[:50],
    )
    if outcome.value == "completed" and result.pin is None:
        raise CallbackRejected(400, "a completed order needs its PIN")
    return str(data["referans"]).strip(), result


def handle(provider: str, timestamp: str, signature: str, body: bytes) -> CallbackOutcome:
    """Verify, de-duplicate and apply one push. Raises :class:`CallbackRejected`."""
    digest = verify(provider, timestamp, signature, body)
    referans, result = parse(body)
    entry = MonitoredOrder.objects.filter(provider=provider, referans=referans).order_by("-pk").first()
    if entry is None:
        raise CallbackRejected(404, "no followed order has this reference")
    try:
        with transaction.atomic():
            CallbackReceipt.objects.create(digest=digest, provider=provider)
    except IntegrityError:
        raise CallbackRejected(409, "replayed callback") from None
    breaker.record_success(provider)
    transition = transitions.apply_result(entry, result, source="callback")
    entry.refresh_from_db()
    return CallbackOutcome(order_pk=entry.order_id, applied=transition is not None, state=entry.state)


def forget_old_receipts(now: dt.datetime | None = None) -> int:
    """Drop receipts older than twice the tolerance (replays that old fail the timestamp check)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=2 * float(app_settings.CALLBACK_TOLERANCE))
    deleted, _ = CallbackReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
