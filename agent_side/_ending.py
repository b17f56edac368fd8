"""How an accepted request ends the job: the ``on_accepted`` hook, drain of the AgentSession (or nothing) while
the reply is flushed, then ``ctx.shutdown`` once, then (from a shutdown callback, once the agent has left the
room) the optional DeleteRoom. Deciding happens elsewhere (_deciding.py); this module only ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._policy import ShutdownPolicy
from ._request import RemoteRequest

if TYPE_CHECKING:
    from livekit.agents import AgentSession, JobContext

logger = logging.getLogger("shutdown_rpc.agent_side")


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


class JobEnder:
    """Ends the job for one accepted request. ``shutdown`` is the job's original ``ctx.shutdown``."""

    def __init__(
        self,
        ctx: JobContext,
        policy: ShutdownPolicy,
        *,
        shutdown: Callable[[str], None],
        session: AgentSession[Any] | None = None,
    ) -> None:
        self._ctx = ctx
        self._policy = policy
        self._shutdown = shutdown
        self._session = session

    async def end(self, remote: RemoteRequest, *, other_cause: Callable[[], str | None]) -> None:
        """Hook, drain and flush delay concurrently, then ``ctx.shutdown`` whatever happened.

        ``other_cause`` tells, right before ``ctx.shutdown``, whether the job already began ending for another
        cause (then the caller's reason will not reach the shutdown callbacks: logged as a warning).
        """
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
            cause = other_cause()
            if cause is not None:
                # livekit-agents keeps the first reason: this one will not reach the shutdown callbacks.
                logger.warning(
                    "remote shutdown: the job started ending for another cause before the accepted request",
                    extra={"request_id": remote.request_id, "cause": cause},
                )
            self._shutdown(remote.shutdown_reason)

    async def delete_room_if_asked(self, remote: RemoteRequest | None) -> None:
        """Shutdown callback: DeleteRoom (every participant leaves) if the accepted request asked for it."""
        if remote is None or not remote.options.delete_room:
            return
        try:
            await asyncio.wait_for(self._ctx.delete_room(remote.request.room), self._policy.delete_room_timeout_s)
            logger.info("remote shutdown: room deleted", extra={"request_id": remote.request_id})
        except Exception:  # a raising shutdown callback would abort the others (asyncio.gather)
            logger.exception("remote shutdown: delete_room failed", extra={"request_id": remote.request_id})

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
