// Property-based fuzzing of the JS verifier (fast-check), with the invariant the Python fuzzer checks
// (fuzz/verifier_target.py): on any input the verifier answers with a decision or a refusal carrying a
// known code, never throws; and it accepts only a body that meets spec §4 under a valid signature, in time,
// for its room and target. Acceptance is re-checked from spec.md with node:crypto and plain @msgpack/msgpack,
// not with this package's own readers. Inputs: arbitrary strings, arbitrary envelope and body bytes re-signed
// with the vectors' real keys, byte mutations of valid bodies, and structured bodies with hostile values.
//
// CI runs a few seconds' worth; a longer run: SHUTDOWN_RPC_FC_RUNS=200000 npm test (runs per property).
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, timingSafeEqual, verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';

import {
  DuplicateRequest,
  Ed25519SigningKey,
  Ed25519VerifyingKey,
  ErrorCode,
  HmacSha256Key,
  KeyRing,
  ShutdownRpcError,
  type SigningKey,
  VerifiedRequest,
  Verifier,
} from '../src/index.js';
import { base64Encode, hexToBytes, seal, signedMessage } from '../src/wire.js';
import { packEnvelope } from '../src/envelope.js';

interface VectorKey {
  key_id: string;
  algorithm: 'hmac-sha256' | 'ed25519';
  secret_hex?: string;
  seed_hex?: string;
  public_hex?: string;
}
interface VectorCase {
  payload: string;
  expected: { outcome: string };
}
const vectorsPath = process.env['SHUTDOWN_RPC_VECTORS'] ?? new URL('../../../vectors/v1.json', import.meta.url);
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8')) as { keys: VectorKey[]; cases: VectorCase[] };

const RUNS = Number(process.env['SHUTDOWN_RPC_FC_RUNS'] ?? 300);
const NOW_MS = 1_800_000_005_000;
const BINDING = { room: 'support-room-42', agentIdentity: 'agent-AJ_vector1', jobId: 'AJ_vector1' };
const KNOWN_NAMES = new Set(Object.keys(ErrorCode));

const hmacSecrets = new Map<string, Uint8Array>();
const edPublic = new Map<string, Uint8Array>();
for (const k of vectors.keys) {
  if (k.algorithm === 'hmac-sha256') hmacSecrets.set(k.key_id, hexToBytes(k.secret_hex!));
  else edPublic.set(k.key_id, hexToBytes(k.public_hex!));
}

async function signers(): Promise<SigningKey[]> {
  const out: SigningKey[] = [];
  for (const k of vectors.keys) {
    if (k.algorithm === 'hmac-sha256') out.push(new HmacSha256Key(k.key_id, hexToBytes(k.secret_hex!)));
    else out.push(await Ed25519SigningKey.fromSeed(k.key_id, hexToBytes(k.seed_hex!), hexToBytes(k.public_hex!)));
  }
  out.push(new HmacSha256Key('not-in-ring', new Uint8Array(32).fill(7)));
  return out;
}

function verifier(): Verifier {
  const ring = new KeyRing();
  for (const [id, secret] of hmacSecrets) ring.add(new HmacSha256Key(id, secret));
  for (const [id, pub] of edPublic) ring.add(new Ed25519VerifyingKey(id, pub));
  return new Verifier({ keys: ring });
}

// ---- spec.md, re-read independently ------------------------------------------------------------------------
const REQUEST_ID = /^[A-Za-z0-9_-]{22,64}$/;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Spec §4 forbidden characters: C0, DEL, C1 and the bidirectional controls. */
const FORBIDDEN = {
  test: (s: string): boolean =>
    [...s].some((ch) => {
      const c = ch.codePointAt(0) ?? 0;
      return c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0x61c || c === 0x200e || c === 0x200f
        || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
    }),
};
const BODY_KEYS = ['expires_at', 'issued_at', 'issuer', 'options', 'reason', 'request_id', 'room', 'target'];
const OPTION_KEYS = ['delete_room', 'drain', 'grace_ms'];
const utf8Len = (s: string): number => Buffer.byteLength(s, 'utf8');
const isUint32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

function bodyProblem(body: unknown): string | null {
  if (!(body instanceof Object) || Array.isArray(body) || body instanceof Uint8Array) return 'body not a map';
  const b = body as Record<string, unknown>;
  if (JSON.stringify(Object.keys(b).sort()) !== JSON.stringify(BODY_KEYS)) return 'not exactly the 8 keys';
  if (typeof b['request_id'] !== 'string' || !REQUEST_ID.test(b['request_id'])) return 'request_id';
  const iat = b['issued_at'];
  const exp = b['expires_at'];
  if (!isUint32(iat) || !isUint32(exp) || exp <= iat) return 'issued_at/expires_at';
  for (const k of ['room', 'target', 'reason', 'issuer']) if (typeof b[k] !== 'string') return `${k} not a str`;
  const [room, target, reason, issuer] = ['room', 'target', 'reason', 'issuer'].map((k) => b[k] as string);
  if (utf8Len(room!) < 1 || utf8Len(room!) > 256 || utf8Len(target!) < 1 || utf8Len(target!) > 256) return 'length';
  if (utf8Len(reason!) > 512 || FORBIDDEN.test(reason!)) return 'reason';
  if (utf8Len(issuer!) < 1 || utf8Len(issuer!) > 128 || FORBIDDEN.test(issuer!) || /[[\]]/.test(issuer!)) return 'issuer';
  const o = b['options'];
  if (!(o instanceof Object) || Array.isArray(o) || o instanceof Uint8Array) return 'options not a map';
  const opts = o as Record<string, unknown>;
  if (JSON.stringify(Object.keys(opts).sort()) !== JSON.stringify(OPTION_KEYS)) return 'options keys';
  if (typeof opts['drain'] !== 'boolean' || typeof opts['delete_room'] !== 'boolean') return 'options booleans';
  const grace = opts['grace_ms'];
  if (!isUint32(grace) || grace > 60_000) return 'grace_ms';
  return null;
}

