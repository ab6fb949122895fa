"""Adapter for znet dealer APIs: plain ``|``-separated text over GET, auth by ``kod``/``sifre`` query.

Only an ``OK|...`` reply says anything about an order; any other reply means the query
failed (``3|...`` on pin_kontrol is *not* a cancelled order).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from ..._moved import renamed
from ...exceptions import NotMonitorable, ProviderRejected, ProviderResponseError
from .base import (
    Outcome,
    StatusResult,
    clean_pin,
    pin_problem,
)
from .http import RequestsProvider

__all__ = ["DUPLICATE_CODE", "Balance", "PlacedOrder", "ZnetProvider", "parse_status_reply"]

logger = logging.getLogger(__name__)

#: pin_ekle's code for a referans it has already accepted.
DUPLICATE_CODE = "4"
#: What an empty reply (or code 8) means at znet, per its API document.
AUTH_HINT = "check authentication (kod/sifre), API permission or IP whitelist"
_MASK = "***"
_MAX_TEXT = 300


@dataclass(frozen=True)
class PlacedOrder:
    """pin_ekle's answer: the order was accepted. ``cost``/``balance`` are None if unreadable."""

    reference: str
    cost: Decimal | None
    balance: Decimal | None
    raw: str

    referans = renamed("reference")  # the 0.1 name, for one release


@dataclass(frozen=True)
class Balance:
    """bakiye_kontrol's answer."""

    balance: Decimal
    debt: Decimal = Decimal("0")


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    """One line of printable text, at most ``limit`` characters (for messages and raw)."""
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _protocol_error(text: str) -> tuple[str, str] | None:
    """Split a znet error reply ``code|message`` (or a bare message); None for garbage.

    Garbage is HTML, a PHP warning, or binary: anything a proxy or a broken host
    could send, which is not the provider speaking its protocol.
    """
    if not text or text.lstrip().startswith("<") or "\ufffd" in text:
        return None
    if sum(not ch.isprintable() for ch in text) > 0:
        return None
    code, sep, message = text.partition("|")
    code = code.strip()
    if sep and code.isdigit() and len(code) <= 3:
        return code, message.strip()
    # A bare message such as "Kupur Bilgisi Bulunamadı" has no code.
    return ("", text.strip()) if len(text) <= _MAX_TEXT else None


def _decimal(text: str) -> Decimal | None:
    """Parse ``10.12``, ``10,12``, ``1.234,56`` or ``1,234.56``; None if it is not a number."""
    text = text.strip().replace(" ", "")
    if "," in text and "." in text:
        # The last separator is the decimal one.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    else:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_status_reply(text: str) -> StatusResult:
    """Turn a pin_kontrol reply into a :class:`StatusResult`.

    ``OK|1|...`` → PROCESSING, ``OK|2|PIN|...`` → COMPLETED, ``OK|3|...`` → FAILED.
    ``OK|2`` without a real PIN, or with one :func:`~.base.pin_problem` refuses (a
    control character, an undecodable byte), is a QUERY_ERROR ("completed without a
    PIN"): a completion that delivers nothing usable must not close the order, and a
    re-check usually brings the PIN (the deadline still ends the order if it never comes). Every
    other reply (``3|...``, ``8|...``, empty, garbage, unknown durum, truncated) is a
    QUERY_ERROR. The description is everything after the PIN field (it may contain
    ``|``). ``raw`` is the reply with the PIN replaced by ``***``.
    """
    text = text.strip().lstrip("\ufeff").strip()
    if not text:
        return StatusResult.query_error(f"znet: empty reply ({AUTH_HINT}, or a server fault)")
    parts = text.split("|")
    if parts[0].strip().upper() != "OK":
        error = _protocol_error(text)
        if error is None:
            return StatusResult.query_error(
                f"znet: unrecognised reply ({len(text)} characters)", raw=_clip(text, 120)
            )
        code, message = error
        hint = f" ({AUTH_HINT})" if code == "8" else ""
        label = f"{code}|{message}" if code else message
        # provider_status stays empty: a query error's code ("3") is not a durum.
        return StatusResult.query_error(_clip(f"znet: query failed: {label}{hint}"), raw=_clip(text))
    if len(parts) < 3:
        return StatusResult.query_error("znet: truncated reply", raw=_clip(text))

    durum = parts[1].strip()
    pin = clean_pin(parts[2])
    description = "|".join(parts[3:]).strip()
    if pin:
        # Some hosts echo the PIN in the description: mask it there too.
        description = description.replace(pin, _MASK)
    fields = [parts[0].strip(), parts[1], _MASK if pin else parts[2]]
    raw = _clip("|".join([*fields, description] if len(parts) > 3 else fields))

    if durum == "1":
        return StatusResult(Outcome.PROCESSING, message=_clip(description), provider_status=durum, raw=raw)
    if durum == "2":
        problem = pin_problem(pin)
        if problem is not None:
            return StatusResult.query_error(f"znet: {problem}", provider_status=durum, raw=raw)
        return StatusResult(Outcome.COMPLETED, pin=pin, message=_clip(description), provider_status=durum, raw=raw)
    if durum == "3":
        return StatusResult(
            Outcome.FAILED, message=_clip(description) or "cancelled by the provider", provider_status=durum, raw=raw
        )
    return StatusResult.query_error(f"znet: unknown durum {_clip(durum, 12)!r}", raw=raw)


