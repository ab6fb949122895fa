"""The status vocabulary: a provider's word -> an :class:`Outcome`, case-insensitively."""

from __future__ import annotations

import logging

from .adapters.base import Outcome
from .conf import app_settings

logger = logging.getLogger(__name__)

#: Words that mean "still working" besides the dispatched ones.
PROCESSING_WORDS = ("processing", "pending", "waiting", "wait", "inprogress", "in_progress", "queued", "queue", "sent")


def classify(word: str | None) -> Outcome | None:
    """Outcome for a provider's status word; None for a word we do not know.

    Unknown words are logged as a warning: a provider that starts using a new
    word should be noticed, never guessed at.
    """
    normal = (word or "").strip().lower()
    if normal in {w.lower() for w in app_settings.SUCCESS_STATUSES}:
        return Outcome.COMPLETED
    if normal in {w.lower() for w in app_settings.FAILURE_STATUSES}:
        return Outcome.FAILED
    if normal in {w.lower() for w in app_settings.DISPATCHED_STATUSES} or normal in PROCESSING_WORDS:
        return Outcome.PROCESSING
    logger.warning("Unknown provider status word %r; treated as a failed query", (word or "")[:50])
    return None
