"""Deciding on one call of the shutdown method: rate limit, verify (spec §7), authorize, veto. No ending here.

:meth:`ShutdownDecider.check` is synchronous (no await between verifying and reserving the request id, so two copies
of one request cannot both pass as new); :meth:`ShutdownDecider.run_veto` is the only step that may take time.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from shutdown_rpc.protocol import AgentBinding, DuplicateRequest, ErrorCode, ShutdownRpcError, Verifier
from shutdown_rpc.protocol.wire import Clock

from ._keys import NO_KEYS_DETAIL
from ._policy import AccessPolicy, CallerParticipant
from ._rate_limit import FailureLimiter
from ._request import RemoteRequest

if TYPE_CHECKING:
    from livekit import rtc

# Spec §7 step 15: a refusal draws on the budgets only if the budget could answer it RATE_LIMITED (steps 1-14,
# key scopes). Not: RATE_LIMITED itself (a caller over its limit, a full replay memory), INTERNAL_ERROR (the
# agent's failure), VETOED (a valid request the application refused for now: retrying it later is expected).
_NOT_COUNTED_AS_FAILURE = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL_ERROR, ErrorCode.VETOED})
_ALL_CALLERS = ""  # the one bucket of the all-callers budget (an identity is never empty)


class OverBudget(ShutdownRpcError):
    """RATE_LIMITED in place of another refusal, while the budget across all callers is spent (§7 step 15).

    ``refusal`` is the refusal it stands for (counted against the caller, logged only at debug level).
    """

    def __init__(self, refusal: ShutdownRpcError) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, "too many refused attempts from all callers")
        self.refusal = refusal


class CallerOverBudget(ShutdownRpcError):
    """RATE_LIMITED before the payload is read: this caller is over its own budget (§7 step 15)."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, "too many refused attempts from this caller")


class ShutdownDecider:
    """Verifier + access policy + refusal budgets (per caller, all callers): which calls may end the job, and which are
    refused with what code."""

    def __init__(
        self,
        verifier: Verifier,
        access: AccessPolicy,
        *,
        clock: Clock,
        participants: Callable[[], Mapping[str, CallerParticipant]],
        limiter: FailureLimiter | None = None,
        unknown_key_detail: str | None = None,
    ) -> None:
        self.verifier = verifier
        # why a key id may be unknown here (keys that did not load, or none at all): told to the caller
        self.unknown_key_detail = unknown_key_detail or (None if verifier.keys else NO_KEYS_DETAIL)
        self.access = access
        self.limiter = limiter or FailureLimiter(access.rate_limit)
        self.all_callers = FailureLimiter(access.rate_limit.all_callers())
        self._clock = clock
        self._participants = participants

    def check(self, data: rtc.RpcInvocationData, binding: AgentBinding) -> RemoteRequest | DuplicateRequest:
        """Rate limit, verify and authorize one call: a repeat to answer again, or a request to decide on."""
        caller = data.caller_identity
        if not self.limiter.allows(caller):
            raise CallerOverBudget()
        if self.all_callers.allows(_ALL_CALLERS):
            return self._check(data, binding)
        try:
            return self._check(data, binding, screen_first=True)
        except ShutdownRpcError as err:
            raise OverBudget(err) from None

    def _check(
        self, data: rtc.RpcInvocationData, binding: AgentBinding, *, screen_first: bool = False
    ) -> RemoteRequest | DuplicateRequest:
        caller = data.caller_identity
        now_ms = self._clock.now_ms()
        allow_unsigned = self._may_skip_signature(caller)
        allow_any_agent = self.access.allow_any_agent
        if screen_first:  # over budget: the checks that need no signature first (the code is RATE_LIMITED anyway)
            self.verifier.screen(
                data.payload, binding, allow_unsigned=allow_unsigned, allow_any_agent=allow_any_agent, now_ms=now_ms
            )
        try:
            result = self.verifier.verify(
                data.payload, binding, allow_unsigned=allow_unsigned, allow_any_agent=allow_any_agent, now_ms=now_ms
            )
        except ShutdownRpcError as err:
            if err.code is ErrorCode.UNKNOWN_KEY and self.unknown_key_detail:
                # say why, not just "unknown"
                raise ShutdownRpcError(ErrorCode.UNKNOWN_KEY, f"{err.detail}: {self.unknown_key_detail}") from None
            raise
        if isinstance(result, DuplicateRequest):
            return result
        self.access.authorize(result.request, result.key_id)
        return RemoteRequest(result, caller, now_ms)

    async def run_veto(self, remote: RemoteRequest) -> None:
        """The application's veto, sync or async: VETOED with its reason, or return to proceed."""
        veto = self.access.veto
        if veto is None:
            return
        verdict = veto(remote)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict is not None:
            raise ShutdownRpcError(ErrorCode.VETOED, str(verdict) or "vetoed by the application")

    def all_callers_budget_full(self) -> bool:
        """Whether the budget across all callers is full again (a flood, if there was one, is over)."""
        return self.all_callers.is_full(_ALL_CALLERS)

    def refused(self, err: ShutdownRpcError, caller: str) -> None:
        """Count a refusal against ``caller`` and all callers (unless it was not the caller's doing)."""
        if isinstance(err, OverBudget):
            err = err.refusal
        if err.code not in _NOT_COUNTED_AS_FAILURE:
            self.limiter.record_failure(caller)
            self.all_callers.record_failure(_ALL_CALLERS)

    def _may_skip_signature(self, caller: str) -> bool:
        unsigned = self.access.unsigned
        if unsigned is None:
            return False
        return unsigned.allows(self._participants().get(caller))