class ZnetProvider(RequestsProvider):
    """znet (``servis/*.php``) dealer API.

    Options: ``base_url``, ``kod``, ``sifre`` (required); ``status_path``,
    ``order_path``, ``balance_path`` (defaults ``servis/pin_kontrol.php``,
    ``servis/pin_ekle.php``, ``servis/bakiye_kontrol.php``); timeouts as for
    :class:`RequestsProvider`. One HTTP call per order: znet has no batch status.
    """

    name: ClassVar[str] = "znet"
    secret_params: ClassVar[frozenset[str]] = frozenset({"kod", "sifre"})

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with the options: base_url, timeouts, kod, sifre, paths."""
        problems = super().check_options(options)
        problems.extend(
            f"option {name!r} is required" for name in ("kod", "sifre") if not str(options.get(name) or "").strip()
        )
        problems.extend(
            f"option {name!r} must be a path such as 'servis/pin_kontrol.php'"
            for name in ("status_path", "order_path", "balance_path")
            if name in options and not (isinstance(options[name], str) and options[name].strip("/ "))
        )
        return problems

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)  # raises ImproperlyConfigured with check_options' problems
        self._kod = str(options["kod"]).strip()
        self._sifre = str(options["sifre"]).strip()
        self.status_path = str(options.get("status_path") or "servis/pin_kontrol.php").lstrip("/")
        self.order_path = str(options.get("order_path") or "servis/pin_ekle.php").lstrip("/")
        self.balance_path = str(options.get("balance_path") or "servis/bakiye_kontrol.php").lstrip("/")

    def _auth(self) -> dict[str, str]:
        return {"kod": self._kod, "sifre": self._sifre}

    def fetch_status(self, reference: str) -> StatusResult:
        """Ask pin_kontrol about ``reference`` (see :func:`parse_status_reply`).

        Raises ProviderTimeout / ProviderConnectionError / ProviderResponseError
        when the provider cannot be reached or answers with an HTTP error.
        """
        reference = str(reference or "").strip()
        if not reference:
            raise NotMonitorable("znet: cannot check an order without a reference")
        response = self._get(self.status_path, {**self._auth(), "tahsilat_api_islem_id": reference})
        result = parse_status_reply(self.text(response))
        # raw has the PIN masked; it is the only form of the body we ever log.
        logger.debug("znet: pin_kontrol %s -> %s %r", reference, result.outcome.value, result.raw)
        return result

    def place_order(
        self, referans: str, oyun: str, kupur: str, musteri_tel: str = "", oyuncu_bilgi: str = ""
    ) -> PlacedOrder:
        """Send an order with pin_ekle.

        Raises :class:`ProviderRejected` (``code`` from the reply, ``"4"`` =
        :data:`DUPLICATE_CODE` for a referans already sent) when znet refuses it, and
        :class:`ProviderResponseError` when the reply is empty or unreadable: then the
        outcome is unknown, so check with :meth:`fetch_status` before sending again.
        Raises ``ratelimit.RateLimited`` when the provider's rate limit had no turn
        for it within ``max_wait``: nothing was sent.
        """
        params = {
            **self._auth(),
            "oyun": str(oyun),
            "kupur": str(kupur),
            "referans": str(referans),
            "musteri_tel": str(musteri_tel or ""),
            "oyuncu_bilgi": str(oyuncu_bilgi or ""),
        }
        with self.dispatch_slot():  # before any status check, and counted against the call budget
            text = self.text(self._get(self.order_path, params))
        parts = text.split("|")
        if parts[0].strip().upper() == "OK":
            cost = _decimal(parts[1]) if len(parts) > 1 else None
            balance = _decimal(parts[2]) if len(parts) > 2 else None
            logger.debug("znet: pin_ekle %s accepted (cost %s)", referans, cost)
            return PlacedOrder(reference=str(referans), cost=cost, balance=balance, raw=_clip(text))
        error = _protocol_error(text)
        if error is None:
            what = "an empty" if not text else "an unrecognised"
            raise ProviderResponseError(
                f"znet: {what} reply to {self.order_path}; the order may or may not exist, "
                "check its status before sending it again",
                provider=self.name,
            )
        code, message = error
        hint = f" ({AUTH_HINT})" if code == "8" else ""
        label = f"{code}|{message}" if code else message
        raise ProviderRejected(_clip(f"znet: order refused: {label}{hint}"), provider=self.name, code=code)

    def get_balance(self) -> Balance:
        """Read the dealer balance (``OK|balance[|debt]``, or a JSON object).

        An empty reply means znet refused the caller without saying why:
        :class:`ProviderRejected` names the usual causes.
        """
        text = self.text(self._get(self.balance_path, self._auth()))
        if not text:
            raise ProviderRejected(
                f"znet: empty reply to {self.balance_path}: {AUTH_HINT} (the server's static IP)",
                provider=self.name,
            )
        balance: Decimal | None = None
        debt: Decimal | None = Decimal("0")
        parts = text.split("|")
        if parts[0].strip().upper() == "OK":
            balance = _decimal(parts[1]) if len(parts) > 1 else None
            if len(parts) > 2 and parts[2].strip():
                debt = _decimal(parts[2])
        elif text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                balance = _decimal(str(data.get("balance", data.get("bakiye", ""))))
                debt = _decimal(str(data.get("debt", data.get("borc", 0))))
        else:
            error = _protocol_error(text)
            if error is not None:
                code, message = error
                label = f"{code}|{message}" if code else message
                hint = f" ({AUTH_HINT})" if code == "8" else ""
                raise ProviderRejected(_clip(f"znet: balance refused: {label}{hint}"), provider=self.name, code=code)
        if balance is None or debt is None:
            raise ProviderResponseError(f"znet: unrecognised reply to {self.balance_path}", provider=self.name)
        return Balance(balance=balance, debt=debt)
