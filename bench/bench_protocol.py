"""Protocol core micro-benchmark: one process, anchors measured in the same run.

    python bench/bench_protocol.py [--quick]

Prints the median time per call (µs) of each verifier path next to standardwebhooks' verify, PyJWT HS256 decode
and itsdangerous' TimestampSigner.unsign on equivalent content, each as a ratio to standardwebhooks. Targets are
printed next to the figures, never asserted: speed is measured here, not in the tests.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import statistics
import sys
import timeit
from collections.abc import Callable

import jwt
from itsdangerous import TimestampSigner
from standardwebhooks import Webhook

from shutdown_rpc.protocol import (
    Ack,
    AckStatus,
    Binding,
    Ed25519SigningKey,
    FixedClock,
    HmacSha256Key,
    KeyRing,
    ShutdownRpcError,
    VerifiedRequest,
    Verifier,
    build_request,
    sign_request,
)

SECRET = bytes(range(32))
NOW_MS = 1_800_000_000_000


def median_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(runs) / number * 1e6


def refusing(verifier: Verifier, payload: str, binding: Binding) -> Callable[[], None]:
    def run() -> None:
        try:
            verifier.verify(payload, binding)
        except ShutdownRpcError:
            return
        raise AssertionError("expected a refusal")

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    number, repeat = (2_000, 5) if args.quick else (20_000, 15)

    hmac_key = HmacSha256Key("hmac-1", SECRET)
    ed_key = Ed25519SigningKey.from_seed("ed-1", SECRET)
    clock = FixedClock(NOW_MS)
    binding = Binding("support-room-42", "agent-AJ_1", "AJ_1")
    request = build_request(
        room=binding.room,
        target=binding.agent_identity,
        reason="session ended by the operator",
        issuer="billing-backend",
        clock=clock,
    )
    hmac_payload = sign_request(request, hmac_key)
    ed_payload = sign_request(request, ed_key)
    verifier = Verifier(KeyRing([hmac_key, ed_key.verifying_key()]), clock=clock)
    assert isinstance(verifier.verify(hmac_payload, binding), VerifiedRequest)

    replay_verifier = Verifier(KeyRing([hmac_key]), clock=clock)
    accepted = replay_verifier.verify(hmac_payload, binding)
    assert isinstance(accepted, VerifiedRequest)
    accepted.accept(
        Ack(
            status=AckStatus.ACCEPTED,
            request_id=request.request_id,
            agent_identity="agent-AJ_1",
            job_id="AJ_1",
            agent_time_ms=NOW_MS,
        ),
    )
    expired_verifier = Verifier(KeyRing([hmac_key]), clock=FixedClock(NOW_MS + 3_600_000))
    rogue = sign_request(request, HmacSha256Key("rogue", SECRET))
    forged = sign_request(request, HmacSha256Key("hmac-1", bytes(32)))

    # The anchors verify the same fields, as JSON, with their own envelopes.
    body = json.dumps(request.wire_dict(), separators=(",", ":"))
    webhook = Webhook(base64.b64encode(SECRET).decode())
    sent_at = datetime.datetime.now(tz=datetime.timezone.utc)
    headers = {
        "webhook-id": request.request_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": webhook.sign(request.request_id, sent_at, body),
    }
    token = jwt.encode({**request.wire_dict(), "exp": int(sent_at.timestamp()) + 60}, SECRET, algorithm="HS256")
    signer = TimestampSigner(SECRET)
    signed_value = signer.sign(body)

    rows: list[tuple[str, Callable[[], object], float | None]] = [
        ("standardwebhooks verify (anchor)", lambda: webhook.verify(body, headers), None),
        ("PyJWT HS256 decode", lambda: jwt.decode(token, SECRET, algorithms=["HS256"]), None),
        ("itsdangerous TimestampSigner.unsign", lambda: signer.unsign(signed_value, max_age=60), None),
        ("shutdown_rpc HMAC accept", lambda: verifier.verify(hmac_payload, binding), 5.0),
        ("shutdown_rpc Ed25519 accept", lambda: verifier.verify(ed_payload, binding), None),
        ("refuse oversize", refusing(verifier, "A" * 5000, binding), 0.5),
        ("refuse malformed (bad base64)", refusing(verifier, "!" + hmac_payload[1:], binding), 2.0),
        ("refuse unknown key id", refusing(verifier, rogue, binding), 2.0),
        ("refuse bad signature", refusing(verifier, forged, binding), None),
        ("answer replay (duplicate)", lambda: replay_verifier.verify(hmac_payload, binding), 4.0),
        ("refuse expired", refusing(expired_verifier, hmac_payload, binding), 4.0),
    ]
    results: dict[str, float] = {}
    for name, fn, _ in rows:
        results[name] = median_us(fn, number, repeat)
    anchor = results[rows[0][0]]
    print(f"{'path':40s} {'median µs':>10s} {'vs standardwebhooks':>20s}  target")
    for name, _, target in rows:
        value = results[name]
        verdict = "" if target is None else f"<= {target} µs{_judged(value <= target, args.quick)}"
        print(f"{name:40s} {value:10.2f} {anchor / value:19.2f}x  {verdict}")
    speedup = anchor / results["shutdown_rpc HMAC accept"]
    print(
        f"\nHMAC accept is {speedup:.2f}x faster than standardwebhooks verify (target >= 2x"
        f"{_judged(speedup >= 2, args.quick)})"
    )
    if args.quick:
        print("informational: a --quick smoke run on a shared machine judges no target; run without --quick")
    return 0


def _judged(met: bool, quick: bool) -> str:
    """The verdict after a target: none in a --quick smoke run (too few iterations to judge)."""
    return "" if quick else f": {'met' if met else 'MISSED'}"


if __name__ == "__main__":
    sys.exit(main())
