"""``shutdown-rpc inspect``: decode a payload, print every field, and verify it as an agent would."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

from shutdown_rpc.client_side._key_files import load_key
from shutdown_rpc.protocol import (
    LIMITS,
    AgentBinding,
    DuplicateRequest,
    KeyRing,
    ShutdownRequest,
    ShutdownRpcError,
    Verifier,
)
from shutdown_rpc.protocol.wire import METHOD_NAME, FixedClock, PayloadInspection, inspect_payload, verifying_key_of

from .common import SubParsers, UsageError
from .exit_codes import EXIT_OK
from .render import show_field, verdict_refuse

_MAX_TIME_S = LIMITS["uint32_max"]  # request times are uint32 seconds (spec §4)
DEFAULT_SKEW_S = LIMITS["default_skew_s"]
MAX_LIFETIME_S = LIMITS["max_lifetime_s"]


def register(sub: SubParsers) -> None:
    """Add the ``inspect`` command."""
    inspect = sub.add_parser("inspect", help="decode and verify a payload as an agent would")
    inspect.add_argument("payload", help="the payload string, or - to read it from stdin")
    inspect.add_argument("--key-file", help="key to verify with (else $SHUTDOWN_RPC_KEY_FILE or $SHUTDOWN_RPC_KEY)")
    inspect.add_argument("--room", help="the agent's room (default: the request's own)")
    inspect.add_argument("--agent", help="the agent's identity (default: the request's own target)")
    inspect.add_argument("--job-id", help="the agent's job id (a target may name it)")
    inspect.add_argument("--allow-any-agent", action="store_true", help="the agent accepts target '*'")
    inspect.add_argument("--allow-unsigned", action="store_true", help="the agent accepts unsigned requests")
    inspect.add_argument("--now", type=_unix_time, help="verify at this Unix time in seconds (default: now)")
    inspect.add_argument(
        "--skew", type=int, default=DEFAULT_SKEW_S, help=f"allowed clock skew, s (default {DEFAULT_SKEW_S})"
    )
    inspect.add_argument(
        "--max-lifetime",
        type=int,
        default=MAX_LIFETIME_S,
        help=f"agent's maximum lifetime, s (default {MAX_LIFETIME_S})",
    )
    inspect.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print what the payload holds, then the verdict an agent with these settings would give."""
    payload = sys.stdin.read().strip() if args.payload == "-" else args.payload.strip()
    print(f"payload:        {len(payload.encode('utf-8'))} bytes, method {METHOD_NAME}")
    seen = inspect_payload(payload)
    if seen.envelope is None and seen.error is not None:
        return verdict_refuse(seen.error)
    _print_layers(seen)
    if seen.error is not None:
        return verdict_refuse(seen.error)
    assert seen.envelope is not None
    request = seen.request  # None: the body is not a valid request, and the verifier below says why

    now_ms = int(args.now * 1000) if args.now is not None else time.time_ns() // 1_000_000
    if request is not None:
        print(
            f"lifetime:       {request.expires_at - request.issued_at} s;"
            f" expires in {request.expires_at - now_ms // 1000} s"
        )
    keys = KeyRing()
    if args.key_file or os.environ.get("SHUTDOWN_RPC_KEY_FILE") or os.environ.get("SHUTDOWN_RPC_KEY"):
        try:
            key, _ = load_key(args.key_file, source="--key-file")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        keys = KeyRing([verifying_key_of(key)])
    elif seen.envelope.signed:
        print("note:           no key given: the signature cannot be checked (pass --key-file)")
    room = args.room or (request.room if request else "")
    agent = args.agent or (request.target if request else "")
    if not args.room or not args.agent:
        print(
            "note:           room/target checked against the request itself (pass --room/--agent for an agent's view)"
        )
    verifier = Verifier(keys, clock=FixedClock(now_ms), skew_s=args.skew, max_lifetime_s=args.max_lifetime)
    binding = AgentBinding(room=room, agent_identity=agent, job_id=args.job_id)
    try:
        decision = verifier.verify(
            payload, binding, allow_unsigned=args.allow_unsigned, allow_any_agent=args.allow_any_agent
        )
    except ShutdownRpcError as error:
        return verdict_refuse(error)
    assert not isinstance(decision, DuplicateRequest)  # a fresh verifier has no replay memory
    note = _skew_note(decision.request, now_ms, args.skew)
    if note:
        print(f"note:           {note}")
    print("verdict:        ACCEPT (an agent with this key, room and identity would shut down)")
    return EXIT_OK


def _skew_note(request: ShutdownRequest, now_ms: int, skew_s: int) -> str | None:
    """Why an accepted request is valid only thanks to the clock skew allowance (spec §7), or None."""
    allowance = f"accepted only within the {skew_s} s clock skew allowance"
    if now_ms < request.issued_at * 1000:
        return f"issued {-(-(request.issued_at * 1000 - now_ms) // 1000)} s in the future: {allowance}"
    if now_ms >= request.expires_at * 1000:
        return f"expired {(now_ms - request.expires_at * 1000) // 1000} s ago: {allowance}"
    return None


def _print_layers(seen: PayloadInspection) -> None:
    envelope = seen.envelope
    assert envelope is not None
    print(f"version:        {envelope.version}")
    print(f"key_id:         {envelope.key_id!r}" + ("" if envelope.signed else " (unsigned)"))
    print(f"signature:      {len(envelope.signature)} bytes")
    if seen.error is not None:
        return
    if seen.request is not None:
        # Only a body that passed the schema is printed: a body that did not may hold any msgpack value
        # (nesting, bin, 64-bit integers), and the verdict names its fault.
        for name, value in seen.request.wire_dict().items():
            print(f"{name + ':':<15} {show_field(name, value)}")
    else:
        print("body:           not shown: not a valid v1 request body (see the verdict)")


def _unix_time(text: str) -> float:
    """``--now``: a finite Unix time within the range request times may take (spec §4: uint32 seconds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= _MAX_TIME_S:
        raise argparse.ArgumentTypeError(f"must be a Unix time in seconds within 0..{_MAX_TIME_S}")
    return value
