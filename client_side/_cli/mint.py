"""``shutdown-rpc mint``: a short-lived signed payload bound to one room and one agent, for a frontend (JSON)."""

from __future__ import annotations

import argparse
import json

from shutdown_rpc.client_side import ShutdownCommand, mint_request
from shutdown_rpc.client_side._minting import MAX_MINT_LIFETIME_S

from .common import SubParsers, UsageError, add_request_args, command_of, first_error, signing_key_of_args
from .exit_codes import EXIT_OK


def register(sub: SubParsers) -> None:
    """Add the ``mint`` command."""
    mint = sub.add_parser("mint", help="mint a short-lived payload for a frontend to relay")
    add_request_args(mint, agent_required=True)
    mint.add_argument(
        "--lifetime", type=int, default=ShutdownCommand().lifetime_s, help=f"seconds, 1..{MAX_MINT_LIFETIME_S}"
    )
    mint.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the minted payload as JSON (what the frontend passes to performRpc)."""
    if not 1 <= args.lifetime <= MAX_MINT_LIFETIME_S:
        raise UsageError(f"a minted request lives 1..{MAX_MINT_LIFETIME_S} s, not {args.lifetime}")
    key = signing_key_of_args(args)
    command = command_of(args, lifetime_s=args.lifetime)
    try:
        minted = mint_request(key, command, room=args.room, agent=args.agent, issuer=args.issuer)
    except ValueError as exc:
        raise UsageError(first_error(exc)) from None
    print(json.dumps(minted.to_json_dict(), indent=2))
    return EXIT_OK
