"""How an accepted request ends the job. In order (spec §11):

1. silence first: without ``drain`` the session stops speaking and listening at once (the current speech is
   interrupted, audio input and output are switched off, the session closes so nothing new is generated);
2. the room is told (``shutdown_rpc.state`` = ``ending`` attributes, spec §10), then the ``on_accepted`` hook;
3. the reply is given time to reach the caller: until a receipt (``shutdown_rpc.received``) has arrived for
   every answer that carried the receipt token, at most ``reply_flush_delay_s``; with ``drain`` also until the
   current speech has finished (``grace_ms``);
4. the job's dispatch is deleted (the server then records the job as a success, not "agent worker left the
   room"), ``ctx.shutdown`` is called once and the agent leaves the room at once (the job's teardown would
   leave only after its own work); from a shutdown callback, once the agent has left the room, the optional
   DeleteRoom.

Deciding happens elsewhere (_deciding.py); this module only ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from livekit.protocol import agent

from shutdown_rpc._log import logger
from shutdown_rpc.protocol.wire import Ending, ending_attributes

from ._livekit_compat import delete_room, primary_session, shadow_room_disconnect
from ._receipt_gate import ReceiptGate
from ._request import RemoteRequest
from ._timings import EndingTimings

if TYPE_CHECKING:
    from livekit.agents import AgentSession, JobContext


async def drain_session(session: AgentSession[Any], grace_s: float) -> bool:
    """Let the speech in progress finish, at most ``grace_s`` seconds; True if it finished in time.

    Uses ``AgentSession.shutdown(drain=True)``, which lets queued speech play out and closes the session;
    the job runner's own ``aclose()`` later waits for that close. A session that is not speaking is left to
    the job runner. When the grace runs out the speech is interrupted (forced), so the close completes.
    """
    if session.current_speech is None:
        return True
    closed = asyncio.Event()

    def _on_close(_: object) -> None:
        closed.set()

    session.on("close", _on_close)
    try:
        session.shutdown(drain=True)
        try:
            await asyncio.wait_for(closed.wait(), timeout=grace_s)
            return True
        except asyncio.TimeoutError:
            logger.warning("drain grace of %.1f s over, interrupting the remaining speech", grace_s)
            with contextlib.suppress(RuntimeError):  # the session may have closed meanwhile
                session.interrupt(force=True)
            return False
    finally:
        session.off("close", _on_close)


def silence_session(session: AgentSession[Any]) -> None:
    """Stop speaking and listening now, and generate nothing new (the session closes without draining).

    Synchronous: nothing here waits, so it runs before any wait for the reply. ``interrupt(force=True)`` also
    stops speech said with ``allow_interruptions=False`` and clears the audio already queued for the room.
    """
    with contextlib.suppress(RuntimeError):  # not running (any more)
        session.interrupt(force=True)
    with contextlib.suppress(Exception):
        session.input.set_audio_enabled(False)
    with contextlib.suppress(Exception):
        session.output.set_audio_enabled(False)
    session.shutdown(drain=False)


END_DISPATCH_TIMEOUT_S = 2.0


class JobEnder:
    """Ends the job for one accepted request. ``shutdown`` is the job's original ``ctx.shutdown``;
    ``leave_early``: leave the room right after it (a livekit internals patch, see ``_livekit_compat``)."""

    def __init__(
        self,
        ctx: JobContext,
        timings: EndingTimings,
        *,
        shutdown: Callable[[str], None],
        session: AgentSession[Any] | None = None,
        leave_early: bool = True,
    ) -> None:
        self._ctx = ctx
        self.timings = timings
        self._shutdown = shutdown
        self._leave_early = leave_early
        self._session_arg = session
        self._tasks: set[asyncio.Task[None]] = set()

    async def end(self, remote: RemoteRequest, *, other_cause: Callable[[], str | None], receipts: ReceiptGate) -> None:
        """Silence, tell the room, hook; then wait for the receipts (bounded) and the drain; then ``ctx.shutdown``.

        ``receipts`` tells when the callers confirmed they hold the answers that carried the token. ``other_cause``
        tells, right before ``ctx.shutdown``, whether the job already began ending for another cause (then the
        caller's reason will not reach the shutdown callbacks: logged as a warning).
        """
        try:
            session = self._session()
            if session is not None and not remote.options.drain:
                silence_session(session)
            self._announce(remote)
            await self._run_on_accepted(remote)
            reply_safe = receipts.wait(self.timings.reply_flush_delay_s)  # spec §11 step 3
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(reply_safe)]
            if session is not None and remote.options.drain:
                grace_s = self.timings.drain_grace_s(remote.request)
                waits.append(asyncio.ensure_future(drain_session(session, grace_s)))
            await asyncio.gather(*waits)
        except Exception:
            logger.exception("remote shutdown: error before shutting down; shutting down anyway")
        finally:
            # DeleteDispatch first, then at once (same loop turn) ctx.shutdown: the job termination the deletion
            # causes must reach the job after the caller's reason was set. The leave waits for the deletion, or
            # it could reach the server first (observed: 11 ms apart on loopback, either order), and no longer.
            dispatch_deleted = asyncio.ensure_future(self._end_dispatch())
            cause = other_cause()
            if cause is not None:
                # livekit-agents keeps the first reason: this one will not reach the shutdown callbacks.
                logger.warning(
                    "remote shutdown: the job started ending for another cause before the accepted request",
                    extra={"request_id": remote.request_id, "cause": cause},
                )
            self._shutdown(remote.shutdown_reason)
            self._leave_after(dispatch_deleted)

    async def delete_room_if_asked(self, remote: RemoteRequest | None) -> None:
        """Shutdown callback: DeleteRoom (every participant leaves) if the accepted request asked for it."""
        if remote is None or not remote.options.delete_room:
            return
        try:
            await asyncio.wait_for(delete_room(self._ctx, remote.request.room), self.timings.delete_room_timeout_s)
            logger.info("remote shutdown: room deleted", extra={"request_id": remote.request_id})
        except Exception:  # a raising shutdown callback would abort the others (asyncio.gather)
            logger.exception("remote shutdown: delete_room failed", extra={"request_id": remote.request_id})

    def _announce(self, remote: RemoteRequest) -> None:
        """Set the ``ending`` attributes in the background (the reply and the silence do not wait for them)."""
        reason = remote.reason if self.timings.show_reason else None
        attributes = ending_attributes(Ending(remote.request_id, remote.issuer, reason))
        local = self._ctx.room.local_participant
        self._background(lambda: local.set_attributes(attributes), "announce the ending")

    async def _end_dispatch(self) -> None:
        """DeleteDispatch of this job's dispatch (room jobs only: a dispatch of per-participant jobs has others),
        awaited (at most ``END_DISPATCH_TIMEOUT_S``); a failure is logged, never raised.

        livekit-server records a job that ends because its agent left the room as failed ("agent worker left
        the room"); a job terminated through its dispatch first is recorded as a success.
        """
        job = self._ctx.job
        if not (self.timings.end_dispatch and job.dispatch_id and job.type == agent.JobType.JT_ROOM):
            return
        try:
            dispatches = self._ctx.api.agent_dispatch  # built from LIVEKIT_URL/_API_KEY/_API_SECRET
            await asyncio.wait_for(dispatches.delete_dispatch(job.dispatch_id, job.room.name), END_DISPATCH_TIMEOUT_S)
        except Exception:  # the job ends anyway; the server then records it as "agent worker left the room"
            logger.warning("remote shutdown: could not delete the job's dispatch", exc_info=True)

    def _leave_after(self, first: Awaitable[None]) -> None:
        """Leave the room as soon as ``first`` is done, instead of at the end of the job's teardown (whose own
        ``room.disconnect()`` then waits for this leave); never raises (a failure is logged)."""
        if not self._leave_early:
            self._background(lambda: first, "delete the job's dispatch")  # keeps a reference until it is done
            return
        room = self._ctx.room
        original = room.disconnect

        async def leave() -> None:
            await first  # _end_dispatch: never raises
            await original()

        shadow_room_disconnect(room, self._background(leave, "leave the room"))

    def _background(self, work: Callable[[], Awaitable[Any]], what: str) -> asyncio.Task[None]:
        async def run() -> None:
            try:
                await work()
            except Exception:
                logger.warning("remote shutdown: could not %s", what, exc_info=True)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _session(self) -> AgentSession[Any] | None:
        return self._session_arg if self._session_arg is not None else primary_session(self._ctx)

    async def _run_on_accepted(self, remote: RemoteRequest) -> None:
        hook = self.timings.on_accepted
        if hook is None:
            return
        try:
            result = hook(remote)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("remote shutdown: on_accepted hook failed")
