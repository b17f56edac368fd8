/**
 * What an agent adds around the Verifier (the Python package keeps it in agent_side/): the access policy of
 * §7 step 15 (per-caller rate limit, key scopes, veto, the budget of refusals across all callers), step 16's
 * acceptance, and the job's state, so an accepted request ends the job once and every later valid one is
 * answered already_shutting_down. Sans-IO like the verifier: wiring `decide` to an RPC method and ending the
 * job are the caller's.
 */
import { ShutdownRpcError, type Acknowledgement, type Refusal } from './ack.js';
import { isReceiptFor, newReceiptToken } from './ending_signals.js';
import { DuplicateRequest, Verifier, type AgentBinding, type VerifierOptions, type VerifiedRequest } from './verify.js';
import type { ShutdownRequest } from './request.js';

/**
 * Limits on what requests signed with one key id may ask. Each entry matches literally, except that `*` matches
 * any run of characters, the empty one included (no `?`, no classes). `targets` is matched against `target` as
 * sent, so the any-agent target "*" passes only an entry that matches the literal `*` (such as "*" itself).
 */
export interface KeyScope {
  issuers?: readonly string[];
  targets?: readonly string[];
}

/** Whether `value` matches a key-scope entry (see KeyScope). Linear in practice, O(len(value) * len(pattern)) at worst. */
export function scopeMatches(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1; // pattern index just after the last `*` seen
  let resume = 0; // where in `value` that `*` now ends
  while (v < value.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = ++p;
      resume = v;
    } else if (p < pattern.length && pattern[p] === value[v]) {
      p++;
      v++;
    } else if (star >= 0) {
      p = star;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function inScope(entries: readonly string[] | undefined, value: string): boolean {
  return entries === undefined || entries.some((e) => scopeMatches(e, value));
}

/**
 * §7 step 15: the budget of refused attempts across all callers (RoomService.PerformRpc callers have a fresh
 * identity per call, so no per-caller limit holds them). `burst` refusals, refilled at `refillPerS` a second.
 * While it is spent, every call is still decided: a request that verifies is accepted as usual, and any refusal
 * of steps 1-14 or of a key scope is answered RATE_LIMITED (a veto keeps its code). Exactly those refusals
 * spend the budget, the ones answered RATE_LIMITED over budget included (by the code they stand for). The same
 * rule and defaults as the Python agent.
 */
export interface RefusalBudget {
  burst: number;
  refillPerS: number;
}

export const DEFAULT_REFUSAL_BUDGET: Readonly<RefusalBudget> = { burst: 100, refillPerS: 20 };

/** Who may end the job (§7 steps 6, 14, 15): the Python `AccessPolicy`. Every field is optional. */
export interface AccessPolicy {
  /** Accept target "*" (step 14), given to verify() as an option: the binding only says who the agent is. Default false. */
  allowAnyAgent?: boolean;
  /** Accept unsigned requests from this caller (step 6). Default: never. */
  allowUnsigned?: boolean | ((callerIdentity: string | undefined) => boolean);
  /** Per-key scope (step 15); a key without an entry is unrestricted. */
  keyScopes?: Record<string, KeyScope>;
  /** More of step 15 after the key scopes (e.g. who may ask for delete_room): a detail text refuses NOT_AUTHORIZED. */
  authorize?: (request: ShutdownRequest, keyId: string, callerIdentity: string | undefined) => string | undefined;
  /** Application veto (step 15): return true (or a reason text) to refuse with VETOED. */
  veto?: (request: ShutdownRequest, keyId: string, callerIdentity: string | undefined) => boolean | string | Promise<boolean | string>;
  /** Rate limit (step 15, checked first, before the payload is read): return true to refuse with RATE_LIMITED. */
  isRateLimited?: (callerIdentity: string | undefined) => boolean;
  /** Refused attempts across all callers (see RefusalBudget). Default DEFAULT_REFUSAL_BUDGET. */
  refusalBudget?: RefusalBudget;
}

/**
 * The job as the decider sees it (the Python agent's JobState, less the ending it carries out itself):
 * - `listening`: nothing has ended the job; a valid request can be accepted.
 * - `accepted`: a request was accepted; the caller ends the job with its reason.
 * - `accepted_overtaken`: accepted, but the job began ending for another cause first (noteJobEnding).
 * - `ending_other_cause`: the job is ending for a cause other than a request; nothing can be accepted any more.
 * In every state but `listening` a valid new request is answered already_shutting_down (§8).
 */
export type JobState = 'listening' | 'accepted' | 'accepted_overtaken' | 'ending_other_cause';
type JobEvent = 'accept' | 'job_ending';

/** Every allowed (state, event) pair and where it leads; any other pair is a bug. */
const TRANSITIONS: Readonly<Record<JobState, Partial<Record<JobEvent, JobState>>>> = {
  listening: { accept: 'accepted', job_ending: 'ending_other_cause' },
  accepted: { job_ending: 'accepted_overtaken' },
  accepted_overtaken: { job_ending: 'accepted_overtaken' },
  ending_other_cause: { job_ending: 'ending_other_cause' },
};

/** What `decide` answers: an acknowledgement to return (with the request, unless it is a repeat), or a refusal. */
export type Decision =
  | { outcome: 'accepted' | 'already_shutting_down'; request: ShutdownRequest; keyId: string; ack: Acknowledgement }
  | { outcome: 'duplicate'; ack: Acknowledgement }
  | { outcome: 'refused'; refusal: Refusal };

/** RATE_LIMITED standing for another refusal while the budget across all callers is spent. */
class OverBudget extends ShutdownRpcError {
  constructor(readonly original: ShutdownRpcError) {
    super('RATE_LIMITED', 'too many refused attempts from all callers');
  }
}

// §7 step 15: a refusal spends the budget only if the budget could answer it RATE_LIMITED (steps 1-14, key
// scopes). Not: RATE_LIMITED itself (a caller over its limit, a full replay memory), INTERNAL_ERROR (the agent's
// failure), VETOED (a valid request the application refused for now: retrying it later is expected).
const NOT_COUNTED = new Set(['RATE_LIMITED', 'INTERNAL_ERROR', 'VETOED']);

export interface ShutdownDeciderOptions extends VerifierOptions {
  binding: AgentBinding;
  policy?: AccessPolicy;
  /** Monotonic clock of the budget, ms. Default performance.now. */
  monotonicMs?: () => number;
  /** Told about any failure that is not a refusal (the caller gets INTERNAL_ERROR). Default: console.error. */
  onInternalError?: (error: unknown) => void;
}

/** One job's remote shutdown decisions, sans-IO: verify, authorize, accept once. */
export class ShutdownDecider {
  readonly verifier: Verifier;
  readonly binding: AgentBinding;
  readonly policy: AccessPolicy;
  #state: JobState = 'listening';
  #accepted: ShutdownRequest | undefined;
  #receiptToken: string | undefined;
  #endingCause: string | undefined;
  readonly #onInternalError: (error: unknown) => void;
  readonly #budget: RefusalBudget;
  readonly #monotonicMs: () => number;
  #tokens: number;
  #tokensAtMs: number;

  constructor(opts: ShutdownDeciderOptions) {
    this.verifier = new Verifier(opts);
    this.binding = opts.binding;
    this.policy = opts.policy ?? {};
    this.#budget = this.policy.refusalBudget ?? DEFAULT_REFUSAL_BUDGET;
    if (!(this.#budget.burst >= 1 && this.#budget.refillPerS > 0)) throw new RangeError('refusalBudget: burst >= 1, refillPerS > 0');
    this.#monotonicMs = opts.monotonicMs ?? (() => performance.now());
    this.#tokens = this.#budget.burst;
    this.#tokensAtMs = this.#monotonicMs();
    this.#onInternalError = opts.onInternalError ?? ((e) => console.error('shutdown-rpc: deciding failed', e));
  }

  get state(): JobState {
    return this.#state;
  }

  /** The request that is ending the job, once one was accepted. */
  get accepted(): ShutdownRequest | undefined {
    return this.#accepted;
  }

  /**
   * Whether one call of the receipt method (§11) carries the accepted acknowledgement's receipt token: then the
   * caller holds the acknowledgement and the agent may leave. Anything else (the request id, which the ending
   * attributes publish; a guess; a receipt before any acceptance) is false: count it, do not log it per call.
   */
  isCallerReceipt(payload: string): boolean {
    return this.#receiptToken !== undefined && isReceiptFor(payload, this.#receiptToken);
  }

  /** The first cause the job is ending for (noteJobEnding), if it is. */
  get endingCause(): string | undefined {
    return this.#endingCause;
  }

  /** The job is ending for some cause (first one kept): later valid requests are answered already_shutting_down. */
  noteJobEnding(cause: string): void {
    this.#endingCause ??= cause || 'unknown cause';
    this.#move('job_ending');
  }

  /** §7 for one RPC call: an acknowledgement to return, or a refusal to send as an RpcError. */
  async decide(payload: string, ctx: { callerIdentity?: string; nowMs?: number } = {}): Promise<Decision> {
    try {
      return await this.#decide(payload, ctx.callerIdentity, ctx.nowMs);
    } catch (e) {
      if (e instanceof ShutdownRpcError) {
        const counted = e instanceof OverBudget ? e.original : e;
        if (!NOT_COUNTED.has(counted.refusal.name)) this.#tokens = Math.max(0, this.#refilled() - 1);
        return { outcome: 'refused', refusal: e.refusal };
      }
      this.#onInternalError(e);
      return { outcome: 'refused', refusal: internalError().refusal };
    }
  }

  /** Whether the budget across all callers is full (a flood it answered RATE_LIMITED is over, §7 step 15). */
  allCallersBudgetFull(): boolean {
    return this.#refilled() >= this.#budget.burst;
  }

  #refilled(): number {
    const now = this.#monotonicMs();
    this.#tokens = Math.min(this.#budget.burst, this.#tokens + ((now - this.#tokensAtMs) / 1000) * this.#budget.refillPerS);
    this.#tokensAtMs = now;
    return this.#tokens;
  }

  // nowMs: the time of every step of this call (tests, replays); undefined reads the clock at each step.
  async #decide(payload: string, caller: string | undefined, nowMs: number | undefined): Promise<Decision> {
    // 15, first (as §7 allows): a caller over its limit is refused before its payload is read
    if (this.policy.isRateLimited?.(caller)) throw new ShutdownRpcError('RATE_LIMITED', 'too many refused attempts');
    if (this.#refilled() >= 1) return this.#decideInBudget(payload, caller, nowMs);
    try {
      return await this.#decideInBudget(payload, caller, nowMs); // the full §7 order (no screening step here)
    } catch (e) {
      throw e instanceof ShutdownRpcError && e.refusal.name !== 'VETOED' ? new OverBudget(e) : e;
    }
  }

  async #decideInBudget(payload: string, caller: string | undefined, nowMs: number | undefined): Promise<Decision> {
    const allow = this.policy.allowUnsigned;
    const allowUnsigned = typeof allow === 'function' ? allow(caller) : allow === true;
    // 1-14
    const verified = await this.verifier.verify(payload, this.binding, {
      allowUnsigned,
      allowAnyAgent: this.policy.allowAnyAgent === true,
      nowMs,
    });
    if (verified instanceof DuplicateRequest) return { outcome: 'duplicate', ack: await verified.ack };
    const { request, keyId } = verified;
    // 15: key scope
    const scopes = this.policy.keyScopes;
    const scope = scopes && Object.hasOwn(scopes, keyId) ? scopes[keyId] : undefined;
    if (scope && !inScope(scope.issuers, request.issuer)) throw new ShutdownRpcError('NOT_AUTHORIZED', 'key not allowed for this issuer');
    if (scope && !inScope(scope.targets, request.target)) throw new ShutdownRpcError('NOT_AUTHORIZED', 'key not allowed for this target');
    const refusal = this.policy.authorize?.(request, keyId, caller);
    if (refusal !== undefined) throw new ShutdownRpcError('NOT_AUTHORIZED', refusal);
    // The request id is held from here on: a copy sent meanwhile waits for this outcome.
    const pending = verified.reserve(nowMs);
    if (pending instanceof DuplicateRequest) return { outcome: 'duplicate', ack: await pending.ack };
    // 16, without asking the application: the job is ending anyway
    if (this.#state !== 'listening') return this.#answer(verified, pending.commit('already_shutting_down', nowMs));
    // 15: veto
    try {
      await this.#runVeto(request, keyId, caller);
    } catch (e) {
      pending.release(e instanceof ShutdownRpcError ? e : internalError());
      throw e;
    }
    // 16: another request may have been accepted, or the job started ending, while the veto ran
    const accepting = this.#state === 'listening';
    if (!accepting) return this.#answer(verified, pending.commit('already_shutting_down', nowMs));
    this.#move('accept');
    this.#accepted = request;
    this.#receiptToken = newReceiptToken(); // only in this answer and its repeats (§8): never published
    return this.#answer(verified, pending.commit('accepted', nowMs, this.#receiptToken));
  }

  async #runVeto(request: ShutdownRequest, keyId: string, caller: string | undefined): Promise<void> {
    if (!this.policy.veto) return;
    const verdict = await this.policy.veto(request, keyId, caller);
    if (verdict !== false) throw new ShutdownRpcError('VETOED', typeof verdict === 'string' ? verdict : 'vetoed by the application');
  }

  #answer(verified: VerifiedRequest, ack: Acknowledgement): Decision {
    const outcome = ack.status === 'accepted' ? 'accepted' : 'already_shutting_down';
    return { outcome, request: verified.request, keyId: verified.keyId, ack };
  }

  #move(event: JobEvent): void {
    const to = TRANSITIONS[this.#state][event];
    if (to === undefined) throw new Error(`job state: ${event} is not allowed in ${this.#state}`);
    this.#state = to;
  }
}

function internalError(): ShutdownRpcError {
  return new ShutdownRpcError('INTERNAL_ERROR', 'agent failed while handling the request');
}

/** §11: the reason string shutdown callbacks receive. */
export function shutdownReason(req: ShutdownRequest): string {
  return `remote shutdown by ${req.issuer} [${req.requestId}]: ${req.reason}`;
}
