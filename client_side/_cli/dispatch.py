"""``shutdown-rpc dispatch``: get an agent into a room (AgentDispatchService.CreateDispatch), for trying things out.

Explicit dispatch: the worker must be registered with the same ``agent_name``; the server creates the room if
it does not exist. With ``--wait`` (the default) the command returns once the agent has joined and advertises
the shutdown method, so a ``send`` right after finds it.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from livekit import api

from shutdown_rpc.client_side import ShutdownClient, TransportError
from shutdown_rpc.client_side._server_api import _room_call
from shutdown_rpc.protocol.wire import ATTR_METHOD

from .common import SubParsers, UsageError, non_negative_seconds
from .exit_codes import EXIT_AGENT_NOT_FOUND, EXIT_OK, EXIT_TRANSPORT
from .send import quiet_pyjwt

POLL_S = 0.2
NOT_JOINED_HINT = (
    "is a worker registered with this agent name (its log says `registered worker`) running against the same "
    "server? The server does not retry a dispatch made before a worker was available: start the worker first, "
    "then dispatch again. A worker run with `start` (production mode) also takes no job while its CPU load is "
    "over its load threshold (0.7): use dev mode (`python -m livekit.agents start agent.py --dev`) locally"
)


def register(sub: SubParsers) -> None:
    """Add the ``dispatch`` command."""
    dispatch = sub.add_parser("dispatch", help="dispatch an agent (by its agent_name) into a room, creating it")
    dispatch.add_argument("--room", required=True, help="room name (created if it does not exist)")
    dispatch.add_argument("--agent-name", required=True, help="the agent_name the worker registered with")
    dispatch.add_argument("--metadata", default="", help="job metadata handed to the agent")
    dispatch.add_argument(
        "--wait",
        type=non_negative_seconds,
        default=30.0,
        metavar="SECONDS",
        help="wait this long for the agent to join and advertise the shutdown method (default 30; 0: do not wait)",
    )
    dispatch.add_argument("--url", help="LiveKit server URL (else $LIVEKIT_URL)")
    dispatch.add_argument("--api-key", help="LiveKit API key (else $LIVEKIT_API_KEY; the secret: $LIVEKIT_API_SECRET)")
    dispatch.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Create the dispatch, then wait for the agent; exit 0 once it is there, 5 if it did not come."""
    quiet_pyjwt()
    return asyncio.run(_dispatch(args))


async def _dispatch(args: argparse.Namespace) -> int:
    try:
        client = ShutdownClient(None, issuer="dispatch", url=args.url, api_key=args.api_key, api_secret=None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    async with client:
        request = api.CreateAgentDispatchRequest(agent_name=args.agent_name, room=args.room, metadata=args.metadata)
        try:
            created = await _room_call(client.api.agent_dispatch.create_dispatch(request), client.url, args.room)
        except TransportError as exc:
            print(f"shutdown-rpc: cannot dispatch: {exc}")
            return EXIT_TRANSPORT
        print(f"dispatched agent {args.agent_name!r} to room {args.room!r} (dispatch {created.id})", flush=True)
        if args.wait == 0:
            return EXIT_OK
        started = time.monotonic()
        identity = await _advertising_agent(client, args.room, deadline=started + args.wait)
    if identity is None:
        print(f"shutdown-rpc: no agent joined {args.room!r} within {args.wait:g} s: {NOT_JOINED_HINT}")
        return EXIT_AGENT_NOT_FOUND
    print(f"agent {identity} is in room {args.room!r} after {time.monotonic() - started:.1f} s")
    return EXIT_OK


async def _advertising_agent(client: ShutdownClient, room: str, *, deadline: float) -> str | None:
    """The identity of the first agent of ``room`` advertising the shutdown method, or None by ``deadline``."""
    while True:
        try:
            listing = await client.api.room.list_participants(api.ListParticipantsRequest(room=room))
        except api.TwirpError:
            listing = None  # the room may not be there yet
        for participant in listing.participants if listing else ():
            if participant.kind == api.ParticipantInfo.Kind.AGENT and participant.attributes.get(ATTR_METHOD):
                return str(participant.identity)
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(POLL_S)  # poll interval: the server API has no "participant joined" call
