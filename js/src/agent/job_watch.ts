/**
 * Sees "the job is ending, for any cause" (agent_side/_job_watch.py). @livekit/agents exposes no such state, so
 * three signals are combined: ctx.shutdown wrapped on this ctx instance (the application, a simulation end); the
 * Room's `disconnected` event (DeleteRoom, RemoveParticipant, a duplicate identity, the teardown); and a shutdown
 * callback (callbacks run once the room is gone). This library's own shutdown calls the original ctx.shutdown
 * (JobEndingWatch.shutdown), so the request path never loops back into itself.
 */
import type { JobContextLike } from './job_ender.js';

export class JobEndingWatch {
  readonly #original: (reason?: string) => void;

  constructor(
    private readonly ctx: JobContextLike,
    private readonly onEnding: (cause: string) => void,
  ) {
    this.#original = ctx.shutdown.bind(ctx);
  }

  /** Wrap ctx.shutdown, listen to the room's `disconnected` event, add a first shutdown callback. */
  install(): void {
    const original = this.#original;
    const shutdown = (reason = ''): void => {
      this.onEnding(reason || 'user requested');
      original(reason);
    };
    Object.defineProperty(this.ctx, 'shutdown', { configurable: true, writable: true, value: shutdown });
    this.ctx.room.on('disconnected', () => this.onEnding('room disconnected'));
    this.ctx.addShutdownCallback(() => Promise.resolve(this.onEnding('job shutting down')));
  }

  /** End the job with `reason` through the original ctx.shutdown (not reported back as a cause). */
  shutdown(reason: string): void {
    this.#original(reason);
  }
}
