/**
 * The per-job remote shutdown of a Node agent (agent_side/_handler.py): the RPC handlers of the shutdown and
 * receipt methods, around the package's sans-IO decider (one implementation of spec §7), and the ending of §11.
 *
 * Refusals leave as @livekit/rtc-node RpcErrors with a §9 code. The acknowledgement is returned first; the ending
 * starts in a later macrotask (setImmediate), because @livekit/rtc-node hands the reply to its native layer in
 * the microtask that resumes after the handler's promise settles, and Room.disconnect() does not flush it.
 */
import { refusalToRpcError, serializeAck, type Refusal } from '../ack.js';
import { ShutdownDecider, type JobState as DeciderState } from '../decider.js';
import { signRequest } from '../envelope.js';
import { HmacSha256Key, type KeyRing } from '../keys.js';
import { createRequest } from '../request.js';
import { Verifier } from '../verify.js';
import type { ReplayCache } from '../replay.js';
import type { Clock } from '../verify.js';
import { JobEnder, type JobContextLike, type RpcInvocation, type SessionLike } from './job_ender.js';
import { JobEndingWatch } from './job_watch.js';
import { logOutcome, loggable, OutcomeCounters, type AgentLogger } from './outcomes.js';
import { checkUnsignedCallers, deleteRoomRefusal, resolveRateLimit, resolveTimings, unsignedAllowed, type AccessPolicy, type EndingTimings } from './policy.js';
import { FailureLimiter } from './rate_limit.js';
import { ReceiptGate } from './receipt_gate.js';
import { remoteRequest, type RemoteRequest } from './remote_request.js';

/** The job's state as far as remote shutdown is concerned: the decider's, plus `shut_down` once ctx.shutdown ran. */
export type JobState = DeciderState | 'shut_down';

/** The constructor of @livekit/rtc-node's RpcError: the one error type the SDK sends back with its code. */
export type RpcErrorClass = new (code: number, message: string, data?: string) => Error;

const OVER_BUDGET_DETAIL = 'too many refused attempts from all callers';
// §7 step 15: RATE_LIMITED and INTERNAL_ERROR are not the caller's doing; a veto refuses a valid request for now
const NOT_COUNTED = new Set(['RATE_LIMITED', 'INTERNAL_ERROR', 'VETOED']);
const MAX_CALLERS_OVER_LIMIT = 1024; // callers remembered as over their own limit (least recently refused first out)

export interface ShutdownHandlerOptions {
  access?: AccessPolicy;
  timings?: EndingTimings;
  session?: SessionLike;
  onAccepted?: (request: RemoteRequest) => void | Promise<void>;
  showReason?: boolean;
  endDispatch?: boolean;
  logger: AgentLogger;
  /** What an UNKNOWN_KEY refusal says when the agent knows why (no keys, or keys that failed to load). */
  unknownKeyDetail?: string | undefined;
  /** @livekit/rtc-node's RpcError (loaded by enableRemoteShutdown, so this module needs no peer to load). */
  rpcError: RpcErrorClass;
  clock?: Clock;
  replay?: ReplayCache;
  deleteDispatch?: (dispatchId: string, room: string) => Promise<void>;
}

/** Remote shutdown for one job: what enableRemoteShutdown returns. */
export class ShutdownHandler {
  /** Calls by outcome (`counters.snapshot()` for exporters). */
  readonly counters = new OutcomeCounters();
  /** Resolves once both methods are registered (and advertised, or advertising failed). */
  readonly registered: Promise<void>;
  /** Resolves once ctx.shutdown has been called for the accepted request. */
  readonly shutdownDone: Promise<void>;
  readonly access: AccessPolicy;
  readonly #ctx: JobContextLike;
  readonly #ring: KeyRing;
  readonly #opts: ShutdownHandlerOptions;
  readonly #limiter: FailureLimiter;
  readonly #watch: JobEndingWatch;
  readonly #ender: JobEnder;
  readonly #logger: AgentLogger;
  #decider: ShutdownDecider | undefined;
  #accepted: RemoteRequest | undefined;
  #endingCause: string | undefined;
  #shutDown = false;
  #ending: Promise<void> | undefined;
  #overBudget = false;
  #unloggedRefusals = 0;
  readonly #overLimit = new Set<string>(); // callers over their own limit, logged once each
  readonly #receipts = new ReceiptGate((payload) => this.#decider?.isCallerReceipt(payload) === true);
  #markRegistered!: () => void;
  #markShutdown!: () => void;

