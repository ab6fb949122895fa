"""What the fake provider will do with each order: the order mix and seeded per-order plans.

A plan is drawn from ``random.Random(f"{seed}:{referans}")`` so the same order gets the
same fate whatever the arrival order or the number of concurrent clients.
"""

from __future__ import annotations

import enum
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "REFERENCE_MIX",
    "MixEntry",
    "OrderPlan",
    "PlanOutcome",
    "draw_plan",
    "make_plan",
    "parse_mix",
]


class PlanOutcome(str, enum.Enum):
    """How an order ends at the provider."""

    COMPLETED = "completed"  # durum 2 with a PIN
    FAILED = "failed"  # durum 3 (cancelled)
    NEVER = "never"  # stays durum 1 forever


@dataclass(frozen=True)
class MixEntry:
    """One slice of the order mix: ``weight`` of the orders end with ``outcome``
    between ``min_delay`` and ``max_delay`` provider seconds after dispatch."""

    name: str
    weight: float
    outcome: PlanOutcome
    min_delay: float = 0.0
    max_delay: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", PlanOutcome(self.outcome))
        if self.weight < 0:
            raise ValueError(f"mix entry {self.name!r}: weight must be >= 0")
        if not 0 <= self.min_delay <= self.max_delay:
            raise ValueError(f"mix entry {self.name!r}: need 0 <= min_delay <= max_delay")


#: The reference workload of DESIGN.md: 70 % quick, 20 % manual, 7 % cancelled, 3 % never.
REFERENCE_MIX: tuple[MixEntry, ...] = (
    MixEntry("quick", 0.70, PlanOutcome.COMPLETED, 5.0, 30.0),
    MixEntry("manual", 0.20, PlanOutcome.COMPLETED, 120.0, 1800.0),
    MixEntry("failed", 0.07, PlanOutcome.FAILED, 10.0, 120.0),
    MixEntry("never", 0.03, PlanOutcome.NEVER),
)

# Descriptions as the real provider writes them; some contain "|" on purpose so that
# parsers which split naively (djangoo took parts[3] only) are caught.
_WAITING_TEXTS = ("İşlem bekleniyor", "Sırada|kuyruk 2", "Beklemede")
_COMPLETED_TEXTS = ("İşlem tamamlandı", "Onaylandı", "Başarılı")
_COMPLETED_PIPE_TEXTS = ("İşlem tamamlandı|kanal 2", "Başarılı|Ref: A7|kanal 1")
_FAILED_TEXTS = ("İptal edildi", "Oyuncu bulunamadı")
_FAILED_PIPE_TEXTS = ("İptal edildi|stok yok",)
#: Share of terminal descriptions that contain "|".
PIPE_RATE = 0.25
#: What znet puts in the PIN field while there is no PIN: " - ", empty or a space.
NO_PIN_FIELDS = (" - ", "", " ")
_PIN_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class OrderPlan:
    """The fate of one order.

    ``delay`` is in provider seconds after dispatch (divided by the server's
    ``time_scale`` to get wall seconds); ``None`` for an order that never ends.
    """

    kind: str
    outcome: PlanOutcome
    delay: float | None
    pin: str | None = None
    description: str = ""
    waiting_description: str = "İşlem bekleniyor"
    #: The PIN field sent while the order waits (or after it is cancelled).
    no_pin_field: str = " - "
    cost: float = 10.0

    @property
    def durum(self) -> int:
        """The durum code once the order is terminal (1 if it never is)."""
        return {PlanOutcome.COMPLETED: 2, PlanOutcome.FAILED: 3}.get(self.outcome, 1)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "outcome": self.outcome.value,
            "delay": self.delay,
            "pin": self.pin,
            "description": self.description,
            "waiting_description": self.waiting_description,
            "no_pin_field": self.no_pin_field,
            "cost": self.cost,
        }


def _rng(seed: int | str, referans: str) -> random.Random:
    # A str seed is hashed with SHA-512 by random.Random: stable across runs and
    # independent of PYTHONHASHSEED.
    return random.Random(f"{seed}:{referans}")


def _make_pin(rng: random.Random) -> str:
    return "-".join("".join(rng.choices(_PIN_ALPHABET, k=4)) for _ in range(4))


