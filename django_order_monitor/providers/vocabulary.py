"""The one status vocabulary: a provider's word -> an :class:`Outcome`, case-insensitively.

Every adapter that speaks in words, the push endpoint and the settings go through
:func:`classify`. Success and failure words are the ``SUCCESS_STATUSES`` and
``FAILURE_STATUSES`` settings (their defaults hold every word the bundled adapters
know); "still working" words are ``DISPATCHED_STATUSES`` plus :data:`PROCESSING_WORDS`.
"""

from __future__ import annotations

import logging

from ..conf import app_settings
from .adapters.base import Outcome

logger = logging.getLogger(__name__)

#: Words that mean "still working" besides the dispatched ones.
PROCESSING_WORDS = ("processing", "pending", "waiting", "wait", "inprogress", "in_progress", "queued", "queue", "sent")
#: Words that say nothing about the order's fate: no outcome, like an unknown word, but expected.
NO_NEWS_WORDS = ("unknown", "not_sent")


def _lowered(words: object) -> set[str]:
    return {w.strip().lower() for w in words if isinstance(w, str)} if isinstance(words, (list, tuple)) else set()


def classify(word: str | None) -> Outcome | None:
    """Outcome for a provider's status word; None for a word that decides nothing.

    Unknown words are logged as a warning: a provider that starts using a new
    word should be noticed, never guessed at. The caller treats None as a failed
    query, so the order is asked about again.
    """
    normal = (word or "").strip().lower()
    if normal in _lowered(app_settings.SUCCESS_STATUSES):
        return Outcome.COMPLETED
    if normal in _lowered(app_settings.FAILURE_STATUSES):
        return Outcome.FAILED
    if normal in PROCESSING_WORDS or normal in _lowered(app_settings.DISPATCHED_STATUSES):
        return Outcome.PROCESSING
    if normal not in NO_NEWS_WORDS:
        logger.warning("Unknown provider status word %r; treated as a failed query", (word or "")[:50])
    return None
