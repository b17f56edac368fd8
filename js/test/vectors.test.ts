// Every case of vectors/v1.json: valid ones build byte-identical payloads and verify to the expected request
// and acknowledgement; invalid ones are refused with the expected code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  type Acknowledgement,
  DuplicateRequest,
  Ed25519SigningKey,
  Ed25519VerifyingKey,
  ErrorCode,
  HmacSha256Key,
  KeyRing,
  LIMITS,
  ShutdownRpcError,
  type SigningKey,
  signRequest,
  VerifiedRequest,
  Verifier,
} from '../src/index.js';
import {
  DEFAULT_SKEW_S,
  errorName,
  FixedClock,
  fromWire,
  hexToBytes,
  isRetryable,
  MAX_LIFETIME_S,
  MAX_PAYLOAD_BYTES,
  METHOD_NAME,
  toWire,
  type WireRequest,
} from '../src/wire.js';
import * as wire from '../src/wire.js';

interface VectorKey {
  key_id: string;
  algorithm: 'hmac-sha256' | 'ed25519';
  secret_hex?: string;
  seed_hex?: string;
  public_hex?: string;
}
interface WireAck {
  version: number;
  status: string;
  request_id: string;
  agent_identity: string;
  job_id: string;
  agent_time_ms: number;
}
interface VectorCase {
  name: string;
  description: string;
  now_ms: number;
  binding: { room: string; agent_identity: string; job_id: string; allow_any_agent: boolean; allow_unsigned: boolean };
  prior: string[];
  build?: { key_id: string | null; request: WireRequest };
  payload: string;
  expected:
    | { outcome: 'accepted'; request: WireRequest; ack: WireAck }
    | { outcome: 'duplicate'; ack: WireAck }
    | { outcome: 'refused'; code: number; name: string };
}
interface Vectors {
  spec_version: number;
  method: string;
  max_payload_bytes: number;
  skew_s: number;
  max_lifetime_s: number;
  codes: Array<{ code: number; name: string; retryable: boolean }>;
  limits: Record<string, number>;
  keys: VectorKey[];
  cases: VectorCase[];
}

const vectorsPath = process.env['SHUTDOWN_RPC_VECTORS'] ?? new URL('../../../vectors/v1.json', import.meta.url);
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8')) as Vectors;

function ackToWire(a: Acknowledgement): WireAck {
  return {
    version: a.version,
    status: a.status,
    request_id: a.requestId,
    agent_identity: a.agentIdentity,
    job_id: a.jobId,
    agent_time_ms: a.agentTimeMs,
  };
}

async function signingKeys(): Promise<Map<string, SigningKey>> {
  const out = new Map<string, HmacSha256Key | Ed25519SigningKey>();
  for (const k of vectors.keys) {
    if (k.algorithm === 'hmac-sha256') out.set(k.key_id, new HmacSha256Key(k.key_id, hexToBytes(k.secret_hex!)));
    else out.set(k.key_id, await Ed25519SigningKey.fromSeed(k.key_id, hexToBytes(k.seed_hex!), hexToBytes(k.public_hex!)));
  }
  return out;
}

function verifierRing(): KeyRing {
  // The ring a verifier holds: HMAC secrets and Ed25519 PUBLIC keys only.
  const ring = new KeyRing();
  for (const k of vectors.keys) {
    if (k.algorithm === 'hmac-sha256') ring.add(new HmacSha256Key(k.key_id, hexToBytes(k.secret_hex!)));
    else ring.add(new Ed25519VerifyingKey(k.key_id, hexToBytes(k.public_hex!)));
  }
  return ring;
}

test('vector file matches this implementation\'s constants', () => {
  assert.equal(vectors.spec_version, 1);
  assert.equal(vectors.method, METHOD_NAME);
  assert.equal(vectors.max_payload_bytes, MAX_PAYLOAD_BYTES);
  assert.equal(vectors.skew_s, DEFAULT_SKEW_S);
  assert.equal(vectors.max_lifetime_s, MAX_LIFETIME_S);
  assert.ok(vectors.cases.length >= 102, `expected at least 102 cases, got ${vectors.cases.length}`);
  assert.equal(new Set(vectors.cases.map((c) => c.name)).size, vectors.cases.length, 'case names are unique');
});

