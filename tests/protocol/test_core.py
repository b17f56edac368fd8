"""Unit tests of the protocol core's parts: keys, key files, replay memory, acks, refusals, discovery."""

from __future__ import annotations

import json

import pytest

from scripts.vectorgen.runner import key_ring, load_vectors, run_case
from shutdown_rpc.protocol import (
    CODE_INFO,
    Acknowledgement,
    AckStatus,
    AgentBinding,
    DuplicateRequest,
    Ed25519SigningKey,
    ErrorCode,
    HmacSha256Key,
    KeyRing,
    ShutdownRpcError,
    VerifiedRequest,
    Verifier,
    build_request,
    dump_key_file,
    new_request_id,
    parse_key_file,
    sign_request,
)
from shutdown_rpc.protocol.wire import (
    ATTR_KEY_IDS,
    ATTR_METHOD,
    METHOD_NAME,
    FixedClock,
    ReplayCache,
    advertisement_attributes,
    parse_advertisement,
    parse_refusal,
    refusal_data,
    refusal_message,
)

DEEP = "[" * 2000 + "]" * 2000

NOW_MS = 1_800_000_000_000
KEY = HmacSha256Key("hmac-1", b"s" * 32)


def test_codes_are_outside_livekit_reserved_range_and_documented() -> None:
    for code in ErrorCode:
        assert not 1001 <= code <= 1999
        assert code in CODE_INFO
    assert not METHOD_NAME.startswith("lk.")


def test_hmac_key_refuses_short_secret_and_hides_it() -> None:
    with pytest.raises(ValueError):
        HmacSha256Key("k", b"x" * 31)
    assert "sss" not in repr(KEY)


def test_hmac_matches_stdlib() -> None:
    import hashlib
    import hmac

    assert KEY.sign(b"abc") == hmac.new(b"s" * 32, b"abc", hashlib.sha256).digest()
    assert KEY.sign(b"abc") == KEY.sign(b"abc")  # the keyed state is copied, not consumed


def test_key_ring_refuses_duplicate_ids() -> None:
    with pytest.raises(ValueError):
        KeyRing([KEY, HmacSha256Key("hmac-1", b"t" * 32)])


@pytest.mark.parametrize("bad", ["", "a b", "k" * 65, "é"])
def test_key_id_charset(bad: str) -> None:
    with pytest.raises(ValueError):
        HmacSha256Key(bad, b"s" * 32)


def test_key_files_round_trip_without_leaking_in_errors() -> None:
    ed = Ed25519SigningKey.generate("ed-1")
    for key in (KEY, ed, ed.verifying_key()):
        parsed = parse_key_file(dump_key_file(key))
        assert parsed.key_id == key.key_id and parsed.algorithm == key.algorithm
    assert parse_key_file(dump_key_file(ed)).seed_bytes() == ed.seed_bytes()  # type: ignore[union-attr]
    broken = json.loads(dump_key_file(KEY)) | {"secret": "!!not base64!!"}
    with pytest.raises(ValueError) as info:
        parse_key_file(json.dumps(broken))
    assert "!!" not in str(info.value)
    mismatched = json.loads(dump_key_file(ed)) | {
        "public_key": json.loads(dump_key_file(Ed25519SigningKey.generate("x")))["public_key"]
    }
    with pytest.raises(ValueError, match="does not match"):
        parse_key_file(json.dumps(mismatched))


def test_request_ids_are_random_and_well_formed() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 for i in ids)


def _accepted(verifier: Verifier, payload: str) -> VerifiedRequest:
    result = verifier.verify(payload, AgentBinding("room-1", "agent-1"))
    assert isinstance(result, VerifiedRequest)
    return result


def _ack(request_id: str) -> Acknowledgement:
    return Acknowledgement(
        status=AckStatus.ACCEPTED, request_id=request_id, agent_identity="agent-1", job_id="AJ_1", agent_time_ms=NOW_MS
    )


def test_replay_is_remembered_until_expiry_plus_skew_then_forgotten() -> None:
    clock = FixedClock(NOW_MS)
    verifier = Verifier(KeyRing([KEY]), clock=clock)
    request = build_request(room="room-1", target="agent-1", reason="r", issuer="b", clock=clock, lifetime_s=60)
    payload = sign_request(request, KEY)
    _accepted(verifier, payload).accept(_ack(request.request_id))
    duplicate = verifier.verify(payload, AgentBinding("room-1", "agent-1"))
    assert isinstance(duplicate, DuplicateRequest)
    assert duplicate.ack.status is AckStatus.DUPLICATE and duplicate.ack.agent_time_ms == NOW_MS
    clock.set((request.expires_at + 30) * 1000)
    with pytest.raises(ShutdownRpcError) as info:
        verifier.verify(payload, AgentBinding("room-1", "agent-1"))
    assert info.value.code is ErrorCode.EXPIRED
    assert verifier.replay.lookup(request.request_id, clock.now_ms()) is None


def test_replay_memory_is_bounded_and_fails_closed() -> None:
    clock = FixedClock(NOW_MS)
    verifier = Verifier(KeyRing([KEY]), replay=ReplayCache(max_entries=3), clock=clock)
    for _ in range(3):
        request = build_request(room="room-1", target="agent-1", reason="r", issuer="b", clock=clock)
        _accepted(verifier, sign_request(request, KEY)).accept(_ack(request.request_id))
    request = build_request(room="room-1", target="agent-1", reason="r", issuer="b", clock=clock)
    verified = _accepted(verifier, sign_request(request, KEY))
    with pytest.raises(ShutdownRpcError) as info:
        verified.accept(_ack(request.request_id))
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert len(verifier.replay) == 3
    clock.advance(120_000)  # all three expired: memory frees itself
    _accepted(
        verifier,
        sign_request(build_request(room="room-1", target="agent-1", reason="r", issuer="b", clock=clock), KEY),
    ).accept(_ack("x" * 22))
    assert len(verifier.replay) == 1


