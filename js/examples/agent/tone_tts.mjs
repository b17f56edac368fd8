// An offline TTS for the example: a quiet 440 Hz tone lasting msPerChar per character of text (examples/tone_tts.py's
// twin). No speech provider, no network: session.say(...) still produces real audio that takes real time to play,
// so a drain and the silence are observable.
import { tts } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';

const SAMPLE_RATE = 24_000;
const CHUNK_SAMPLES = SAMPLE_RATE / 10; // 100 ms: exactly 44 periods of 440 Hz, so every chunk is the same samples
const CHUNK = Int16Array.from({ length: CHUNK_SAMPLES }, (_, i) => Math.trunc(3000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE)));

export class ToneTTS extends tts.TTS {
  label = 'tone-tts';

  constructor({ msPerChar = 40, maxMs = 20_000 } = {}) {
    super(SAMPLE_RATE, 1, { streaming: false });
    this.msPerChar = msPerChar;
    this.maxMs = maxMs;
  }

  synthesize(text, connOptions, abortSignal) {
    return new ToneStream(text, this, connOptions, abortSignal);
  }

  stream() {
    throw new Error('ToneTTS does not stream');
  }
}

class ToneStream extends tts.ChunkedStream {
  label = 'tone-tts';

  constructor(text, owner, connOptions, abortSignal) {
    super(text, owner, connOptions, abortSignal);
    this.owner = owner;
    this.text = text;
  }

  async run() {
    const durationMs = Math.min(this.owner.maxMs, Math.max(100, this.text.length * this.owner.msPerChar));
    const samples = (SAMPLE_RATE * durationMs) / 1000;
    const requestId = `tone-${Math.random().toString(36).slice(2)}`;
    for (let start = 0; start < samples; start += CHUNK_SAMPLES) {
      const n = Math.min(CHUNK_SAMPLES, samples - start);
      const frame = new AudioFrame(CHUNK.slice(0, n), SAMPLE_RATE, 1, n);
      this.queue.put({ requestId, segmentId: requestId, frame, final: start + n >= samples });
    }
    this.queue.close();
    await Promise.resolve();
  }
}
