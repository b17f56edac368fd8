/**
 * The §7 verifier as a pure decision, the same shape as the Python package's `Verifier`: a payload, the
 * agent's binding, a clock, a key ring and a replay memory in; a VerifiedRequest or a DuplicateRequest out, or
 * one ShutdownRpcError. It runs steps 1-14; step 15 (key scopes, veto, rate limit) and the job's state belong
 * to the agent (handler.ts), and step 16 is VerifiedRequest.accept, which remembers the request itself.
 */
import { asDuplicate, ShutdownRpcError, type Acknowledgement } from './ack.js';
import { bytesEqual, concatBytes, utf8Encode } from './bytes.js';
import { DEFAULT_SKEW_S, MAX_LIFETIME_S, SUPPORTED_VERSIONS, UINT32_MAX } from './codes.js';
import { readBody, readEnvelope, signedMessage } from './envelope.js';
import { KeyRing, type VerifyingKey } from './keys.js';
import { isMsgpackInt } from './msgpack.js';
import { Reservation, ReplayCache, type ReplayEntry } from './replay.js';
import { ANY_AGENT, bodyFromMap, type ShutdownRequest } from './request.js';

/** Who the verifying agent is (§7 steps 13-14). */
export interface AgentBinding {
  room: string;
  agentIdentity: string;
  jobId: string;
}

/** Wall-clock time in integer milliseconds since the epoch. */
export interface Clock {
  nowMs(): number;
}

export const SYSTEM_CLOCK: Clock = { nowMs: () => Date.now() };

/** A clock that says what it is told: for tests, vectors and replays of recorded traffic. */
export class FixedClock implements Clock {
  constructor(private now: number) {}

  nowMs(): number {
    return this.now;
  }

  set(nowMs: number): void {
    this.now = nowMs;
  }

  advance(deltaMs: number): void {
    this.now += deltaMs;
  }
}

export interface VerifierOptions {
  keys: KeyRing | Iterable<VerifyingKey>;
  replay?: ReplayCache;
  clock?: Clock;
  /** Clock-skew tolerance in seconds, both ways (§6), 0-300. Default 30. */
  skewS?: number;
  /** Longest lifetime accepted, 1-300 s (§6). Default 300. */
  maxLifetimeS?: number;
  supportedVersions?: readonly number[];
}

/** The two policy switches steps 6 and 14 need; the agent decides them per call. */
export interface VerifyOptions {
  /** Step 6: this caller may send unsigned requests. Default false. */
  allowUnsigned?: boolean;
  /** Step 14: accept the any-agent target "*". Default false. */
  allowAnyAgent?: boolean;
  /** Overrides the clock for this call. */
  nowMs?: number;
}

export type AcceptStatus = 'accepted' | 'already_shutting_down';

/** A request that held through step 14; accepting it (step 16) is what remembers it. */
export class VerifiedRequest {
  readonly #reserve: (nowMs?: number) => PendingRequest | DuplicateRequest;

  /** Made by Verifier.verify only. */
  constructor(
    readonly request: ShutdownRequest,
    /** "" for an unsigned request. */
    readonly keyId: string,
    reserve: (nowMs?: number) => PendingRequest | DuplicateRequest,
  ) {
    this.#reserve = reserve;
  }

  /**
   * Step 16 at once: remember the request and return its acknowledgement. RATE_LIMITED when the memory is full.
   * If a copy of this request was accepted since it was verified, the answer is that copy's, as a repeat.
   */
  async accept(status: AcceptStatus = 'accepted', nowMs?: number): Promise<Acknowledgement> {
    const held = this.reserve(nowMs);
    return held instanceof DuplicateRequest ? held.ack : held.commit(status, nowMs);
  }

  /**
   * Hold the request id while the agent decides (an async veto): a repeat that arrives meanwhile gets this
   * request's outcome instead of a second decision. A DuplicateRequest if a copy got the id first (both passed
   * step 11 at once). RATE_LIMITED when the memory is full.
   */
  reserve(nowMs?: number): PendingRequest | DuplicateRequest {
    return this.#reserve(nowMs);
  }
}

/** A verified request whose id is held: commit accepts it (step 16), release refuses it. */
export class PendingRequest {
  constructor(
    private readonly reservation: Reservation,
    private readonly ackFor: (status: AcceptStatus, nowMs?: number) => Acknowledgement,
  ) {}

  /**
   * Accept with `status`; an agent passes a fresh `receiptToken` (newReceiptToken) with `accepted` (§8), which
   * repeats of the request then get too. The Verifier alone gives none (the vectors' acknowledgements).
   */
  commit(status: AcceptStatus = 'accepted', nowMs?: number, receiptToken?: string): Acknowledgement {
    const ack = this.ackFor(status, nowMs);
    if (receiptToken !== undefined && status === 'accepted') ack.receiptToken = receiptToken;
    this.reservation.commit(ack);
    return ack;
  }

  release(error: ShutdownRpcError): void {
    this.reservation.release(error);
  }
}

/** Step 11: the same request was accepted before (or is being decided): its answer, as a repeat gets it. */
export class DuplicateRequest {
  /** Rejects with the first copy's refusal if that copy was refused while this one waited. */
  readonly ack: Promise<Acknowledgement>;

  constructor(
    readonly requestId: string,
    first: ReplayEntry,
  ) {
    this.ack = first.answer.then(asDuplicate);
    this.ack.catch(() => undefined); // a caller that drops this object gets no unhandled rejection
  }
}

