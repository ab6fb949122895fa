"""The one outcome vocabulary: what a provider's answer says about an order.

Adapters return it, the history records it (``StatusCheck.Result`` adds the two
ways a call itself fails), the ledger and the transitions speak it.
"""

from __future__ import annotations

import enum


class Outcome(str, enum.Enum):
    """What one status query says about an order."""

    COMPLETED = "completed"
    PROCESSING = "processing"
    FAILED = "failed"
    #: The query itself failed (non-OK reply, unknown word): the order is untouched.
    QUERY_ERROR = "query_error"

    @property
    def is_terminal(self) -> bool:
        return self in (Outcome.COMPLETED, Outcome.FAILED)
