/**
 * How an accepted request ends a Node agent's job, in the order of spec §11 (agent_side/_job_ender.py):
 * 1. silence first: without drain the session stops speaking and listening at once (current speech interrupted,
 *    even one said as not interruptible; audio input and output off; the session closes so nothing new starts);
 * 2. the room is told (`shutdown_rpc.state` = `ending` attributes, §10), then the onAccepted hook;
 * 3. the reply is given time to reach the caller: until every answer that carried the receipt token has its
 *    receipt, at most replyFlushDelayMs; with drain also until the current speech has finished (bounded by grace_ms);
 * 4. the job's dispatch is deleted (the server then records the job as a success, not "agent worker left the
 *    room"), ctx.shutdown(reason) is called once and the agent leaves the room at once; from a shutdown callback,
 *    once it has left, the optional DeleteRoom.
 */
import { endingAttributes } from '../ending_signals.js';
import type { AgentLogger } from './outcomes.js';
import { drainGraceMs, type EndingTimings } from './policy.js';
import type { ReceiptGate } from './receipt_gate.js';
import type { RemoteRequest } from './remote_request.js';

// livekit.JobType.JT_ROOM: one job per room (a dispatch of per-participant jobs has others). A job process gets its
// Job through the worker's JSON IPC, where the enum is its name ("JT_ROOM"); a Job message holds the number 0.
const JT_ROOM = new Set<number | string | undefined>([0, 'JT_ROOM', undefined]);

/** The parts of an @livekit/agents AgentSession the ending uses. */
export interface SessionLike {
  interrupt(options?: { force?: boolean }): unknown;
  shutdown(options?: { drain?: boolean }): void;
  readonly input: { setAudioEnabled(enable: boolean): void };
  readonly output: { setAudioEnabled(enable: boolean): void; readonly audio?: { clearBuffer(): void } | null };
  once(event: 'close', listener: (ev: unknown) => void): unknown;
}

/** The parts of an @livekit/rtc-node Room the handler and the ending use. */
export interface RoomLike {
  readonly name: string | undefined;
  readonly isConnected: boolean;
  readonly localParticipant: {
    readonly identity: string;
    registerRpcMethod(method: string, handler: (data: RpcInvocation) => Promise<string>): void;
    setAttributes(attributes: Record<string, string>): Promise<void>;
  } | undefined;
  readonly remoteParticipants: ReadonlyMap<string, { identity: string; kind?: number | undefined; attributes: Record<string, string>; info?: { kind?: number } }>;
  disconnect(): Promise<void>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

export interface RpcInvocation {
  requestId: string;
  callerIdentity: string;
  payload: string;
  responseTimeout: number;
}

/** The parts of an @livekit/agents JobContext remote shutdown uses. */
export interface JobContextLike {
  readonly room: RoomLike;
  readonly job: { id: string; dispatchId?: string; type?: number | string; room?: { name?: string } | undefined };
  readonly info: { url: string; apiKey?: string; apiSecret?: string };
  shutdown(reason?: string): void;
  addShutdownCallback(callback: () => Promise<void>): void;
  deleteRoom(roomName?: string): Promise<void>;
  readonly _primaryAgentSession?: unknown;
}

export interface JobEnderOptions {
  /** The job's original ctx.shutdown (not the watch's wrapper). */
  shutdown: (reason: string) => void;
  session: SessionLike | undefined;
  onAccepted: ((request: RemoteRequest) => void | Promise<void>) | undefined;
  showReason: boolean;
  endDispatch: boolean;
  /** Deletes the job's dispatch (default: livekit-server-sdk's AgentDispatchClient with the job's credentials). */
  deleteDispatch?: (dispatchId: string, room: string) => Promise<void>;
  logger: AgentLogger;
  /** Told once the wait for the callers' receipts is over (either way). */
  receiptWaitOver?: () => void;
}

/** Ends the job for one accepted request. */
export class JobEnder {
  constructor(
    private readonly ctx: JobContextLike,
    private readonly timings: Required<EndingTimings>,
    private readonly opts: JobEnderOptions,
  ) {}

