"""The fuzz target's invariant holds on the committed seed corpus, and it does catch a verifier that breaks it."""

from __future__ import annotations

import base64
from pathlib import Path

import msgpack
import pytest

from fuzz import verifier_target
from fuzz.verifier_target import InvariantBroken, check
from shutdown_rpc.protocol import HmacSha256Key, Verifier

CORPUS = Path(verifier_target.ROOT) / "fuzz" / "corpus" / "verifier"
SEEDS = sorted(CORPUS.iterdir())


def test_corpus_is_committed_and_reaches_acceptance() -> None:
    outcomes = {check(seed.read_bytes()) for seed in SEEDS}
    assert len(SEEDS) >= 100
    # the seeds reach the end of the verifier and its refusals alike
    assert {"ACCEPTED", "BAD_SIGNATURE", "MALFORMED", "INVALID_REQUEST", "UNKNOWN_KEY"} <= outcomes


def test_every_seed_meets_the_invariant() -> None:
    for seed in SEEDS:
        check(seed.read_bytes())


def _resigned_body_seed() -> bytes:
    """A seed whose body, sealed with hmac-1, is accepted."""
    for seed in SEEDS:
        data = seed.read_bytes()
        if data and data[0] & 3 == 1 and (data[0] >> 4) & 3 == 0 and check(data) == "ACCEPTED":
            return data
    raise AssertionError("no accepted re-signed body among the seeds")


def tampered_envelope(data: bytes) -> bytes:
    """Mode-2 input: the mode-1 input's sealed envelope with one bit of its body flipped after signing."""
    payload = verifier_target.payload_of(data).payload
    version, kid, signature, body = msgpack.unpackb(base64.b64decode(payload))
    body = body[:-1] + bytes([body[-1] ^ 1])  # the last byte is options.delete_room: false <-> true
    return bytes([2]) + msgpack.packb([version, kid, signature, body], use_bin_type=True)


def test_an_accept_under_a_wrong_signature_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = tampered_envelope(_resigned_body_seed())
    assert check(tampered) == "BAD_SIGNATURE"
    monkeypatch.setattr(HmacSha256Key, "verify", lambda self, message, signature: True)  # a verifier that lies
    with pytest.raises(InvariantBroken, match="bad HMAC"):
        check(tampered)


def test_an_escaping_exception_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("not a typed refusal")

    monkeypatch.setattr(Verifier, "verify", broken)
    with pytest.raises(InvariantBroken, match="ValueError escaped"):
        check(SEEDS[0].read_bytes())
