/**
 * The envelope (spec.md §3), the signed message (§5) and payload strings (§2): producing and reading.
 */
import { base64DecodeStrict, base64Encode, concatBytes, utf8Encode, utf8Length } from './bytes.js';
import { MAX_KEY_ID_BYTES, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, SUPPORTED_VERSIONS, type ErrorName } from './codes.js';
import { KEY_ID_PATTERN, type SigningKey } from './keys.js';
import { decodeStrict, encodeMsgpack, isMsgpackInt, StrictMsgpackError, type MsgpackValue } from './msgpack.js';
import { bodyFromMap, encodeBody, type ShutdownRequest } from './request.js';

export const DOMAIN_SEPARATOR = utf8Encode('livekit-shutdown-rpc\u0000'); // 21 bytes

/** signed_message = "livekit-shutdown-rpc" 0x00 || u8(version) || u8(len(key_id)) || key_id || body */
export function signedMessage(version: number, keyId: string, body: Uint8Array): Uint8Array {
  if (!KEY_ID_PATTERN.test(keyId)) throw new Error(`key id must be 1-${MAX_KEY_ID_BYTES} characters of [A-Za-z0-9._-]`);
  const kid = utf8Encode(keyId); // ASCII by the pattern
  return concatBytes(DOMAIN_SEPARATOR, new Uint8Array([version, kid.length]), kid, body);
}

/** Envelope fields -> payload string (canonical standard base64 with padding). No checks: see seal. */
export function packEnvelope(keyId: string, signature: Uint8Array, body: Uint8Array, version: number = PROTOCOL_VERSION): string {
  return base64Encode(encodeMsgpack([version, keyId, signature, body]));
}

/**
 * Sign arbitrary body bytes with `key` and wrap them in the §3 envelope (no key: unsigned, key id "" and an
 * empty signature). Low level, for implementers and tests: prefer signRequest, which encodes a checked body.
 */
export async function seal(body: Uint8Array, key?: SigningKey, version: number = PROTOCOL_VERSION): Promise<string> {
  if (key === undefined) return packEnvelope('', new Uint8Array(0), body, version);
  return packEnvelope(key.keyId, await key.sign(signedMessage(version, key.keyId, body)), body, version);
}

/**
 * The RPC payload for a request: the body encoded (§4 order, shortest forms), signed with `key` (§5) and
 * wrapped (§3); without a key it is unsigned, which an agent accepts only where its policy allows it. Throws
 * RequestValidationError for a request that breaks §4.
 */
export async function signRequest(req: ShutdownRequest, key?: SigningKey): Promise<string> {
  const payload = await seal(encodeBody(req), key);
  if (utf8Length(payload) > MAX_PAYLOAD_BYTES) {
    throw new Error(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  return payload;
}

/** A refusal produced while reading a payload. */
export interface ReadFailure {
  ok: false;
  name: ErrorName;
  detail: string;
}

export interface Envelope {
  ok: true;
  version: number;
  keyId: string;
  signature: Uint8Array;
  body: Uint8Array;
}

function fail(name: ErrorName, detail: string): ReadFailure {
  return { ok: false, name, detail };
}

/** Verification steps 1-5 of §7: size, base64, msgpack, version, envelope shape. */
export function readEnvelope(payload: string, supportedVersions: readonly number[] = SUPPORTED_VERSIONS): Envelope | ReadFailure {
  if (typeof payload !== 'string') return fail('MALFORMED', 'payload is not a string');
  // 1
  if (utf8Length(payload) > MAX_PAYLOAD_BYTES) return fail('PAYLOAD_TOO_LARGE', `payload over ${MAX_PAYLOAD_BYTES} bytes`);
  // 2
  const bytes = base64DecodeStrict(payload);
  if (!bytes) return fail('MALFORMED', 'payload is not canonical standard base64');
  // 3
  let env: MsgpackValue;
  try {
    env = decodeStrict(bytes);
  } catch (e) {
    if (e instanceof StrictMsgpackError) return fail('MALFORMED', `envelope: ${e.message}`);
    throw e;
  }
  // 4
  if (!Array.isArray(env) || env.length === 0) return fail('MALFORMED', 'envelope is not a non-empty array');
  const version = env[0];
  if (!isMsgpackInt(version)) return fail('MALFORMED', 'envelope version is not an int');
  if (typeof version !== 'number' || !supportedVersions.includes(version)) {
    return fail('UNSUPPORTED_VERSION', `version ${String(version)} is not supported`);
  }
  // 5
  const [, keyId, signature, body] = env;
  if (env.length !== 4 || typeof keyId !== 'string' || !(signature instanceof Uint8Array) || !(body instanceof Uint8Array)) {
    return fail('MALFORMED', 'v1 envelope must be [int, str, bin, bin]');
  }
  if (keyId !== '' && !KEY_ID_PATTERN.test(keyId)) return fail('MALFORMED', 'invalid key id');
  if (keyId === '' && signature.length !== 0) return fail('MALFORMED', 'unsigned envelope with a signature');
  return { ok: true, version, keyId, signature, body };
}

/** Verification step 9 and the typed part of step 12, without any time, replay or binding checks. */
export function readBody(body: Uint8Array): { ok: true; map: Map<string, MsgpackValue> } | ReadFailure {
  let v: MsgpackValue;
  try {
    v = decodeStrict(body);
  } catch (e) {
    if (e instanceof StrictMsgpackError) return fail('MALFORMED', `body: ${e.message}`);
    throw e;
  }
  if (!(v instanceof Map)) return fail('INVALID_REQUEST', 'body is not a map');
  return { ok: true, map: v };
}

export interface InspectedPayload {
  keyId: string;
  /** null for an unsigned request. */
  signed: boolean;
  request: ShutdownRequest;
}

/**
 * Read a payload WITHOUT verifying its signature (a relaying frontend holds no key): useful to pick the
 * destination from `target`, to show the reason, or to match an acknowledgement's request_id. Never use the
 * result to make a security decision.
 */
export function inspectPayload(payload: string): InspectedPayload | ReadFailure {
  const env = readEnvelope(payload);
  if (!env.ok) return env;
  const body = readBody(env.body);
  if (!body.ok) return body;
  const req = bodyFromMap(body.map);
  if (typeof req === 'string') return fail('INVALID_REQUEST', req);
  return { keyId: env.keyId, signed: env.keyId !== '', request: req };
}
