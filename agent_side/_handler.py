"""The RPC handler of the shutdown method: decide (``_deciding``), answer, then end the job once (``_job_ender``).

Refusals are ``rtc.RpcError(code, refusal_message, refusal_data)``; nothing else leaves the handler. The
acknowledgement is returned first and the shutdown starts only once every answer that carried the receipt
token has its receipt, or after ``reply_flush_delay_s`` (``_receipt_gate``), because LiveKit sends a reply after
the handler returns and ``Room.disconnect()`` does not flush it. The job's state is one
JobStateMachine (``_state``); copies of a request still being decided wait for its answer, the replay memory
having decided that they are copies (REQUEST_ID_CONFLICT otherwise).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING

from livekit import api, rtc

from shutdown_rpc._log import logger
from shutdown_rpc.protocol import (
    Acknowledgement,
    AckStatus,
    AgentBinding,
    DuplicateRequest,
    ErrorCode,
    ShutdownRpcError,
)
from shutdown_rpc.protocol.wire import new_receipt_token, refusal_data, refusal_message

from ._deciding import CallerOverBudget, ShutdownDecider
from ._eviction import FloodEviction
from ._job_ender import JobEnder
from ._livekit_compat import after_reply_and_silence, reply_sent
from ._outcomes import OutcomeCounters, log_outcome, loggable, refusal_outcome
from ._policy import AccessPolicy
from ._receipt_gate import ReceiptGate
from ._refusal_log import RefusalLog
from ._request import RemoteRequest
from ._state import JobEvent, JobState, JobStateMachine
from ._timings import EndingTimings

if TYPE_CHECKING:
    from livekit.agents import JobContext


class ShutdownHandler:
    """Remote shutdown for one job: the RPC handler plus what it has seen. Made by ``enable_remote_shutdown``
    (which also installs the job-ending hooks on ``ctx``).

    - ``accepted``: the request that is ending the job (None until one is accepted).
    - ``counters``: calls by outcome (``counters.snapshot()`` for exporters).
    - ``registered``: set once the RPC method is registered (and advertised, or advertising failed).
    - ``shutdown_done``: set once ``ctx.shutdown`` has been called for the accepted request.
    - ``receipt_received``: set once every answer that carried the receipt token has its receipt (spec §11).
    - ``job_ending``: why the job is ending, once it is ending for any cause (None before).
    - ``state``: the job's JobState.

    Once the job is ending for another cause (the application called ``ctx.shutdown``, the room disconnected,
    the shutdown callbacks ran), a valid request is answered ``already_shutting_down`` (spec §8) and never
    accepted: livekit-agents keeps the first reason, so the caller's reason would not be delivered, and its
    ``delete_room`` could come after the callbacks that carry it out.
    """

    def __init__(self, ctx: JobContext, decider: ShutdownDecider, ender: JobEnder) -> None:
        """Changes nothing on ``ctx``: ``enable_remote_shutdown`` does the wiring (job watch, RPC methods)."""
        self._ctx = ctx
        self._decider = decider
        self._clock = decider.verifier.clock  # one time source for verifying and for the acknowledgement
        self._ender = ender
        self._job = JobStateMachine()
        self._accepted: RemoteRequest | None = None
        # request id being decided -> its answer, for copies
        self._answers: dict[str, asyncio.Future[Acknowledgement]] = {}
        self._shutdown_task: asyncio.Task[None] | None = None
        self._receipt = ReceiptGate()
        self.counters = OutcomeCounters()
        self._refusal_log = RefusalLog(self._decider.all_callers_budget_full)
        limit = decider.access.rate_limit
        self._eviction = FloodEviction(
            limit.evict_after, evictable=self._evictable, remove=self._remove_participant, max_callers=limit.max_callers
        )
        self.registered = asyncio.Event()
        self.shutdown_done = asyncio.Event()

    @property
    def accepted(self) -> RemoteRequest | None:
        """The accepted request ending this job, if any."""
        return self._accepted

    @property
    def receipt_received(self) -> asyncio.Event:
        """Set once, while the agent still waited, a receipt with the token arrived for every answer that carried
        it (the accepted one and each ``duplicate``; spec §11). Stays unset if the wait ran out first."""
        return self._receipt.confirmed

    @property
    def job_ending(self) -> str | None:
        """The first known cause the job is ending for (a shutdown reason), or None while it is not ending."""
        return self._job.ending_cause

    @property
    def state(self) -> JobState:
        """The job's state as far as remote shutdown is concerned."""
        return self._job.state

    @property
    def access(self) -> AccessPolicy:
        """Who may end the job (the policy in force)."""
        return self._decider.access

    @property
    def timings(self) -> EndingTimings:
        """How an accepted request ends the job."""
        return self._ender.timings

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Key ids the verifier accepts (what the agent advertises)."""
        return tuple(self._decider.verifier.keys)

    def binding(self) -> AgentBinding:
        """Room and agent a request must name, read from the connected room each time."""
        room = self._ctx.room
        return AgentBinding(
            room=room.name or self._ctx.job.room.name,
            agent_identity=room.local_participant.identity,
            job_id=self._ctx.job.id,
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
            logger.exception("remote shutdown handler failed", extra={"caller_identity": loggable(caller)})
            internal = ShutdownRpcError(ErrorCode.INTERNAL_ERROR, "agent failed while handling the request")
            self._refused(internal, data)
            raise rtc.RpcError(int(internal.code), refusal_message(internal), refusal_data(internal)) from None
        self.counters.add(ack.status.value)
        self._receipt.answered(ack)  # counted as it is handed back: one more receipt to wait for if it has the token
        after_reply_and_silence(
            functools.partial(
                log_outcome,
                ack.status.value,
                rpc_request_id=data.request_id,
                caller=caller,
                request_id=ack.request_id,
                key_id=remote.key_id if remote else None,
                issuer=remote.issuer if remote else None,
            )
        )
        return ack.to_json()

    async def handle_receipt(self, data: rtc.RpcInvocationData) -> str:
        """The receipt method (spec §11): a caller holds an answer that carried the receipt token, so that reply
        need not be given any more time; once every such answer has its receipt the agent stops waiting. Only the
        token counts; any other payload changes nothing and is counted, not logged. The answer is always empty
        (it tells a caller nothing about what was accepted)."""
        self._receipt.offer(data.payload)
        return ""

    def _refused(self, err: ShutdownRpcError, data: rtc.RpcInvocationData) -> None:
        caller = data.caller_identity
        outcome = refusal_outcome(err.code)
        self.counters.add(outcome)
        # logged before it is counted: whether a flood is over depends on the budget as this refusal found it
        self._refusal_log.refused(err, outcome, rpc_request_id=data.request_id, caller=caller)
        self._decider.refused(err, caller)
        if isinstance(err, CallerOverBudget):
            self._eviction.over_budget(caller)

    def _evictable(self, identity: str) -> bool:
        participant = self._ctx.room.remote_participants.get(identity)
        return participant is not None and participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT

    async def _remove_participant(self, identity: str) -> None:
        await self._ctx.api.room.remove_participant(
            api.RoomParticipantIdentity(room=self._ctx.room.name, identity=identity)
        )

    async def _decide(self, data: rtc.RpcInvocationData) -> tuple[Acknowledgement, RemoteRequest | None]:
        binding = self.binding()
        checked = self._decider.check(data, binding)
        if isinstance(checked, DuplicateRequest):
            return checked.ack, None
        remote = checked
        verified = remote.verified
        # The replay memory decides REQUEST_ID_CONFLICT here, and a full memory (pending requests count) refuses
        # with RATE_LIMITED before the veto runs (spec §7.1).
        reservation = verified.reserve()
        if not reservation.first:
            return await self._answer_of_first_copy(remote.request_id), remote

        answer: asyncio.Future[Acknowledgement] = asyncio.get_running_loop().create_future()
        self._answers[remote.request_id] = answer
        try:
            if self._job.listening:
                await self._decider.run_veto(remote)
            # Another request may have been accepted, or the job started ending, while the veto ran.
            status = AckStatus.ACCEPTED if self._job.listening else AckStatus.ALREADY_SHUTTING_DOWN
            # The receipt token: only in the answer to this request (and its duplicates), never published.
            token = new_receipt_token() if status is AckStatus.ACCEPTED else None
            ack = Acknowledgement(
                status=status,
                request_id=remote.request_id,
                agent_identity=binding.agent_identity,
                job_id=self._ctx.job.id,
                agent_time_ms=self._clock.now_ms(),
                receipt_token=token,
            )
            verified.accept(ack, reservation=reservation)
            if token is not None:
                self._accept(remote, token)
            answer.set_result(ack)
            return ack, remote
        except asyncio.CancelledError:
            verified.release(reservation)
            answer.cancel()
            raise
        except Exception as exc:
            verified.release(reservation)
            answer.set_exception(exc)
            answer.exception()  # copies that never came still count as retrieved: no "never retrieved" log
            raise
        finally:
            del self._answers[remote.request_id]

    async def _answer_of_first_copy(self, request_id: str) -> Acknowledgement:
        """Same request still being decided (an async veto is running): share its outcome, never decide twice."""
        first = self._answers[request_id]
        try:
            ack = await asyncio.shield(first)
        except asyncio.CancelledError:
            if not first.cancelled():
                raise  # this call itself is being cancelled
            raise ShutdownRpcError(ErrorCode.INTERNAL_ERROR, "first copy of this request was cancelled") from None
        return ack.as_duplicate()

    def _accept(self, remote: RemoteRequest, receipt_token: str) -> None:
        # No await between the acknowledgement and returning it; the shutdown task starts after the reply has
        # been handed back to LiveKit (see _end_job).
        self._accepted = remote
        self._receipt.arm(receipt_token)
        self._job.handle(JobEvent.ACCEPT)
        self._shutdown_task = asyncio.get_running_loop().create_task(self._end_job(remote), name="shutdown_rpc.end_job")

    async def _end_job(self, remote: RemoteRequest) -> None:
        try:
            await reply_sent()  # silence still comes before any wait
            await self._ender.end(remote, other_cause=self._overtaken_by, receipts=self._receipt)
        finally:
            self._receipt.log_unmatched(remote.request_id)
            self._job.handle(JobEvent.SHUTDOWN_CALLED, remote.shutdown_reason)
            self.shutdown_done.set()

    def _overtaken_by(self) -> str | None:
        return self._job.ending_cause if self._job.state is JobState.ACCEPTED_OVERTAKEN else None

    def job_ending_seen(self, cause: str) -> None:
        """The job watch saw the job ending for ``cause`` (the first cause is kept)."""
        was_listening = self._job.listening
        self._job.handle(JobEvent.JOB_ENDING, cause)
        if was_listening:
            logger.info("remote shutdown: job ending for another cause", extra={"cause": self._job.ending_cause})

    async def delete_room_if_asked(self, reason: str) -> None:
        """Shutdown callback: DeleteRoom (every participant leaves) if the accepted request asked for it."""
        await self._ender.delete_room_if_asked(self._accepted)

    async def wait_closed(self) -> None:
        """Wait for the shutdown task, if one was started (tests and tools)."""
        if self._shutdown_task is not None:
            await asyncio.shield(self._shutdown_task)
