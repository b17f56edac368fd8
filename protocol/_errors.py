"""Refusal codes of the wire protocol (spec.md, "Refusals") and the one exception type that carries them."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorCode(enum.IntEnum):
    """Application error codes sent as LiveKit ``RpcError.code``; all outside LiveKit's reserved 1001-1999."""

    PAYLOAD_TOO_LARGE = 4100
    MALFORMED = 4101
    UNSUPPORTED_VERSION = 4102
    INVALID_REQUEST = 4103
    UNKNOWN_KEY = 4110
    BAD_SIGNATURE = 4111
    UNSIGNED_REFUSED = 4112
    EXPIRED = 4120
    NOT_YET_VALID = 4121
    LIFETIME_TOO_LONG = 4122
    WRONG_ROOM = 4130
    WRONG_TARGET = 4131
    NOT_AUTHORIZED = 4132
    VETOED = 4133
    REQUEST_ID_CONFLICT = 4134
    RATE_LIMITED = 4140
    INTERNAL_ERROR = 4150


@dataclass(frozen=True)
class CodeInfo:
    """What a code means and whether sending the same request again can succeed."""

    meaning: str
    retryable: bool


CODE_INFO: dict[ErrorCode, CodeInfo] = {
    ErrorCode.PAYLOAD_TOO_LARGE: CodeInfo("payload longer than the maximum, refused before decoding", False),
    ErrorCode.MALFORMED: CodeInfo("not strict base64, not strict msgpack, or not a v1 envelope", False),
    ErrorCode.UNSUPPORTED_VERSION: CodeInfo("envelope version not supported; data lists the supported ones", False),
    ErrorCode.INVALID_REQUEST: CodeInfo("signed body does not match the v1 schema", False),
    ErrorCode.UNKNOWN_KEY: CodeInfo("key id not in the agent's key ring", False),
    ErrorCode.BAD_SIGNATURE: CodeInfo("signature of the wrong length or not valid for the key", False),
    ErrorCode.UNSIGNED_REFUSED: CodeInfo("unsigned request and the agent's policy does not allow this caller", False),
    ErrorCode.EXPIRED: CodeInfo("now is past expires_at plus the allowed clock skew", False),
    ErrorCode.NOT_YET_VALID: CodeInfo("issued_at is further in the future than the allowed clock skew", True),
    ErrorCode.LIFETIME_TOO_LONG: CodeInfo("expires_at - issued_at exceeds the maximum lifetime", False),
    ErrorCode.WRONG_ROOM: CodeInfo("request is bound to another room", False),
    ErrorCode.WRONG_TARGET: CodeInfo("request is bound to another agent", False),
    ErrorCode.NOT_AUTHORIZED: CodeInfo("verified, but the agent's policy does not allow it", False),
    ErrorCode.VETOED: CodeInfo("the application refused to shut down now", True),
    ErrorCode.REQUEST_ID_CONFLICT: CodeInfo("request id already used by a different request", False),
    ErrorCode.RATE_LIMITED: CodeInfo("too many refused attempts, or replay memory full; retry later", True),
    ErrorCode.INTERNAL_ERROR: CodeInfo("the agent failed while handling a valid request", True),
}


def code_table() -> list[dict[str, object]]:
    """Every code in ascending order as ``{"code", "name", "retryable"}``: what vectors/v1.json ``codes`` holds."""
    return [
        {"code": int(code), "name": code.name, "retryable": CODE_INFO[code].retryable} for code in sorted(ErrorCode)
    ]


class ShutdownRpcError(Exception):
    """The single exception type of the protocol core: a spec code plus a short, secret-free detail."""

    __slots__ = ("code", "detail", "supported_versions")

    def __init__(self, code: ErrorCode, detail: str, supported_versions: tuple[int, ...] = ()) -> None:
        self.code = code
        self.detail = detail
        self.supported_versions = supported_versions

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed if sent again later."""
        return CODE_INFO[self.code].retryable

    def __reduce__(self) -> tuple[type[ShutdownRpcError], tuple[ErrorCode, str, tuple[int, ...]]]:
        return (type(self), (self.code, self.detail, self.supported_versions))

    def __repr__(self) -> str:
        return f"ShutdownRpcError({self.code.name}, {self.detail!r})"

    def __str__(self) -> str:
        return f"{self.code.name} ({int(self.code)}): {self.detail}"
