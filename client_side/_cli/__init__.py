"""shutdown-rpc: make keys, mint, send and inspect shutdown requests for LiveKit Agents jobs.

Commands:
  keygen   new key file (hmac-sha256 or ed25519), mode 0600; for ed25519 also the public-only file for agents
  mint     a short-lived signed payload bound to one room and one agent, for a frontend to relay (JSON out)
  send     ask the room's agent(s) to shut down through the server API (RoomService.PerformRpc)
  inspect  decode a payload, print every field and verify it as an agent would (and why it would refuse)
  fleet    end the agents of many rooms (a list, a name glob, or all rooms); --dry-run, --json, --wait
  dispatch get an agent into a room (explicit dispatch by agent_name; creates the room), then wait for it

Secrets: the signing key comes from --key-file, $SHUTDOWN_RPC_KEY_FILE (a path) or $SHUTDOWN_RPC_KEY (the key
file's JSON); the LiveKit API secret only from $LIVEKIT_API_SECRET (URL and API key: flags or $LIVEKIT_URL,
$LIVEKIT_API_KEY). No secret is ever printed.

Exit codes:
   0  acknowledged (accepted / duplicate / already_shutting_down); with --wait, and the agent left;
      keygen/mint done; inspect: an agent would accept the payload
   1  unexpected internal error
   2  usage error: bad arguments, unreadable or invalid key, invalid request fields
   3  refused by the agent, not retryable (inspect: an agent would refuse it)
   4  refused by the agent, retryable later (VETOED, RATE_LIMITED, NOT_YET_VALID, INTERNAL_ERROR)
   5  agent not found (no such participant, or no agent in the room; dispatch: none joined within --wait)
   6  several agents in the room and none named (use --agent or --all)
   7  room not found
   8  timeout: no reply within --timeout and the agent is still in the room
   9  the agent left before replying: it most likely shut down
  10  the agent does not handle the shutdown method
  11  transport error: server unreachable, bad API credentials, unexpected server answer
  12  acknowledged, but the agent was still in the room when --wait ran out
  13  --all: at least one agent did not acknowledge (each outcome is printed);
      fleet: at least one room failed (each outcome is printed)
  fleet: 0 every selected room ended (or had no agent); 12 an agent was still in its room when --wait ran
      out; 7 no room matched; 11 the rooms could not be listed
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import dispatch, fleet, inspect, keygen, mint, send
from .common import Parser, SubParsers, UsageError, first_error
from .exit_codes import (
    EXIT_AGENT_LEFT,
    EXIT_AGENT_NOT_FOUND,
    EXIT_INTERNAL,
    EXIT_NOT_SUPPORTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_REFUSED,
    EXIT_REFUSED_RETRYABLE,
    EXIT_ROOM_NOT_FOUND,
    EXIT_SEVERAL_AGENTS,
    EXIT_STILL_PRESENT,
    EXIT_TIMEOUT,
    EXIT_TRANSPORT,
    EXIT_USAGE,
    exit_code_of,
)
from .version import version_line

COMMANDS: tuple[Callable[[SubParsers], None], ...] = (
    keygen.register,
    mint.register,
    send.register,
    inspect.register,
    fleet.register,
    dispatch.register,
)
"""Each command module's ``register``, in --help order: adding a command is one module and one line here."""

__all__ = [
    "COMMANDS",
    "EXIT_AGENT_LEFT",
    "EXIT_AGENT_NOT_FOUND",
    "EXIT_INTERNAL",
    "EXIT_NOT_SUPPORTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_REFUSED",
    "EXIT_REFUSED_RETRYABLE",
    "EXIT_ROOM_NOT_FOUND",
    "EXIT_SEVERAL_AGENTS",
    "EXIT_STILL_PRESENT",
    "EXIT_TIMEOUT",
    "EXIT_TRANSPORT",
    "EXIT_USAGE",
    "build_parser",
    "exit_code_of",
    "main",
]


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``shutdown-rpc`` (its --help shows the exit codes)."""
    doc = __doc__ or ""
    parser = Parser(
        prog="shutdown-rpc",
        description=doc.split("\n\n", 1)[0],
        epilog=doc.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shutdown-rpc`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"shutdown-rpc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FileExistsError as exc:
        print(f"shutdown-rpc: error: {exc.filename!r} exists (use --force to overwrite)", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError) as exc:
        print(
            f"shutdown-rpc: error: {type(exc).__name__}: {first_error(exc) if isinstance(exc, ValueError) else exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, never a traceback (and never key material: messages carry none)
        print(f"shutdown-rpc: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":
    sys.exit(main())
