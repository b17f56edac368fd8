"""Connectivity of the harness itself: a real rtc participant reaches the dev server and RPC works end to end."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from livekit import api, rtc

from harness import netns
from harness.livekit_server import LiveKitServer

if TYPE_CHECKING:  # conftest is not imported at run time (pytest loads it as a plugin)
    from tests.e2e.conftest import ParticipantFactory

pytestmark = pytest.mark.e2e


async def test_server_answers_room_service(livekit_server: LiveKitServer, lkapi: api.LiveKitAPI) -> None:
    assert livekit_server.is_running()
    assert livekit_server.url.startswith("ws://127.0.0.1:")
    await lkapi.room.list_rooms(api.ListRoomsRequest())


async def test_two_python_participants_exchange_rpc(participant_factory: ParticipantFactory, room_name: str) -> None:
    alice = await participant_factory(room_name, "alice")
    bob = await participant_factory(room_name, "bob")
    await alice.wait_for_participant("bob")

    seen: list[rtc.RpcInvocationData] = []

    async def echo(data: rtc.RpcInvocationData) -> str:
        seen.append(data)
        return f"echo:{data.payload}"

    bob.local.register_rpc_method("test.echo", echo)
    reply = await alice.local.perform_rpc(
        destination_identity="bob", method="test.echo", payload="hello", response_timeout=10
    )
    assert reply == "echo:hello"
    assert [(d.caller_identity, d.payload) for d in seen] == [("alice", "hello")]


async def test_rpc_error_codes_cross_the_wire(participant_factory: ParticipantFactory, room_name: str) -> None:
    alice = await participant_factory(room_name, "alice")
    bob = await participant_factory(room_name, "bob")
    await alice.wait_for_participant("bob")

    async def refuse(data: rtc.RpcInvocationData) -> str:
        raise rtc.RpcError(4001, "refused", data="details")

    bob.local.register_rpc_method("test.refuse", refuse)
    with pytest.raises(rtc.RpcError) as err:
        await alice.local.perform_rpc(destination_identity="bob", method="test.refuse", payload="x")
    assert (err.value.code, err.value.message, err.value.data) == (4001, "refused", "details")

    with pytest.raises(rtc.RpcError) as unsupported:
        await alice.local.perform_rpc(destination_identity="bob", method="test.missing", payload="x")
    assert unsupported.value.code == rtc.RpcError.ErrorCode.UNSUPPORTED_METHOD


def test_runs_in_private_network_namespace() -> None:
    """By default the test process runs in its own netns; SHUTDOWN_RPC_E2E_NETNS=0 keeps the machine's."""
    ns = netns.current()
    if netns.netns_wanted():
        assert ns is not None and ns.address == netns.DEFAULT_ADDRESS
    else:
        assert ns is None
