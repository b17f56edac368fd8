"""Fleet operations, for operators: end the agents of many rooms at once with one ShutdownCommand, rooms kept alive.

Rooms are chosen by an explicit list, a name pattern over ListRooms (``*`` the only wildcard), or all rooms
(:func:`select_rooms`); :func:`end_fleet` then works through them with bounded concurrency and yields one
:class:`RoomOutcome` per room as each finishes. Per room it does what ``ShutdownClient.shutdown_all`` does
(find the agents, one signed request each, the same request id on every retry), then optionally confirms that
each acknowledged agent left:

* with a :class:`WebhookListener` the confirmation costs no API call (the server posts
  ``participant_left``); an agent whose webhook does not come in time is checked once through the API,
  because the server may drop webhooks;
* without one, it polls the server API (GetParticipant), one room at a time per worker.

A confirmation is about the very participant that was asked, in the very room (their sids, read from the
server right before the requests go out: ``_agent_sessions``), never about a name: the departure of an
earlier agent or room of the same name, remembered or replayed, confirms nothing.

``dry_run=True`` lists what would be ended (rooms and agent identities) and sends nothing.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass, field, replace

from livekit import api

from shutdown_rpc._patterns import matches

from ._agent_sessions import AgentSession, PollingDepartures, agent_sessions
from ._command import ShutdownCommand
from ._delivery import DEFAULT_TIMEOUT_S
from ._minting import first_error
from ._outcomes import AgentNotFound, ShutdownFailed, ShutdownResult
from ._server_api import ShutdownClient, _room_call
from ._webhooks import Departures, WebhookListener

__all__ = ["RoomOutcome", "RoomStatus", "WebhookListener", "end_fleet", "select_rooms"]

DEFAULT_FLEET_CONCURRENCY = 8


class RoomStatus(enum.Enum):
    """What happened to one room, most useful first."""

    #: every agent acknowledged and (when confirmation was asked) was seen leaving
    ENDED = "ended"
    #: every agent acknowledged; leaving was not checked
    ACKNOWLEDGED = "acknowledged"
    #: every agent acknowledged, but at least one was still in the room when confirmation ran out
    STILL_PRESENT = "still_present"
    #: the room has no agent: nothing to end
    NO_AGENT = "no_agent"
    #: dry run: the agents listed would be asked
    PLANNED = "planned"
    #: at least one agent did not acknowledge, or the room could not be handled at all
    FAILED = "failed"


@dataclass(frozen=True)
class RoomOutcome:
    """The outcome for one room: per-agent results, or the room-level failure, or the dry-run plan."""

    room: str
    results: Mapping[str, ShutdownResult | ShutdownFailed] = field(default_factory=dict)
    error: ShutdownFailed | None = None
    planned: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def status(self) -> RoomStatus:
        """The room's summary (see :class:`RoomStatus`)."""
        if self.dry_run and self.error is None:
            return RoomStatus.PLANNED
        if isinstance(self.error, AgentNotFound):
            return RoomStatus.NO_AGENT
        if self.error is not None or any(isinstance(r, ShutdownFailed) for r in self.results.values()):
            return RoomStatus.FAILED
        left = [r.agent_left for r in self.results.values() if isinstance(r, ShutdownResult)]
        if any(value is False for value in left):
            return RoomStatus.STILL_PRESENT
        if left and all(value is True for value in left):
            return RoomStatus.ENDED
        return RoomStatus.ACKNOWLEDGED


async def list_room_names(client: ShutdownClient) -> list[str]:
    """Every room the server (the whole cluster: rooms live in its shared store) knows, sorted."""
    listing = await _room_call(client.api.room.list_rooms(api.ListRoomsRequest()), client.url, "*")
    return sorted(room.name for room in listing.rooms)


async def select_rooms(
    client: ShutdownClient,
    *,
    names: Iterable[str] = (),
    pattern: str | None = None,
    all_rooms: bool = False,
) -> list[str]:
    """The rooms to work on: ``names`` as given (deduplicated, in order), or the existing rooms whose name
    matches ``pattern`` (the package's one pattern rule, spec §7.2: literal and case-sensitive, ``*`` matching
    any run of characters; ``?`` and ``[...]`` are ordinary characters), or with ``all_rooms`` every room.
    Exactly one way must be chosen. TransportError when ListRooms fails."""
    explicit = list(dict.fromkeys(names))
    if sum((bool(explicit), pattern is not None, all_rooms)) != 1:
        raise ValueError("choose the rooms one way: names, a pattern, or all rooms")
    if explicit:
        return explicit
    existing = await list_room_names(client)
    if all_rooms:
        return existing
    assert pattern is not None
    return [name for name in existing if matches(pattern, name)]


