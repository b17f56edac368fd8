"""The RPC handler of the shutdown method and the state that makes it idempotent: verify, authorize, reply,
then end the job once.

Refusals are ``rtc.RpcError(code, refusal_message, refusal_data)``; nothing else leaves the handler. The
acknowledgement is returned first and the shutdown starts only after ``reply_flush_delay_s``, because LiveKit
sends the reply after the handler returns and ``Room.disconnect()`` does not flush it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from typing import TYPE_CHECKING, Any

from livekit import rtc

from shutdown_rpc.protocol import (
    Ack,
    AckStatus,
    Binding,
    Clock,
    DuplicateRequest,
    ErrorCode,
    ShutdownRpcError,
    Verifier,
    refusal_data,
    refusal_message,
)

from .ending import drain_session
from .keys_loading import NO_KEYS_DETAIL
from .outcomes import OutcomeCounters, log_outcome, refusal_outcome
from .policy import ShutdownPolicy
from .rate_limit import FailureLimiter
from .request import RemoteRequest

if TYPE_CHECKING:
    from livekit.agents import AgentSession, JobContext

logger = logging.getLogger("shutdown_rpc.agent_side")

_NOT_COUNTED_AS_FAILURE = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL_ERROR})


class RemoteShutdown:
    """Remote shutdown for one job: the RPC handler plus what it has seen. Made by ``enable_remote_shutdown``.

    - ``accepted``: the request that is ending the job (None until one is accepted).
    - ``counters``: calls by outcome (``counters.snapshot()`` for exporters).
    - ``registered``: set once the RPC method is registered (and advertised, or advertising failed).
    - ``shutdown_done``: set once ``ctx.shutdown`` has been called for the accepted request.
    - ``job_ending``: why the job is ending, once it is ending for any cause (None before).

    Once the job is ending for another cause (the application called ``ctx.shutdown``, the room disconnected,
    the shutdown callbacks ran), a valid request is answered ``already_shutting_down`` (spec §8) and never
    accepted: livekit-agents keeps the first reason, so the caller's reason would not be delivered, and its
    ``delete_room`` could come after the callbacks that carry it out. ``enable_remote_shutdown`` reports
    those causes through ``note_job_ending``.
    """

    def __init__(
        self,
        ctx: JobContext,
        verifier: Verifier,
        policy: ShutdownPolicy,
        *,
        session: AgentSession[Any] | None = None,
        clock: Clock | None = None,
        limiter: FailureLimiter | None = None,
    ) -> None:
        self._ctx = ctx
        self._verifier = verifier
        self._policy = policy
        self._session = session
        self._clock = clock or verifier.clock
        self._limiter = limiter or FailureLimiter(policy.rate_limit)
        self._in_flight: dict[str, tuple[bytes, asyncio.Future[Ack]]] = {}
        self._accepted: RemoteRequest | None = None
        self._shutdown_task: asyncio.Task[None] | None = None
        self._job_ending: str | None = None
        self.counters = OutcomeCounters()
        self.registered = asyncio.Event()
        self.shutdown_done = asyncio.Event()

    @property
    def accepted(self) -> RemoteRequest | None:
        """The accepted request ending this job, if any."""
        return self._accepted

    @property
    def job_ending(self) -> str | None:
        """The first known cause the job is ending for (a shutdown reason), or None while it is not ending."""
        return self._job_ending

    def note_job_ending(self, cause: str) -> None:
        """Record that the job is ending (first cause kept): later valid requests get ``already_shutting_down``."""
        if self._job_ending is None:
            self._job_ending = cause or "unknown cause"
            if self._accepted is None:
                logger.info("remote shutdown: job ending for another cause", extra={"cause": self._job_ending})

    def _shutting_down(self) -> bool:
        return self._accepted is not None or self._job_ending is not None

    @property
    def policy(self) -> ShutdownPolicy:
        """The policy in force."""
        return self._policy

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Key ids the verifier accepts (what the agent advertises)."""
        return tuple(self._verifier.keys)

    def binding(self) -> Binding:
        """Room and agent a request must name, read from the connected room each time."""
        room = self._ctx.room
        return Binding(
            room=room.name or self._ctx.job.room.name,
            agent_identity=room.local_participant.identity,
            job_id=self._ctx.job.id,
            allow_any_agent=self._policy.allow_any_agent,
        )

    async def handle(self, data: rtc.RpcInvocationData) -> str:
        """The RPC handler: an acknowledgement JSON, or ``rtc.RpcError`` with a protocol code."""
        caller = data.caller_identity
        try:
            ack, remote = await self._decide(data)
        except ShutdownRpcError as err:
            self._refused(err, data)
            raise rtc.RpcError(int(err.code), refusal_message(err), refusal_data(err)) from None
        except Exception:
            logger.exception("remote shutdown handler failed", extra={"caller_identity": caller})
            internal = ShutdownRpcError(ErrorCode.INTERNAL_ERROR, "agent failed while handling the request")
            self._refused(internal, data)
            raise rtc.RpcError(int(internal.code), refusal_message(internal), refusal_data(internal)) from None
        self.counters.add(ack.status.value)
        log_outcome(
            ack.status.value,
            rpc_request_id=data.request_id,
            caller=caller,
            request_id=ack.request_id,
            key_id=remote.key_id if remote else None,
            issuer=remote.issuer if remote else None,
        )
        return ack.to_json()

    def _refused(self, err: ShutdownRpcError, data: rtc.RpcInvocationData) -> None:
        if err.code not in _NOT_COUNTED_AS_FAILURE:
            self._limiter.record_failure(data.caller_identity)
        outcome = refusal_outcome(err.code)
        self.counters.add(outcome)
        log_outcome(
            outcome, rpc_request_id=data.request_id, caller=data.caller_identity, code=err.code, detail=err.detail
        )

    def _ack(self, status: AckStatus, request_id: str, binding: Binding) -> Ack:
        return Ack(
            status=status,
            request_id=request_id,
            agent_identity=binding.agent_identity,
            job_id=self._ctx.job.id,
            agent_time_ms=self._clock.now_ms(),
        )

    def _caller_may_skip_signature(self, caller: str) -> bool:
        unsigned = self._policy.unsigned
        if unsigned is None:
            return False
        return unsigned.allows(self._ctx.room.remote_participants.get(caller))

    async def _decide(self, data: rtc.RpcInvocationData) -> tuple[Ack, RemoteRequest | None]:
        caller = data.caller_identity
        if not self._limiter.allows(caller):
            raise ShutdownRpcError(ErrorCode.RATE_LIMITED, "too many refused attempts from this caller")
        binding = self.binding()
        now_ms = self._clock.now_ms()
        try:
            result = self._verifier.verify(
                data.payload, binding, allow_unsigned=self._caller_may_skip_signature(caller), now_ms=now_ms
            )
        except ShutdownRpcError as err:
            if err.code is ErrorCode.UNKNOWN_KEY and not self.key_ids:
                raise ShutdownRpcError(ErrorCode.UNKNOWN_KEY, NO_KEYS_DETAIL) from None
            raise
        if isinstance(result, DuplicateRequest):
            return result.ack, None
        remote = RemoteRequest(result, caller, now_ms)
        self._policy.authorize(result.request, result.key_id)

        request_id = remote.request_id
        digest = result.signed_bytes
        pending = self._in_flight.get(request_id)
        if pending is not None:
            # Same id still being decided (an async veto is running): share its outcome, never decide twice.
            if pending[0] != digest:
                raise ShutdownRpcError(ErrorCode.REQUEST_ID_CONFLICT, "request id reused for another request")
            try:
                first = await asyncio.shield(pending[1])
            except asyncio.CancelledError:
                if not pending[1].cancelled():
                    raise  # this call itself is being cancelled
                raise ShutdownRpcError(ErrorCode.INTERNAL_ERROR, "first copy of this request was cancelled") from None
            return first.as_duplicate(), remote

        if self._shutting_down():
            return self._record(remote, self._ack(AckStatus.ALREADY_SHUTTING_DOWN, request_id, binding)), remote

        outcome: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._in_flight[request_id] = (digest, outcome)
        try:
            await self._run_veto(remote)
            # Another request may have been accepted, or the job started ending, while the veto ran.
            status = AckStatus.ALREADY_SHUTTING_DOWN if self._shutting_down() else AckStatus.ACCEPTED
            ack = self._record(remote, self._ack(status, request_id, binding))
            if status is AckStatus.ACCEPTED:
                self._accept(remote)
            outcome.set_result(ack)
            return ack, remote
        except asyncio.CancelledError:
            outcome.cancel()
            raise
        except Exception as exc:
            outcome.set_exception(exc)
            outcome.exception()  # copies that never came still count as retrieved: no "never retrieved" log
            raise
        finally:
            del self._in_flight[request_id]

    def _record(self, remote: RemoteRequest, ack: Ack) -> Ack:
        self._verifier.record(remote.verified, ack)
        return ack

    async def _run_veto(self, remote: RemoteRequest) -> None:
        veto = self._policy.veto
        if veto is None:
            return
        verdict = veto(remote)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict is not None:
            raise ShutdownRpcError(ErrorCode.VETOED, str(verdict) or "vetoed by the application")

    def _accept(self, remote: RemoteRequest) -> None:
        # No await between the acknowledgement and returning it: the shutdown task cannot run before the reply
        # has been handed back to LiveKit.
        self._accepted = remote
        self._shutdown_task = asyncio.get_running_loop().create_task(self._end_job(remote), name="shutdown_rpc.end_job")

    async def _end_job(self, remote: RemoteRequest) -> None:
        """Runs once: hook, drain and flush delay concurrently, then ``ctx.shutdown`` whatever happened."""
        try:
            await self._run_on_accepted(remote)
            session = self._session_to_drain(remote)
            grace_s = self._policy.drain_grace_s(remote.request)
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(asyncio.sleep(self._policy.reply_flush_delay_s))]
            if session is not None:
                waits.append(asyncio.ensure_future(drain_session(session, grace_s)))
            await asyncio.gather(*waits)
        except Exception:
            logger.exception("remote shutdown: error before shutting down; shutting down anyway")
        finally:
            if self._job_ending is not None:
                # livekit-agents keeps the first reason: this one will not reach the shutdown callbacks.
                logger.warning(
                    "remote shutdown: the job started ending for another cause before the accepted request",
                    extra={"request_id": remote.request_id, "cause": self._job_ending},
                )
            self._ctx.shutdown(remote.shutdown_reason)
            self.shutdown_done.set()

    def _session_to_drain(self, remote: RemoteRequest) -> AgentSession[Any] | None:
        if not remote.options.drain:
            return None
        if self._session is not None:
            return self._session
        with contextlib.suppress(RuntimeError):
            return self._ctx.primary_session
        return None

    async def _run_on_accepted(self, remote: RemoteRequest) -> None:
        hook = self._policy.on_accepted
        if hook is None:
            return
        try:
            result = hook(remote)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("remote shutdown: on_accepted hook failed")

    async def delete_room_if_asked(self, reason: str) -> None:
        """Shutdown callback: DeleteRoom (every participant leaves) if the accepted request asked for it."""
        remote = self._accepted
        if remote is None or not remote.options.delete_room:
            return
        try:
            await asyncio.wait_for(self._ctx.delete_room(remote.request.room), self._policy.delete_room_timeout_s)
            logger.info("remote shutdown: room deleted", extra={"request_id": remote.request_id})
        except Exception:  # a raising shutdown callback would abort the others (asyncio.gather)
            logger.exception("remote shutdown: delete_room failed", extra={"request_id": remote.request_id})

    async def wait_closed(self) -> None:
        """Wait for the shutdown task, if one was started (tests and tools)."""
        if self._shutdown_task is not None:
            await asyncio.shield(self._shutdown_task)
