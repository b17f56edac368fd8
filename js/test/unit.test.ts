// Unit tests: acknowledgement and refusal parsing, RPC error mapping, relaying, keys, strict codecs, verifier
// and handler state (replay memory, already_shutting_down, policy hooks, key scopes).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encode as libEncode } from '@msgpack/msgpack';

import {
  base64DecodeStrict,
  base64Encode,
  buildPayload,
  createRequest,
  decodeStrict,
  Ed25519PrivateKey,
  HmacSha256Key,
  inspectPayload,
  KeyError,
  METHOD,
  MsgpackFloat,
  newRequestId,
  parseAck,
  parseKeyFile,
  parseRefusal,
  refusalToRpcError,
  makeRefusal,
  relayShutdown,
  ReplayMemory,
  RequestValidationError,
  resultFromRpcError,
  sendShutdown,
  serializeAck,
  ShutdownHandler,
  shutdownReason,
  StrictMsgpackError,
  utf8Length,
  VerifiedRequest,
  Verifier,
  type RpcCaller,
  RECEIPT_METHOD,
} from '../src/index.js';

const NOW = 1_800_000_005_000;
const SECRET = new Uint8Array(32).map((_, i) => i + 1);
const binding = { room: 'room-1', agentIdentity: 'agent-AJ_1', jobId: 'AJ_1' };

function req(overrides: Partial<Parameters<typeof createRequest>[0]> = {}) {
  return createRequest({ room: 'room-1', target: 'agent-AJ_1', issuer: 'unit-test', reason: 'done', nowMs: NOW - 5000, ...overrides });
}

// ---- acknowledgements ----

test('parseAck reads the §8 example and ignores unknown keys', () => {
  const a = parseAck(
    '{"version":1,"status":"accepted","request_id":"AAAAAAAAAAAAAAAAAAAAAA","agent_identity":"agent-AJ_1","job_id":"AJ_1","agent_time_ms":1800000000000,"extra":{"x":1}}',
  );
  assert.deepEqual(a, {
    version: 1,
    status: 'accepted',
    requestId: 'AAAAAAAAAAAAAAAAAAAAAA',
    agentIdentity: 'agent-AJ_1',
    jobId: 'AJ_1',
    agentTimeMs: 1800000000000,
  });
  assert.equal(
    serializeAck(a),
    '{"version":1,"status":"accepted","request_id":"AAAAAAAAAAAAAAAAAAAAAA","agent_identity":"agent-AJ_1","job_id":"AJ_1","agent_time_ms":1800000000000}',
  );
});

test('parseAck refuses what is not an acknowledgement', () => {
  const good = { version: 1, status: 'duplicate', request_id: 'r', agent_identity: 'a', job_id: 'j', agent_time_ms: 1 };
  assert.equal(parseAck(JSON.stringify(good)).status, 'duplicate');
  for (const bad of [
    'not json',
    '[]',
    'null',
    JSON.stringify({ ...good, status: 'maybe' }),
    JSON.stringify({ ...good, version: '1' }),
    JSON.stringify({ ...good, version: 0 }),
    JSON.stringify({ ...good, agent_time_ms: 1.5 }),
    JSON.stringify({ ...good, request_id: undefined }),
    JSON.stringify({ ...good, pad: 'x'.repeat(4100) }),
  ]) {
    assert.throws(() => parseAck(bad), { name: 'AckParseError' }, bad.slice(0, 60));
  }
});

// ---- refusals ----

test('refusals round-trip through RpcError fields', () => {
  const e = refusalToRpcError(makeRefusal('UNSUPPORTED_VERSION', 'version 2 is not supported'));
  assert.equal(e.code, 4102);
  assert.equal(e.message, 'UNSUPPORTED_VERSION: version 2 is not supported');
  assert.deepEqual(JSON.parse(e.data), { version: 1, code: 4102, name: 'UNSUPPORTED_VERSION', retryable: false, supported_versions: [1] });
  const r = parseRefusal(e.code, e.message, e.data);
  assert.deepEqual(r, { code: 4102, name: 'UNSUPPORTED_VERSION', retryable: false, detail: 'version 2 is not supported', supportedVersions: [1] });
});

test('refusal messages are cut to 256 UTF-8 bytes on a character boundary', () => {
  const e = refusalToRpcError(makeRefusal('VETOED', 'é'.repeat(300)));
  assert.ok(utf8Length(e.message) <= 256);
  assert.ok(e.message.startsWith('VETOED: é'));
  assert.equal((JSON.parse(e.data) as { retryable: boolean }).retryable, true);
});