  /**
   * Silence, tell the room, hook; then wait for the receipts (bounded) and the drain; then ctx.shutdown once.
   * `receipts` tells when the callers confirmed they hold the answers that carried the token.
   * `otherCause` tells, right before ctx.shutdown, whether the job already began ending for another cause (then
   * the caller's reason is not the one the job ends with: logged as a warning).
   */
  async end(remote: RemoteRequest, otherCause: () => string | undefined, receipts: ReceiptGate): Promise<void> {
    const { logger } = this.opts;
    try {
      const session = this.#session();
      if (session !== undefined && !remote.options.drain) silenceSession(session, logger);
      this.#announce(remote);
      await this.#runOnAccepted(remote);
      const waits: Promise<unknown>[] = [this.#replySafe(receipts, remote)];
      if (session !== undefined && remote.options.drain) waits.push(drainSession(session, drainGraceMs(this.timings, remote.request), logger));
      await Promise.all(waits);
    } catch (e) {
      logger.error({ error: String(e) }, 'remote shutdown: error before shutting down; shutting down anyway');
    } finally {
      // DeleteDispatch first, then at once ctx.shutdown: the job termination the deletion causes reaches the job
      // after the caller's reason was set. The leave waits for the deletion (or it could reach the server first).
      const dispatchDeleted = this.#endDispatch();
      const cause = otherCause();
      if (cause !== undefined) {
        logger.warn({ request_id: remote.requestId, cause }, 'remote shutdown: the job started ending for another cause before the accepted request');
      }
      this.opts.shutdown(remote.shutdownReason);
      this.#leaveAfter(dispatchDeleted);
    }
  }

  /** Shutdown callback: DeleteRoom (every participant leaves) if the accepted request asked for it. */
  async deleteRoomIfAsked(remote: RemoteRequest | undefined): Promise<void> {
    if (remote === undefined || !remote.options.deleteRoom) return;
    try {
      await withTimeout(this.ctx.deleteRoom(remote.request.room), this.timings.deleteRoomTimeoutMs);
      this.opts.logger.info({ request_id: remote.requestId }, 'remote shutdown: room deleted');
    } catch (e) {
      this.opts.logger.error({ request_id: remote.requestId, error: String(e) }, 'remote shutdown: delete_room failed');
    }
  }

  /** Until every answer that carried the token has its receipt, at most replyFlushDelayMs (spec §11 step 3). */
  async #replySafe(receipts: ReceiptGate, remote: RemoteRequest): Promise<void> {
    const ms = this.timings.replyFlushDelayMs;
    if (await receipts.wait(ms)) {
      this.opts.logger.info({ request_id: remote.requestId }, `remote shutdown: receipt of ${remote.requestId} arrived, leaving`);
    } else {
      this.opts.logger.info({ request_id: remote.requestId }, `remote shutdown: no receipt of ${remote.requestId} for every answer within ${ms} ms, leaving`);
    }
    this.opts.receiptWaitOver?.();
  }

  #announce(remote: RemoteRequest): void {
    const reason = this.opts.showReason ? remote.reason : undefined;
    const attributes = endingAttributes({ requestId: remote.requestId, issuer: remote.issuer, ...(reason !== undefined ? { reason } : {}) });
    const local = this.ctx.room.localParticipant;
    if (local === undefined) return;
    local.setAttributes(attributes).catch((e: unknown) => this.opts.logger.warn({ error: String(e) }, 'remote shutdown: could not announce the ending'));
  }

