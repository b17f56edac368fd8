"""The key file format (spec.md, "Key files"): one key as a small JSON object. Parsing only; no file I/O here.

{"key_id": "backend-1", "algorithm": "hmac-sha256", "secret": "<base64, >= 32 bytes>"}
{"key_id": "ops-1", "algorithm": "ed25519", "private_key": "<base64 seed>", "public_key": "<base64>"}
{"key_id": "ops-1", "algorithm": "ed25519", "public_key": "<base64, 32 bytes>"}   (what an agent holds)
"""

from __future__ import annotations

import base64
import binascii
import json

from ._keys import Algorithm, Ed25519SigningKey, Ed25519VerifyingKey, HmacSha256Key, SigningKey, VerifyingKey

MAX_KEY_FILE_BYTES = 4096

AnyKey = HmacSha256Key | Ed25519SigningKey | Ed25519VerifyingKey


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"key file: {what} must be a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError(f"key file: {what} is not valid base64") from None
    # Canonical only (spec §12, as §2): the unused bits of the last character are zero, as the JS reader demands.
    if base64.b64encode(raw).decode("ascii") != value:
        raise ValueError(f"key file: {what} is not canonical base64")
    return raw


def parse_key_file(text: str) -> AnyKey:
    """Parse one key from its JSON text. Raises ValueError with a message that never contains key material."""
    if len(text) > MAX_KEY_FILE_BYTES:
        raise ValueError("key file too large")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise ValueError("key file is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("key file must be a JSON object")
    key_id = data.get("key_id")
    if not isinstance(key_id, str):
        raise ValueError("key file: key_id missing")
    algorithm = data.get("algorithm")
    if algorithm == Algorithm.HMAC_SHA256.value:
        return HmacSha256Key(key_id, _b64(data.get("secret"), "secret"))
    if algorithm == Algorithm.ED25519.value:
        if "private_key" in data:
            signing = Ed25519SigningKey.from_seed(key_id, _b64(data["private_key"], "private_key"))
            if "public_key" in data and _b64(data["public_key"], "public_key") != (
                signing.verifying_key().raw_public_bytes()
            ):
                raise ValueError("key file: public_key does not match private_key")
            return signing
        return Ed25519VerifyingKey.from_bytes(key_id, _b64(data.get("public_key"), "public_key"))
    raise ValueError(f"key file: algorithm must be one of {[a.value for a in Algorithm]}")


def dump_key_file(key: AnyKey) -> str:
    """The JSON text of a key file for ``key`` (contains secrets for HMAC keys and Ed25519 private keys)."""
    data: dict[str, str] = {"key_id": key.key_id, "algorithm": key.algorithm.value}
    if isinstance(key, HmacSha256Key):
        data["secret"] = base64.b64encode(key.secret).decode("ascii")
    elif isinstance(key, Ed25519SigningKey):
        data["private_key"] = base64.b64encode(key.seed_bytes()).decode("ascii")
        data["public_key"] = base64.b64encode(key.verifying_key().raw_public_bytes()).decode("ascii")
    else:
        data["public_key"] = base64.b64encode(key.raw_public_bytes()).decode("ascii")
    return json.dumps(data, indent=2) + "\n"


def verifying_key_of(key: AnyKey) -> VerifyingKey:
    """What goes into an agent's key ring for ``key``: HMAC keys as they are, Ed25519 by their public half."""
    if isinstance(key, Ed25519SigningKey):
        return key.verifying_key()
    return key


def signing_key_of(key: AnyKey) -> SigningKey:
    """``key`` if it can sign, else ValueError (an Ed25519 public key cannot)."""
    if isinstance(key, Ed25519VerifyingKey):
        raise ValueError(f"key {key.key_id!r} is a public key and cannot sign")
    return key
