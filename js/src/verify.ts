/**
 * The full §7 verifier, with the §7.1 replay memory and the §6 time rules. Sans-IO: it takes a payload, the
 * caller identity and a clock, and returns an acknowledgement or a refusal; wiring it to an RPC method and
 * ending a job is the agent's business.
 */
import { makeRefusal, type Acknowledgement, type AckStatus, type Refusal } from './ack.js';
import { bytesToHex, concatBytes, toArrayBuffer, utf8Encode } from './bytes.js';
import { DEFAULT_SKEW_S, MAX_LIFETIME_S, SUPPORTED_VERSIONS, UINT32_MAX, type RefusalName } from './codes.js';
import { readBody, readEnvelope, signedMessage } from './envelope.js';
import { KeyRing, type VerificationKey } from './keys.js';
import { isMsgpackInt } from './msgpack.js';
import { ANY_AGENT, bodyFromMap, type ShutdownRequest } from './request.js';

/** Who the verifying agent is (§7 steps 13-14). */
export interface AgentBinding {
  room: string;
  agentIdentity: string;
  jobId: string;
}

export interface VerifierPolicy {
  /** Accept target "*" (step 14). Default false. */
  allowAnyAgent?: boolean;
  /** Accept unsigned requests from this caller (step 6). Default: never. */
  allowUnsigned?: boolean | ((callerIdentity: string | undefined) => boolean);
  /** Clock-skew tolerance in seconds, both ways (§6). Default 30. */
  skewS?: number;
  /** Per-key scope (step 15): a key limited to some issuers and/or targets. */
  keyScopes?: Record<string, { issuers?: readonly string[]; targets?: readonly string[] }>;
  /** Application veto (step 15): return true (or a reason text) to refuse with VETOED. */
  veto?: (request: ShutdownRequest, keyId: string) => boolean | string | Promise<boolean | string>;
  /** Rate limit (step 15): return true to refuse with RATE_LIMITED. */
  isRateLimited?: (callerIdentity: string | undefined) => boolean;
}

export type VerifyResult =
  | { outcome: 'accepted' | 'already_shutting_down'; request: ShutdownRequest; keyId: string; ack: Acknowledgement }
  | { outcome: 'duplicate'; ack: Acknowledgement }
  | { outcome: 'refused'; refusal: Refusal };

interface Remembered {
  digest: string;
  ack: Acknowledgement;
  forgetAtMs: number;
}

/** §7.1: bounded memory of accepted request ids; fails closed (RATE_LIMITED) when full of live entries. */
export class ReplayMemory {
  readonly #entries = new Map<string, Remembered>();
  constructor(readonly capacity = 1024) {}

  #purge(nowMs: number): void {
    for (const [id, e] of this.#entries) if (e.forgetAtMs <= nowMs) this.#entries.delete(id);
  }

  lookup(requestId: string, nowMs: number): Remembered | undefined {
    this.#purge(nowMs);
    return this.#entries.get(requestId);
  }

  hasRoom(nowMs: number): boolean {
    this.#purge(nowMs);
    return this.#entries.size < this.capacity;
  }

  remember(requestId: string, entry: Remembered): void {
    this.#entries.set(requestId, entry);
  }

  get size(): number {
    return this.#entries.size;
  }
}

export interface VerifierOptions {
  keys: KeyRing | Iterable<VerificationKey>;
  binding: AgentBinding;
  policy?: VerifierPolicy;
  replay?: ReplayMemory;
  supportedVersions?: readonly number[];
}

async function digestOf(version: number, keyId: string, body: Uint8Array): Promise<string> {
  const kid = utf8Encode(keyId);
  const data = concatBytes(new Uint8Array([version, kid.length]), kid, body);
  return bytesToHex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', toArrayBuffer(data))));
}

export class Verifier {
  readonly keys: KeyRing;
  readonly binding: AgentBinding;
  readonly policy: VerifierPolicy;
  readonly replay: ReplayMemory;
  readonly supportedVersions: readonly number[];
  /** Set once a request has been accepted (or markShuttingDown was called): later ones get already_shutting_down. */
  shuttingDown = false;

  constructor(opts: VerifierOptions) {
    this.keys = opts.keys instanceof KeyRing ? opts.keys : new KeyRing(opts.keys);
    this.binding = opts.binding;
    this.policy = opts.policy ?? {};
    this.replay = opts.replay ?? new ReplayMemory();
    this.supportedVersions = opts.supportedVersions ?? SUPPORTED_VERSIONS;
  }

