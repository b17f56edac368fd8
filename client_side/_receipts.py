"""The receipt a caller sends once it holds an acknowledgement that delivers its reason (spec §2, §11): the
acknowledgement's receipt token, so the agent can leave at once instead of waiting out its reply-flush bound.
Sent in the background: the caller has its result already. The token is never logged."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from shutdown_rpc._log import logger

if TYPE_CHECKING:
    from ._delivery import Channel


RECEIPT_TIMEOUT_S = 5.0
_receipts: set[asyncio.Task[None]] = set()  # strong references until each is sent


def send_receipt_soon(channel: Channel, receipt_token: str) -> None:
    """Send the receipt in the background: the caller has its result now, the agent may leave at once.

    Best effort: an agent that predates receipts answers UNSUPPORTED_METHOD, one that already left cannot
    answer; either way it leaves within its own bound. Failures are logged at debug level only.
    """

    async def send() -> None:
        try:
            await channel.receipt(receipt_token, timeout_s=RECEIPT_TIMEOUT_S)
        except Exception as exc:
            logger.debug("shutdown receipt not delivered: %s", exc)

    task = asyncio.get_running_loop().create_task(send(), name="shutdown_rpc.receipt")
    _receipts.add(task)
    task.add_done_callback(_receipts.discard)


async def flush_receipts(timeout_s: float = RECEIPT_TIMEOUT_S) -> None:
    """Wait (bounded) for receipts still being sent, e.g. before closing the API client they use."""
    pending = [t for t in _receipts if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout_s)
