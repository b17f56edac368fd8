"""Which participants of a room are agents to send the shutdown request to.

Only participants of kind AGENT (4) qualify (spec §10): the kind comes from the access token, while a participant
may be able to write its own attributes. Among the agents, those that advertise the shutdown method (attributes
``shutdown_rpc.*``) win; when none does, every agent is a candidate. Attributes narrow, never widen. Both the
server-API path (ParticipantInfo) and the in-room path (rtc.RemoteParticipant) reduce participants to
:class:`Candidate` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shutdown_rpc.protocol.wire import METHOD_NAME, parse_advertisement

from ._outcomes import AgentNotFound, SeveralAgents

AGENT_KIND = 4  # livekit.ParticipantInfo.Kind.AGENT == rtc ParticipantKind.PARTICIPANT_KIND_AGENT


@dataclass(frozen=True)
class Candidate:
    """What discovery needs to know about one participant."""

    identity: str
    kind: int
    attributes: Mapping[str, str]

    @property
    def advertises(self) -> bool:
        """Whether the participant says it handles this protocol's shutdown method."""
        ad = parse_advertisement(self.attributes)
        return ad is not None and ad.method == METHOD_NAME

    @property
    def is_agent(self) -> bool:
        """Participant kind AGENT."""
        return self.kind == AGENT_KIND


def find_agents(participants: Iterable[Candidate]) -> tuple[str, ...]:
    """Identities to address, sorted: the AGENT-kind participants that advertise the method if any does, else
    every AGENT-kind participant. A participant of another kind never qualifies, whatever it advertises."""
    agents = [p for p in participants if p.is_agent]
    advertisers = sorted(p.identity for p in agents if p.advertises)
    if advertisers:
        return tuple(advertisers)
    return tuple(sorted(p.identity for p in agents))


def pick_one_agent(participants: Iterable[Candidate], room: str) -> str:
    """The one agent of the room; AgentNotFound if there is none, SeveralAgents if there are more."""
    agents = find_agents(participants)
    if not agents:
        raise AgentNotFound(f"no agent in room {room!r} (no participant of kind AGENT)", room=room)
    if len(agents) > 1:
        raise SeveralAgents(agents, room=room)
    return agents[0]


def pick_all_agents(participants: Iterable[Candidate], room: str) -> tuple[str, ...]:
    """Every agent of the room; AgentNotFound if there is none."""
    agents = find_agents(participants)
    if not agents:
        raise AgentNotFound(f"no agent in room {room!r} (no participant of kind AGENT)", room=room)
    return agents
