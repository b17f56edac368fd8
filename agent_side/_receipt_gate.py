"""The callers' receipts (spec §8, §11): the token given with the accepted acknowledgement, how many answers
carried it, and whether as many receipts carrying it have arrived. Anything else sent to the receipt method is
counted, never logged one by one."""

from __future__ import annotations

import asyncio
import contextlib

from shutdown_rpc._log import logger
from shutdown_rpc.protocol import Acknowledgement
from shutdown_rpc.protocol.wire import is_receipt_for


class ReceiptGate:
    """Holds the accepted request's receipt token (never logged, never published) and the event its receipts set.

    Every answer handed back with the token (the accepted one, each ``duplicate``) is a reply the agent's leave
    could cut off, so one receipt is awaited per answer, not per caller: a PerformRpc caller gets a fresh identity
    per call, and the same request may come from two callers. ``confirmed`` is set once the receipts carrying the
    token are at least as many as those answers while the agent still waits (``wait``); after that wait, answers
    and receipts change nothing. ``unmatched`` counts the receipts without the token (the request id someone read
    off the ending attributes, a guess, anything before an acceptance).
    """

    def __init__(self) -> None:
        self._token: str | None = None
        self._answers = 0
        self._receipts = 0
        self._waiting = True
        self.confirmed = asyncio.Event()
        self.unmatched = 0

    def arm(self, token: str) -> None:
        """The token of the accepted acknowledgement: receipts count only with it from now on."""
        self._token = token

    def answered(self, ack: Acknowledgement) -> None:
        """The handler handed back ``ack``: one carrying the token awaits one more receipt (while waiting)."""
        if self._waiting and self._token is not None and ack.receipt_token is not None:
            self._answers += 1

    def offer(self, payload: str) -> None:
        """One call of the receipt method: counts toward ``confirmed`` with the token, as unmatched otherwise."""
        token = self._token
        if token is None or not is_receipt_for(payload, token):
            self.unmatched += 1
            return
        self._receipts += 1
        if self._waiting and self._receipts >= self._answers > 0:
            self.confirmed.set()

    async def wait(self, bound_s: float) -> None:
        """Until every answer that carried the token has its receipt, at most ``bound_s``; then stop counting."""
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.confirmed.wait(), bound_s)
        finally:
            self._waiting = False

    def log_unmatched(self, request_id: str) -> None:
        """One record summing up the receipts without the token, if there were any (called once, when leaving)."""
        if self.unmatched:
            logger.warning(
                "remote shutdown: %d receipt(s) without the acknowledgement's token changed nothing",
                self.unmatched,
                extra={"request_id": request_id, "unmatched_receipts": self.unmatched},
            )
