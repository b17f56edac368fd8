"""protocol/_keyfile.py: key-file text is parsed strictly (canonical base64; deep JSON is a ValueError, never a
RecursionError)."""

from __future__ import annotations

import pytest

from shutdown_rpc.protocol import parse_key_file

DEEP = "[" * 2000 + "]" * 2000


def test_deep_json_in_a_key_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_key_file('{"key_id": ' + DEEP + "}")


def test_key_files_refuse_non_canonical_base64() -> None:
    import base64
    import json

    secret = base64.b64encode(b"s" * 32).decode()  # 44 chars, one padding '=': 2 unused bits in the last char
    assert secret.endswith("=")
    last = secret[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    loose = secret[:-2] + alphabet[alphabet.index(last) | 1] + "="  # same bytes, a non-zero unused bit
    assert loose != secret and base64.b64decode(loose) == base64.b64decode(secret)
    parse_key_file(json.dumps({"key_id": "k", "algorithm": "hmac-sha256", "secret": secret}))
    with pytest.raises(ValueError, match="canonical") as info:
        parse_key_file(json.dumps({"key_id": "k", "algorithm": "hmac-sha256", "secret": loose}))
    assert loose not in str(info.value)
