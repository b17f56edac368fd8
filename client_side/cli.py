"""shutdown-rpc: make keys, mint, send and inspect shutdown requests for LiveKit Agents jobs.

Commands:
  keygen   new key file (hmac-sha256 or ed25519), mode 0600; for ed25519 also the public-only file for agents
  mint     a short-lived signed payload bound to one room and one agent, for a frontend to relay (JSON out)
  send     ask the room's agent(s) to shut down through the server API (RoomService.PerformRpc)
  inspect  decode a payload, print every field and verify it as an agent would (and why it would refuse)
  fleet    end the agents of many rooms (a list, a name glob, or all rooms); --dry-run, --json, --wait

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
   5  agent not found (no such participant, or no agent in the room)
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
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TypedDict

from shutdown_rpc.protocol import (
    CODE_INFO,
    METHOD_NAME,
    Binding,
    DuplicateRequest,
    Ed25519SigningKey,
    FixedClock,
    HmacSha256Key,
    KeyRing,
    ShutdownOptions,
    ShutdownRequest,
    ShutdownRpcError,
    Verifier,
    dump_key,
    unpack_envelope,
    verifying_key_of,
)
from shutdown_rpc.protocol.envelope import unpack_strict

from .key_files import load_key, load_signing_key, write_key_file
from .minting import DEFAULT_MINT_LIFETIME_S, MAX_MINT_LIFETIME_S, mint_request
from .outcomes import (
    AgentLeftBeforeReply,
    AgentNotFound,
    NotSupported,
    Refused,
    RoomNotFound,
    SeveralAgents,
    ShutdownFailed,
    ShutdownResult,
    Timeout,
    TransportError,
)
from .server_api import DEFAULT_TIMEOUT_S, ShutdownClient

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_REFUSED_RETRYABLE = 4
EXIT_AGENT_NOT_FOUND = 5
EXIT_SEVERAL_AGENTS = 6
EXIT_ROOM_NOT_FOUND = 7
EXIT_TIMEOUT = 8
EXIT_AGENT_LEFT = 9
EXIT_NOT_SUPPORTED = 10
EXIT_TRANSPORT = 11
EXIT_STILL_PRESENT = 12
EXIT_PARTIAL = 13

DEFAULT_ISSUER = "shutdown-rpc-cli"


class UsageError(Exception):
    """Bad input detected after argument parsing: exit 2 with one line."""


def exit_code_of(error: ShutdownFailed) -> int:
    """The documented exit code for one failed outcome."""
    if isinstance(error, Refused):
        return EXIT_REFUSED_RETRYABLE if error.retryable else EXIT_REFUSED
    table: list[tuple[type[ShutdownFailed], int]] = [
        (SeveralAgents, EXIT_SEVERAL_AGENTS),
        (AgentNotFound, EXIT_AGENT_NOT_FOUND),
        (RoomNotFound, EXIT_ROOM_NOT_FOUND),
        (Timeout, EXIT_TIMEOUT),
        (AgentLeftBeforeReply, EXIT_AGENT_LEFT),
        (NotSupported, EXIT_NOT_SUPPORTED),
        (TransportError, EXIT_TRANSPORT),
    ]
    for kind, code in table:
        if isinstance(error, kind):
            return code
    return EXIT_TRANSPORT


def _exit_code_of_result(result: ShutdownResult) -> int:
    return EXIT_STILL_PRESENT if result.agent_left is False else EXIT_OK


# -- keygen -----------------------------------------------------------------------------------------------------


def _cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    overwrite: bool = args.force
    if args.algorithm == "hmac-sha256":
        key = HmacSha256Key(args.key_id, os.urandom(32))
        write_key_file(out, dump_key(key), secret=True, overwrite=overwrite)
        print(f"wrote hmac-sha256 key {key.key_id!r} to {str(out)!r} (mode 600); give the same file to the agents")
        return EXIT_OK
    signing = Ed25519SigningKey.generate(args.key_id)
    public_out = Path(args.public_out) if args.public_out else out.with_name(out.name + ".pub")
    if public_out == out:
        raise UsageError("--public-out must differ from --out")
    if not overwrite and os.path.lexists(public_out):  # a dangling symlink counts: it would be refused later
        raise UsageError(f"{str(public_out)!r} exists (use --force to overwrite)")
    write_key_file(out, dump_key(signing), secret=True, overwrite=overwrite)
    write_key_file(public_out, dump_key(signing.verifying_key()), secret=False, overwrite=overwrite)
    print(f"wrote ed25519 private key {signing.key_id!r} to {str(out)!r} (mode 600)")
    print(f"wrote its public key to {str(public_out)!r} (mode 644) for the agents' key ring")
    return EXIT_OK


# -- mint -------------------------------------------------------------------------------------------------------


def _options(args: argparse.Namespace) -> ShutdownOptions:
    try:
        return ShutdownOptions(drain=args.drain, grace_ms=args.grace_ms, delete_room=args.delete_room)
    except ValueError as exc:
        raise UsageError(f"invalid options: {_first_error(exc)}") from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        return f"{where}: {first['msg']}"
    return str(exc)


def _signing_key(args: argparse.Namespace) -> HmacSha256Key | Ed25519SigningKey:
    try:
        key, warning = load_signing_key(args.key_file)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return key


def _cmd_mint(args: argparse.Namespace) -> int:
    key = _signing_key(args)
    try:
        minted = mint_request(
            key,
            room=args.room,
            agent=args.agent,
            reason=args.reason,
            issuer=args.issuer,
            options=_options(args),
            lifetime_s=args.lifetime,
        )
    except ValueError as exc:
        raise UsageError(_first_error(exc)) from None
    print(json.dumps(minted.to_json_dict(), indent=2))
    return EXIT_OK


# -- send -------------------------------------------------------------------------------------------------------


def _describe_result(result: ShutdownResult) -> str:
    ack = result.ack
    line = (
        f"{ack.status.value}: agent {result.agent_identity!r} (job {ack.job_id!r}) in room {result.room!r},"
        f" request {result.request_id}, {result.attempts} attempt(s), {result.elapsed_s:.2f} s"
    )
    if result.agent_left is True:
        line += "; the agent left the room"
    elif result.agent_left is False:
        line += "; the agent was still in the room when --wait ran out"
    return line


def _result_json(result: ShutdownResult) -> dict[str, object]:
    return {
        "outcome": "acknowledged",
        "status": result.ack.status.value,
        "room": result.room,
        "agent": result.agent_identity,
        "job_id": result.ack.job_id,
        "request_id": result.request_id,
        "agent_time_ms": result.ack.agent_time_ms,
        "attempts": result.attempts,
        "elapsed_s": round(result.elapsed_s, 3),
        "agent_left": result.agent_left,
        "exit_code": _exit_code_of_result(result),
    }


def _failure_json(error: ShutdownFailed) -> dict[str, object]:
    data: dict[str, object] = {
        "outcome": type(error).__name__,
        "room": error.room,
        "agent": error.agent,
        "message": error.message,
        "retryable": error.retryable,
        "exit_code": exit_code_of(error),
    }
    if isinstance(error, Refused):
        data["code"] = int(error.code)
        data["name"] = error.name
    return data


class _RequestFields(TypedDict):
    """Keyword arguments of ``send``, the same for ShutdownClient.shutdown and shutdown_all."""

    reason: str
    drain: bool
    grace_ms: int
    delete_room: bool
    timeout: float
    wait_for_exit: float | None


async def _send(args: argparse.Namespace) -> int:
    key = None if args.unsigned else _signing_key(args)
    options = _options(args)
    fields = _RequestFields(
        reason=args.reason,
        drain=options.drain,
        grace_ms=options.grace_ms,
        delete_room=options.delete_room,
        timeout=args.timeout,
        wait_for_exit=args.wait,
    )
    try:
        client = ShutdownClient(key, issuer=args.issuer, url=args.url, api_key=args.api_key, api_secret=None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    outcomes: dict[str, ShutdownResult | ShutdownFailed]
    async with client:
        try:
            if args.all:
                outcomes = await client.shutdown_all(args.room, **fields)
            else:
                result = await client.shutdown(args.room, agent=args.agent, **fields)
                outcomes = {result.agent_identity: result}
        except ShutdownFailed as error:
            _print_outcome(error, args.json)
            return exit_code_of(error)
        except ValueError as exc:  # invalid request fields (pydantic) before anything was sent
            raise UsageError(_first_error(exc)) from None
    codes = []
    for outcome in outcomes.values():
        _print_outcome(outcome, args.json)
        codes.append(_exit_code_of_result(outcome) if isinstance(outcome, ShutdownResult) else exit_code_of(outcome))
    if args.all and any(isinstance(o, ShutdownFailed) for o in outcomes.values()):
        return EXIT_PARTIAL
    return max(codes, default=EXIT_OK)


def _print_outcome(outcome: ShutdownResult | ShutdownFailed, as_json: bool) -> None:
    if as_json:
        data = _result_json(outcome) if isinstance(outcome, ShutdownResult) else _failure_json(outcome)
        print(json.dumps(data))
    elif isinstance(outcome, ShutdownResult):
        print(_describe_result(outcome))
    else:
        print(f"{type(outcome).__name__}: {outcome.message}", file=sys.stderr)


def _cmd_send(args: argparse.Namespace) -> int:
    if args.all and args.agent:
        raise UsageError("--agent and --all exclude each other")
    if args.unsigned and args.key_file:
        raise UsageError("--unsigned and --key-file exclude each other")
    return asyncio.run(_send(args))


# -- inspect ----------------------------------------------------------------------------------------------------


def _read_payload(value: str) -> str:
    return sys.stdin.read().strip() if value == "-" else value.strip()


def _cmd_inspect(args: argparse.Namespace) -> int:
    payload = _read_payload(args.payload)
    print(f"payload:        {len(payload.encode('utf-8'))} bytes, method {METHOD_NAME}")
    try:
        envelope = unpack_envelope(payload)
    except ShutdownRpcError as error:
        return _verdict_refuse(error)
    print(f"version:        {envelope.version}")
    print(f"key_id:         {envelope.key_id!r}" + ("" if envelope.signed else " (unsigned)"))
    print(f"signature:      {len(envelope.signature)} bytes")
    try:
        body = unpack_strict(envelope.body)
    except ShutdownRpcError as error:
        return _verdict_refuse(error)
    request: ShutdownRequest | None = None
    if isinstance(body, dict):
        for name, value in body.items():
            print(f"{name + ':':<15} {_show_field(name, value)}")
        try:
            request = ShutdownRequest.model_validate(body)
        except ValueError:
            request = None
    else:
        print(f"body:           not a map ({type(body).__name__})")

    now_ms = int(args.now * 1000) if args.now is not None else time.time_ns() // 1_000_000
    if request is not None:
        print(
            f"lifetime:       {request.expires_at - request.issued_at} s;"
            f" expires in {request.expires_at - now_ms // 1000} s"
        )
    keys = KeyRing()
    if args.key_file or os.environ.get("SHUTDOWN_RPC_KEY_FILE") or os.environ.get("SHUTDOWN_RPC_KEY"):
        try:
            key, _ = load_key(args.key_file)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        keys = KeyRing([verifying_key_of(key)])
    elif envelope.signed:
        print("note:           no key given: the signature cannot be checked (pass --key-file)")
    room = args.room or (request.room if request else "")
    agent = args.agent or (request.target if request else "")
    if not args.room or not args.agent:
        print(
            "note:           room/target checked against the request itself (pass --room/--agent for an agent's view)"
        )
    verifier = Verifier(keys, clock=FixedClock(now_ms), skew_s=args.skew, max_lifetime_s=args.max_lifetime)
    binding = Binding(room=room, agent_identity=agent, job_id=args.job_id, allow_any_agent=args.allow_any_agent)
    try:
        decision = verifier.verify(payload, binding, allow_unsigned=args.allow_unsigned)
    except ShutdownRpcError as error:
        return _verdict_refuse(error)
    assert not isinstance(decision, DuplicateRequest)  # a fresh verifier has no replay memory
    print("verdict:        ACCEPT (an agent with this key, room and identity would shut down)")
    return EXIT_OK


def _show_field(name: str, value: object) -> str:
    if name in ("issued_at", "expires_at") and type(value) is int:
        return f"{value} ({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(value))})"
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, bytes) else f"<{len(value)} bytes>"


def _verdict_refuse(error: ShutdownRpcError) -> int:
    info = CODE_INFO[error.code]
    print(f"verdict:        REFUSE {error.code.name} ({int(error.code)}): {error.detail}")
    print(f"meaning:        {info.meaning}; {'retryable' if info.retryable else 'not retryable'}")
    return EXIT_REFUSED


# -- parser -----------------------------------------------------------------------------------------------------


def _add_request_args(parser: argparse.ArgumentParser, *, agent_required: bool) -> None:
    parser.add_argument("--room", required=True, help="room name the request is bound to")
    parser.add_argument("--agent", required=agent_required, help="agent participant identity")
    parser.add_argument("--reason", default="", help="free text passed to the agent's shutdown reason")
    parser.add_argument("--issuer", default=DEFAULT_ISSUER, help=f"who asks (default {DEFAULT_ISSUER!r})")
    parser.add_argument("--drain", action="store_true", help="let the agent finish its current speech first")
    parser.add_argument("--grace-ms", type=int, default=0, help="upper bound for draining, ms (<= 60000)")
    parser.add_argument("--delete-room", action="store_true", help="ask the agent to delete the room after")
    parser.add_argument("--key-file", help="signing key file (else $SHUTDOWN_RPC_KEY_FILE or $SHUTDOWN_RPC_KEY)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``shutdown-rpc`` (its --help shows the exit codes)."""
    doc = __doc__ or ""
    parser = _Parser(
        prog="shutdown-rpc",
        description=doc.split("\n\n", 1)[0],
        epilog=doc.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    keygen = sub.add_parser("keygen", help="create a key file (mode 0600)")
    keygen.add_argument("--algorithm", choices=("hmac-sha256", "hmac", "ed25519"), default="ed25519")
    keygen.add_argument("--key-id", required=True, help="1-64 characters of [A-Za-z0-9._-]")
    keygen.add_argument("--out", required=True, help="path of the (secret) key file")
    keygen.add_argument("--public-out", help="ed25519: path of the public key file (default OUT.pub)")
    keygen.add_argument("--force", action="store_true", help="overwrite existing files")
    keygen.set_defaults(func=_cmd_keygen)

    mint = sub.add_parser("mint", help="mint a short-lived payload for a frontend to relay")
    _add_request_args(mint, agent_required=True)
    mint.add_argument(
        "--lifetime", type=int, default=DEFAULT_MINT_LIFETIME_S, help=f"seconds, 1..{MAX_MINT_LIFETIME_S}"
    )
    mint.set_defaults(func=_cmd_mint)

    send = sub.add_parser("send", help="send through the server API and print the outcome")
    _add_request_args(send, agent_required=False)
    send.add_argument("--all", action="store_true", help="every agent of the room (one request each)")
    send.add_argument("--unsigned", action="store_true", help="send an unsigned request (if agents allow it)")
    send.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="overall deadline, retries included")
    send.add_argument("--wait", type=float, metavar="SECONDS", help="then wait this long for the agent to leave")
    send.add_argument("--url", help="LiveKit server URL (else $LIVEKIT_URL)")
    send.add_argument("--api-key", help="LiveKit API key (else $LIVEKIT_API_KEY; the secret: $LIVEKIT_API_SECRET)")
    send.add_argument("--json", action="store_true", help="one JSON object per agent on stdout")
    send.set_defaults(func=_cmd_send)

    inspect = sub.add_parser("inspect", help="decode and verify a payload as an agent would")
    inspect.add_argument("payload", help="the payload string, or - to read it from stdin")
    inspect.add_argument("--key-file", help="key to verify with (else $SHUTDOWN_RPC_KEY_FILE or $SHUTDOWN_RPC_KEY)")
    inspect.add_argument("--room", help="the agent's room (default: the request's own)")
    inspect.add_argument("--agent", help="the agent's identity (default: the request's own target)")
    inspect.add_argument("--job-id", help="the agent's job id (a target may name it)")
    inspect.add_argument("--allow-any-agent", action="store_true", help="the agent accepts target '*'")
    inspect.add_argument("--allow-unsigned", action="store_true", help="the agent accepts unsigned requests")
    inspect.add_argument("--now", type=float, help="verify at this Unix time in seconds (default: now)")
    inspect.add_argument("--skew", type=int, default=30, help="allowed clock skew, s (default 30)")
    inspect.add_argument("--max-lifetime", type=int, default=300, help="agent's maximum lifetime, s (default 300)")
    inspect.set_defaults(func=_cmd_inspect)

    from . import cli_fleet  # imports this module's helpers: imported once they exist

    cli_fleet.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shutdown-rpc`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "algorithm", None) == "hmac":
        args.algorithm = "hmac-sha256"
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
            f"shutdown-rpc: error: {type(exc).__name__}: {_first_error(exc) if isinstance(exc, ValueError) else exc}",
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
