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
import hashlib
import hmac
import json
import statistics
import sys
import timeit
from collections.abc import Callable

import jwt
import msgpack
from itsdangerous import TimestampSigner
from standardwebhooks import Webhook

from shutdown_rpc.protocol import (
    Acknowledgement,
    AckStatus,
    AgentBinding,
    Ed25519SigningKey,
    HmacSha256Key,
    KeyRing,
    ShutdownRpcError,
    VerifiedRequest,
    Verifier,
    build_request,
    sign_request,
)
from shutdown_rpc.protocol._envelope import (
    _a2b_strict,
    check_payload_size,
    decode_base64,
    signed_message,
    unpack_envelope,
)
from shutdown_rpc.protocol._envelope import unpack_strict as unpack_body
from shutdown_rpc.protocol._verification import _check_binding, _validate_body
from shutdown_rpc.protocol.wire import FixedClock

SECRET = bytes(range(32))
ANCHOR_US = 9.9  # standardwebhooks verify when issue 12's targets were set
NOW_MS = 1_800_000_000_000


# The accept path cut into its spec §7 stages, each timed on its own with the inputs the previous stages
# produce (the verifier's own step functions, private on purpose: the breakdown is about their cost). "glue" is
# verify() as a whole minus the stages: calls, the result object.
STAGE_PARTS = (
    "1-5 unpack_envelope",
    "(signed message)",
    "6-8 key + HMAC",
    "9 body msgpack",
    "10 time",
    "11 replay lookup",
    "12 schema (pydantic)",
    "13-14 binding",
)


def stage_functions(
    verifier: Verifier, payload: str, binding: AgentBinding, now_ms: int
) -> dict[str, Callable[[], object]]:
    """Each stage of an accepted HMAC request on its own, plus the parts of stages 1-5 and verify() itself."""
    envelope = unpack_envelope(payload)
    message = signed_message(envelope.version, envelope.key_id, envelope.body)
    body = unpack_body(envelope.body)
    request = _validate_body(body)
    raw = decode_base64(payload)
    return {
        "  1 size": lambda: check_payload_size(payload),
        "  2 base64": lambda: decode_base64(payload),
        "  3 envelope msgpack": lambda: unpack_body(raw),
        "1-5 unpack_envelope": lambda: unpack_envelope(payload),
        "(signed message)": lambda: signed_message(envelope.version, envelope.key_id, envelope.body),
        "6-8 key + HMAC": lambda: verifier._check_signature(envelope, message, False),
        "9 body msgpack": lambda: unpack_body(envelope.body),
        "10 time": lambda: verifier._check_time(body["issued_at"], body["expires_at"], now_ms),
        "11 replay lookup": lambda: verifier.replay.check(body["request_id"], message, now_ms),
        "12 schema (pydantic)": lambda: _validate_body(body),
        "13-14 binding": lambda: _check_binding(request, binding, False),
        "verify() as a whole": lambda: verifier.verify(payload, binding, now_ms=now_ms),
    }


def bare_pipeline(secret: bytes, payload: str, room: str, target: str) -> Callable[[], object]:
    """The floor for this format in CPython, as issue 12 describes it: C base64, msgpack without hooks, a
    pre-keyed HMAC copied per call, hand checks of a few fields, no validation library, no error types. It
    checks less than spec.md asks (no duplicate keys, no character rules, no lengths): an anchor for what any
    verifier of this format can reach on this machine, not a verifier."""
    keyed = hmac.new(secret, digestmod=hashlib.sha256)
    domain = b"livekit-shutdown-rpc\x00"

    def run() -> object:
        version, key_id, signature, body = msgpack.unpackb(_a2b_strict(payload.encode()))
        mac = keyed.copy()
        mac.update(domain + bytes((version, len(key_id))) + key_id.encode() + body)
        if not hmac.compare_digest(mac.digest(), signature):
            raise ValueError("signature")
        fields = msgpack.unpackb(body)
        issued_at, expires_at = fields["issued_at"], fields["expires_at"]
        if type(issued_at) is not int or type(expires_at) is not int or expires_at <= issued_at:
            raise ValueError("time")
        if fields["room"] != room or fields["target"] != target or len(fields) != 8:
            raise ValueError("binding")
        return fields

    return run


def interleaved_median_us(
    fns: dict[str, Callable[[], object]], number: int, repeat: int, before_round: Callable[[], None] = lambda: None
) -> dict[str, float]:
    """Median µs per call of each function, measured round-robin (every round times each function once), so
    a change in the machine's load during the run moves every figure alike and the ratios hold."""
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        before_round()
        for name, fn in fns.items():
            runs[name].append(timeit.timeit(fn, number=number) / number * 1e6)
    return {name: statistics.median(values) for name, values in runs.items()}


