"""``shutdown-rpc send``: ask the room's agent(s) to shut down through the server API (RoomService.PerformRpc)."""

from __future__ import annotations

import argparse
import asyncio
import warnings

from shutdown_rpc.client_side import ShutdownClient, ShutdownFailed, ShutdownResult
from shutdown_rpc.client_side._delivery import DEFAULT_TIMEOUT_S

from .common import (
    SubParsers,
    UsageError,
    add_request_args,
    command_of,
    first_error,
    non_negative_seconds,
    positive_seconds,
    signing_key_of_args,
)
from .exit_codes import EXIT_OK, EXIT_PARTIAL, exit_code_of, exit_code_of_result
from .render import print_outcome


def register(sub: SubParsers) -> None:
    """Add the ``send`` command."""
    send = sub.add_parser("send", help="send through the server API and print the outcome")
    add_request_args(send, agent_required=False)
    send.add_argument("--all", action="store_true", help="every agent of the room (one request each)")
    send.add_argument("--unsigned", action="store_true", help="send an unsigned request (if agents allow it)")
    send.add_argument(
        "--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT_S, help="overall deadline, retries included"
    )
    send.add_argument(
        "--wait", type=non_negative_seconds, metavar="SECONDS", help="then wait this long for the agent to leave"
    )
    send.add_argument("--url", help="LiveKit server URL (else $LIVEKIT_URL)")
    send.add_argument("--api-key", help="LiveKit API key (else $LIVEKIT_API_KEY; the secret: $LIVEKIT_API_SECRET)")
    send.add_argument("--json", action="store_true", help="one JSON object per agent on stdout")
    send.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Send, print each outcome, and exit with the documented code."""
    quiet_pyjwt()
    if args.all and args.agent:
        raise UsageError("--agent and --all exclude each other")
    if args.unsigned and args.key_file:
        raise UsageError("--unsigned and --key-file exclude each other")
    return asyncio.run(_send(args))


def quiet_pyjwt() -> None:
    """No InsecureKeyLengthWarning for each token livekit-api signs: livekit-server --dev's own secret is 6 bytes."""
    try:
        from jwt.warnings import InsecureKeyLengthWarning
    except ImportError:  # PyJWT older than 2.10 does not warn
        return
    warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)


async def _send(args: argparse.Namespace) -> int:
    key = None if args.unsigned else signing_key_of_args(args)
    command = command_of(args)
    try:
        client = ShutdownClient(key, issuer=args.issuer, url=args.url, api_key=args.api_key, api_secret=None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    outcomes: dict[str, ShutdownResult | ShutdownFailed]
    async with client:
        try:
            if args.all:
                outcomes = await client.shutdown_all(args.room, command, timeout=args.timeout, wait_for_exit=args.wait)
            else:
                result = await client.shutdown(
                    args.room, command, agent=args.agent, timeout=args.timeout, wait_for_exit=args.wait
                )
                outcomes = {result.agent_identity: result}
        except ShutdownFailed as error:
            print_outcome(error, args.json)
            return exit_code_of(error)
        except ValueError as exc:  # invalid request fields (pydantic) before anything was sent
            raise UsageError(first_error(exc)) from None
    codes = []
    for outcome in outcomes.values():
        print_outcome(outcome, args.json)
        codes.append(exit_code_of_result(outcome) if isinstance(outcome, ShutdownResult) else exit_code_of(outcome))
    if args.all and any(isinstance(o, ShutdownFailed) for o in outcomes.values()):
        return EXIT_PARTIAL
    return max(codes, default=EXIT_OK)
