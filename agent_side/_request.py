"""A verified shutdown request as the application sees it: the signed request plus who delivered it."""

from __future__ import annotations

from dataclasses import dataclass

from shutdown_rpc.protocol import ShutdownOptions, ShutdownRequest, VerifiedRequest

from ._reason import format_reason


@dataclass(frozen=True)
class RemoteRequest:
    """A request that verified; ``key_id`` is None for an unsigned one. ``caller_identity`` is LiveKit's."""

    verified: VerifiedRequest
    caller_identity: str
    received_at_ms: int

    @property
    def request(self) -> ShutdownRequest:
        """The signed body."""
        return self.verified.request

    @property
    def request_id(self) -> str:
        """The caller's request id."""
        return self.verified.request.request_id

    @property
    def issuer(self) -> str:
        """Who signed it, as the request says (authenticated by the key, not by LiveKit)."""
        return self.verified.request.issuer

    @property
    def reason(self) -> str:
        """The caller's reason text."""
        return self.verified.request.reason

    @property
    def options(self) -> ShutdownOptions:
        """drain / grace_ms / delete_room as asked."""
        return self.verified.request.options

    @property
    def key_id(self) -> str | None:
        """The key that signed it, None when unsigned."""
        return self.verified.key_id

    @property
    def shutdown_reason(self) -> str:
        """The string given to ``JobContext.shutdown`` (see :func:`format_reason`)."""
        return format_reason(self.issuer, self.request_id, self.reason)
