"""Issue 11 defects of the protocol core: deep JSON never escapes as RecursionError (#3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.vectorgen.runner import key_ring, load_vectors, run_case
from shutdown_rpc.agent_side import keys_from_env_value, read_key_file
from shutdown_rpc.protocol import (
    Binding,
    ErrorCode,
    FixedClock,
    ShutdownRpcError,
    Verifier,
    parse_key,
    parse_refusal,
)

DEEP = "[" * 2000 + "]" * 2000


def test_deep_json_in_a_key_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_key('{"key_id": ' + DEEP + "}")


def test_deep_json_in_the_keys_env_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        keys_from_env_value(DEEP)
    with pytest.raises(ValueError, match="not JSON"):
        keys_from_env_value('{"key_id": ' + DEEP + "}")


def test_deep_json_in_a_key_file_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"key_id": ' + DEEP + "}")
    path.chmod(0o600)
    with pytest.raises(ValueError, match="not JSON"):
        read_key_file(path)


def test_deep_refusal_data_still_gives_the_typed_error() -> None:
    error = parse_refusal(int(ErrorCode.EXPIRED), "EXPIRED: request expired", '{"a": ' + DEEP * 3 + "}")
    assert isinstance(error, ShutdownRpcError) and error.code is ErrorCode.EXPIRED
    assert error.supported_versions == ()


def test_key_files_refuse_non_canonical_base64() -> None:
    import base64
    import json

    secret = base64.b64encode(b"s" * 32).decode()  # 44 chars, one padding '=': 2 unused bits in the last char
    assert secret.endswith("=")
    last = secret[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    loose = secret[:-2] + alphabet[alphabet.index(last) | 1] + "="  # same bytes, a non-zero unused bit
    assert loose != secret and base64.b64decode(loose) == base64.b64decode(secret)
    parse_key(json.dumps({"key_id": "k", "algorithm": "hmac-sha256", "secret": secret}))
    with pytest.raises(ValueError, match="canonical") as info:
        parse_key(json.dumps({"key_id": "k", "algorithm": "hmac-sha256", "secret": loose}))
    assert loose not in str(info.value)


def test_screening_never_refuses_what_the_verifier_accepts() -> None:
    """Verifier.screen (spec §7 step 15, over budget) passes every accepted or duplicate vector, and a payload it
    refuses is one the full order refuses too."""
    vectors = load_vectors()
    ring = key_ring(vectors["keys"])
    screened_out = 0
    for case in vectors["cases"]:
        b = case["binding"]
        binding = Binding(b["room"], b["agent_identity"], b["job_id"])
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
