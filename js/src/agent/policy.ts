/**
 * What a Node agent lets through once a request verifies (AccessPolicy: key scopes, unsigned callers, veto, rate
 * limits) and how it ends the job after accepting one (EndingTimings). The same rules and defaults as the Python
 * agent (agent_side/_policy.py, _rate_limit.py).
 */
import { MAX_GRACE_MS } from '../codes.js';
import { scopeMatches } from '../decider.js';
import type { ShutdownRequest } from '../request.js';
import type { RemoteRequest } from './remote_request.js';

/**
 * Limits on what requests signed with one key id may ask. Entries match literally, except that `*` matches any
 * run of characters (the same rule as everywhere in this package). `deleteRoom: false` refuses the delete_room
 * option for this key (NOT_AUTHORIZED). Default: unrestricted.
 */
export interface KeyScope {
  issuers?: readonly string[];
  targets?: readonly string[];
  deleteRoom?: boolean;
}

/** The parts of a room participant the unsigned rule looks at (@livekit/rtc-node's RemoteParticipant has them). */
export interface CallerParticipant {
  readonly identity: string;
  readonly kind?: number | undefined;
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * Which room participants may send UNSIGNED requests: every criterion given must hold, at least one is needed.
 * The caller must be in the room (a RoomService.PerformRpc caller is not). `attributes` alone is no authorization:
 * a participant whose token grants canUpdateOwnMetadata can set its own (a warning is logged). `deleteRoom`:
 * whether unsigned requests may ask for delete_room (default false).
 */
export interface UnsignedCallers {
  identities?: readonly string[];
  kinds?: readonly number[];
  attributes?: Readonly<Record<string, string>>;
  deleteRoom?: boolean;
}

/**
 * Budgets of refused attempts (spec §7 step 15). Per caller identity: `burst` refusals, then one more every
 * 1/`refillPerS` s, in at most `maxCallers` buckets (least recently seen forgotten first); a caller over budget is
 * refused RATE_LIMITED before its payload is read. Across all callers: `allCallersBurst`, refilled at
 * `allCallersRefillPerS`; while spent, every call is still decided and refusals are answered RATE_LIMITED.
 */
export interface RateLimit {
  burst: number;
  refillPerS: number;
  maxCallers: number;
  allCallersBurst: number;
  allCallersRefillPerS: number;
}

export const DEFAULT_RATE_LIMIT: Readonly<RateLimit> = {
  burst: 10,
  refillPerS: 0.2,
  maxCallers: 1024,
  allCallersBurst: 100,
  allCallersRefillPerS: 20,
};

/** Application veto: a short reason refuses the request (VETOED, sent to the caller); undefined proceeds. */
export type Veto = (request: RemoteRequest) => string | undefined | null | Promise<string | undefined | null>;

/** Who may end the job. The defaults are the safe ones. */
export interface AccessPolicy {
  /** Accept the any-agent target "*" (else NOT_AUTHORIZED). Default false. */
  allowAnyAgent?: boolean;
  /** Per key id limits; a key without an entry is unrestricted. */
  keyScopes?: Readonly<Record<string, KeyScope>>;
  /** Who may send unsigned requests; undefined (default) refuses them all. */
  unsigned?: UnsignedCallers;
  /** Master switch for the delete_room option (NOT_AUTHORIZED when false). Default true. */
  allowDeleteRoom?: boolean;
  veto?: Veto;
  rateLimit?: Partial<RateLimit>;
}

/** How the job ends after an accepted request (spec §11). */
export interface EndingTimings {
  /** The most the agent waits for the callers' receipts before ctx.shutdown. Default 3000 ms; 0..10000. */
  replyFlushDelayMs?: number;
  /** Drain bound when a request's grace_ms is 0. Default 10000 ms. */
  defaultDrainGraceMs?: number;
  /** Cap on any request's grace_ms. Default 60000 ms. */
  maxDrainGraceMs?: number;
  /** Bound of the DeleteRoom call made after leaving. Default 5000 ms. */
  deleteRoomTimeoutMs?: number;
  /** Bound of the DeleteDispatch call before ctx.shutdown. Default 2000 ms. */
  endDispatchTimeoutMs?: number;
}

export const DEFAULT_REPLY_FLUSH_DELAY_MS = 3000; // spec §11: the shortest bound measured at >= 99.5 % delivery on `mobile`

export function resolveTimings(t: EndingTimings = {}): Required<EndingTimings> {
  const resolved = {
    replyFlushDelayMs: t.replyFlushDelayMs ?? DEFAULT_REPLY_FLUSH_DELAY_MS,
    defaultDrainGraceMs: t.defaultDrainGraceMs ?? 10_000,
    maxDrainGraceMs: t.maxDrainGraceMs ?? MAX_GRACE_MS,
    deleteRoomTimeoutMs: t.deleteRoomTimeoutMs ?? 5000,
    endDispatchTimeoutMs: t.endDispatchTimeoutMs ?? 2000,
  };
  if (!(resolved.replyFlushDelayMs >= 0 && resolved.replyFlushDelayMs <= 10_000)) throw new RangeError('replyFlushDelayMs must be within 0..10000');
  for (const grace of [resolved.defaultDrainGraceMs, resolved.maxDrainGraceMs]) {
    if (!(grace >= 0 && grace <= MAX_GRACE_MS)) throw new RangeError(`drain grace must be within 0..${MAX_GRACE_MS} ms`);
  }
  if (!(resolved.deleteRoomTimeoutMs > 0 && resolved.endDispatchTimeoutMs > 0)) throw new RangeError('timeouts must be positive');
  return resolved;
}

/** How long a drain may last for `request`, in ms. */
export function drainGraceMs(timings: Required<EndingTimings>, request: ShutdownRequest): number {
  return Math.min(request.options.graceMs || timings.defaultDrainGraceMs, timings.maxDrainGraceMs);
}

export function resolveRateLimit(limit: Partial<RateLimit> = {}): RateLimit {
  const resolved = { ...DEFAULT_RATE_LIMIT, ...limit };
  const { burst, refillPerS, maxCallers, allCallersBurst, allCallersRefillPerS } = resolved;
  if (!(burst >= 1 && refillPerS > 0 && maxCallers >= 1 && allCallersBurst >= 1 && allCallersRefillPerS > 0)) {
    throw new RangeError('rateLimit: burst, refillPerS and maxCallers (and the allCallers ones) must be positive');
  }
  return resolved;
}

/** Throws when an UnsignedCallers rule names no criterion; returns a warning when it trusts attributes alone. */
export function checkUnsignedCallers(rule: UnsignedCallers): string | undefined {
  const hasIdentities = (rule.identities?.length ?? 0) > 0;
  const hasKinds = (rule.kinds?.length ?? 0) > 0;
  const hasAttributes = Object.keys(rule.attributes ?? {}).length > 0;
  if (!(hasIdentities || hasKinds || hasAttributes)) throw new RangeError('UnsignedCallers needs at least one of identities, kinds, attributes');
  if (hasAttributes && !(hasIdentities || hasKinds)) {
    return (
      'UnsignedCallers with attributes alone admits any participant that sets these attributes on itself (a token with ' +
      'canUpdateOwnMetadata): add identities or kinds, or make sure no participant of the room can update its own metadata'
    );
  }
  return undefined;
}

/** Whether `participant` (undefined: not in the room) may send an unsigned request under `rule`. */
export function unsignedAllowed(rule: UnsignedCallers, participant: CallerParticipant | undefined): boolean {
  if (participant === undefined) return false;
  if (rule.identities?.length && !rule.identities.some((e) => scopeMatches(e, participant.identity))) return false;
  if (rule.kinds?.length && !rule.kinds.includes(participant.kind ?? -1)) return false;
  return Object.entries(rule.attributes ?? {}).every(([name, value]) => participant.attributes[name] === value);
}

/** NOT_AUTHORIZED detail for a verified request's delete_room option, or undefined when it may ask for it. */
export function deleteRoomRefusal(policy: AccessPolicy, request: ShutdownRequest, keyId: string): string | undefined {
  if (!request.options.deleteRoom) return undefined;
  if (policy.allowDeleteRoom === false) return 'delete_room not allowed by this agent';
  if (keyId === '') return policy.unsigned?.deleteRoom === true ? undefined : 'delete_room not allowed unsigned';
  const scope = policy.keyScopes && Object.hasOwn(policy.keyScopes, keyId) ? policy.keyScopes[keyId] : undefined;
  return scope?.deleteRoom === false ? 'delete_room not allowed for this key' : undefined;
}