  async #runOnAccepted(remote: RemoteRequest): Promise<void> {
    if (this.opts.onAccepted === undefined) return;
    try {
      await this.opts.onAccepted(remote);
    } catch (e) {
      this.opts.logger.error({ error: String(e) }, 'remote shutdown: onAccepted hook failed');
    }
  }

  /** DeleteDispatch of this job's dispatch (room jobs only), bounded; a failure is logged, never thrown. */
  async #endDispatch(): Promise<void> {
    const job = this.ctx.job;
    if (!(this.opts.endDispatch && job.dispatchId && JT_ROOM.has(job.type))) return;
    const room = job.room?.name ?? this.ctx.room.name ?? '';
    const deleteDispatch = this.opts.deleteDispatch ?? ((id: string, name: string) => this.#deleteDispatch(id, name));
    try {
      await withTimeout(deleteDispatch(job.dispatchId, room), this.timings.endDispatchTimeoutMs);
    } catch (e) {
      this.opts.logger.warn({ error: String(e) }, 'remote shutdown: could not delete the job\'s dispatch');
    }
  }

  async #deleteDispatch(dispatchId: string, room: string): Promise<void> {
    const { AgentDispatchClient } = await import('livekit-server-sdk');
    const { url, apiKey, apiSecret } = this.ctx.info;
    await new AgentDispatchClient(url, apiKey, apiSecret).deleteDispatch(dispatchId, room);
  }

  /**
   * Leave the room as soon as `first` is done, and make the job teardown's own room.disconnect() wait for this
   * leave instead of starting a second one. @livekit/agents disconnects the room only after its teardown (closing
   * the session, the session report), with no hook before it; an instance property shadows the method.
   */
  #leaveAfter(first: Promise<void>): void {
    const room = this.ctx.room;
    const original = room.disconnect.bind(room);
    const leaving = first.then(() => original()).catch((e: unknown) => this.opts.logger.warn({ error: String(e) }, 'remote shutdown: could not leave the room'));
    Object.defineProperty(room, 'disconnect', { configurable: true, writable: true, value: () => leaving });
  }

  #session(): SessionLike | undefined {
    return this.opts.session ?? (this.ctx._primaryAgentSession as SessionLike | undefined);
  }
}

/**
 * Stop speaking and listening now, and generate nothing new (the session closes without draining). Synchronous:
 * it runs before any wait for the reply. interrupt({force: true}) also stops speech said as not interruptible.
 */
export function silenceSession(session: SessionLike, logger: AgentLogger): void {
  const attempt = (what: string, work: () => unknown): void => {
    try {
      settle(work());
    } catch (e) {
      logger.warn({ error: String(e) }, `remote shutdown: could not ${what} (session not running?)`);
    }
  };
  attempt('interrupt the speech', () => session.interrupt({ force: true }));
  // The interruption reaches the audio output only once the speech's pending captureFrame has resolved (up to a
  // frame later); dropping the queued audio here does not wait for it.
  attempt('drop the queued audio', () => session.output.audio?.clearBuffer());
  attempt('switch audio input off', () => session.input.setAudioEnabled(false));
  attempt('switch audio output off', () => session.output.setAudioEnabled(false));
  attempt('close the session', () => session.shutdown({ drain: false }));
}

/** Let the speech in progress finish (the session closes after it), at most `graceMs`; true if it did in time. */
export async function drainSession(session: SessionLike, graceMs: number, logger: AgentLogger): Promise<boolean> {
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  session.shutdown({ drain: true });
  try {
    await withTimeout(closed, graceMs);
    return true;
  } catch {
    logger.warn({ grace_ms: graceMs }, `drain grace of ${(graceMs / 1000).toFixed(1)} s over, interrupting the remaining speech`);
    try {
      settle(session.interrupt({ force: true }));
    } catch {
      // the session closed meanwhile
    }
    return false;
  }
}

/** Swallow the rejection of what interrupt() returns (a Future whose `await` is a promise, or a promise). */
function settle(result: unknown): void {
  const pending = (result as { await?: unknown } | undefined)?.await ?? result;
  if (pending instanceof Promise) pending.catch(() => undefined);
}

class TimeoutError extends Error {}

/** `work`, or a TimeoutError after `ms`. */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