  constructor(ctx: JobContextLike, ring: KeyRing, opts: ShutdownHandlerOptions) {
    this.#ctx = ctx;
    this.#ring = ring;
    this.#opts = opts;
    this.#logger = opts.logger;
    this.access = opts.access ?? {};
    const unsignedWarning = this.access.unsigned && checkUnsignedCallers(this.access.unsigned);
    if (unsignedWarning) this.#logger.warn({}, `remote shutdown: ${unsignedWarning}`);
    const limit = resolveRateLimit(this.access.rateLimit);
    this.#limiter = new FailureLimiter(limit.burst, limit.refillPerS, limit.maxCallers);
    this.registered = new Promise((resolve) => (this.#markRegistered = resolve));
    this.shutdownDone = new Promise((resolve) => (this.#markShutdown = resolve));
    this.#watch = new JobEndingWatch(ctx, (cause) => this.#jobEndingSeen(cause));
    this.#watch.install();
    this.#ender = new JobEnder(ctx, resolveTimings(opts.timings), {
      shutdown: (reason) => this.#watch.shutdown(reason),
      session: opts.session,
      onAccepted: opts.onAccepted,
      showReason: opts.showReason ?? false,
      endDispatch: opts.endDispatch ?? true,
      logger: this.#logger,
      receiptWaitOver: () => this.#logOtherReceipts(),
      ...(opts.deleteDispatch ? { deleteDispatch: opts.deleteDispatch } : {}),
    });
  }

  /** The accepted request ending this job, if any. */
  get accepted(): RemoteRequest | undefined {
    return this.#accepted;
  }

  /** The first known cause the job is ending for (a shutdown reason), or undefined while it is not ending. */
  get jobEnding(): string | undefined {
    return this.#endingCause;
  }

  get state(): JobState {
    if (this.#shutDown) return 'shut_down';
    return this.#decider?.state ?? (this.#endingCause === undefined ? 'listening' : 'ending_other_cause');
  }

  /** Key ids the agent accepts (what it advertises). */
  get keyIds(): string[] {
    return this.#ring.keyIds;
  }

  /** Wait for the ending started by an accepted request, if one was (tests and tools). */
  async waitClosed(): Promise<void> {
    await this.#ending;
  }

  /** Internal: bind the decider to the connected room (called once, at registration). */
  bind(): void {
    const room = this.#ctx.room;
    this.#decider = new ShutdownDecider({
      keys: this.#ring,
      ...(this.#opts.clock ? { clock: this.#opts.clock } : {}),
      ...(this.#opts.replay ? { replay: this.#opts.replay } : {}),
      binding: { room: room.name ?? this.#ctx.job.room?.name ?? '', agentIdentity: room.localParticipant?.identity ?? '', jobId: this.#ctx.job.id },
      policy: {
        allowAnyAgent: this.access.allowAnyAgent === true,
        allowUnsigned: (caller) => this.access.unsigned !== undefined && unsignedAllowed(this.access.unsigned, participant(room, caller)),
        keyScopes: { ...this.access.keyScopes },
        authorize: (request, keyId) => deleteRoomRefusal(this.access, request, keyId),
        isRateLimited: (caller) => !this.#limiter.allows(caller ?? ''),
        veto: this.access.veto && (async (request, keyId, caller) => {
          const verdict = await this.access.veto?.(remoteRequest(request, keyId, caller ?? ''));
          return verdict === undefined || verdict === null ? false : verdict || true;
        }),
      },
      onInternalError: (e) => this.#logger.error({ error: String(e) }, 'remote shutdown handler failed'),
    });
    if (this.#endingCause !== undefined) this.#decider.noteJobEnding(this.#endingCause);
    this.#warmUp().catch((e: unknown) => this.#logger.warn({ error: String(e) }, 'remote shutdown: warm-up failed'));
  }

  /**
   * Verify a throwaway request with a throwaway key, and use each key of the ring once, off the request path:
   * every job is a fresh process, whose first request would otherwise pay for V8 compiling the verification
   * code and for importing the keys into WebCrypto (about 10 ms on the benchmark's machine).
   */
  async #warmUp(): Promise<void> {
    const key = new HmacSha256Key('warm-up', new Uint8Array(32));
    const binding = { room: 'warm-up', agentIdentity: 'warm-up', jobId: 'warm-up' };
    const payload = await signRequest(createRequest({ room: binding.room, target: binding.agentIdentity, issuer: 'warm-up' }), key);
    await new Verifier({ keys: [key] }).verify(payload, binding);
    for (const id of this.#ring.keyIds) {
      const ringKey = this.#ring.get(id);
      await ringKey?.verify(new Uint8Array(1), new Uint8Array(ringKey.signatureLength)).catch(() => false);
    }
  }

  /** Internal: mark the methods as registered. */
  markRegistered(): void {
    this.#markRegistered();
  }

  /** The RPC handler of shutdown_rpc.shutdown: an acknowledgement JSON, or an RpcError with a §9 code. */
  async handle(data: RpcInvocation): Promise<string> {
    const decider = this.#decider;
    if (decider === undefined) throw new this.#opts.rpcError(1500, 'remote shutdown is not ready');
    const caller = data.callerIdentity;
    const result = await decider.decide(data.payload, { callerIdentity: caller });
    if (result.outcome === 'refused') throw this.#refused(result.refusal, data);
    const { ack } = result;
    this.counters.add(ack.status);
    let remote: RemoteRequest | undefined;
    if (result.outcome !== 'duplicate') remote = remoteRequest(result.request, result.keyId, caller);
    // Logged once the reply is on its way (a pretty-printed record costs the reply a few ms in dev mode).
    const fields = { rpcRequestId: data.requestId, caller, requestId: ack.requestId, keyId: remote?.keyId, issuer: remote?.issuer };
    setImmediate(() => logOutcome(this.#logger, ack.status, fields));
    if (result.outcome === 'accepted' && remote !== undefined) this.#accept(remote);
    this.#receipts.answered(ack); // counted as it is handed back: one more receipt to wait for if it has the token
    return serializeAck(ack);
  }

  /**
   * The receipt method (spec §11): a payload that is the receipt token means a caller holds an answer that carried
   * it; once every such answer has its receipt the agent stops waiting. Anything else (the request id, which the
   * room can read; a guess) changes nothing and is counted, not logged per call. The answer is always empty.
   */
  handleReceipt(data: RpcInvocation): Promise<string> {
    this.#receipts.offer(data.payload);
    return Promise.resolve('');
  }

  /** Shutdown callback: DeleteRoom if the accepted request asked for it (after the agent has left the room). */
  async deleteRoomIfAsked(): Promise<void> {
    await this.#ender.deleteRoomIfAsked(this.#accepted);
  }

  #refused(refusal: Refusal, data: RpcInvocation): Error {
    let said = refusal;
    const why = this.#opts.unknownKeyDetail;
    if (refusal.name === 'UNKNOWN_KEY' && why !== undefined) said = { ...refusal, detail: why };
    const outcome = refusal.name.toLowerCase();
    this.counters.add(outcome);
    const caller = data.callerIdentity;
    const callerOverLimit = refusal.name === 'RATE_LIMITED' && !this.#limiter.allows(caller);
    if (!NOT_COUNTED.has(refusal.name)) this.#limiter.recordFailure(caller);
    if (callerOverLimit) {
      // once per caller while it stays over its limit, never once per attempt (anyone in the room could fill the log)
      if (!this.#overLimit.delete(caller)) {
        this.#logger.warn({ caller_identity: loggable(caller) }, `remote shutdown: caller ${loggable(caller)} is over its refusal budget; its refusals are no longer logged one by one`);
      }
      this.#overLimit.add(caller);
      if (this.#overLimit.size > MAX_CALLERS_OVER_LIMIT) this.#overLimit.delete(this.#overLimit.values().next().value ?? '');
    } else if ((refusal.name === 'RATE_LIMITED' && refusal.detail === OVER_BUDGET_DETAIL) || (this.#overBudget && !this.#decider?.allCallersBudgetFull())) {
      // A flood is logged when it starts and, summed, once the budget is full again; never once per attempt.
      if (!this.#overBudget) this.#logger.warn({}, 'remote shutdown: too many refused attempts from all callers; answering RATE_LIMITED');
      this.#overBudget = true;
      this.#unloggedRefusals += 1;
    } else {
      this.#overLimit.delete(caller);
      if (this.#overBudget) {
        this.#logger.warn(
          { unlogged_refusals: this.#unloggedRefusals },
          `remote shutdown: refused-attempt budget recovered; ${this.#unloggedRefusals} attempts were answered RATE_LIMITED unlogged`,
        );
        this.#overBudget = false;
        this.#unloggedRefusals = 0;
      }
      logOutcome(this.#logger, outcome, { rpcRequestId: data.requestId, caller: data.callerIdentity, code: said.code, detail: said.detail });
    }
    const wire = refusalToRpcError(said);
    return new this.#opts.rpcError(wire.code, wire.message, wire.data);
  }

  #accept(remote: RemoteRequest): void {
    this.#accepted = remote;
    // After the reply: see the module comment.
    this.#ending = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#ender.end(remote, () => this.#overtakenBy(), this.#receipts))
      .finally(() => {
        this.#shutDown = true;
        this.#endingCause ??= remote.shutdownReason;
        this.#markShutdown();
      });
  }

  /** Log, once, how many receipts were not the caller's (when the agent stops waiting for its receipt). */
  #logOtherReceipts(): void {
    const unmatched = this.#receipts.unmatched;
    if (unmatched > 0) {
      this.#logger.warn({ other_receipts: unmatched }, `remote shutdown: ${unmatched} receipts without the acknowledgement's token changed nothing`);
    }
  }

  #overtakenBy(): string | undefined {
    return this.#decider?.state === 'accepted_overtaken' ? this.#endingCause : undefined;
  }

  #jobEndingSeen(cause: string): void {
    if (this.#shutDown) return;
    const wasListening = this.state === 'listening';
    this.#endingCause ??= cause;
    this.#decider?.noteJobEnding(cause);
    if (wasListening) this.#logger.info({ cause: loggable(cause) }, 'remote shutdown: job ending for another cause');
  }
}

function participant(room: JobContextLike['room'], caller: string | undefined): { identity: string; kind?: number; attributes: Record<string, string> } | undefined {
  if (caller === undefined) return undefined;
  const p = room.remoteParticipants.get(caller);
  if (p === undefined) return undefined;
  const kind = p.kind ?? p.info?.kind;
  return { identity: p.identity, ...(kind !== undefined ? { kind } : {}), attributes: p.attributes };
}