test('parseRefusal relies on the code: data may be absent or garbage', () => {
  assert.deepEqual(parseRefusal(4120), { code: 4120, name: 'EXPIRED', retryable: false, detail: '' });
  assert.equal(parseRefusal(4121, 'NOT_YET_VALID: clock', 'not json')?.retryable, true);
  assert.equal(parseRefusal(4140, 'whatever')?.detail, 'whatever');
  assert.equal(parseRefusal(4199), undefined);
  assert.equal(parseRefusal(1500), undefined);
});

// ---- RPC error mapping ----

class FakeRpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: string) {
    super(message);
  }
}

test('resultFromRpcError maps §9 codes, LiveKit codes, and other throws', () => {
  const refused = resultFromRpcError(new FakeRpcError(4111, 'BAD_SIGNATURE: signature does not verify', '{"version":1,"code":4111,"name":"BAD_SIGNATURE","retryable":false}'));
  assert.equal(refused.kind, 'refused');
  assert.ok(refused.kind === 'refused' && refused.refusal.name === 'BAD_SIGNATURE' && refused.refusal.detail === 'signature does not verify');

  assert.equal(resultFromRpcError(new FakeRpcError(1503, 'Recipient disconnected')).kind, 'left_before_reply');
  const cases: Array<[number, string, boolean]> = [
    [1400, 'UNSUPPORTED_METHOD', false],
    [1401, 'RECIPIENT_NOT_FOUND', true],
    [1402, 'REQUEST_PAYLOAD_TOO_LARGE', false],
    [1403, 'UNSUPPORTED_SERVER', false],
    [1404, 'UNSUPPORTED_VERSION', false],
    [1500, 'APPLICATION_ERROR', true],
    [1501, 'CONNECTION_TIMEOUT', true],
    [1502, 'RESPONSE_TIMEOUT', true],
    [1504, 'RESPONSE_PAYLOAD_TOO_LARGE', false],
    [1505, 'SEND_FAILED', true],
    [1999, 'UNKNOWN', false],
  ];
  for (const [code, name, retryable] of cases) {
    const r = resultFromRpcError(new FakeRpcError(code, 'x'));
    assert.deepEqual(r, { ok: false, kind: 'rpc_error', code, name, message: 'x', retryable }, String(code));
  }
  const t = resultFromRpcError(new Error('not connected'));
  assert.equal(t.kind, 'transport_error');
  assert.equal(resultFromRpcError('weird').kind, 'transport_error');
});

// ---- sending and relaying with a fake participant (an in-process agent) ----

function fakeAgent(handler: ShutdownHandler, calls: Array<Record<string, unknown>> = [], receipts: string[] = []): RpcCaller {
  return {
    async performRpc(params) {
      if (params.method === RECEIPT_METHOD) {
        receipts.push(params.payload);
        return '';
      }
      calls.push(params);
      assert.equal(params.method, METHOD);
      if (params.destinationIdentity !== binding.agentIdentity) throw new FakeRpcError(1401, 'Recipient not found');
      const r = await handler.handle(params.payload, { nowMs: NOW, callerIdentity: 'frontend-1' });
      if (r.outcome === 'refused') {
        const e = refusalToRpcError(r.refusal);
        throw new FakeRpcError(e.code, e.message, e.data);
      }
      return serializeAck(r.ack);
    },
  };
}

test('sendShutdown signs, sends with the right method and timeout, and reads the ack', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const h = new ShutdownHandler({ keys: [key], binding });
  const calls: Array<Record<string, unknown>> = [];
  const agent = fakeAgent(h, calls);
  const request = req();
  const r = await sendShutdown(agent, request, key);
  assert.equal(r.kind, 'acknowledged');
  assert.ok(r.ok && r.ack.status === 'accepted' && r.reasonDelivered && r.ack.requestId === request.requestId);
  assert.equal(calls[0]?.['responseTimeout'], 15000);
  assert.equal(calls[0]?.['destinationIdentity'], 'agent-AJ_1');

  const again = await relayShutdown(agent, calls[0]?.['payload'] as string, { responseTimeoutMs: 12000 });
  assert.ok(again.ok && again.ack.status === 'duplicate' && again.reasonDelivered);
  assert.equal(calls[1]?.['responseTimeout'], 12000);

  const other = await sendShutdown(agent, req(), key);
  assert.ok(other.ok && other.ack.status === 'already_shutting_down' && !other.reasonDelivered);
});