def test_ack_json_round_trip_and_forward_compatible() -> None:
    ack = _ack("A" * 22)
    assert Acknowledgement.from_json(ack.to_json()) == ack
    newer = json.loads(ack.to_json()) | {"some_future_field": [1, 2]}
    assert Acknowledgement.from_json(json.dumps(newer)) == ack
    with pytest.raises(ValueError):
        Acknowledgement.from_json('{"status":"accepted"}')
    with pytest.raises(ValueError):
        Acknowledgement.from_json("x" * 5000)


def test_refusal_message_is_bounded_and_round_trips() -> None:
    err = ShutdownRpcError(ErrorCode.UNSUPPORTED_VERSION, "é" * 300, (1,))
    message = refusal_message(err)
    assert len(message.encode()) <= 256 and message.startswith("UNSUPPORTED_VERSION: ")
    data = json.loads(refusal_data(err))
    assert data == {
        "version": 1,
        "code": 4102,
        "name": "UNSUPPORTED_VERSION",
        "retryable": False,
        "supported_versions": [1],
    }
    back = parse_refusal(4102, message, refusal_data(err))
    assert back is not None and back.code is ErrorCode.UNSUPPORTED_VERSION and back.supported_versions == (1,)
    assert parse_refusal(1500, "internal", None) is None


def test_advertisement_round_trip() -> None:
    attrs = advertisement_attributes(["hmac-1", "ed-1"])
    assert all(not k.startswith("lk.") for k in attrs)
    assert attrs[ATTR_METHOD] == METHOD_NAME and attrs[ATTR_KEY_IDS] == "hmac-1,ed-1"
    ad = parse_advertisement(attrs)
    assert ad is not None and ad.versions == (1,) and ad.key_ids == ("hmac-1", "ed-1")
    assert parse_advertisement({}) is None


def test_unsigned_request_needs_explicit_permission() -> None:
    from shutdown_rpc.protocol.wire import unsigned_request

    clock = FixedClock(NOW_MS)
    verifier = Verifier(KeyRing([KEY]), clock=clock)
    payload = unsigned_request(build_request(room="room-1", target="agent-1", reason="r", issuer="b", clock=clock))
    with pytest.raises(ShutdownRpcError) as info:
        verifier.verify(payload, AgentBinding("room-1", "agent-1"))
    assert info.value.code is ErrorCode.UNSIGNED_REFUSED
    result = verifier.verify(payload, AgentBinding("room-1", "agent-1"), allow_unsigned=True)
    assert isinstance(result, VerifiedRequest) and result.key_id is None


def test_any_agent_target_is_a_verify_option_not_part_of_the_binding() -> None:
    clock = FixedClock(NOW_MS)
    verifier = Verifier(KeyRing([KEY]), clock=clock)
    binding = AgentBinding("room-1", "agent-1", "AJ_1")
    assert not hasattr(binding, "allow_any_agent")  # the binding says who the agent is, nothing more
    payload = sign_request(build_request(room="room-1", target="*", reason="r", issuer="b", clock=clock), KEY)
    with pytest.raises(ShutdownRpcError) as info:
        verifier.verify(payload, binding)
    assert info.value.code is ErrorCode.NOT_AUTHORIZED
    assert isinstance(verifier.verify(payload, binding, allow_any_agent=True), VerifiedRequest)
    other_room = sign_request(build_request(room="room-2", target="*", reason="r", issuer="b", clock=clock), KEY)
    with pytest.raises(ShutdownRpcError) as info:  # step 13 still comes first
        verifier.verify(other_room, binding, allow_any_agent=True)
    assert info.value.code is ErrorCode.WRONG_ROOM


def test_verifier_refuses_unsafe_configuration() -> None:
    with pytest.raises(ValueError):
        Verifier(KeyRing([KEY]), max_lifetime_s=301)
    with pytest.raises(ValueError):
        Verifier(KeyRing([KEY]), skew_s=-1)


def test_deep_refusal_data_still_gives_the_typed_error() -> None:
    error = parse_refusal(int(ErrorCode.EXPIRED), "EXPIRED: request expired", '{"a": ' + DEEP * 3 + "}")
    assert isinstance(error, ShutdownRpcError) and error.code is ErrorCode.EXPIRED
    assert error.supported_versions == ()


def test_screening_never_refuses_what_the_verifier_accepts() -> None:
    """Verifier.screen (spec §7 step 15, over budget) passes every accepted or duplicate vector, and a payload it
    refuses is one the full order refuses too."""
    vectors = load_vectors()
    ring = key_ring(vectors["keys"])
    screened_out = 0
    for case in vectors["cases"]:
        b = case["binding"]
        binding = AgentBinding(b["room"], b["agent_identity"], b["job_id"])
        verifier = Verifier(ring, clock=FixedClock(case["now_ms"]))
        try:
            verifier.screen(
                case["payload"], binding, allow_unsigned=b["allow_unsigned"], allow_any_agent=b["allow_any_agent"]
            )
        except ShutdownRpcError:
            screened_out += 1
            assert case["expected"]["outcome"] == "refused", case["name"]
        outcome = run_case(case, ring, skew_s=vectors["skew_s"], max_lifetime_s=vectors["max_lifetime_s"])
        assert outcome == case["expected"], case["name"]
    assert screened_out > 50  # most refusals need no signature check