/** null when spec.md accepts `payload` for BINDING at NOW_MS; else what fails. */
function specRefuses(payload: string, allowAnyAgent: boolean, allowUnsigned: boolean): string | null {
  if (utf8Len(payload) > 4096) return 'too large';
  const raw = Buffer.from(payload, 'base64');
  if (raw.toString('base64') !== payload) return 'not canonical base64';
  let env: unknown;
  try {
    env = decode(raw);
  } catch {
    return 'envelope not msgpack';
  }
  if (!Array.isArray(env) || env.length !== 4 || env[0] !== 1) return 'not a v1 envelope';
  const [, kid, sig, body] = env as [number, unknown, unknown, unknown];
  if (typeof kid !== 'string' || !(sig instanceof Uint8Array) || !(body instanceof Uint8Array)) return 'types';
  if (kid === '') {
    if (sig.length !== 0 || !allowUnsigned) return 'unsigned';
  } else {
    if (!KEY_ID.test(kid)) return 'key id';
    const message = Buffer.concat([Buffer.from('livekit-shutdown-rpc\u0000'), Buffer.from([1, kid.length]), Buffer.from(kid), body]);
    const secret = hmacSecrets.get(kid);
    const pub = edPublic.get(kid);
    if (secret) {
      const tag = createHmac('sha256', secret).update(message).digest();
      if (sig.length !== 32 || !timingSafeEqual(tag, sig)) return 'bad HMAC';
    } else if (pub) {
      const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]);
      const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
      if (sig.length !== 64 || !edVerify(null, message, key, sig)) return 'bad Ed25519 signature';
    } else return 'unknown key';
  }
  let decoded: unknown;
  try {
    decoded = decode(body, { useBigInt64: false });
  } catch {
    return 'body not msgpack';
  }
  const problem = bodyProblem(decoded);
  if (problem) return problem;
  const b = decoded as Record<string, number | string>;
  const iat = b['issued_at'] as number;
  const exp = b['expires_at'] as number;
  if (exp - iat > 300 || NOW_MS < (iat - 30) * 1000 || NOW_MS >= (exp + 30) * 1000) return 'out of its time window';
  if (b['room'] !== BINDING.room) return 'room';
  const target = b['target'];
  if (!((target === '*' && allowAnyAgent) || target === BINDING.agentIdentity || target === BINDING.jobId)) return 'target';
  return null;
}

type Outcome = 'accepted' | 'refused';

async function checkInvariant(payload: string, allowAnyAgent: boolean, allowUnsigned: boolean): Promise<Outcome> {
  const v = verifier();
  const opts = { allowAnyAgent, allowUnsigned, nowMs: NOW_MS };
  let r: VerifiedRequest | DuplicateRequest;
  try {
    r = await v.verify(payload, BINDING, opts);
  } catch (e) {
    // only the typed refusal may come out, with a known name and its code
    assert.ok(e instanceof ShutdownRpcError, `not a typed refusal: ${String(e)}`);
    assert.ok(KNOWN_NAMES.has(e.refusal.name), `unknown refusal ${e.refusal.name}`);
    assert.equal(e.refusal.code, ErrorCode[e.refusal.name]);
    return 'refused';
  }
  assert.ok(r instanceof VerifiedRequest, 'a fresh verifier can only verify or refuse');
  assert.equal(specRefuses(payload, allowAnyAgent, allowUnsigned), null, 'accepted what spec.md refuses');
  await r.accept('accepted', NOW_MS);
  const again = await v.verify(payload, BINDING, opts);
  assert.ok(again instanceof DuplicateRequest, 'an accepted request sent again is a duplicate');
  return 'accepted';
}

const validBodies: Uint8Array[] = vectors.cases
  .filter((c) => c.expected.outcome === 'accepted')
  .map((c) => (decode(Buffer.from(c.payload, 'base64')) as unknown[])[3] as Uint8Array);

const flags = fc.record({ anyAgent: fc.boolean(), unsigned: fc.boolean() });
const params = { numRuns: RUNS };

test('arbitrary strings: a decision or a typed refusal', async () => {
  const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 5000 }), fc.base64String({ maxLength: 600 }));
  await fc.assert(fc.asyncProperty(text, flags, async (s, f) => void (await checkInvariant(s, f.anyAgent, f.unsigned))), params);
});