test('vector code table (§9) is this implementation\'s: code, name and retryable, both ways', () => {
  assert.ok(vectors.codes.length > 0);
  const names = Object.keys(ErrorCode) as Array<keyof typeof ErrorCode>;
  assert.deepEqual(
    vectors.codes.map((c) => c.code),
    names.map((n) => ErrorCode[n]).sort((a, b) => a - b),
    'the same codes, ascending',
  );
  for (const c of vectors.codes) {
    const name = errorName(c.code);
    assert.equal(name, c.name, String(c.code));
    assert.equal(isRetryable(name), c.retryable, c.name);
  }
});

test('LIMITS is the vector limits table, and each entry is the wire constant of that name in upper case', () => {
  assert.ok(Object.keys(vectors.limits).length >= 20);
  assert.deepEqual(Object.entries(LIMITS), Object.entries(vectors.limits), 'same names, values and order');
  const constants = wire as Record<string, unknown>;
  for (const [name, value] of Object.entries(LIMITS)) assert.equal(constants[name.toUpperCase()], value, name.toUpperCase());
});

for (const c of vectors.cases) {
  test(`verify ${c.name}: ${c.expected.outcome}${'name' in c.expected ? ` ${c.expected.name}` : ''}`, async () => {
    const verifier = new Verifier({ keys: verifierRing(), clock: new FixedClock(c.now_ms), skewS: vectors.skew_s });
    const binding = { room: c.binding.room, agentIdentity: c.binding.agent_identity, jobId: c.binding.job_id };
    const opts = { allowAnyAgent: c.binding.allow_any_agent, allowUnsigned: c.binding.allow_unsigned };
    for (const p of c.prior) {
      const r = await verifier.verify(p, binding, opts);
      assert.ok(r instanceof VerifiedRequest, 'prior payloads are accepted');
      await r.accept();
    }
    const e = c.expected;
    let r: VerifiedRequest | DuplicateRequest;
    try {
      r = await verifier.verify(c.payload, binding, opts);
    } catch (err) {
      assert.ok(err instanceof ShutdownRpcError, String(err));
      assert.equal(e.outcome, 'refused', `expected ${e.outcome}, got ${err.message}`);
      if (e.outcome === 'refused') {
        assert.equal(err.refusal.name, e.name, err.refusal.detail);
        assert.equal(err.refusal.code, e.code);
      }
      return;
    }
    assert.notEqual(e.outcome, 'refused', `expected refusal ${'name' in e ? e.name : ''}, got ${r.constructor.name}`);
    if (e.outcome === 'duplicate') {
      assert.ok(r instanceof DuplicateRequest);
      assert.deepEqual(ackToWire(await r.ack), e.ack);
    } else if (e.outcome === 'accepted') {
      assert.ok(r instanceof VerifiedRequest, `expected acceptance, got ${r.constructor.name}`);
      assert.deepEqual(toWire(r.request), e.request);
      assert.deepEqual(ackToWire(await r.accept()), e.ack);
    }
  });
}

const buildable = vectors.cases.filter((c) => c.build);
test('every valid case that a producer can build has a build section', () => {
  assert.ok(buildable.length > 0);
  for (const c of buildable) assert.notEqual(c.expected.outcome, 'refused', c.name);
});

for (const c of buildable) {
  test(`build ${c.name}: byte-identical payload`, async () => {
    const keys = await signingKeys();
    const b = c.build!;
    const key = b.key_id === null ? undefined : keys.get(b.key_id);
    assert.ok(b.key_id === null || key !== undefined, `key ${b.key_id} in the vector key list`);
    const payload = await signRequest(fromWire(b.request), key);
    assert.equal(payload, c.payload);
  });
}