test('a receipt follows an ack that delivers the reason (accepted, duplicate), never another', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const receipts: string[] = [];
  const agent = fakeAgent(new ShutdownHandler({ keys: [key], binding }), [], receipts);
  const first = req();
  await sendShutdown(agent, first, key);
  await sendShutdown(agent, req(), key); // already_shutting_down: its reason is not the one delivered
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(receipts, [first.requestId]);
});

// Issue 23 #12 (spec §2): a one-shot caller lets the receipt's call go out before it disconnects.
test('the result of an ack that delivers the reason carries receiptSent, settling with the receipt call', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const h = new ShutdownHandler({ keys: [key], binding });
  const receipts: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let settled = false;
  const slowReceipts: RpcCaller = {
    async performRpc(params) {
      if (params.method !== RECEIPT_METHOD) return fakeAgent(h).performRpc(params);
      await released;
      receipts.push(params.payload);
      throw new FakeRpcError(1400, 'Method not supported at destination'); // an old agent: still settles
    },
  };
  const request = req();
  const r = await sendShutdown(slowReceipts, request, key);
  assert.ok(r.ok && r.receiptSent !== undefined, 'an accepted result has receiptSent');
  const receiptSent = r.receiptSent.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false); // the receipt call has not settled yet: disconnecting now could drop it
  release();
  await receiptSent;
  assert.deepEqual(receipts, [request.requestId]);
  const other = await sendShutdown(slowReceipts, req(), key); // already_shutting_down: no receipt
  assert.ok(other.ok && other.receiptSent === undefined);
});

test('relayShutdown sends the payload unchanged and maps refusals', async () => {
  const minted = await buildPayload(req({ room: 'other-room' }), new HmacSha256Key('k1', SECRET));
  const calls: Array<Record<string, unknown>> = [];
  const agent = fakeAgent(new ShutdownHandler({ keys: [new HmacSha256Key('k1', SECRET)], binding }), calls);
  const r = await relayShutdown(agent, minted);
  assert.equal(calls[0]?.['payload'], minted);
  assert.ok(r.kind === 'refused' && r.refusal.code === 4130 && r.refusal.name === 'WRONG_ROOM');

  const unknown = await relayShutdown(fakeAgent(new ShutdownHandler({ keys: [], binding })), minted);
  assert.ok(unknown.kind === 'refused' && unknown.refusal.name === 'UNKNOWN_KEY');
});

test('relayShutdown refuses locally what is not a v1 payload, and needs a destination for "*"', async () => {
  let sent = 0;
  const agent: RpcCaller = { performRpc: () => Promise.resolve((sent++, '')) };
  assert.equal((await relayShutdown(agent, 'not base64!')).kind, 'invalid_payload');
  const any = await buildPayload(req({ target: '*' }), null);
  assert.equal((await relayShutdown(agent, any)).kind, 'invalid_payload');
  assert.equal(sent, 0);
  const r = await relayShutdown(agent, any, { destinationIdentity: 'agent-x' });
  assert.ok(r.kind === 'invalid_response'); // '' is not an ack
  assert.equal(sent, 1);
});

test('an ack for another request id is an invalid response', async () => {
  const payload = await buildPayload(req(), null);
  const agent: RpcCaller = {
    performRpc: () =>
      Promise.resolve(
        serializeAck({ version: 1, status: 'accepted', requestId: newRequestId(), agentIdentity: 'a', jobId: 'j', agentTimeMs: 1 }),
      ),
  };
  const r = await relayShutdown(agent, payload);
  assert.ok(r.kind === 'invalid_response' && /another request id/.test(r.detail));
});

// ---- requests, payloads, keys ----

