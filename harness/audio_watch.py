"""What a participant hears from another one: when the other's audio was last loud, as received.

Used to measure "request -> silence" at the user (bench/bench_e2e.py) and to order "the agent fell silent"
against "the agent left" in tests. A frame is loud when its peak sample reaches ``threshold`` (the example
agent's tone TTS peaks at about 3000; the receiver's packet-loss concealment fades well below 1000).
Timestamps are taken on receipt: ``perf_counter`` for durations, ``time.time`` for ordering against events
other processes on this machine record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

DEFAULT_THRESHOLD = 1000


@dataclass
class Heard:
    """Receipt times of one frame (perf_counter seconds, wall seconds)."""

    perf: float
    wall: float


@dataclass
class AudioWatch:
    """Listens to ``identity``'s first audio track in ``room`` (call :meth:`attach` before it is subscribed)."""

    room: rtc.Room
    identity: str
    threshold: int = DEFAULT_THRESHOLD
    last_loud: Heard | None = None
    first_loud: Heard | None = None
    frames: int = 0
    quiet_after_loud: int = 0  # frames below the threshold since the last loud one
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    _loud: asyncio.Event = field(default_factory=asyncio.Event)
    _frame: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def attach(self) -> AudioWatch:
        self.room.on("track_subscribed", self._on_track)
        for participant in self.room.remote_participants.values():
            for pub in participant.track_publications.values():
                if pub.track is not None:
                    self._on_track(pub.track, pub, participant)
        return self

    def _on_track(self, track: rtc.Track, _pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant) -> None:
        if who.identity != self.identity or track.kind != rtc.TrackKind.KIND_AUDIO or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._listen(track))

    async def _listen(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream.from_track(track=track, sample_rate=24000, num_channels=1)
        try:
            async for event in stream:
                now = Heard(time.perf_counter(), time.time())
                self.frames += 1
                samples = np.frombuffer(event.frame.data, dtype=np.int16)
                if samples.size and int(np.abs(samples).max()) >= self.threshold:
                    self.last_loud = now
                    self.first_loud = self.first_loud or now
                    self.quiet_after_loud = 0
                    self._loud.set()
                elif self.last_loud is not None:
                    self.quiet_after_loud += 1
                self._frame.set()
        finally:
            self.ended.set()
            self._frame.set()
            with contextlib.suppress(Exception):
                await stream.aclose()

    async def wait_loud(self, timeout: float = 30.0) -> None:
        """Wait until a loud frame has been heard."""
        await asyncio.wait_for(self._loud.wait(), timeout)

    async def wait_quiet(self, frames: int = 5, timeout: float = 30.0) -> Heard:
        """Wait until ``frames`` quiet frames in a row followed loud audio, or the track ended; returns when."""
        deadline = time.monotonic() + timeout
        while not (self.ended.is_set() or (self.last_loud is not None and self.quiet_after_loud >= frames)):
            self._frame.clear()
            await asyncio.wait_for(self._frame.wait(), max(0.0, deadline - time.monotonic()))
        return Heard(time.perf_counter(), time.time())

    def silence_ms_after(self, t0: float) -> float:
        """Milliseconds from ``t0`` (perf_counter) to the last loud frame heard (0 if none came after ``t0``)."""
        if self.last_loud is None:
            return 0.0
        return max(0.0, (self.last_loud.perf - t0) * 1000)

    async def close(self) -> None:
        self.room.off("track_subscribed", self._on_track)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
