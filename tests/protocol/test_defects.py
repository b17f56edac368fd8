"""Issue 11 defects of the protocol core: deep JSON never escapes as RecursionError (#3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shutdown_rpc.agent_side import keys_from_env_value, read_key_file
from shutdown_rpc.protocol import ErrorCode, ShutdownRpcError, parse_key, parse_refusal

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