export class Verifier {
  readonly keys: KeyRing;
  readonly replay: ReplayCache;
  readonly clock: Clock;
  readonly skewS: number;
  readonly maxLifetimeS: number;
  readonly supportedVersions: readonly number[];

  constructor(opts: VerifierOptions) {
    this.keys = opts.keys instanceof KeyRing ? opts.keys : new KeyRing(opts.keys);
    this.replay = opts.replay ?? new ReplayCache();
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.skewS = opts.skewS ?? DEFAULT_SKEW_S;
    this.maxLifetimeS = opts.maxLifetimeS ?? MAX_LIFETIME_S;
    this.supportedVersions = opts.supportedVersions ?? SUPPORTED_VERSIONS;
    if (!Number.isInteger(this.skewS) || this.skewS < 0 || this.skewS > 300) throw new RangeError('skewS must be within 0..300');
    if (!Number.isInteger(this.maxLifetimeS) || this.maxLifetimeS < 1 || this.maxLifetimeS > MAX_LIFETIME_S) {
      throw new RangeError(`maxLifetimeS must be within 1..${MAX_LIFETIME_S}`);
    }
  }

  /** Steps 1-14 of §7 on one payload. Throws ShutdownRpcError with the step's code; remembers nothing. */
  async verify(payload: string, binding: AgentBinding, opts: VerifyOptions = {}): Promise<VerifiedRequest | DuplicateRequest> {
    const fail = (name: ConstructorParameters<typeof ShutdownRpcError>[0], detail: string): never => {
      throw new ShutdownRpcError(name, detail, this.supportedVersions);
    };

    // 1-5
    const env = readEnvelope(payload, this.supportedVersions);
    if (!env.ok) return fail(env.name, env.detail);
    const { version, keyId, signature, body } = env;

    if (keyId === '') {
      // 6
      if (opts.allowUnsigned !== true) fail('UNSIGNED_REFUSED', 'unsigned requests are not allowed from this caller');
    } else {
      // 7
      const key = this.keys.get(keyId);
      if (!key) return fail('UNKNOWN_KEY', `unknown key id ${keyId}`);
      // 8: the key ring, not the message, fixes the algorithm; a signature of another length is never computed on
      if (signature.length !== key.signatureLength) fail('BAD_SIGNATURE', 'signature of the wrong length');
      if (!(await key.verify(signedMessage(version, keyId, body), signature))) fail('BAD_SIGNATURE', 'signature does not verify');
    }

    // 9
    const decoded = readBody(body);
    if (!decoded.ok) return fail(decoded.name, decoded.detail);
    const map = decoded.map;

    // 10
    const nowMs = opts.nowMs ?? this.clock.nowMs();
    const iat = map.get('issued_at');
    const exp = map.get('expires_at');
    const inRange = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= UINT32_MAX;
    if (!isMsgpackInt(iat) || !isMsgpackInt(exp) || !inRange(iat) || !inRange(exp) || exp <= iat) {
      fail('INVALID_REQUEST', 'issued_at/expires_at missing, not uint32 integers, or not increasing');
    }
    const [issuedAt, expiresAt] = [iat as number, exp as number];
    if (expiresAt - issuedAt > this.maxLifetimeS) fail('LIFETIME_TOO_LONG', `lifetime over ${this.maxLifetimeS} s`);
    if (nowMs < (issuedAt - this.skewS) * 1000) fail('NOT_YET_VALID', 'issued in the future');
    if (nowMs >= (expiresAt + this.skewS) * 1000) fail('EXPIRED', 'expired');

    // 11
    const rid = map.get('request_id');
    const kid = utf8Encode(keyId);
    const signedBytes = concatBytes(new Uint8Array([version, kid.length]), kid, body);
    if (typeof rid === 'string') {
      const seen = this.replay.lookup(rid, nowMs);
      if (seen) {
        if (!bytesEqual(seen.signedBytes, signedBytes)) fail('REQUEST_ID_CONFLICT', 'request id used before for another request');
        return new DuplicateRequest(rid, seen);
      }
    }

    // 12
    const req = bodyFromMap(map);
    if (typeof req === 'string') return fail('INVALID_REQUEST', req);

    // 13
    if (req.room !== binding.room) fail('WRONG_ROOM', 'request bound to another room');
    // 14
    if (req.target === ANY_AGENT) {
      if (opts.allowAnyAgent !== true) fail('NOT_AUTHORIZED', 'any-agent requests are not allowed');
    } else if (req.target !== binding.agentIdentity && req.target !== binding.jobId) {
      fail('WRONG_TARGET', 'request bound to another agent');
    }

    const forgetAtMs = (req.expiresAt + this.skewS) * 1000;
    const ackFor = (status: AcceptStatus, at?: number): Acknowledgement => ({
      version,
      status,
      requestId: req.requestId,
      agentIdentity: binding.agentIdentity,
      jobId: binding.jobId,
      agentTimeMs: at ?? this.clock.nowMs(),
    });
    const reserve = (at?: number): PendingRequest | DuplicateRequest => {
      const held = this.replay.reserve(req.requestId, signedBytes, forgetAtMs, at ?? this.clock.nowMs());
      return held instanceof Reservation ? new PendingRequest(held, ackFor) : new DuplicateRequest(req.requestId, held);
    };
    return new VerifiedRequest(req, keyId, reserve);
  }
}