test('arbitrary envelope bytes: a decision or a typed refusal', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), flags, async (bytes, f) => {
      await checkInvariant(base64Encode(bytes), f.anyAgent, f.unsigned);
    }),
    params,
  );
});

test('mutated valid bodies, re-signed with real keys: accepted only when spec.md accepts', async () => {
  const keys = await signers();
  const mutation = fc.record({
    body: fc.constantFrom(...validBodies),
    at: fc.nat(),
    op: fc.constantFrom('flip', 'set', 'insert', 'delete'),
    byte: fc.integer({ min: 0, max: 255 }),
    key: fc.integer({ min: 0, max: keys.length }), // keys.length = unsigned
  });
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(mutation, flags, async (m, f) => {
      const b = Array.from(m.body);
      const i = m.at % (b.length + 1);
      if (m.op === 'flip' && i < b.length) b[i] = b[i]! ^ (1 << (m.byte % 8));
      else if (m.op === 'set' && i < b.length) b[i] = m.byte;
      else if (m.op === 'insert') b.splice(i, 0, m.byte);
      else if (m.op === 'delete') b.splice(i, 1);
      const r = await checkInvariant(await seal(Uint8Array.from(b), keys[m.key]), f.anyAgent, f.unsigned);
      if (r === 'accepted') accepted += 1;
    }),
    params,
  );
  assert.ok(accepted > 0, 'some mutations keep the body valid: the accepting path was exercised');
});

test('structured bodies with hostile values, re-signed: accepted only when spec.md accepts', async () => {
  const keys = await signers();
  const str = fc.oneof(
    fc.constantFrom('support-room-42', 'agent-AJ_vector1', 'AJ_vector1', '*', '', 'rRud6RBRNSe0BxR9egVWkA', 'billing'),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 22, maxLength: 70 }),
  );
  const int = fc.oneof(fc.constantFrom(0, 0xffffffff, -1, 2 ** 32, 2 ** 53), fc.integer());
  const value = fc.oneof(str, int, fc.boolean(), fc.double(), fc.constant(null), fc.uint8Array({ maxLength: 4 }));
  const field = <T>(typical: fc.Arbitrary<T>) => fc.oneof({ arbitrary: typical, weight: 12 }, { arbitrary: value, weight: 1 });
  // mostly the valid value, sometimes a near miss
  const mostly = <T>(valid: T, ...others: T[]) =>
    field(fc.oneof({ arbitrary: fc.constant(valid), weight: 4 }, { arbitrary: fc.constantFrom(...others), weight: 1 }));
  const options = fc.oneof(
    {
      arbitrary: fc.record({
        drain: field(fc.boolean()),
        grace_ms: field(fc.oneof(fc.integer({ min: 0, max: 60_000 }), fc.constantFrom(-1, 60_001))),
        delete_room: field(fc.boolean()),
      }),
      weight: 12,
    },
    { arbitrary: fc.dictionary(fc.string(), value, { maxKeys: 4 }), weight: 1 },
  );
  const fields = {
    request_id: mostly('rRud6RBRNSe0BxR9egVWkA', 'x'.repeat(64), 'x'.repeat(65), 'short', 'has space in it 0123456'),
    issued_at: mostly(1_800_000_000, 1_799_999_960, 1_800_000_036),
    expires_at: mostly(1_800_000_060, 1_800_000_000, 1_800_000_301, 1_799_999_900),
    room: mostly('support-room-42', 'other-room', 'support-room-42 '),
    target: field(fc.constantFrom('agent-AJ_vector1', 'AJ_vector1', '*', 'someone-else')),
    reason: field(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('a\u202eb', 'x'.repeat(513), 'é'.repeat(257)))),
    issuer: mostly('billing-backend', 'a[b]', '', 'x'.repeat(129), 'tab\there'),
    options,
  };
  const body = fc.oneof(
    { arbitrary: fc.record(fields), weight: 12 },
    { arbitrary: fc.record(fields, { requiredKeys: [] }), weight: 1 },
  );
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(body, fc.integer({ min: 0, max: keys.length }), flags, async (b, k, f) => {
      const r = await checkInvariant(await seal(encode(b), keys[k]), f.anyAgent, f.unsigned);
      if (r === 'accepted') accepted += 1;
    }),
    params,
  );
  assert.ok(accepted > 0, 'the generator reaches acceptance');
});

test('the oracle refuses what it must (so an accepting verifier would be caught)', async () => {
  const [hmac] = await signers();
  assert.ok(hmac !== undefined);
  const body = validBodies[0]!;
  const good = await seal(body, hmac);
  assert.equal(specRefuses(good, false, false), null);
  const tampered = Uint8Array.from(body);
  tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
  const sig = await hmac.sign(signedMessage(1, hmac.keyId, body));
  assert.equal(specRefuses(packEnvelope(hmac.keyId, sig, tampered), false, false), 'bad HMAC');
  assert.equal(specRefuses(await seal(body), false, false), 'unsigned');
});
