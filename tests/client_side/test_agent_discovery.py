"""client_side/_agent_discovery.py: discovery trusts the participant kind, never what a participant says about
itself."""

from __future__ import annotations

import pytest

from shutdown_rpc.client_side import AgentNotFound, ShutdownClient
from shutdown_rpc.client_side._agent_discovery import Candidate, find_agents
from shutdown_rpc.protocol.wire import advertisement_attributes

from .conftest import KEY
from .fake_livekit import FakeLiveKit, agent

ADVERT = advertisement_attributes(["k"])


def test_a_normal_participant_advertising_is_never_a_candidate() -> None:
    impostor = Candidate("mallory", 0, ADVERT)
    silent_agent = Candidate("agent-1", 4, {})
    advertising_agent = Candidate("agent-2", 4, ADVERT)
    # (b) the real agent does not advertise: the impostor must not win
    assert find_agents([impostor, silent_agent]) == ("agent-1",)
    # (a) the real agent advertises: the impostor must not make it "several agents"
    assert find_agents([impostor, advertising_agent]) == ("agent-2",)
    # attributes narrow among agents
    assert find_agents([impostor, silent_agent, advertising_agent]) == ("agent-2",)
    assert find_agents([impostor]) == ()


async def test_server_api_discovery_ignores_an_advertising_non_agent(
    fake: tuple[FakeLiveKit, str], client: ShutdownClient
) -> None:
    server, _ = fake
    server.add("r", agent("mallory", [KEY], kind=0), agent("agent-1", [KEY], advertise=False))
    assert (await client.shutdown("r")).agent_identity == "agent-1"
    server.add("alone", agent("mallory", [KEY], kind=0))
    with pytest.raises(AgentNotFound):
        await client.shutdown("alone")
