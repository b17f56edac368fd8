"""The code table and the spec limits in vectors/v1.json are the ones this package uses."""

from __future__ import annotations

from scripts.vectorgen.runner import load_vectors
from shutdown_rpc.protocol import CODE_INFO, LIMITS, ErrorCode
from shutdown_rpc.protocol.wire import code_table

VECTORS = load_vectors()


def test_code_table_matches_vectors() -> None:
    assert VECTORS["codes"] == code_table()
    assert [c["code"] for c in VECTORS["codes"]] == sorted(int(c) for c in ErrorCode)
    for entry in VECTORS["codes"]:
        code = ErrorCode(entry["code"])
        assert entry["name"] == code.name
        assert entry["retryable"] is CODE_INFO[code].retryable


def test_limits_match_vectors() -> None:
    assert VECTORS["limits"] == LIMITS
    # the older top-level entries agree with the table
    assert VECTORS["max_payload_bytes"] == LIMITS["max_payload_bytes"]
    assert VECTORS["skew_s"] == LIMITS["default_skew_s"]
    assert VECTORS["max_lifetime_s"] == LIMITS["max_lifetime_s"]


def test_limits_are_the_constants_the_code_uses() -> None:
    from shutdown_rpc.protocol import _limits

    for name, value in LIMITS.items():
        assert getattr(_limits, name.upper()) == value


def test_spec_names_every_limit() -> None:
    from pathlib import Path

    spec = (Path(__file__).resolve().parents[2] / "spec.md").read_text()
    section_15 = spec[spec.index("## 15. Test vectors") :]
    missing = [name for name in LIMITS if f"`{name}`" not in section_15]
    assert missing == [], f"spec.md §15 does not describe {missing}"