def refusing(verifier: Verifier, payload: str, binding: AgentBinding) -> Callable[[], None]:
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
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    number, repeat = (2_000, 5) if args.quick else (5_000, 15)  # the whole run stays within webhook tolerance

    hmac_key = HmacSha256Key("hmac-1", SECRET)
    ed_key = Ed25519SigningKey.from_seed("ed-1", SECRET)
    clock = FixedClock(NOW_MS)
    binding = AgentBinding("support-room-42", "agent-AJ_1", "AJ_1")
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
        Acknowledgement(
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
    token = jwt.encode({**request.wire_dict(), "exp": int(sent_at.timestamp()) + 3600}, SECRET, algorithm="HS256")
    signer = TimestampSigner(SECRET)
    signed_value = signer.sign(body)

    bare = bare_pipeline(SECRET, hmac_payload, binding.room, binding.agent_identity)
    rows: list[tuple[str, Callable[[], object], float | None]] = [
        ("standardwebhooks verify (anchor)", lambda: webhook.verify(body, headers), None),
        ("PyJWT HS256 decode", lambda: jwt.decode(token, SECRET, algorithms=["HS256"]), None),
        ("itsdangerous TimestampSigner.unsign", lambda: signer.unsign(signed_value, max_age=3600), None),
        ("bare pipeline (floor, checks less)", bare, None),
        ("shutdown_rpc HMAC accept", lambda: verifier.verify(hmac_payload, binding), ANCHOR_US / 1.5),
        ("shutdown_rpc Ed25519 accept", lambda: verifier.verify(ed_payload, binding), None),
        ("refuse oversize", refusing(verifier, "A" * 5000, binding), 0.5),
        ("refuse malformed (bad base64)", refusing(verifier, "!" + hmac_payload[1:], binding), 2.0),
        ("refuse unknown key id", refusing(verifier, rogue, binding), 2.0),
        ("refuse bad signature", refusing(verifier, forged, binding), None),
        ("answer replay (duplicate)", lambda: replay_verifier.verify(hmac_payload, binding), 4.0),
        ("refuse expired", refusing(expired_verifier, hmac_payload, binding), 4.0),
    ]
    stages = stage_functions(verifier, hmac_payload, binding, NOW_MS)

    def fresh_webhook_timestamp() -> None:
        # standardwebhooks refuses timestamps older than 5 minutes; a loaded machine's run can take longer
        now = datetime.datetime.now(tz=datetime.timezone.utc)
        headers["webhook-timestamp"] = str(int(now.timestamp()))
        headers["webhook-signature"] = webhook.sign(request.request_id, now, body)

    results = interleaved_median_us(
        {**{name: fn for name, fn, _ in rows}, **stages}, number, repeat, fresh_webhook_timestamp
    )
    anchor = results[rows[0][0]]
    # Issue 12's targets are in µs on this machine with standardwebhooks at ANCHOR_US: scale them by the anchor
    # measured now, so a loaded machine moves the targets with the figures.
    scale = anchor / ANCHOR_US
    print(f"{'path':40s} {'median µs':>10s} {'vs standardwebhooks':>20s}  target (scaled µs)")
    summary: dict[str, object] = {"anchor_us": round(anchor, 2), "target_scale": round(scale, 2), "paths": {}}
    for name, _, target in rows:
        value = results[name]
        verdict = "" if target is None else f"<= {target * scale:.2f}{_judged(value <= target * scale, args.quick)}"
        print(f"{name:40s} {value:10.2f} {anchor / value:19.2f}x  {verdict}")
        summary["paths"][name] = {"us": round(value, 2), "vs_anchor": round(anchor / value, 2)}  # type: ignore[index]
    speedup = anchor / results["shutdown_rpc HMAC accept"]
    floor = anchor / results["bare pipeline (floor, checks less)"]
    print(
        f"\nHMAC accept {compared(speedup)} standardwebhooks verify (target: >= 1.5x faster"
        f"{_judged(speedup >= 1.5, args.quick)}); the bare pipeline, which checks less, {compared(floor)}"
    )
    summary["hmac_accept_vs_anchor"] = round(speedup, 2)
    summary["bare_pipeline_vs_anchor"] = round(floor, 2)
    print(f"\n{'HMAC accept, by spec §7 stage':40s} {'median µs':>10s} {'share':>6s}")
    whole = results["verify() as a whole"]
    parts = {name: results[name] for name in STAGE_PARTS}
    parts["glue (whole - stages)"] = whole - sum(parts.values())
    for name in stages:
        if name in STAGE_PARTS or name.startswith("  "):
            print(f"{name:40s} {results[name]:10.2f} {results[name] / whole:6.0%}")
    print(f"{'glue (whole - stages)':40s} {parts['glue (whole - stages)']:10.2f}")
    print(f"{'verify() as a whole':40s} {whole:10.2f}")
    summary["stages_us"] = {name: round(value, 2) for name, value in parts.items()}
    if args.json:
        print(json.dumps(summary))
    if args.quick:
        print("informational: a --quick smoke run on a shared machine judges no target; run without --quick")
    return 0


def compared(ratio: float) -> str:
    """``ratio`` (anchor time / our time) in words: "is 1.20x faster than" or "is 1.19x slower than"."""
    if ratio >= 1:
        return f"is {ratio:.2f}x faster than"
    return f"is {1 / ratio:.2f}x slower than"


def _judged(met: bool, quick: bool) -> str:
    """The verdict after a target: none in a --quick smoke run (too few iterations to judge)."""
    return "" if quick else f": {'met' if met else 'MISSED'}"


if __name__ == "__main__":
    sys.exit(main())
