"""The one call an agent's entrypoint makes: ``handler = await enable_remote_shutdown(ctx, ...)``. The one place
that wires: it builds the handler, then installs the job watch, the shutdown callbacks and the RPC methods."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shutdown_rpc._log import logger
from shutdown_rpc.protocol import KeyRing, Verifier
from shutdown_rpc.protocol.wire import (
    METHOD_NAME,
    RECEIPT_METHOD_NAME,
    AnyKey,
    Clock,
    ReplayCache,
    advertisement_attributes,
)

from ._deciding import ShutdownDecider
from ._handler import ShutdownHandler
from ._job_ender import JobEnder
from ._job_watch import JobEndingWatch
from ._keys import load_keys_tolerantly
from ._livekit_compat import NO_PRIMARY_SESSION_LOG, internals_verified, primary_session_supported, room_connected
from ._policy import AccessPolicy
from ._timings import EndingTimings
from ._warm_up import warm_accepting_path

if TYPE_CHECKING:
    from livekit.agents import AgentSession, JobContext

ADVERTISE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Seams:
    """Internal: what tests replace (``_testing=Seams(clock=FixedClock(...))``). Not for agent authors.

    ``clock`` is the verifier's and the handler's time (default: the system clock); ``replay`` the replay memory
    (default: a fresh ``ReplayCache`` of ``DEFAULT_REPLAY_CAPACITY``).
    """

    clock: Clock | None = None
    replay: ReplayCache | None = None


async def enable_remote_shutdown(
    ctx: JobContext,
    *,
    keys: KeyRing | Iterable[AnyKey] | None = None,
    key_files: Iterable[str | os.PathLike[str]] = (),
    env: Mapping[str, str] | None = None,
    access: AccessPolicy | None = None,
    timings: EndingTimings | None = None,
    session: AgentSession[Any] | None = None,
    _testing: Seams | None = None,
) -> ShutdownHandler:
    """Let callers holding one of ``keys`` ask this job to end. Call once per job, before or after ``ctx.connect()``.

    Keys come from ``keys`` and ``key_files``, else from ``$SHUTDOWN_RPC_KEYS``. ``access`` says who may end
    the job (default: signed requests for this agent only), ``timings`` how it then ends. The RPC method is
    registered as soon as the room is connected (now, if it already is) and then advertised in the agent's
    attributes (``shutdown_rpc.method`` / ``.versions`` / ``.key_ids``). ``session`` (default: the job's
    primary AgentSession) is what a ``drain`` request drains. ``_testing`` is internal (tests' clock and replay
    memory).

    Bad deployment configuration never ends the job. A key file or ``SHUTDOWN_RPC_KEYS`` entry that cannot be
    loaded (missing, unreadable, not a key, ...) is left out: the entries that load are used, ONE ERROR names
    each failed entry (variable or ``key_files=``, position, path; never a key's value), and a request signed
    with a key that did not load is refused with ``UNKNOWN_KEY`` saying this agent's keys could not be loaded.
    Without any key (and no access policy for unsigned callers) the method is still registered and every
    request is refused that way, so a caller is always told. Installed livekit versions outside those verified
    are logged as one ERROR (``_livekit_compat``).
    """
    access = access or AccessPolicy()
    loaded = load_keys_tolerantly(keys, files=key_files, env=env)
    problem = loaded.error_log(unsigned_allowed=access.unsigned is not None)
    if problem is not None:
        logger.error("%s", problem)
    seams = _testing or Seams()
    verifier = Verifier(loaded.ring, replay=seams.replay, clock=seams.clock)
    warm_accepting_path(verifier.clock)
    verified = internals_verified()
    if session is None and not primary_session_supported(ctx):
        logger.error(NO_PRIMARY_SESSION_LOG)

    watch = JobEndingWatch(ctx)
    decider = ShutdownDecider(
        verifier,
        access,
        clock=verifier.clock,
        participants=lambda: ctx.room.remote_participants,
        unknown_key_detail=loaded.unknown_key_detail(),
    )
    ender = JobEnder(ctx, timings or EndingTimings(), shutdown=watch.shutdown, session=session, leave_early=verified)
    handler = ShutdownHandler(ctx, decider, ender)
    watch.install(handler.job_ending_seen, wrap_shutdown=verified)  # its shutdown callback runs first of ours

    async def delete_room_after_shutdown(reason: str) -> None:
        await handler.delete_room_if_asked(reason)

    ctx.add_shutdown_callback(delete_room_after_shutdown)

    if ctx.room.isconnected():
        await _register_and_advertise(ctx, handler)
    else:
        task = asyncio.get_running_loop().create_task(_register_when_connected(ctx, handler))

        async def stop_waiting_for_connection() -> None:
            task.cancel()

        ctx.add_shutdown_callback(stop_waiting_for_connection)
    return handler


async def _register_when_connected(ctx: JobContext, handler: ShutdownHandler) -> None:
    await room_connected(ctx.room)
    await _register_and_advertise(ctx, handler)


async def _register_and_advertise(ctx: JobContext, handler: ShutdownHandler) -> None:
    local = ctx.room.local_participant
    local.register_rpc_method(METHOD_NAME, handler.handle)
    local.register_rpc_method(RECEIPT_METHOD_NAME, handler.handle_receipt)
    try:
        await asyncio.wait_for(local.set_attributes(advertisement_attributes(handler.key_ids)), ADVERTISE_TIMEOUT_S)
    except Exception:
        # Advertising is a convenience for callers; the method works without it.
        logger.warning("remote shutdown: could not advertise in participant attributes", exc_info=True)
    handler.registered.set()
    # Not "enabled" when nothing can pass: the ERROR logged at the start said why.
    disabled = not handler.key_ids and handler.access.unsigned is None
    logger.info(
        "remote shutdown registered, DISABLED (no keys): every request is refused with UNKNOWN_KEY"
        if disabled
        else "remote shutdown enabled",
        extra={"method": METHOD_NAME, "key_ids": list(handler.key_ids), "agent_identity": local.identity},
    )
