"""What an agent answers: the acknowledgement JSON on success, and how a refusal is packed into an RpcError."""

from __future__ import annotations

import enum
import json
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from ._envelope import PROTOCOL_VERSION, SUPPORTED_VERSIONS
from ._errors import ErrorCode, ShutdownRpcError
from ._limits import MAX_ACK_BYTES, MAX_REFUSAL_MESSAGE_BYTES


class AckStatus(str, enum.Enum):
    """Why the agent answered with success."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    ALREADY_SHUTTING_DOWN = "already_shutting_down"


class Acknowledgement(BaseModel):
    """The acknowledgement: the request was taken and the job will end (or already is ending)."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    version: Annotated[int, Field(ge=1)] = PROTOCOL_VERSION
    status: AckStatus
    request_id: str
    agent_identity: str
    job_id: str
    agent_time_ms: Annotated[int, Field(ge=0)]
    receipt_token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22,64}$")] | None = Field(
        default=None, repr=False
    )
    """The secret the caller sends back as its receipt (spec §8): ``accepted`` and ``duplicate`` only. Kept out
    of ``repr`` so that logging an acknowledgement never logs it."""

    @model_validator(mode="before")
    @classmethod
    def _token_null_is_not_absent(cls, data: object, info: ValidationInfo) -> object:
        # spec §8: a receipt_token that is present on the wire must be a token; JSON null is not an absent key
        wire = bool(info.context and info.context.get("wire"))
        if wire and isinstance(data, dict) and "receipt_token" in data and data["receipt_token"] is None:
            raise ValueError("receipt_token must be a string when present")
        return data

    def to_json(self) -> str:
        """Compact JSON with keys in spec order, the RPC response payload."""
        fields: dict[str, object] = {
            "version": self.version,
            "status": self.status.value,
            "request_id": self.request_id,
            "agent_identity": self.agent_identity,
            "job_id": self.job_id,
            "agent_time_ms": self.agent_time_ms,
        }
        if self.receipt_token is not None:
            fields["receipt_token"] = self.receipt_token
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)

    @property
    def receipt(self) -> str | None:
        """The payload of the receipt a caller sends for this answer (spec §2), or None when it sends none."""
        if self.status is AckStatus.ALREADY_SHUTTING_DOWN:
            return None
        return self.receipt_token

    @classmethod
    def from_json(cls, text: str) -> Acknowledgement:
        """Parse an agent's response; unknown keys are ignored (forward compatibility). Raises ValueError."""
        if len(text) > MAX_ACK_BYTES:
            raise ValueError("acknowledgement too long")
        try:
            return cls.model_validate_json(text, context={"wire": True})
        except ValidationError as exc:
            raise ValueError(f"not a shutdown acknowledgement: {exc.error_count()} error(s)") from None

    def as_duplicate(self) -> Acknowledgement:
        """The answer to a repeat of this request: ``duplicate`` if it was accepted, else the same status.

        A request first answered ``already_shutting_down`` did not deliver its reason; its repeats must not
        claim otherwise.
        """
        if self.status is not AckStatus.ACCEPTED:
            return self
        return self.model_copy(update={"status": AckStatus.DUPLICATE})


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def refusal_message(error: ShutdownRpcError) -> str:
    """``"<NAME>: <detail>"``, at most 256 UTF-8 bytes (LiveKit's RpcError message limit)."""
    return _truncate_utf8(f"{error.code.name}: {error.detail}", MAX_REFUSAL_MESSAGE_BYTES)


def refusal_data(error: ShutdownRpcError) -> str:
    """The RpcError ``data`` JSON: version, code, name, retryable and, for version errors, supported versions."""
    data: dict[str, object] = {
        "version": PROTOCOL_VERSION,
        "code": int(error.code),
        "name": error.code.name,
        "retryable": error.retryable,
    }
    if error.code is ErrorCode.UNSUPPORTED_VERSION:
        data["supported_versions"] = list(error.supported_versions or SUPPORTED_VERSIONS)
    return json.dumps(data, separators=(",", ":"))


def parse_refusal(code: int, message: str, data: str | None) -> ShutdownRpcError | None:
    """Turn an RpcError received by a caller back into ShutdownRpcError; None if the code is not ours."""
    try:
        error_code = ErrorCode(code)
    except ValueError:
        return None
    detail = message.split(": ", 1)[1] if message.startswith(error_code.name + ": ") else message
    supported: tuple[int, ...] = ()
    if data:
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            versions = parsed.get("supported_versions")
            if isinstance(versions, list) and all(type(v) is int for v in versions):
                supported = tuple(versions)
    return ShutdownRpcError(error_code, detail, supported)