test('createRequest: fresh 22-character ids, 60 s default lifetime, producer rules enforced', () => {
  const a = req();
  const b = req();
  assert.match(a.requestId, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(a.requestId, b.requestId);
  assert.equal(a.expiresAt - a.issuedAt, 60);
  assert.throws(() => req({ lifetimeS: 301 }), RequestValidationError);
  assert.throws(() => req({ reason: 'a\nb' }), RequestValidationError);
  assert.throws(() => req({ issuer: '' }), RequestValidationError);
  assert.throws(() => req({ room: 'r'.repeat(257) }), RequestValidationError);
  assert.throws(() => req({ options: { graceMs: 60001 } }), RequestValidationError);
  assert.throws(() => req({ requestId: 'short' }), RequestValidationError);
  assert.throws(() => req({ reason: '\ud800' }), RequestValidationError);
});

test('inspectPayload reads without a key; the body is the library encoding of the ordered map', async () => {
  const r = req({ options: { drain: true, graceMs: 1500, deleteRoom: true } });
  const p = await buildPayload(r, new HmacSha256Key('k1', SECRET));
  const i = inspectPayload(p);
  assert.ok(!('ok' in i));
  if (!('ok' in i)) {
    assert.deepEqual(i.request, r);
    assert.equal(i.keyId, 'k1');
    assert.equal(i.signed, true);
  }
});

test('Ed25519 keys: sign with a seed, verify with the public key only, key files round-trip', async () => {
  const priv = await Ed25519PrivateKey.generate('ops-1');
  const file = priv.toKeyFile();
  assert.equal(Object.keys(file).join(','), 'key_id,algorithm,private_key,public_key');
  const pubOnly = await parseKeyFile(JSON.stringify(priv.toPublicKey().toKeyFile()));
  const r = req();
  const payload = await buildPayload(r, priv);
  const v = new Verifier({ keys: [pubOnly] });
  assert.ok((await v.verify(payload, binding, { nowMs: NOW })) instanceof VerifiedRequest);
  const reparsed = await parseKeyFile(file);
  assert.ok(reparsed instanceof Ed25519PrivateKey);
  await assert.rejects(parseKeyFile({ ...file, public_key: base64Encode(new Uint8Array(32)) }), KeyError);
  assert.equal(String(priv), 'Ed25519PrivateKey(ops-1)');
});

test('HMAC keys: >= 32 bytes, valid key ids, secret never in toString', async () => {
  assert.throws(() => new HmacSha256Key('k', new Uint8Array(31)), KeyError);
  assert.throws(() => new HmacSha256Key('bad id', SECRET), KeyError);
  assert.throws(() => new HmacSha256Key('x'.repeat(65), SECRET), KeyError);
  const k = await parseKeyFile({ key_id: 'backend-1', algorithm: 'hmac-sha256', secret: base64Encode(SECRET) });
  assert.equal(String(k), 'HmacSha256Key(backend-1)');
  await assert.rejects(parseKeyFile({ key_id: 'b', algorithm: 'hmac-sha256', secret: 'AQ' }), KeyError);
  await assert.rejects(parseKeyFile({ key_id: 'b', algorithm: 'rsa', secret: base64Encode(SECRET) }), KeyError);
});

// ---- strict codecs ----

test('strict base64: canonical standard alphabet with padding only', () => {
  assert.deepEqual(base64DecodeStrict('AQI='), new Uint8Array([1, 2]));
  assert.deepEqual(base64DecodeStrict(''), new Uint8Array(0));
  for (const bad of ['AQI', 'AQJ=', 'AQ==AQ==', 'A Q==', 'AQ-_', '====', 'AQ=A', 'é===']) {
    assert.equal(base64DecodeStrict(bad), undefined, bad);
  }
  for (let n = 0; n < 8; n++) {
    const b = new Uint8Array(n).map((_, i) => i * 37 + 250);
    assert.deepEqual(base64DecodeStrict(base64Encode(b)), b);
  }
});

test('strict msgpack: ints vs floats, ext, duplicate and non-str keys, >16 items, trailing bytes, UTF-8', () => {
  assert.equal(decodeStrict(new Uint8Array([0xcf, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0])), 1800000000);
  assert.equal(decodeStrict(new Uint8Array([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 2n ** 64n - 1n);
  assert.ok(decodeStrict(libEncode(1800000000.5)) instanceof MsgpackFloat);
  assert.ok(decodeStrict(new Uint8Array([0xcb, 0x41, 0xda, 0xd2, 0x74, 0x80, 0, 0, 0])) instanceof MsgpackFloat);
  const bad: Array<[string, number[]]> = [
    ['timestamp ext', [0xd6, 0xff, 0, 0, 0, 0]],
    ['ext8', [0xc7, 0, 1]],
    ['never used', [0xc1]],
    ['duplicate key', [0x82, 0xa1, 0x61, 1, 0xa1, 0x61, 2]],
    ['int key', [0x81, 1, 1]],
    ['17 items', [0xdc, 0, 17, ...new Array<number>(17).fill(0)]],
    ['map16 17 entries', [0xde, 0, 17]],
    ['trailing', [0x01, 0x02]],
    ['empty', []],
    ['truncated str', [0xa3, 0x61]],
    ['bad utf8', [0xa2, 0xc3, 0x28]],
    ['surrogate utf8', [0xa3, 0xed, 0xa0, 0x80]],
    ['overlong utf8', [0xa2, 0xc0, 0xaf]],
    ['str32 huge', [0xdb, 0xff, 0xff, 0xff, 0xff]],
  ];
  for (const [name, bytes] of bad) assert.throws(() => decodeStrict(new Uint8Array(bytes)), StrictMsgpackError, name);
  // a leading BOM is data, not stripped
  assert.equal(decodeStrict(new Uint8Array([0xa3, 0xef, 0xbb, 0xbf])), '\ufeff');
  const m = decodeStrict(libEncode({ b: 1, a: [true, null, new Uint8Array([1])] }));
  assert.ok(m instanceof Map);
  assert.deepEqual([...(m as Map<string, unknown>).keys()], ['b', 'a']);
});

// ---- handler state and policy ----

test('handler: replay memory is bounded and fails closed; entries are forgotten after expiry', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const v = new ShutdownHandler({ keys: [key], binding, replay: new ReplayMemory(1) });
  assert.equal((await v.handle(await buildPayload(req(), key), { nowMs: NOW })).outcome, 'accepted');
  const second = await v.handle(await buildPayload(req(), key), { nowMs: NOW });
  assert.ok(second.outcome === 'refused' && second.refusal.name === 'RATE_LIMITED' && second.refusal.retryable);
  // after expires_at + skew the first entry is gone
  const later = NOW + 200_000;
  const third = await v.handle(await buildPayload(req({ nowMs: later }), key), { nowMs: later });
  assert.equal(third.outcome, 'already_shutting_down');
});

test('handler: policy hooks (unsigned per caller, key scopes, veto, rate limit) and the §11 reason', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const unsigned = await buildPayload(req(), null);
  const byCaller = new ShutdownHandler({ keys: [], binding, policy: { allowUnsigned: (c) => c === 'trusted' } });
  const r1 = await byCaller.handle(unsigned, { nowMs: NOW, callerIdentity: 'stranger' });
  assert.ok(r1.outcome === 'refused' && r1.refusal.code === 4112);
  const r2 = await byCaller.handle(unsigned, { nowMs: NOW, callerIdentity: 'trusted' });
  assert.equal(r2.outcome, 'accepted');
  if (r2.outcome === 'accepted') {
    assert.equal(shutdownReason(r2.request), `remote shutdown by unit-test [${r2.request.requestId}]: done`);
  }

  const scoped = new ShutdownHandler({ keys: [key], binding, policy: { keyScopes: { k1: { issuers: ['billing'] } } } });
  const r3 = await scoped.handle(await buildPayload(req(), key), { nowMs: NOW });
  assert.ok(r3.outcome === 'refused' && r3.refusal.name === 'NOT_AUTHORIZED');

  const vetoing = new ShutdownHandler({ keys: [key], binding, policy: { veto: () => 'mid-call' } });
  const r4 = await vetoing.handle(await buildPayload(req(), key), { nowMs: NOW });
  assert.ok(r4.outcome === 'refused' && r4.refusal.name === 'VETOED' && r4.refusal.detail === 'mid-call');

  const limited = new ShutdownHandler({ keys: [key], binding, policy: { isRateLimited: () => true } });
  const r5 = await limited.handle(await buildPayload(req(), key), { nowMs: NOW });
  assert.ok(r5.outcome === 'refused' && r5.refusal.name === 'RATE_LIMITED');
  // refused requests are not remembered: the same payload is accepted once the veto is lifted
  assert.equal(vetoing.verifier.replay.size, 0);
});

test('handler: a repeat of an already_shutting_down answer keeps that status', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const v = new ShutdownHandler({ keys: [key], binding });
  v.noteJobEnding('room disconnected');
  assert.equal(v.state, 'ending_other_cause');
  const p = await buildPayload(req(), key);
  assert.equal((await v.handle(p, { nowMs: NOW })).outcome, 'already_shutting_down');
  const again = await v.handle(p, { nowMs: NOW + 1000 });
  assert.ok(again.outcome === 'duplicate' && again.ack.status === 'already_shutting_down' && again.ack.agentTimeMs === NOW);
  assert.equal(v.state, 'ending_other_cause');
  assert.equal(v.endingCause, 'room disconnected');
  assert.equal(v.accepted, undefined);
});
