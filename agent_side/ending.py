"""How an accepted request ends the job: optional drain of the AgentSession, then ``ctx.shutdown``, then
(from a shutdown callback, once the agent has left the room) the optional DeleteRoom."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livekit.agents import AgentSession

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
