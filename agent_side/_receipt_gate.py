"""The caller's receipt (spec §8, §11): the token given with the accepted acknowledgement, and whether a receipt
carrying it has arrived. Anything else sent to the receipt method is counted, never logged one by one."""

from __future__ import annotations

import asyncio

from shutdown_rpc._log import logger
from shutdown_rpc.protocol.wire import is_receipt_for


class ReceiptGate:
    """Holds the accepted request's receipt token (never logged, never published) and the event its receipt sets.

    ``arrived`` is set once a receipt carrying the token came; ``unmatched`` counts the receipts that did not
    carry it (the request id someone read off the ending attributes, a guess, anything before an acceptance).
    """

    def __init__(self) -> None:
        self._token: str | None = None
        self.arrived = asyncio.Event()
        self.unmatched = 0

    def arm(self, token: str) -> None:
        """The token of the accepted acknowledgement: receipts count only with it from now on."""
        self._token = token

    def offer(self, payload: str) -> None:
        """One call of the receipt method: sets ``arrived`` for the token, counts anything else."""
        token = self._token
        if token is not None and is_receipt_for(payload, token):
            self.arrived.set()
        else:
            self.unmatched += 1

    def log_unmatched(self, request_id: str) -> None:
        """One record summing up the receipts without the token, if there were any (called once, when leaving)."""
        if self.unmatched:
            logger.warning(
                "remote shutdown: %d receipt(s) without the acknowledgement's token changed nothing",
                self.unmatched,
                extra={"request_id": request_id, "unmatched_receipts": self.unmatched},
            )