def make_plan(
    outcome: PlanOutcome | str,
    delay: float | None = 0.0,
    *,
    referans: str = "",
    seed: int | str = 0,
    pin: str | None = None,
    description: str | None = None,
    kind: str = "forced",
) -> OrderPlan:
    """Build an explicit plan (for tests that force a case).

    A completed plan without ``pin`` gets a seeded one, and the "no PIN" field varies
    with ``seed`` and ``referans`` as in drawn plans; ``delay`` is ignored for ``never``.
    """
    outcome = PlanOutcome(outcome)
    rng = _rng(seed, referans)
    no_pin_field = NO_PIN_FIELDS[rng.randrange(len(NO_PIN_FIELDS))]
    if outcome is PlanOutcome.NEVER:
        delay = None
    elif delay is None or delay < 0:
        raise ValueError("a completed or failed plan needs a delay >= 0")
    if outcome is PlanOutcome.COMPLETED and pin is None:
        pin = _make_pin(rng)
    if outcome is not PlanOutcome.COMPLETED:
        pin = None
    if description is None:
        description = {
            PlanOutcome.COMPLETED: "İşlem tamamlandı",
            PlanOutcome.FAILED: "İptal edildi",
            PlanOutcome.NEVER: "",
        }[outcome]
    return OrderPlan(
        kind=kind, outcome=outcome, delay=delay, pin=pin, description=description, no_pin_field=no_pin_field
    )


def draw_plan(seed: int | str, referans: str, mix: Sequence[MixEntry] = REFERENCE_MIX) -> OrderPlan:
    """Draw the plan of ``referans`` from ``mix``; the same inputs give the same plan."""
    total = sum(entry.weight for entry in mix)
    if not mix or total <= 0:
        raise ValueError("the order mix needs at least one entry with a positive weight")
    rng = _rng(seed, referans)
    # Draw every random number in a fixed order so each field is reproducible.
    pick = rng.random() * total
    entry = mix[-1]
    for candidate in mix:
        pick -= candidate.weight
        if pick < 0:
            entry = candidate
            break
    delay_u = rng.random()
    pin = _make_pin(rng)
    piped = rng.random() < PIPE_RATE
    text_index = rng.randrange(1_000)
    no_pin_field = NO_PIN_FIELDS[rng.randrange(len(NO_PIN_FIELDS))]
    cost = round(rng.uniform(5.0, 50.0), 2)

    if entry.outcome is PlanOutcome.NEVER:
        delay = None
    else:
        delay = entry.min_delay + delay_u * (entry.max_delay - entry.min_delay)
    texts: tuple[str, ...]
    if entry.outcome is PlanOutcome.COMPLETED:
        texts = _COMPLETED_PIPE_TEXTS if piped else _COMPLETED_TEXTS
    elif entry.outcome is PlanOutcome.FAILED:
        texts = _FAILED_PIPE_TEXTS if piped else _FAILED_TEXTS
    else:
        texts = ("",)
    return OrderPlan(
        kind=entry.name,
        outcome=entry.outcome,
        delay=delay,
        pin=pin if entry.outcome is PlanOutcome.COMPLETED else None,
        description=texts[text_index % len(texts)],
        waiting_description=_WAITING_TEXTS[text_index % len(_WAITING_TEXTS)],
        no_pin_field=no_pin_field,
        cost=cost,
    )


def parse_mix(spec: str) -> tuple[MixEntry, ...]:
    """Parse a CLI mix such as ``"completed:5-30=0.7,completed:120-1800=0.2,failed:10-120=0.07,never=0.03"``.

    Each item is ``outcome[:min-max]=weight``; ``reference`` gives :data:`REFERENCE_MIX`.
    """
    spec = spec.strip()
    if spec in ("", "reference", "default"):
        return REFERENCE_MIX
    entries = []
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        try:
            head, weight_text = item.split("=", 1)
            outcome_text, _, delays = head.partition(":")
            outcome = PlanOutcome(outcome_text.strip())
            low = high = 0.0
            if delays:
                low_text, _, high_text = delays.partition("-")
                low = float(low_text)
                high = float(high_text) if high_text else low
            entries.append(MixEntry(head.strip(), float(weight_text), outcome, low, high))
        except ValueError as err:
            raise ValueError(f"bad mix item {item!r} ({err}); expected outcome[:min-max]=weight") from err
    if not entries:
        raise ValueError("empty order mix")
    return tuple(entries)
