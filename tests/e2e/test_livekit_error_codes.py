"""Spec §2 against a real livekit-server: LiveKit's own RPC codes over RoomService.PerformRpc come inside the
Twirp message as ``RpcError <code>: ...`` and are read by their digits, whatever Twirp code carries them
(issue 23 #13: 1402 REQUEST_PAYLOAD_TOO_LARGE next to 1400 UNSUPPORTED_METHOD)."""

from __future__ import annotations

from typing import Any

import pytest
from livekit import api

from shutdown_rpc.client_side._delivery import RpcFailure
from tests.e2e.test_receipt_and_floods import call


async def failure_of(lkapi: api.LiveKitAPI, room: str, identity: str, method: str, payload: str) -> RpcFailure:
    with pytest.raises(RpcFailure) as info:
        await call(lkapi, room, identity, method, payload)
    return info.value


async def test_livekit_codes_are_read_from_their_digits(
    lkapi: api.LiveKitAPI, participant_factory: Any, room_name: str
) -> None:
    user = await participant_factory(room_name, identity="plain-user")  # registers no RPC method
    too_large = await failure_of(lkapi, room_name, user.identity, "anything", "x" * 15361)
    assert too_large.rpc_code == 1402, too_large
    assert too_large.data is None
    unsupported = await failure_of(lkapi, room_name, user.identity, "anything", "x")
    assert unsupported.rpc_code == 1400, unsupported
    # what spec §2 states about livekit-server 1.13.5 (a caller never relies on it)
    assert (too_large.transport_code, unsupported.transport_code) == ("invalid_argument", "invalid_argument")
