"""What several commands share: the usage error, the parser class, request arguments, the signing key."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from typing import NoReturn, TypeAlias

from shutdown_rpc.client_side import ShutdownCommand, load_signing_key
from shutdown_rpc.client_side._minting import first_error as first_error
from shutdown_rpc.protocol import LIMITS, Ed25519SigningKey, HmacSha256Key

from .exit_codes import EXIT_USAGE

DEFAULT_ISSUER = "shutdown-rpc-cli"


class UsageError(Exception):
    """Bad input detected after argument parsing: exit 2 with one line."""


class Parser(argparse.ArgumentParser):
    """argparse with the documented usage exit code (2) and one line of error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


SubParsers: TypeAlias = "argparse._SubParsersAction[Parser]"
"""What each command's ``register`` adds its subparser to."""


def _seconds(text: str, *, zero_ok: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        raise argparse.ArgumentTypeError(
            f"must be a {'non-negative' if zero_ok else 'positive'} number of seconds, not {text!r}"
        )
    return value


def positive_seconds(text: str) -> float:
    """A deadline argument: finite seconds above 0 (a deadline of 0 would report "no reply" for nothing)."""
    return _seconds(text, zero_ok=False)


def non_negative_seconds(text: str) -> float:
    """A waiting-time argument: finite seconds, 0 included (0: look once, do not wait)."""
    return _seconds(text, zero_ok=True)


def command_of(args: argparse.Namespace, *, lifetime_s: int | None = None) -> ShutdownCommand:
    """--reason / --drain / --grace-ms / --delete-room (and a lifetime) as a ShutdownCommand, or a usage error."""
    try:
        command = ShutdownCommand(
            reason=args.reason, drain=args.drain, grace_ms=args.grace_ms, delete_room=args.delete_room
        )
        return command if lifetime_s is None else replace(command, lifetime_s=lifetime_s)
    except ValueError as exc:
        raise UsageError(str(exc).removeprefix("ShutdownCommand: ")) from None


def signing_key_of_args(args: argparse.Namespace) -> HmacSha256Key | Ed25519SigningKey:
    """The signing key from --key-file or the environment (a warning on stderr if its file is too open)."""
    try:
        key, warning = load_signing_key(args.key_file, source="--key-file")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return key


def add_request_args(parser: argparse.ArgumentParser, *, agent_required: bool) -> None:
    """The request fields shared by ``mint`` and ``send``."""
    parser.add_argument("--room", required=True, help="room name the request is bound to")
    parser.add_argument("--agent", required=agent_required, help="agent participant identity")
    parser.add_argument("--reason", default="", help="free text passed to the agent's shutdown reason")
    parser.add_argument("--issuer", default=DEFAULT_ISSUER, help=f"who asks (default {DEFAULT_ISSUER!r})")
    parser.add_argument("--drain", action="store_true", help="let the agent finish its current speech first")
    parser.add_argument(
        "--grace-ms", type=int, default=0, help=f"upper bound for draining, ms (<= {LIMITS['max_grace_ms']})"
    )
    parser.add_argument("--delete-room", action="store_true", help="ask the agent to delete the room after")
    parser.add_argument("--key-file", help="signing key file (else $SHUTDOWN_RPC_KEY_FILE or $SHUTDOWN_RPC_KEY)")
