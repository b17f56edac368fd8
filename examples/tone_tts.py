"""An offline TTS for examples and tests: a quiet tone lasting ``ms_per_char`` per character of text.

There is no network to a speech provider here; this still makes ``session.say(...)`` produce real audio
that takes real time to play, so a drain is observable.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from livekit.agents import APIConnectOptions, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

SAMPLE_RATE = 24_000
CHUNK_SAMPLES = SAMPLE_RATE // 10  # 100 ms: exactly 44 periods of 440 Hz, so every chunk is the same bytes
_STEP = 2 * math.pi * 440 / SAMPLE_RATE
# Made once: computing the samples per utterance (up to 20 s of audio) blocked the agent's event loop for
# hundreds of ms at every greeting, which delayed RPC replies in the benchmarks.
_CHUNK = struct.pack(f"<{CHUNK_SAMPLES}h", *(int(3000 * math.sin(_STEP * i)) for i in range(CHUNK_SAMPLES)))


class ToneTTS(tts.TTS[Any]):
    """Non-streaming TTS producing a 440 Hz tone, ``ms_per_char`` milliseconds per input character."""

    def __init__(self, *, ms_per_char: int = 40, max_ms: int = 20_000) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=SAMPLE_RATE, num_channels=1)
        self.ms_per_char = ms_per_char
        self.max_ms = max_ms

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _ToneStream(tts=self, input_text=text, conn_options=conn_options)


class _ToneStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        owner = self._tts
        assert isinstance(owner, ToneTTS)
        duration_ms = min(owner.max_ms, max(100, len(self.input_text) * owner.ms_per_char))
        samples = SAMPLE_RATE * duration_ms // 1000
        output_emitter.initialize(
            request_id=f"tone-{id(self)}", sample_rate=SAMPLE_RATE, num_channels=1, mime_type="audio/pcm"
        )
        for start in range(0, samples, CHUNK_SAMPLES):
            output_emitter.push(_CHUNK[: 2 * min(CHUNK_SAMPLES, samples - start)])
        output_emitter.flush()