  /** The job is ending for another cause: later valid requests are answered already_shutting_down. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async verify(payload: string, ctx: { callerIdentity?: string; nowMs?: number } = {}): Promise<VerifyResult> {
    const nowMs = ctx.nowMs ?? Date.now();
    const caller = ctx.callerIdentity;
    const refuse = (name: RefusalName, detail: string): VerifyResult => ({
      outcome: 'refused',
      refusal: makeRefusal(name, detail, this.supportedVersions),
    });
    const skew = this.policy.skewS ?? DEFAULT_SKEW_S;

    // 1-5
    const env = readEnvelope(payload, this.supportedVersions);
    if (!env.ok) return refuse(env.name, env.detail);
    const { version, keyId, signature, body } = env;

    if (keyId === '') {
      // 6
      const allow = this.policy.allowUnsigned;
      const allowed = typeof allow === 'function' ? allow(caller) : allow === true;
      if (!allowed) return refuse('UNSIGNED_REFUSED', 'unsigned requests are not allowed from this caller');
    } else {
      // 7
      const key = this.keys.get(keyId);
      if (!key) return refuse('UNKNOWN_KEY', `unknown key id ${keyId}`);
      // 8: length first, before computing anything
      if (signature.length !== key.signatureLength) return refuse('BAD_SIGNATURE', 'signature of the wrong length');
      if (!(await key.verify(signedMessage(version, keyId, body), signature))) {
        return refuse('BAD_SIGNATURE', 'signature does not verify');
      }
    }

    // 9
    const decoded = readBody(body);
    if (!decoded.ok) return refuse(decoded.name, decoded.detail);
    const map = decoded.map;

    // 10
    const iat = map.get('issued_at');
    const exp = map.get('expires_at');
    const inRange = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= UINT32_MAX;
    if (!isMsgpackInt(iat) || !isMsgpackInt(exp) || !inRange(iat) || !inRange(exp) || exp <= iat) {
      return refuse('INVALID_REQUEST', 'issued_at/expires_at missing, not uint32 integers, or not increasing');
    }
    if (exp - iat > MAX_LIFETIME_S) return refuse('LIFETIME_TOO_LONG', `lifetime over ${MAX_LIFETIME_S} s`);
    if (nowMs < (iat - skew) * 1000) return refuse('NOT_YET_VALID', 'issued in the future');
    if (nowMs >= (exp + skew) * 1000) return refuse('EXPIRED', 'expired');

    // 11
    const rid = map.get('request_id');
    const digest = await digestOf(version, keyId, body);
    if (typeof rid === 'string') {
      const seen = this.replay.lookup(rid, nowMs);
      if (seen) {
        if (seen.digest !== digest) return refuse('REQUEST_ID_CONFLICT', 'request id used before for another request');
        // A repeat of an accepted request is a duplicate; a repeat of one that was answered
        // already_shutting_down keeps that status (duplicate would claim its reason was delivered).
        const status: AckStatus = seen.ack.status === 'already_shutting_down' ? 'already_shutting_down' : 'duplicate';
        return { outcome: 'duplicate', ack: { ...seen.ack, status } };
      }
    }

    // 12
    const req = bodyFromMap(map);
    if (typeof req === 'string') return refuse('INVALID_REQUEST', req);

    // 13
    if (req.room !== this.binding.room) return refuse('WRONG_ROOM', 'request bound to another room');
    // 14
    if (req.target === ANY_AGENT) {
      if (!this.policy.allowAnyAgent) return refuse('NOT_AUTHORIZED', 'any-agent requests are not allowed');
    } else if (req.target !== this.binding.agentIdentity && req.target !== this.binding.jobId) {
      return refuse('WRONG_TARGET', 'request bound to another agent');
    }
    // 15
    const scope = this.policy.keyScopes?.[keyId];
    if (scope?.issuers && !scope.issuers.includes(req.issuer)) return refuse('NOT_AUTHORIZED', 'key not allowed for this issuer');
    if (scope?.targets && !scope.targets.includes(req.target)) return refuse('NOT_AUTHORIZED', 'key not allowed for this target');
    if (this.policy.veto) {
      const v = await this.policy.veto(req, keyId);
      if (v !== false) return refuse('VETOED', typeof v === 'string' ? v : 'vetoed by the application');
    }
    if (this.policy.isRateLimited?.(caller)) return refuse('RATE_LIMITED', 'too many refused attempts');
    if (!this.replay.hasRoom(nowMs)) return refuse('RATE_LIMITED', 'replay memory full');

    // 16
    const status: AckStatus = this.shuttingDown ? 'already_shutting_down' : 'accepted';
    const ack: Acknowledgement = {
      version,
      status,
      requestId: req.requestId,
      agentIdentity: this.binding.agentIdentity,
      jobId: this.binding.jobId,
      agentTimeMs: nowMs,
    };
    this.replay.remember(req.requestId, { digest, ack, forgetAtMs: (req.expiresAt + skew) * 1000 });
    this.shuttingDown = true;
    return { outcome: status, request: req, keyId, ack };
  }
}

/** §11: the reason string shutdown callbacks receive. */
export function shutdownReason(req: ShutdownRequest): string {
  return `remote shutdown by ${req.issuer} [${req.requestId}]: ${req.reason}`;
}
