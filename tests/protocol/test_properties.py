"""Properties of the verifier over arbitrary input (hypothesis)."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shutdown_rpc.protocol import (
    AgentBinding,
    ErrorCode,
    HmacSha256Key,
    KeyRing,
    ShutdownOptions,
    ShutdownRpcError,
    VerifiedRequest,
    Verifier,
    build_request,
    sign_request,
)
from shutdown_rpc.protocol.wire import FixedClock, seal

KEY = HmacSha256Key("hmac-1", bytes(range(32)))
NOW_MS = 1_800_000_000_000
BINDING = AgentBinding("room-1", "agent-1", "AJ_1")
PAYLOAD = sign_request(
    build_request(room="room-1", target="agent-1", reason="r", issuer="backend", clock=FixedClock(NOW_MS)), KEY
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def verifier() -> Verifier:
    return Verifier(KeyRing([KEY]), clock=FixedClock(NOW_MS))


def decide(payload: str) -> VerifiedRequest | ErrorCode:
    try:
        result = verifier().verify(payload, BINDING)
    except ShutdownRpcError as err:
        return err.code
    assert isinstance(result, VerifiedRequest)
    return result


@FAST
@given(st.text(max_size=6000))
def test_any_text_gives_a_decision_or_the_typed_error(payload: str) -> None:
    outcome = decide(payload)
    assert isinstance(outcome, ErrorCode)  # random text never verifies


@FAST
@given(st.binary(max_size=4000))
def test_any_bytes_behind_valid_base64_give_the_typed_error(raw: bytes) -> None:
    assert isinstance(decide(base64.b64encode(raw).decode()), ErrorCode)


@FAST
@given(st.binary(max_size=3000))
def test_any_signed_body_gives_a_decision_or_the_typed_error(body: bytes) -> None:
    # Arbitrary bytes that pass the signature reach the body decoder, the time checks and the schema.
    outcome = decide(seal(body, KEY))
    assert isinstance(outcome, ErrorCode)
    assert outcome not in (ErrorCode.BAD_SIGNATURE, ErrorCode.UNKNOWN_KEY)


@FAST
@given(st.data())
def test_flipping_any_bit_of_a_valid_payload_is_refused(data: st.DataObject) -> None:
    encoded = PAYLOAD.encode("ascii")
    index = data.draw(st.integers(0, len(encoded) - 1))
    bit = data.draw(st.integers(0, 7))
    mutated = bytearray(encoded)
    mutated[index] ^= 1 << bit
    payload = mutated.decode("latin-1")
    assert isinstance(decide(payload), ErrorCode)


@FAST
@given(st.data())
def test_flipping_any_bit_of_the_decoded_envelope_is_refused(data: st.DataObject) -> None:
    raw = bytearray(base64.b64decode(PAYLOAD))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= 1 << data.draw(st.integers(0, 7))
    assert isinstance(decide(base64.b64encode(bytes(raw)).decode()), ErrorCode)


# Cc (C0, DEL, C1) and Cf (bidi controls among them) are refused in reason and issuer; brackets in issuer.
text_field = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf")), max_size=40)
issuer_field = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf"), blacklist_characters="[]"), min_size=1, max_size=40
)


@FAST
@given(
    room=text_field.filter(bool),
    target=text_field.filter(lambda t: bool(t) and t != "*"),
    reason=text_field,
    issuer=issuer_field,
    drain=st.booleans(),
    grace_ms=st.integers(0, 60_000),
    delete_room=st.booleans(),
    lifetime_s=st.integers(1, 300),
)
def test_a_valid_request_verifies_with_its_fields(
    room: str, target: str, reason: str, issuer: str, drain: bool, grace_ms: int, delete_room: bool, lifetime_s: int
) -> None:
    request = build_request(
        room=room,
        target=target,
        reason=reason,
        issuer=issuer,
        options=ShutdownOptions(drain=drain, grace_ms=grace_ms, delete_room=delete_room),
        lifetime_s=lifetime_s,
        clock=FixedClock(NOW_MS),
    )
    result = verifier().verify(sign_request(request, KEY), AgentBinding(room, target))
    assert isinstance(result, VerifiedRequest)
    assert result.request == request
    assert result.key_id == "hmac-1"


B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
base64_like = st.builds(
    lambda quanta, pad, tail: "".join(quanta) + pad + tail,
    st.lists(st.text(alphabet=B64_ALPHABET, min_size=1, max_size=4), max_size=4),
    st.sampled_from(["", "=", "==", "===", "===="]),
    st.text(alphabet=B64_ALPHABET + "=", max_size=4),
)


@FAST
@given(base64_like)
def test_base64_alphabet_with_any_padding_gives_the_typed_error(payload: str) -> None:
    # "AAAA====" once escaped as a ValueError: padding in odd places must be MALFORMED, not a crash.
    assert isinstance(decide(payload), ErrorCode)