async def end_fleet(
    client: ShutdownClient,
    rooms: Iterable[str],
    command: ShutdownCommand | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    concurrency: int = DEFAULT_FLEET_CONCURRENCY,
    confirm_timeout: float | None = None,
    departures: Departures | None = None,
    dry_run: bool = False,
) -> AsyncGenerator[RoomOutcome, None]:
    """Ask the agents of every room in ``rooms`` to end their jobs as ``command`` says; yield each room's outcome
    as it finishes.

    ``timeout`` bounds each room (retries included), at most ``concurrency`` rooms are in progress at once.
    ``confirm_timeout``: after the acknowledgements, wait up to this long for each agent to leave (sets
    ``ShutdownResult.agent_left``), through ``departures`` (e.g. a :class:`WebhookListener`; default: polling
    the API). Closing the generator early (``aclose()``, or leaving an ``async for``) cancels the rooms in
    progress. ``command.request_id`` must be None: every agent gets a request of its own.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    command = command or ShutdownCommand()
    if command.request_id is not None:
        raise ValueError("a request id names one request to one agent: end_fleet sends one per agent")
    run = _FleetRun(client, command, timeout, confirm_timeout, departures, PollingDepartures(client), dry_run)
    todo = list(rooms)
    queue = iter(todo)  # shared by the workers: each takes the next room when it is free
    done: asyncio.Queue[RoomOutcome | BaseException] = asyncio.Queue()

    async def work() -> None:
        for room in queue:
            try:
                outcome = await run.one_room(room)
            except Exception as exc:  # a bug or an unexpected error: hand it to the consumer, stop this worker
                await done.put(exc)
                return
            await done.put(outcome)

    total = len(todo)
    workers = [asyncio.create_task(work()) for _ in range(min(concurrency, total))]
    try:
        for _ in range(total):
            item = await done.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


@dataclass(frozen=True)
class _FleetRun:
    """One end_fleet call's settings, and what it does for one room."""

    client: ShutdownClient
    command: ShutdownCommand
    timeout: float
    confirm_timeout: float | None
    departures: Departures | None
    polling: PollingDepartures
    dry_run: bool

    async def one_room(self, room: str) -> RoomOutcome:
        if self.dry_run:
            try:
                return RoomOutcome(room, planned=await self.client.list_agents(room), dry_run=True)
            except ShutdownFailed as error:
                return RoomOutcome(room, error=error, dry_run=True)
        sessions: dict[str, AgentSession] = {}
        try:
            if self.confirm_timeout is not None:
                sessions = await agent_sessions(self.client, room)
            results = await self.client.shutdown_all(room, self.command, timeout=self.timeout)
        except ShutdownFailed as error:
            return RoomOutcome(room, error=error)
        except ValueError as exc:  # a request this room's name (or an agent's identity) cannot be carried in
            message = f"no request can be made for this room: {first_error(exc)}"
            return RoomOutcome(room, error=ShutdownFailed(message, room=room))
        if self.confirm_timeout is not None:
            results = await _confirm(results, sessions, self.confirm_timeout, self.departures, self.polling)
        return RoomOutcome(room, results=results)


async def _confirm(
    results: Mapping[str, ShutdownResult | ShutdownFailed],
    sessions: Mapping[str, AgentSession],
    timeout: float,
    departures: Departures | None,
    polling: PollingDepartures,
) -> dict[str, ShutdownResult | ShutdownFailed]:
    """Set ``agent_left`` on each acknowledged result whose session is known (webhooks first, then one API check;
    or polling). An agent that was not in the listing made before the requests (it joined meanwhile) cannot be
    told apart from a namesake: its ``agent_left`` stays None (not checked)."""

    async def confirm(result: ShutdownResult) -> ShutdownResult:
        session = sessions.get(result.agent_identity)
        if session is None:
            return result
        if departures is None:
            left = await polling.wait_gone(session, timeout=timeout)
        else:
            left = await departures.wait_gone(session, timeout=timeout)
            if not left:  # webhooks can be dropped: ask the server once before saying "still there"
                left = await polling.gone_now(session)
        return replace(result, agent_left=left)

    acknowledged = [r for r in results.values() if isinstance(r, ShutdownResult)]
    confirmed = await asyncio.gather(*(confirm(r) for r in acknowledged))
    merged: dict[str, ShutdownResult | ShutdownFailed] = dict(results)
    merged.update({r.agent_identity: r for r in confirmed})
    return merged
