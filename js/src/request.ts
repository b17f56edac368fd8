/**
 * The v1 request body (spec.md §4): types, the body rules shared by producers and the verifier, encoding.
 */
import { base64UrlEncode, utf8Length } from './bytes.js';
import {
  DEFAULT_LIFETIME_S,
  MAX_GRACE_MS,
  MAX_ISSUER_BYTES,
  MAX_LIFETIME_S,
  MAX_REASON_BYTES,
  MAX_REQUEST_ID_CHARS,
  MAX_ROOM_BYTES,
  MAX_TARGET_BYTES,
  MIN_REQUEST_ID_CHARS,
  UINT32_MAX,
} from './codes.js';
import { encodeMsgpack, isMsgpackInt, type MsgpackValue } from './msgpack.js';

export interface ShutdownOptions {
  /** true: let the agent finish its current speech before leaving. */
  drain: boolean;
  /** 0..60000: the most the agent waits for drain before ending anyway. */
  graceMs: number;
  /** true: after the agent is done, delete the room. */
  deleteRoom: boolean;
}

/** A v1 shutdown request (the signed body), with camelCase names for the §4 wire keys. */
export interface ShutdownRequest {
  requestId: string;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds, > issuedAt. */
  expiresAt: number;
  room: string;
  /** Agent identity, job id, or "*" (any agent of the room, where the agent's policy allows it). */
  target: string;
  reason: string;
  issuer: string;
  options: ShutdownOptions;
}

