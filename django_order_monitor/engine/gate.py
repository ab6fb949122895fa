"""The answer gate: every provider answer passes here before anything is written.

Whoever brought the answer (a poll, a batch poll, a push, an operator, the
deadline), the same rules hold:

- a completion needs a PIN that is a non-blank string of printable characters
  and fits the shop's PIN column *unchanged*; anything else is a query error
  (recorded and retried), never a completion;
- the PIN is masked wherever the provider echoed it in the message or the raw
  reply, so what is stored and shown never holds it.

The PIN itself travels only inside the returned :class:`StatusResult` on its
way to the shop's row.
"""

from __future__ import annotations

import dataclasses

from ..providers.adapters.base import Outcome, StatusResult, mask_pin
from ..providers.adapters.base import pin_problem as base_pin_problem
from ..shop import orders

__all__ = ["admit", "pin_problem"]


def pin_problem(pin: object, max_length: int | None = None) -> str | None:
    """Why ``pin`` cannot complete an order (a short phrase without the PIN), or None.

    The adapters' rule (:func:`adapters.base.pin_problem`: text, not blank,
    printable), plus the shop's column: a PIN that would not fit is refused, never cut.
    """
    problem = base_pin_problem(pin)
    # No problem means a str; isinstance says so to the type checker.
    if problem is None and isinstance(pin, str) and max_length is not None and len(pin) > max_length:
        return f"PIN is longer than the shop's column ({len(pin)} > {max_length} characters)"
    return problem


def admit(result: StatusResult) -> StatusResult:
    """``result`` as the engine may apply it: a valid completion, or a query error in its place.

    Non-terminal and failed answers pass with any PIN dropped (only a
    completion writes one) and masked out of their texts.
    """
    pin = result.pin
    if result.outcome is not Outcome.COMPLETED:
        return _without_pin(result, pin)
    problem = pin_problem(pin, orders.pin_max_length())
    if problem is None:
        assert isinstance(pin, str)  # what pin_problem() found nothing wrong with
        if pin in result.message or pin in result.raw or pin in (result.provider_status or ""):
            return dataclasses.replace(
                result,
                message=mask_pin(result.message, pin),
                raw=mask_pin(result.raw, pin),
                provider_status=mask_pin(result.provider_status, pin),
            )
        return result
    masked = _without_pin(result, pin)
    return StatusResult.query_error(
        f"completion refused: {problem}", provider_status=masked.provider_status, raw=masked.raw
    )


def _without_pin(result: StatusResult, pin: object) -> StatusResult:
    if pin is None:
        return result
    text = pin if isinstance(pin, str) else None
    return dataclasses.replace(
        result,
        pin=None,
        message=mask_pin(result.message, text),
        raw=mask_pin(result.raw, text),
        provider_status=mask_pin(result.provider_status, text),
    )
