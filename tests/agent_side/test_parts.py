"""Reason format, rate limiter, key loading, drain, and a fuzz of the handler's only two exits."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from livekit import rtc
from livekit.agents import AgentSession

from shutdown_rpc.agent_side import EndingTimings, RateLimit, ShutdownHandler, enable_remote_shutdown, parse_reason
from shutdown_rpc.agent_side._enable import Seams
from shutdown_rpc.agent_side._job_ender import drain_session
from shutdown_rpc.agent_side._keys import keys_from_env_value, load_key_ring
from shutdown_rpc.agent_side._rate_limit import FailureLimiter
from shutdown_rpc.agent_side._reason import format_reason, is_remote_reason
from shutdown_rpc.protocol import Ed25519SigningKey, Ed25519VerifyingKey, ErrorCode, dump_key_file
from shutdown_rpc.protocol.wire import METHOD_NAME, FixedClock
from tests.agent_side.fakes import KEY, NOW_MS, OTHER_KEY, FakeCtx, invocation, opts, signed

printable = st.text(st.characters(blacklist_categories=("Cc",)), min_size=1, max_size=60)  # type: ignore[arg-type]
request_ids = st.from_regex(r"[A-Za-z0-9_-]{22,64}", fullmatch=True)


@given(issuer=printable, request_id=request_ids, reason=st.text(max_size=80))
def test_reason_round_trips(issuer: str, request_id: str, reason: str) -> None:
    text = format_reason(issuer, request_id, reason)
    parsed = parse_reason(text)
    assert parsed is not None and parsed.request_id == request_id
    if " [" not in issuer:  # the documented ambiguity: an issuer containing " [<id>]: " parses short
        assert (parsed.issuer, parsed.reason) == (issuer, reason)


def test_reason_exact_format_and_other_endings() -> None:
    rid = "A" * 22
    assert format_reason("ops", rid, "bye") == f"remote shutdown by ops [{rid}]: bye"
    for other in ("room disconnected", "user requested", "job crashed", "parent process shutdown", ""):
        assert parse_reason(other) is None and not is_remote_reason(other)


def test_limiter_bucket_refills_and_memory_is_bounded() -> None:
    now = [0.0]
    limiter = FailureLimiter(RateLimit(burst=2, refill_per_s=0.5, max_callers=3), monotonic=lambda: now[0])
    limiter.record_failure("a")
    assert limiter.allows("a")
    limiter.record_failure("a")
    assert not limiter.allows("a") and limiter.allows("b")
    now[0] = 2.0
    assert limiter.allows("a")
    for caller in ("b", "c", "d", "e"):
        limiter.record_failure(caller)
    assert len(limiter) == 3


def test_rate_limit_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RateLimit(burst=0)


def test_keys_from_env_forms(tmp_path: Path) -> None:
    ed = Ed25519SigningKey.from_seed("ops-1", b"s" * 32)
    f1, f2 = tmp_path / "k1.json", tmp_path / "k2.json"
    f1.write_text(dump_key_file(KEY))
    f2.write_text(dump_key_file(ed))
    assert [k.key_id for k in keys_from_env_value(dump_key_file(KEY))] == ["backend-1"]
    assert [k.key_id for k in keys_from_env_value(f"{f1}:{f2}")] == ["backend-1", "ops-1"]
    mixed = json.dumps([json.loads(dump_key_file(OTHER_KEY)), str(f2)])
    keys = keys_from_env_value(mixed)
    assert [k.key_id for k in keys] == ["ops-1", "ops-1"]
    # a private key file is reduced to its public half (keys compare by identity, so compare the bytes)
    assert isinstance(keys[1], Ed25519VerifyingKey)
    assert keys[1].raw_public_bytes() == ed.verifying_key().raw_public_bytes()
    assert keys_from_env_value("  ") == []


def test_load_key_ring_precedence_and_errors(tmp_path: Path) -> None:
    env = {"SHUTDOWN_RPC_KEYS": dump_key_file(OTHER_KEY)}
    assert list(load_key_ring(env=env)) == ["ops-1"]
    assert list(load_key_ring([KEY], env=env)) == ["backend-1"]  # code wins over the environment
    bad = tmp_path / "bad.json"
    secret = base64.b64encode(b"z" * 8).decode()
    bad.write_text(json.dumps({"key_id": "x", "algorithm": "hmac-sha256", "secret": secret}))
    with pytest.raises(ValueError) as info:
        load_key_ring(files=[bad])
    assert str(bad) in str(info.value) and secret not in str(info.value)
    with pytest.raises(ValueError, match="duplicate"):
        load_key_ring([KEY], files=[_write(tmp_path, KEY)])


def _write(tmp_path: Path, key: Any) -> Path:
    p = tmp_path / f"{key.key_id}.json"
    p.write_text(dump_key_file(key))
    return p


class FakeAudioSwitch:
    """``input`` / ``output`` of a session: records set_audio_enabled."""

    def __init__(self) -> None:
        self.audio_enabled = True

    def set_audio_enabled(self, enabled: bool) -> None:
        self.audio_enabled = enabled


class FakeSession:
    """current_speech / on / off / shutdown(drain) / interrupt(force) / input / output: what ending uses."""

    def __init__(self, speaking: bool) -> None:
        self.input, self.output = FakeAudioSwitch(), FakeAudioSwitch()
        self.current_speech: object | None = object() if speaking else None
        self.handlers: list[Any] = []
        self.shutdown_requested = asyncio.Event()
        self.drain_args: list[bool] = []
        self.interrupted: list[bool] = []

    def on(self, event: str, handler: Any) -> None:
        assert event == "close"
        self.handlers.append(handler)

    def off(self, event: str, handler: Any) -> None:
        self.handlers.remove(handler)

    def shutdown(self, *, drain: bool = True) -> None:
        self.drain_args.append(drain)
        self.shutdown_requested.set()

    def interrupt(self, *, force: bool = False) -> None:
        self.interrupted.append(force)

    def finish_speech(self) -> None:
        self.current_speech = None
        for handler in list(self.handlers):
            handler(object())


async def enable_with_session(ctx: FakeCtx, session: FakeSession) -> ShutdownHandler:
    """Remote shutdown on ``ctx`` with ``session`` as the one to drain, and no reply-flush delay."""
    return await enable_remote_shutdown(
        ctx.as_job_context(),
        keys=[KEY],
        timings=EndingTimings(reply_flush_delay_s=0),
        session=cast("AgentSession[Any]", session),
        _testing=Seams(clock=FixedClock(NOW_MS)),
    )


async def test_drain_waits_for_the_speech_then_shuts_down() -> None:
    ctx = FakeCtx()
    session = FakeSession(speaking=True)
    remote = await enable_with_session(ctx, session)
    handler = ctx.room.local_participant.methods[METHOD_NAME]
    await handler(invocation(signed(options=opts(drain=True, grace_ms=30_000))))
    await session.shutdown_requested.wait()
    assert session.drain_args == [True]
    assert ctx.shutdown_calls == []  # still speaking: no shutdown yet
    session.finish_speech()
    await remote.shutdown_done.wait()
    assert len(ctx.shutdown_calls) == 1 and session.interrupted == [] and session.handlers == []


async def test_drain_grace_over_interrupts_then_shuts_down() -> None:
    ctx = FakeCtx()
    session = FakeSession(speaking=True)  # never finishes on its own
    remote = await enable_with_session(ctx, session)
    await ctx.room.local_participant.methods[METHOD_NAME](invocation(signed(options=opts(drain=True, grace_ms=1))))
    await remote.shutdown_done.wait()
    assert session.interrupted == [True] and len(ctx.shutdown_calls) == 1


async def test_no_drain_when_not_asked_or_not_speaking() -> None:
    for speaking, drain, closed_with in ((True, False, [False]), (False, True, [])):
        ctx = FakeCtx()
        session = FakeSession(speaking=speaking)
        remote = await enable_with_session(ctx, session)
        await ctx.room.local_participant.methods[METHOD_NAME](invocation(signed(options=opts(drain=drain))))
        await remote.shutdown_done.wait()
        # without drain the session is silenced and closed at once (drain=False); nothing is drained
        assert session.drain_args == closed_with and len(ctx.shutdown_calls) == 1


async def test_drain_session_returns_at_once_when_silent() -> None:
    assert await drain_session(cast("AgentSession[Any]", FakeSession(speaking=False)), 60.0)


def test_policy_grace_defaults_and_caps() -> None:
    from tests.agent_side.fakes import request

    timings = EndingTimings(default_drain_grace_ms=7_000, max_drain_grace_ms=20_000)
    assert timings.drain_grace_s(request(options=opts(drain=True))) == 7.0
    assert timings.drain_grace_s(request(options=opts(drain=True, grace_ms=60_000))) == 20.0
    with pytest.raises(ValueError):
        EndingTimings(reply_flush_delay_s=-1)


@settings(max_examples=300, deadline=None)
@given(payload=st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())))
def test_handler_answers_ack_or_protocol_rpc_error_only(payload: str) -> None:
    async def run() -> None:
        ctx = FakeCtx()
        await enable_remote_shutdown(ctx.as_job_context(), keys=[KEY], _testing=Seams(clock=FixedClock(NOW_MS)))
        with pytest.raises(rtc.RpcError) as info:  # a random payload is never accepted
            await ctx.room.local_participant.methods[METHOD_NAME](invocation(payload))
        err = info.value
        assert err.code in {int(c) for c in ErrorCode} and err.code != ErrorCode.INTERNAL_ERROR
        assert ctx.shutdown_calls == []

    asyncio.run(run())
