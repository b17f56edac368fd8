"""Issue 23 #12 (spec §2): a caller about to disconnect lets its receipt's call go out first."""

from __future__ import annotations

import asyncio

from shutdown_rpc.client_side import RoomShutdownCaller, ShutdownCommand
from shutdown_rpc.protocol.wire import RECEIPT_METHOD_NAME

from .conftest import FAST, KEY
from .fake_livekit import agent
from .test_mapping_and_participant import FakeRoom


class SlowReceiptRoom(FakeRoom):
    """Receipts are held until ``release`` is set, as if the agent's answer were still on its way."""

    def __init__(self) -> None:
        super().__init__(agent("agent-1", [KEY]))
        self.receipt_started = asyncio.Event()
        self.release = asyncio.Event()
        self.receipts: list[str] = []
        shutdown_call = self.local_participant.perform_rpc

        async def perform_rpc(*, destination_identity: str, method: str, payload: str, response_timeout: float) -> str:
            if method != RECEIPT_METHOD_NAME:
                return str(
                    await shutdown_call(
                        destination_identity=destination_identity,
                        method=method,
                        payload=payload,
                        response_timeout=response_timeout,
                    )
                )
            self.receipt_started.set()
            await self.release.wait()
            self.receipts.append(payload)
            return ""

        self.local_participant.perform_rpc = perform_rpc


async def test_an_in_room_caller_can_wait_for_its_receipt_before_disconnecting() -> None:
    room = SlowReceiptRoom()
    caller = RoomShutdownCaller(room, KEY, issuer="tests", retry=FAST)  # type: ignore[arg-type]
    result = await caller.shutdown(ShutdownCommand(reason="bye"))
    flushing = asyncio.ensure_future(caller.flush_receipts())
    await room.receipt_started.wait()
    assert not flushing.done()  # the receipt's call has not settled: disconnecting now could drop it
    room.release.set()
    await flushing
    assert room.receipts == [result.ack.receipt]
