"""How outcomes and verdicts are printed: one line per outcome (or JSON), and inspect's field lines."""

from __future__ import annotations

import json
import sys
import time

from shutdown_rpc.client_side import Refused, ShutdownFailed, ShutdownResult
from shutdown_rpc.protocol import CODE_INFO, ShutdownRpcError

from .exit_codes import EXIT_REFUSED, exit_code_of, exit_code_of_result


def describe_result(result: ShutdownResult) -> str:
    """One human line for an acknowledged outcome."""
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


def result_json(result: ShutdownResult) -> dict[str, object]:
    """An acknowledged outcome as the JSON object ``send --json`` prints."""
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
        "exit_code": exit_code_of_result(result),
    }


def failure_json(error: ShutdownFailed) -> dict[str, object]:
    """A failed outcome as the JSON object ``send --json`` prints."""
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


def print_outcome(outcome: ShutdownResult | ShutdownFailed, as_json: bool) -> None:
    """Print one outcome: JSON on stdout, or a line (acknowledged: stdout; failed: stderr)."""
    if as_json:
        data = result_json(outcome) if isinstance(outcome, ShutdownResult) else failure_json(outcome)
        print(json.dumps(data))
    elif isinstance(outcome, ShutdownResult):
        print(describe_result(outcome))
    else:
        print(f"{type(outcome).__name__}: {outcome.message}", file=sys.stderr)


def show_field(name: str, value: object) -> str:
    """A body field as ``inspect`` shows it (times also as UTC dates, binary values by length)."""
    if name in ("issued_at", "expires_at") and type(value) is int:
        return f"{value} ({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(value))})"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    # json.dumps escapes C0 controls only: escape every other non-printable character too (C1, U+2028, bidi).
    text = json.dumps(value, ensure_ascii=False)
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def verdict_refuse(error: ShutdownRpcError) -> int:
    """Print a REFUSE verdict with the code's meaning; the exit code of a refusal."""
    info = CODE_INFO[error.code]
    print(f"verdict:        REFUSE {error.code.name} ({int(error.code)}): {error.detail}")
    print(f"meaning:        {info.meaning}; {'retryable' if info.retryable else 'not retryable'}")
    return EXIT_REFUSED
