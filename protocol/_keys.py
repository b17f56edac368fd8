"""Keys and the verifier's key ring. Each key id is bound to exactly one algorithm; messages never choose it."""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ._limits import ED25519_KEY_BYTES, ED25519_SIGNATURE_BYTES, HMAC_TAG_BYTES, MAX_KEY_ID_BYTES, MIN_HMAC_SECRET_BYTES

KEY_ID_PATTERN = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_KEY_ID_BYTES}}}\Z", re.ASCII)


class Algorithm(str, enum.Enum):
    """Signature algorithms of protocol v1."""

    HMAC_SHA256 = "hmac-sha256"
    ED25519 = "ed25519"


def check_key_id(key_id: str) -> str:
    """Return ``key_id`` if it is 1-64 characters of ``[A-Za-z0-9._-]``, else raise ValueError."""
    if not KEY_ID_PATTERN.match(key_id):
        raise ValueError("key id must be 1-64 characters of [A-Za-z0-9._-]")
    return key_id


@dataclass(frozen=True)
class HmacSha256Key:
    """A shared HMAC-SHA256 secret (>= 32 bytes): signs and verifies."""

    key_id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_id(self.key_id)
        if len(self.secret) < MIN_HMAC_SECRET_BYTES:
            raise ValueError(f"HMAC secret must be at least {MIN_HMAC_SECRET_BYTES} bytes")

    @property
    def algorithm(self) -> Algorithm:
        """Always ``Algorithm.HMAC_SHA256``."""
        return Algorithm.HMAC_SHA256

    @property
    def signature_length(self) -> int:
        """Length of a valid tag in bytes."""
        return HMAC_TAG_BYTES

    def sign(self, message: bytes) -> bytes:
        """The 32-byte HMAC-SHA256 tag of ``message``."""
        mac = self._keyed.copy()
        mac.update(message)
        return mac.digest()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Constant-time check of a tag; the caller has already checked its length."""
        return hmac.compare_digest(self.sign(message), signature)

    @functools.cached_property
    def _keyed(self) -> hmac.HMAC:
        # Keying HMAC once and copying the state per message halves the cost of short messages.
        return hmac.new(self.secret, digestmod=hashlib.sha256)


@dataclass(frozen=True, eq=False)
class Ed25519VerifyingKey:
    """An Ed25519 public key: verifies only (what an agent holds for Ed25519 issuers)."""

    key_id: str
    # eq=False: two keys are equal only if they are the same object (never by key id alone)
    public_key: ed25519.Ed25519PublicKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_id(self.key_id)

    @classmethod
    def from_bytes(cls, key_id: str, raw: bytes) -> Ed25519VerifyingKey:
        """Build from the 32-byte raw public key."""
        if len(raw) != ED25519_KEY_BYTES:
            raise ValueError("Ed25519 public key must be 32 bytes")
        return cls(key_id, ed25519.Ed25519PublicKey.from_public_bytes(raw))

    @property
    def algorithm(self) -> Algorithm:
        """Always ``Algorithm.ED25519``."""
        return Algorithm.ED25519

    @property
    def signature_length(self) -> int:
        """Length of a valid signature in bytes."""
        return ED25519_SIGNATURE_BYTES

    def raw_public_bytes(self) -> bytes:
        """The 32-byte raw public key."""
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is a valid Ed25519 signature of ``message``."""
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, eq=False)
class Ed25519SigningKey:
    """An Ed25519 private key: what a backend holds to sign."""

    key_id: str
    private_key: ed25519.Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_id(self.key_id)

    @classmethod
    def generate(cls, key_id: str) -> Ed25519SigningKey:
        """A fresh random key."""
        return cls(key_id, ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, key_id: str, seed: bytes) -> Ed25519SigningKey:
        """Build from the 32-byte private seed (RFC 8032)."""
        if len(seed) != ED25519_KEY_BYTES:
            raise ValueError("Ed25519 seed must be 32 bytes")
        return cls(key_id, ed25519.Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def algorithm(self) -> Algorithm:
        """Always ``Algorithm.ED25519``."""
        return Algorithm.ED25519

    def seed_bytes(self) -> bytes:
        """The 32-byte private seed; handle as a secret."""
        return self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    def verifying_key(self) -> Ed25519VerifyingKey:
        """The public half, for the agent's key ring."""
        return Ed25519VerifyingKey(self.key_id, self.private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message`` (deterministic)."""
        return self.private_key.sign(message)


SigningKey = HmacSha256Key | Ed25519SigningKey
VerifyingKey = HmacSha256Key | Ed25519VerifyingKey


class KeyRing(Mapping[str, VerifyingKey]):
    """The verifier's keys by key id; several may be live at once for rotation."""

    def __init__(self, keys: Iterable[VerifyingKey] = ()) -> None:
        self._keys: dict[str, VerifyingKey] = {}
        for key in keys:
            if key.key_id in self._keys:
                raise ValueError(f"duplicate key id {key.key_id!r} in key ring")
            self._keys[key.key_id] = key

    def __getitem__(self, key_id: str) -> VerifyingKey:
        return self._keys[key_id]

    def get(self, key_id: str, default: VerifyingKey | None = None) -> VerifyingKey | None:  # type: ignore[override]
        """The key for ``key_id``, or ``default`` (a plain dict lookup: this is on every request's path)."""
        return self._keys.get(key_id, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing({', '.join(f'{k}:{v.algorithm.value}' for k, v in self._keys.items())})"