export const ANY_AGENT = '*';
export const REQUEST_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${MIN_REQUEST_ID_CHARS},${MAX_REQUEST_ID_CHARS}}$`);

export class RequestValidationError extends Error {
  override name = 'RequestValidationError';
}

const BODY_KEYS = ['request_id', 'issued_at', 'expires_at', 'room', 'target', 'reason', 'issuer', 'options'] as const;
const OPTION_KEYS = ['drain', 'grace_ms', 'delete_room'] as const;

// spec.md §4: C0 and C1 controls, DEL, the line and paragraph separators (U+2028, U+2029) and the bidi controls
// (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069)
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const BRACKET = /[[\]]/;

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;
}

function strBytes(v: unknown, min: number, max: number): v is string {
  if (typeof v !== 'string') return false;
  const n = utf8Length(v);
  return n >= min && n <= max;
}

function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** Whether `v` follows §4's rule for `issuer` (1-128 UTF-8 bytes, no forbidden character, no brackets). */
export function isIssuer(v: string): boolean {
  return strBytes(v, 1, MAX_ISSUER_BYTES) && !hasLoneSurrogate(v) && !CONTROL.test(v) && !BRACKET.test(v);
}

/** Whether `v` follows §4's rule for `reason` (0-512 UTF-8 bytes, no forbidden character). */
export function isReason(v: string): boolean {
  return strBytes(v, 0, MAX_REASON_BYTES) && !hasLoneSurrogate(v) && !CONTROL.test(v);
}

/**
 * The §4 rules on already-typed values; returns the first violation as text, or undefined. Shared by the
 * verifier (step 12, after steps 10-11 checked the times) and by producers.
 */
export function bodyRuleViolation(req: ShutdownRequest): string | undefined {
  if (typeof req.requestId !== 'string' || !REQUEST_ID_PATTERN.test(req.requestId)) {
    return `request_id must be ${MIN_REQUEST_ID_CHARS}-${MAX_REQUEST_ID_CHARS} characters of [A-Za-z0-9_-]`;
  }
  if (!isUint32(req.issuedAt)) return `issued_at must be an integer in 0..${UINT32_MAX}`;
  if (!isUint32(req.expiresAt)) return `expires_at must be an integer in 0..${UINT32_MAX}`;
  if (req.expiresAt <= req.issuedAt) return 'expires_at must be after issued_at';
  for (const [name, v, min, max] of [
    ['room', req.room, 1, MAX_ROOM_BYTES],
    ['target', req.target, 1, MAX_TARGET_BYTES],
    ['reason', req.reason, 0, MAX_REASON_BYTES],
    ['issuer', req.issuer, 1, MAX_ISSUER_BYTES],
  ] as const) {
    if (!strBytes(v, min, max)) return `${name} must be a string of ${min}-${max} UTF-8 bytes`;
    if (hasLoneSurrogate(v)) return `${name} is not valid Unicode`;
  }
  if (CONTROL.test(req.reason)) return 'reason must not contain control characters';
  if (CONTROL.test(req.issuer)) return 'issuer must not contain control characters';
  if (BRACKET.test(req.issuer)) return 'issuer must not contain [ or ]';
  const o = req.options as Partial<ShutdownOptions> | undefined;
  if (typeof o !== 'object' || o === null) return 'options must be an object';
  if (typeof o.drain !== 'boolean') return 'options.drain must be a boolean';
  if (typeof o.graceMs !== 'number' || !Number.isInteger(o.graceMs) || o.graceMs < 0 || o.graceMs > MAX_GRACE_MS) {
    return `options.grace_ms must be an integer in 0..${MAX_GRACE_MS}`;
  }
  if (typeof o.deleteRoom !== 'boolean') return 'options.delete_room must be a boolean';
  return undefined;
}

/**
 * Producer-side check: every §4 rule plus the maximum lifetime (§6: a longer one could never be accepted).
 * Throws RequestValidationError.
 */
export function validateRequest(req: ShutdownRequest): void {
  const v = bodyRuleViolation(req);
  if (v) throw new RequestValidationError(v);
  if (req.expiresAt - req.issuedAt > MAX_LIFETIME_S) {
    throw new RequestValidationError(`lifetime must be at most ${MAX_LIFETIME_S} s`);
  }
}

/** 16 bytes from the platform CSPRNG, base64url without padding: 22 characters (§4 RECOMMENDED). */
export function newRequestId(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return base64UrlEncode(b);
}

/**
 * What a caller asks of an agent, the same value as the Python `ShutdownCommand`: every sender that builds a
 * request takes it. Omitted fields: no reason, no drain, grace 0, keep the room, 60 s lifetime (what a frontend
 * should get; at most 300), a fresh request id.
 */
export interface ShutdownCommand {
  readonly reason?: string;
  /** true: let the agent finish its current speech before leaving. */
  readonly drain?: boolean;
  /** 0..60000: the most the agent waits for drain before ending anyway. */
  readonly graceMs?: number;
  /** true: after the agent is done, delete the room. */
  readonly deleteRoom?: boolean;
  readonly lifetimeS?: number;
  /** A request id of your own (e.g. to repeat one request); default: a fresh newRequestId(). */
  readonly requestId?: string;
}

/** Where a request goes and who sends it: the room, the agent (identity, job id or "*") and the issuer. */
export interface RequestAddress {
  readonly room: string;
  readonly target: string;
  readonly issuer: string;
}

/**
 * A new validated request for `command`, addressed to `to`, issued at `nowMs` (default Date.now()).
 * Throws RequestValidationError for a request that breaks §4 or a lifetime over 300 s.
 */
export function createRequest(to: RequestAddress, command: ShutdownCommand = {}, nowMs: number = Date.now()): ShutdownRequest {
  const issuedAt = Math.floor(nowMs / 1000);
  const req: ShutdownRequest = {
    requestId: command.requestId ?? newRequestId(),
    issuedAt,
    expiresAt: issuedAt + (command.lifetimeS ?? DEFAULT_LIFETIME_S),
    room: to.room,
    target: to.target,
    reason: command.reason ?? '',
    issuer: to.issuer,
    options: {
      drain: command.drain ?? false,
      graceMs: command.graceMs ?? 0,
      deleteRoom: command.deleteRoom ?? false,
    },
  };
  validateRequest(req);
  return req;
}

/** The body map in §4 order, shortest msgpack forms. */
export function encodeBody(req: ShutdownRequest): Uint8Array {
  validateRequest(req);
  return encodeMsgpack(toWire(req)); // toWire writes the keys in §4 order, which the encoder keeps
}

/** Wire (snake_case) form of a request, e.g. for logs or JSON. */
export interface WireRequest {
  request_id: string;
  issued_at: number;
  expires_at: number;
  room: string;
  target: string;
  reason: string;
  issuer: string;
  options: { drain: boolean; grace_ms: number; delete_room: boolean };
}

export function toWire(req: ShutdownRequest): WireRequest {
  return {
    request_id: req.requestId,
    issued_at: req.issuedAt,
    expires_at: req.expiresAt,
    room: req.room,
    target: req.target,
    reason: req.reason,
    issuer: req.issuer,
    options: { drain: req.options.drain, grace_ms: req.options.graceMs, delete_room: req.options.deleteRoom },
  };
}

export function fromWire(w: WireRequest): ShutdownRequest {
  return {
    requestId: w.request_id,
    issuedAt: w.issued_at,
    expiresAt: w.expires_at,
    room: w.room,
    target: w.target,
    reason: w.reason,
    issuer: w.issuer,
    options: { drain: w.options.drain, graceMs: w.options.grace_ms, deleteRoom: w.options.delete_room },
  };
}

/**
 * Verifier step 12 on a decoded body map: exactly the 8 keys, exactly the 3 option keys, every type, then
 * the §4 value rules. Returns the typed request or a violation text.
 */
export function bodyFromMap(body: Map<string, MsgpackValue>): ShutdownRequest | string {
  if (body.size !== BODY_KEYS.length || !BODY_KEYS.every((k) => body.has(k))) {
    return 'body must have exactly the keys ' + BODY_KEYS.join(', ');
  }
  const opts = body.get('options');
  if (!(opts instanceof Map)) return 'options must be a map';
  if (opts.size !== OPTION_KEYS.length || !OPTION_KEYS.every((k) => opts.has(k))) {
    return 'options must have exactly the keys ' + OPTION_KEYS.join(', ');
  }
  for (const k of ['request_id', 'room', 'target', 'reason', 'issuer'] as const) {
    if (typeof body.get(k) !== 'string') return `${k} must be a str`;
  }
  for (const k of ['issued_at', 'expires_at'] as const) {
    const v = body.get(k);
    if (!isMsgpackInt(v) || typeof v !== 'number') return `${k} must be an integer in 0..4294967295`;
  }
  const graceMs = opts.get('grace_ms');
  if (!isMsgpackInt(graceMs) || typeof graceMs !== 'number') return 'options.grace_ms must be an int';
  const drain = opts.get('drain');
  const deleteRoom = opts.get('delete_room');
  if (typeof drain !== 'boolean') return 'options.drain must be a bool';
  if (typeof deleteRoom !== 'boolean') return 'options.delete_room must be a bool';
  const req: ShutdownRequest = {
    requestId: body.get('request_id') as string,
    issuedAt: body.get('issued_at') as number,
    expiresAt: body.get('expires_at') as number,
    room: body.get('room') as string,
    target: body.get('target') as string,
    reason: body.get('reason') as string,
    issuer: body.get('issuer') as string,
    options: { drain, graceMs, deleteRoom },
  };
  return bodyRuleViolation(req) ?? req;
}
