"""Provider callbacks: verify a signed push of an order's status, then apply it.

Signature: ``X-Order-Monitor-Signature`` = hex HMAC-SHA256 of
``"<timestamp>." + body`` with the provider's ``CALLBACK_SECRET``;
``X-Order-Monitor-Timestamp`` = Unix seconds. A push outside
CALLBACK_TOLERANCE or seen before (same signature) is rejected. An accepted
push goes through the same idempotent path as a poll.

Answers: 2xx when applied (or already applied), 4xx when the push is refused
(the provider should not send that push again), 503 when applying it failed
on our side (the terminal callback raised, the database was unavailable):
nothing of it was kept, not even the replay receipt, so the provider's
identical retry is accepted later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import TypeGuard

from django.db import IntegrityError, transaction
from django.utils import timezone

from .conf import app_settings
from .engine import gate, transitions
from .models import CallbackReceipt, MonitoredOrder, ledger_database
from .providers import breaker, provider_config
from .providers.adapters.base import (
    Outcome,
    StatusResult,
    clean_pin,
    mask_pin,
)
from .providers.vocabulary import classify
from .shop import orders

logger = logging.getLogger(__name__)

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
    return (provider_config(provider) or {}).get("CALLBACK_SECRET") or None


def verify(provider: str, timestamp: str, signature: str, body: bytes, now: float | None = None) -> str:
    """Check signature and freshness; returns the digest that identifies this push."""
    secret = secret_for(provider)
    if secret is None:
        raise CallbackRejected(404, "callbacks are not enabled for this provider")
    timestamp, signature = timestamp or "", (signature or "").strip().lower()
    try:
        # ASCII only: float() also reads other scripts' digits, and the text is signed as bytes.
        sent_at = float(timestamp) if timestamp.isascii() else math.nan
    except ValueError:
        sent_at = math.nan
    if not math.isfinite(sent_at):  # nan and inf are never "outside the window": refuse them here
        raise CallbackRejected(400, f"missing or malformed {TIMESTAMP_HEADER}")
    expected = sign(secret, timestamp, body)
    # compare_digest refuses non-ASCII text with a TypeError; such a header is simply wrong.
    if not signature.isascii() or not hmac.compare_digest(expected, signature):
        raise CallbackRejected(403, "bad signature")
    if abs((now or time.time()) - sent_at) > float(app_settings.CALLBACK_TOLERANCE):
        raise CallbackRejected(403, "timestamp outside the accepted window")
    return hashlib.sha256(expected.encode()).hexdigest()


def parse(body: bytes) -> tuple[str, StatusResult]:
    """``{"referans": str, "status": word, "pin": str?, "message": str?}`` -> (reference, result).

    Every text must be a JSON string (a reference may also be an integer). A
    completion needs a real PIN: a non-blank string without control characters
    that fits the shop's PIN column; anything else is refused, never turned into
    text. The PIN is masked in the message before anything stores it.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CallbackRejected(400, "body is not JSON") from None
    if not isinstance(data, dict):
        raise CallbackRejected(400, "body needs a 'referans'")
    reference = data.get("referans")
    if isinstance(reference, int) and not isinstance(reference, bool):
        reference = str(reference)
    if not _is_text(reference) or not reference.strip():
        raise CallbackRejected(400, "body needs a 'referans'")
    status, pin, message = data.get("status"), data.get("pin"), data.get("message")
    if not _is_text(status) or (pin is not None and not _is_text(pin)) or (message is not None and not _is_text(message)):
        raise CallbackRejected(400, "'status', 'pin' and 'message' must be text")
    outcome = classify(status)
    if outcome is None:
        raise CallbackRejected(400, "unknown status word")
    real_pin = clean_pin(pin)  # None for a placeholder ("", "-")
    if outcome is Outcome.COMPLETED:
        _check_pin(real_pin)
    # Masked with the PIN as sent and as kept: a provider may echo either.
    masked = mask_pin(mask_pin(message or "", pin if real_pin else None), real_pin)
    # Only a completion carries a PIN to the shop's row.
    kept_pin = real_pin if outcome is Outcome.COMPLETED else None
    return reference.strip(), StatusResult(outcome, pin=kept_pin, message=masked[:500], provider_status=status[:50])


def _is_text(value: object) -> TypeGuard[str]:
    """A str the database can store: valid UTF-8 (no lone surrogates), no NUL."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_pin(pin: str | None) -> None:
    # The gate's own rule, told to the provider as a 400 (a push cannot be retried by us).
    problem = gate.pin_problem(pin, orders.pin_max_length())
    if problem is not None:
        raise CallbackRejected(400, f"a completed order needs a storable PIN: {problem}")


def handle(provider: str, timestamp: str, signature: str, body: bytes) -> CallbackOutcome:
    """Verify, de-duplicate and apply one push. Raises :class:`CallbackRejected`.

    The replay receipt, the history row and the answer commit together or not
    at all: a push that failed to apply (503) leaves no receipt behind.
    """
    digest = verify(provider, timestamp, signature, body)
    reference, result = parse(body)
    entry = MonitoredOrder.objects.filter(provider=provider, reference=reference).order_by("-pk").first()
    if entry is None:
        raise CallbackRejected(404, "no followed order has this reference")
    try:
        with transaction.atomic(using=ledger_database()):
            try:
                with transaction.atomic(using=ledger_database()):  # a savepoint: the duplicate insert must not doom the outer block
                    CallbackReceipt.objects.create(digest=digest, provider=provider)
            except IntegrityError:
                raise CallbackRejected(409, "replayed callback") from None
            # The gate, the history row and the answer, in this transaction with the receipt.
            transition = transitions.apply_result(entry, result, source="callback")
    except CallbackRejected:
        raise
    except Exception as err:
        # Only the type: the message of a shop's exception may carry anything, a PIN included.
        logger.error(
            "Push for order %s (provider=%s reference=%s) not applied: %s; the provider's retry will be accepted",
            entry.order_id,
            provider,
            reference,
            type(err).__name__,
        )
        raise CallbackRejected(503, "the answer could not be applied; retry later") from None
    breaker.record_success(provider)
    entry.refresh_from_db()
    return CallbackOutcome(order_pk=entry.order_id, applied=transition is not None, state=entry.state)


def forget_old_receipts(now: dt.datetime | None = None) -> int:
    """Drop receipts older than twice the tolerance (replays that old fail the timestamp check)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=2 * float(app_settings.CALLBACK_TOLERANCE))
    deleted, _ = CallbackReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
