"""The agent's verifier: payload string + clock -> VerifiedRequest | DuplicateRequest, or ShutdownRpcError.

Checks run in the order spec.md §7 fixes (so every implementation gives the same code for the same input),
labelled with their step numbers: size, base64, msgpack, version, envelope shape (1-5), unsigned, key,
signature (6-8), body msgpack (9), lifetime and time (10), replay (11), schema (12), room, target (13-14).
Nothing about a request is remembered before its signature holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from pydantic import ValidationError

from ._ack import Acknowledgement
from ._clock import Clock, SystemClock
from ._envelope import Envelope, signed_message, unpack_envelope, unpack_strict
from ._errors import ErrorCode, ShutdownRpcError
from ._keys import KeyRing
from ._limits import DEFAULT_SKEW_S, MAX_LIFETIME_S, UINT32_MAX
from ._replay import ReplayCache, Reservation
from ._schema import ANY_AGENT, ShutdownOptions, ShutdownRequest

_FIELD_NAMES = frozenset(ShutdownRequest.model_fields) | frozenset(ShutdownOptions.model_fields)


@dataclass(frozen=True)
class AgentBinding:
    """Who the verifying agent is: the room and the agent (identity or job id) a request must name (``target``).

    What the agent lets through (unsigned requests, the any-agent target) is policy: options of
    :meth:`Verifier.verify`, not part of the binding.
    """

    room: str
    agent_identity: str
    job_id: str | None = None


@dataclass(frozen=True, eq=False, init=False)
class VerifiedRequest:
    """A request whose signature, time, schema and binding hold. ``key_id`` is None for unsigned ones.

    Answering it records it: :meth:`accept` puts it in the replay memory with the acknowledgement, so a repeat
    is answered ``duplicate`` and a reuse of its id is REQUEST_ID_CONFLICT. An agent whose decision takes time
    (a veto) first :meth:`reserve` s the request id, then accepts with that reservation or releases it.
    """

    request: ShutdownRequest
    key_id: str | None
    signed_bytes: bytes
    _replay: ReplayCache = field(repr=False)
    _clock: Clock = field(repr=False)
    _forget_at_ms: int = field(repr=False)

    def __init__(
        self,
        request: ShutdownRequest,
        key_id: str | None,
        signed_bytes: bytes,
        _replay: ReplayCache,
        _clock: Clock,
        _forget_at_ms: int,
    ) -> None:
        # One dict update instead of the frozen dataclass's object.__setattr__ per field: 2-3x cheaper, and this
        # object is made on every accepted request (bench_protocol's "glue"). Still frozen afterwards.
        self.__dict__.update(
            request=request,
            key_id=key_id,
            signed_bytes=signed_bytes,
            _replay=_replay,
            _clock=_clock,
            _forget_at_ms=_forget_at_ms,
        )

    def reserve(self, *, now_ms: int | None = None) -> Reservation:
        """Hold the request id while deciding; REQUEST_ID_CONFLICT if it is held for another request,
        RATE_LIMITED if the replay memory is full (pending reservations count): then decide nothing more.

        A reservation with ``first=False`` means another copy of this very request is being decided: wait for
        its answer instead of deciding again.
        """
        now = self._clock.now_ms() if now_ms is None else now_ms
        return self._replay.reserve(self.request.request_id, self.signed_bytes, now)

    def release(self, reservation: Reservation) -> None:
        """The request was not answered with an acknowledgement: forget the reservation, remember nothing."""
        self._replay.release(reservation)

    def accept(
        self, ack: Acknowledgement, *, reservation: Reservation | None = None, now_ms: int | None = None
    ) -> None:
        """Remember the request until it can no longer verify, so a repeat gets ``ack`` again (as a duplicate).

        Without ``reservation`` it reserves first: RATE_LIMITED (nothing remembered) if the replay memory is
        full, and then do not answer ``ack``. Ends ``reservation`` if given.
        """
        now = self._clock.now_ms() if now_ms is None else now_ms
        held = reservation if reservation is not None else self.reserve(now_ms=now)
        self._replay.commit(held, ack.as_duplicate(), self._forget_at_ms, now)


class DuplicateRequest(NamedTuple):
    """The request id was accepted before, with the same signed content: answer ``ack`` again."""

    request_id: str
    ack: Acknowledgement


class Verifier:
    """Stateful only through its ReplayCache; everything else is a pure function of payload and clock."""

    def __init__(
        self,
        keys: KeyRing,
        *,
        replay: ReplayCache | None = None,
        clock: Clock | None = None,
        skew_s: int = DEFAULT_SKEW_S,
        max_lifetime_s: int = MAX_LIFETIME_S,
    ) -> None:
        if not 0 <= skew_s <= 300:
            raise ValueError("skew_s must be within 0..300")
        if not 1 <= max_lifetime_s <= MAX_LIFETIME_S:
            raise ValueError(f"max_lifetime_s must be within 1..{MAX_LIFETIME_S}")
        self.keys = keys
        self.replay = replay if replay is not None else ReplayCache()
        self.clock = clock if clock is not None else SystemClock()
        self._skew_ms = skew_s * 1000
        self._max_lifetime_s = max_lifetime_s

    def verify(
        self,
        payload: str,
        binding: AgentBinding,
        *,
        allow_unsigned: bool = False,
        allow_any_agent: bool = False,
        now_ms: int | None = None,
    ) -> VerifiedRequest | DuplicateRequest:
        """Decide on one payload (spec §7). Nothing is remembered until the result is accepted.

        The two policy switches: ``allow_unsigned`` (step 6) admits an unsigned request, ``allow_any_agent``
        (step 14) the any-agent target ``"*"``; both default to refusing.
        """
        envelope = unpack_envelope(payload)  # steps 1-5
        message = signed_message(envelope.version, envelope.key_id, envelope.body)
        key_id = self._check_signature(envelope, message, allow_unsigned)  # steps 6-8
        body = _body_map(envelope)  # step 9
        now = self.clock.now_ms() if now_ms is None else now_ms
        self._check_time(body.get("issued_at"), body.get("expires_at"), now)  # step 10
        request_id = body.get("request_id")
        if type(request_id) is str:  # step 11
            seen = self.replay.check(request_id, message, now)
            if seen is not None:
                return DuplicateRequest(request_id, seen.duplicate_ack)
        request = _validate_body(body)  # step 12
        _check_binding(request, binding, allow_any_agent)  # steps 13-14
        forget_at_ms = request.expires_at * 1000 + self._skew_ms
        return VerifiedRequest(request, key_id, message, self.replay, self.clock, forget_at_ms)

    def screen(
        self,
        payload: str,
        binding: AgentBinding,
        *,
        allow_unsigned: bool = False,
        allow_any_agent: bool = False,
        now_ms: int | None = None,
    ) -> None:
        """Every check of :meth:`verify` that needs no signature and no memory, raising its refusal; no state.

        Steps 1-7, 9-10 and 12-14: an agent over its budget of refused attempts (spec §7 step 15) screens
        each payload first, so that an attempt costs a signature check only when it is well formed, current,
        bound to this agent and names a known key. It then calls :meth:`verify` as usual: a valid request
        passes both, so screening never refuses what :meth:`verify` would accept.
        """
        envelope = unpack_envelope(payload)  # steps 1-5
        if envelope.signed:
            if self.keys.get(envelope.key_id) is None:  # step 7
                raise ShutdownRpcError(ErrorCode.UNKNOWN_KEY, f"unknown key id {envelope.key_id!r}")
        elif not allow_unsigned:  # step 6
            raise ShutdownRpcError(ErrorCode.UNSIGNED_REFUSED, "unsigned requests are not allowed")
        body = _body_map(envelope)  # step 9
        now = self.clock.now_ms() if now_ms is None else now_ms
        self._check_time(body.get("issued_at"), body.get("expires_at"), now)  # step 10
        _check_binding(_validate_body(body), binding, allow_any_agent)  # steps 12-14

    def _check_signature(self, envelope: Envelope, message: bytes, allow_unsigned: bool) -> str | None:
        """Steps 6-8: the signing key id, None for an allowed unsigned request."""
        if not envelope.signed:
            if not allow_unsigned:
                raise ShutdownRpcError(ErrorCode.UNSIGNED_REFUSED, "unsigned requests are not allowed")
            return None
        key = self.keys.get(envelope.key_id)
        if key is None:
            raise ShutdownRpcError(ErrorCode.UNKNOWN_KEY, f"unknown key id {envelope.key_id!r}")
        # The key ring, not the message, fixes the algorithm; a tag of another length never gets compared.
        if len(envelope.signature) != key.signature_length or not key.verify(message, envelope.signature):
            raise ShutdownRpcError(ErrorCode.BAD_SIGNATURE, "signature does not verify")
        return envelope.key_id

    def _check_time(self, issued_at: object, expires_at: object, now_ms: int) -> None:
        if (
            type(issued_at) is not int
            or type(expires_at) is not int
            or not 0 <= issued_at <= UINT32_MAX
            or not 0 <= expires_at <= UINT32_MAX
            or expires_at <= issued_at
        ):
            raise ShutdownRpcError(
                ErrorCode.INVALID_REQUEST, "issued_at/expires_at must be uint32, expires after issued"
            )
        if expires_at - issued_at > self._max_lifetime_s:
            raise ShutdownRpcError(ErrorCode.LIFETIME_TOO_LONG, f"lifetime over {self._max_lifetime_s} s")
        if now_ms < issued_at * 1000 - self._skew_ms:
            raise ShutdownRpcError(ErrorCode.NOT_YET_VALID, "issued in the future beyond the allowed skew")
        if now_ms >= expires_at * 1000 + self._skew_ms:
            raise ShutdownRpcError(ErrorCode.EXPIRED, "request expired")


def _body_map(envelope: Envelope) -> dict[str, object]:
    """Step 9: the body as strict msgpack, and a map."""
    body = unpack_strict(envelope.body)
    if type(body) is not dict:
        raise ShutdownRpcError(ErrorCode.INVALID_REQUEST, "body must be a map")
    return body


def _validate_body(body: dict[str, object]) -> ShutdownRequest:
    """Step 12: every other body rule of §4, as the v1 schema."""
    try:
        return ShutdownRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        # loc can hold a key the sender chose (extra keys): name only the fields the spec defines.
        where = ".".join(p if p in _FIELD_NAMES else "<other key>" for p in map(str, first["loc"])) or "body"
        raise ShutdownRpcError(ErrorCode.INVALID_REQUEST, f"{where}: {first['type']}") from None


def _check_binding(request: ShutdownRequest, binding: AgentBinding, allow_any_agent: bool) -> None:
    """Steps 13-14: the room, then the target (any-agent only where the policy allows it)."""
    if request.room != binding.room:
        raise ShutdownRpcError(ErrorCode.WRONG_ROOM, "request is for another room")
    if request.target == ANY_AGENT:
        if not allow_any_agent:
            raise ShutdownRpcError(ErrorCode.NOT_AUTHORIZED, "any-agent target not allowed here")
    elif request.target != binding.agent_identity and request.target != binding.job_id:
        raise ShutdownRpcError(ErrorCode.WRONG_TARGET, "request is for another agent")
