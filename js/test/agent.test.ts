// livekit-shutdown-rpc/agent with a fake JobContext and fake session: the order of spec §11 (reply first, silence
// before any wait, the receipt ending the flush wait, DeleteDispatch before ctx.shutdown, one shutdown with the
// reason string), the policy, key loading that never ends the job, and vectors' after_acceptance cases. Orders only,
// never timings; the reply test drives @livekit/rtc-node's own incoming-call code.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalParticipant, RpcError } from '@livekit/rtc-node';
import type { JobContext } from '@livekit/agents';
import { createRequest, dumpKeyFile, HmacSha256Key, signRequest } from '../src/index.js';
import { FixedClock, METHOD_NAME as METHOD, parseAck, RECEIPT_METHOD_NAME as RECEIPT_METHOD } from '../src/wire.js';
import { enableRemoteShutdown, KEYS_ENV, parseReason, type ShutdownHandler } from '../src/agent.js';
import { call, enable, FakeCtx, FakeSession, IDENTITY, KEY, Logs, NOW_MS, ROOM, signed, turns } from './agent_fakes.js';

test('a real @livekit/agents JobContext is what enableRemoteShutdown takes', () => {
  const takes = (ctx: JobContext): Promise<ShutdownHandler> => enableRemoteShutdown(ctx); // type-checked
  assert.equal(typeof takes, 'function');
});

test('both methods are registered and advertised on a connected room', async () => {
  const ctx = new FakeCtx();
  const handler = await enable(ctx);
  assert.deepEqual([...ctx.room.methods.keys()], [METHOD, RECEIPT_METHOD]);
  assert.deepEqual(ctx.room.attributeCalls[0], { 'shutdown_rpc.method': METHOD, 'shutdown_rpc.versions': '1', 'shutdown_rpc.key_ids': 'k1' });
  assert.equal(handler.state, 'listening');
});

test('registration waits for the room to connect', async () => {
  const ctx = new FakeCtx();
  ctx.room.isConnected = false;
  const handler = await enable(ctx);
  assert.equal(ctx.room.methods.size, 0);
  ctx.room.isConnected = true;
  ctx.room.emit('connectionStateChanged', 1);
  await handler.registered;
  assert.deepEqual([...ctx.room.methods.keys()], [METHOD, RECEIPT_METHOD]);
});

test('without drain: silent before any wait, the receipt ends the wait, dispatch deleted, then one shutdown and the leave', async () => {
  const ctx = new FakeCtx();
  const session = new FakeSession(ctx.events);
  const handler = await enable(ctx, new Logs(), { session });
  const payload = await signed({ requestId: 'AAAAAAAAAAAAAAAAAAAAAA' });
  const ack = parseAck(await call(ctx, METHOD, payload));
  assert.equal(ack.status, 'accepted');
  assert.ok(ack.receiptToken);
  await turns();
  assert.deepEqual(ctx.events, ['interrupt force=true', 'queued audio dropped', 'input false', 'output false', 'session shutdown drain=false']);
  assert.deepEqual(ctx.room.attributeCalls.at(-1), { 'shutdown_rpc.state': 'ending', 'shutdown_rpc.request_id': 'AAAAAAAAAAAAAAAAAAAAAA', 'shutdown_rpc.issuer': 'billing-backend' });
  assert.equal(await call(ctx, RECEIPT_METHOD, 'AAAAAAAAAAAAAAAAAAAAAA'), ''); // the (public) request id is no receipt
  await turns();
  assert.deepEqual(ctx.shutdowns, []);
  await call(ctx, RECEIPT_METHOD, ack.receiptToken ?? '');
  await handler.shutdownDone;
  await ctx.room.disconnect(); // the job teardown's own disconnect: waits for the early leave, no second one
  await turns();
  const reason = 'remote shutdown by billing-backend [AAAAAAAAAAAAAAAAAAAAAA]: invoice unpaid';
  assert.deepEqual(ctx.events.slice(5), [`delete dispatch AD_1 ${ROOM}`, `shutdown ${reason}`, 'leave']);
  assert.deepEqual(parseReason(ctx.shutdowns[0] ?? ''), { issuer: 'billing-backend', requestId: 'AAAAAAAAAAAAAAAAAAAAAA', reason: 'invoice unpaid' });
  assert.equal(handler.state, 'shut_down');
  assert.equal(handler.jobEnding, reason);
});

test('the reply is handed to @livekit/rtc-node before the silence work runs', async () => {
  const ctx = new FakeCtx();
  const session = new FakeSession(ctx.events);
  await enable(ctx, new Logs(), { session });
  const sent: Array<{ payload?: string; eventsWhenSent: string[] }> = [];
  const g = globalThis as { _ffiClientInstance?: unknown };
  const previous = g._ffiClientInstance;
  g._ffiClientInstance = {
    request: (msg: { message: { case: string; value: { payload?: string } } }) => {
      if (msg.message.case === 'rpcMethodInvocationResponse') sent.push({ payload: msg.message.value.payload, eventsWhenSent: [...ctx.events] });
      return {};
    },
  };
  try {
    // @livekit/rtc-node's own incoming-call path, with our handler registered in it
    const sdk = Object.create(LocalParticipant.prototype) as LocalParticipant;
    Object.assign(sdk, { rpcHandlers: new Map([[METHOD, ctx.room.methods.get(METHOD)]]), ffi_handle: { handle: 1n } });
    await sdk.handleRpcMethodInvocation(1n, METHOD, 'rpc-1', 'user', await signed(), 10_000);
  } finally {
    g._ffiClientInstance = previous;
  }
  await turns();
  assert.equal(sent.length, 1);
  assert.equal(parseAck(sent[0]?.payload ?? '').status, 'accepted');
  assert.deepEqual(sent[0]?.eventsWhenSent, []); // nothing of the ending ran before the reply left
  assert.equal(ctx.events[0], 'interrupt force=true');
});

test('with drain the session drains and nothing is interrupted', async () => {
  const ctx = new FakeCtx();
  const session = new FakeSession(ctx.events);
  const handler = await enable(ctx, new Logs(), { session, timings: { replyFlushDelayMs: 0 } });
  await call(ctx, METHOD, await signed({ drain: true }));
  await handler.shutdownDone;
  assert.equal(ctx.events[0], 'session shutdown drain=true');
  assert.ok(!ctx.events.some((e) => e.startsWith('interrupt')));
  assert.equal(ctx.shutdowns.length, 1);
});

test('copies and later requests never end the job twice', async () => {
  const ctx = new FakeCtx();
  const handler = await enable(ctx, new Logs(), { timings: { replyFlushDelayMs: 0 } });
  const payload = await signed();
  const [first, copy] = await Promise.all([call(ctx, METHOD, payload), call(ctx, METHOD, payload, 'other')]);
  const other = parseAck(await call(ctx, METHOD, await signed({ reason: 'another' })));
  await handler.shutdownDone;
  // The two copies race through async verification: exactly one is accepted, and either may win.
  assert.deepEqual([parseAck(first).status, parseAck(copy).status].sort(), ['accepted', 'duplicate']);
  assert.equal(other.status, 'already_shutting_down');
  assert.equal(ctx.shutdowns.length, 1);
  assert.deepEqual(
    [handler.counters.get('accepted'), handler.counters.get('duplicate'), handler.counters.get('already_shutting_down')],
    [1, 1, 1],
  );
});

test('refusals are RpcErrors with the protocol code and keep the job', async () => {
  const ctx = new FakeCtx();
  const logs = new Logs();
  const handler = await enable(ctx, logs);
  const err = await call(ctx, METHOD, await signed({ room: 'elsewhere' })).catch((e: unknown) => e);
  assert.ok(err instanceof RpcError);
  assert.equal(err.code, 4130);
  assert.equal(handler.counters.get('wrong_room'), 1);
  assert.equal(handler.state, 'listening');
  assert.deepEqual(ctx.shutdowns, []);
  assert.match(logs.text(), /remote shutdown refused \(wrong_room 4130/);
});

test('policy: veto, delete_room switch, unsigned callers by identity, per-caller rate limit', async () => {
  const ctx = new FakeCtx();
  ctx.room.remoteParticipants.set('ops-1', { identity: 'ops-1', kind: 0, attributes: {} });
  let vetoed = 0;
  await enable(ctx, new Logs(), {
    access: {
      allowDeleteRoom: false,
      unsigned: { identities: ['ops-*'] },
      veto: (r) => (r.reason === 'not now' && ++vetoed ? 'busy' : undefined),
      rateLimit: { burst: 2 },
    },
  });
  const code = async (payload: string, caller = 'user'): Promise<number> => {
    const e = await call(ctx, METHOD, payload, caller).catch((x: unknown) => x);
    return e instanceof RpcError ? Number(e.code) : 0;
  };
  assert.equal(await code(await signed({ reason: 'not now' })), 4133);
  assert.equal(await code(await signed({ deleteRoom: true })), 4132);
  const unsigned = await signRequest(createRequest({ room: ROOM, target: IDENTITY, issuer: 'ops' }, {}, NOW_MS));
  assert.equal(await code(unsigned, 'stranger'), 4112);
  assert.equal(await code(unsigned, 'stranger'), 4112);
  assert.equal(await code(unsigned, 'stranger'), 4140); // its budget of 2 refusals is spent: refused unread
  assert.equal(vetoed, 1);
  assert.equal(await code(unsigned, 'ops-1'), 0); // accepted
});

test('no keys: the job carries on, an ERROR names SHUTDOWN_RPC_KEYS, callers are told UNKNOWN_KEY why', async () => {
  const ctx = new FakeCtx();
  const logs = new Logs();
  await enableRemoteShutdown(ctx, { env: {}, logger: logs, testing: { clock: new FixedClock(NOW_MS) } });
  assert.match(logs.text(), /^error remote shutdown DISABLED for this job: no verification keys\. SHUTDOWN_RPC_KEYS holds/m);
  const err = await call(ctx, METHOD, await signed()).catch((e: unknown) => e);
  assert.ok(err instanceof RpcError && err.code === 4110 && err.message.includes('no verification keys (SHUTDOWN_RPC_KEYS unset)'));
  assert.deepEqual(ctx.shutdowns, []);
});

test('SHUTDOWN_RPC_KEYS: the three forms; a bad entry is an ERROR naming its position, never its value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-'));
  const good = join(dir, 'k1.json');
  writeFileSync(good, dumpKeyFile(KEY));
  chmodSync(good, 0o600);
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"key_id": "k2", "algorithm": "hmac-sha256", "secret": "c2hvcnQ="}');
  const secretValue = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==';
  const forms: Record<string, string> = {
    object: JSON.stringify(KEY.toKeyFile()),
    array: JSON.stringify([KEY.toKeyFile(), secretValue, broken]),
    paths: [good, secretValue].join(':'),
  };
  for (const [form, value] of Object.entries(forms)) {
    const ctx = new FakeCtx();
    const logs = new Logs();
    const handler = await enableRemoteShutdown(ctx, { env: { [KEYS_ENV]: value }, logger: logs, testing: { clock: new FixedClock(NOW_MS) } });
    assert.deepEqual(handler.keyIds, ['k1'], form);
    assert.ok(!logs.text().includes(secretValue), form);
    assert.equal(parseAck(await call(ctx, METHOD, await signed())).status, 'accepted', form);
    if (form === 'array') {
      const errors = logs.lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1); // one ERROR for the job, naming each entry that failed
      assert.match(errors[0]?.message ?? '', /^remote shutdown: 2 of 3 configured keys could not be loaded: SHUTDOWN_RPC_KEYS entry #2: cannot read key file \(ENOENT\); /);
      assert.ok(errors[0]?.message.includes(`SHUTDOWN_RPC_KEYS entry #3 (${broken}): an hmac-sha256 secret must be at least 32 bytes`));
      const other = createRequest({ room: ROOM, target: IDENTITY, issuer: 'x' }, {}, NOW_MS);
      const refused = await call(ctx, METHOD, await signRequest(other, new HmacSha256Key('k2', new Uint8Array(32)))).catch((e: unknown) => e);
      assert.ok(refused instanceof RpcError && refused.code === 4110);
      assert.match(refused.message, /this agent's keys could not be loaded \(2 of 3 failed; see the agent's log\)/);
    }
  }
});

interface After {
  receipts: Array<{ receipt_token: string; request_id: string; payload: string; matches: boolean }>;
  ending_attributes: Array<{ ending: { request_id: string; issuer: string; reason: string | null }; attributes: Record<string, string> }>;
}
const vectorsPath = process.env['SHUTDOWN_RPC_VECTORS'] ?? new URL('../../../vectors/v1.json', import.meta.url);
const after = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { after_acceptance: After }).after_acceptance;

test('vectors after_acceptance: the Node agent sets exactly the ending attributes', async () => {
  for (const c of after.ending_attributes) {
    const ctx = new FakeCtx();
    const handler = await enable(ctx, new Logs(), { showReason: c.ending.reason !== null, timings: { replyFlushDelayMs: 0 } });
    await call(ctx, METHOD, await signed({ requestId: c.ending.request_id, issuer: c.ending.issuer, reason: c.ending.reason ?? 'hidden' }));
    await handler.shutdownDone;
    assert.deepEqual(ctx.room.attributeCalls.at(-1), c.attributes);
  }
});

test('vectors after_acceptance: only the receipt token ends the reply wait of the Node agent', async () => {
  // The agent draws a fresh token per acceptance: each case's token is replaced by the one it drew.
  const acceptable = /^[A-Za-z0-9_-]{22,64}$/;
  for (const c of after.receipts.filter((r) => acceptable.test(r.request_id) && acceptable.test(r.receipt_token))) {
    const ctx = new FakeCtx();
    const handler = await enable(ctx);
    const token = parseAck(await call(ctx, METHOD, await signed({ requestId: c.request_id }))).receiptToken ?? '';
    await call(ctx, RECEIPT_METHOD, c.payload.split(c.receipt_token).join(token));
    await turns();
    assert.equal(ctx.shutdowns.length, c.matches ? 1 : 0, JSON.stringify(c));
    if (!c.matches) {
      await call(ctx, RECEIPT_METHOD, token);
      await handler.shutdownDone;
    }
  }
});

test('delete_room: the room is deleted from a shutdown callback, after the leave', async () => {
  const ctx = new FakeCtx();
  const handler = await enable(ctx, new Logs(), { timings: { replyFlushDelayMs: 0 } });
  await call(ctx, METHOD, await signed({ deleteRoom: true }));
  await handler.shutdownDone;
  await ctx.room.disconnect();
  for (const cb of ctx.callbacks) await cb();
  assert.deepEqual(ctx.events.slice(-2), ['leave', `delete room ${ROOM}`]);
});

test('a job of a per-participant dispatch keeps its dispatch (others share it); endDispatch: false keeps any', async () => {
  for (const [type, endDispatch] of [['JT_PUBLISHER', true], ['JT_ROOM', false]] as const) {
    const ctx = new FakeCtx();
    Object.assign(ctx.job, { type });
    const handler = await enable(ctx, new Logs(), { endDispatch, timings: { replyFlushDelayMs: 0 } });
    await call(ctx, METHOD, await signed());
    await handler.shutdownDone;
    assert.ok(!ctx.events.some((e) => e.startsWith('delete dispatch')), `${type} ${endDispatch}`);
    assert.equal(ctx.shutdowns.length, 1);
  }
});

// Issue 23 #8 (spec §12): a key file group or others may rewrite, or in a folder they may write (not sticky), is
// refused: whoever can rewrite an agent's public key file chooses the key it trusts. The error names path and mode.
test('key files others may rewrite (or whose folder they may write) are refused, naming path and mode', async () => {
  const cases: Array<[string, number, number, RegExp]> = [
    ['file', 0o664, 0o755, /is writable by group\/others \(mode 664\)/],
    ['file-other', 0o646, 0o755, /is writable by group\/others \(mode 646\)/],
    ['folder', 0o644, 0o777, /is writable by group\/others \(mode 777\)/],
  ];
  for (const [name, fileMode, folderMode, expected] of cases) {
    const dir = mkdtempSync(join(tmpdir(), `keys-${name}-`));
    const path = join(dir, 'k1.json');
    writeFileSync(path, dumpKeyFile(KEY));
    chmodSync(path, fileMode);
    chmodSync(dir, folderMode);
    const ctx = new FakeCtx();
    const logs = new Logs();
    const handler = await enableRemoteShutdown(ctx, { env: { [KEYS_ENV]: path }, logger: logs, testing: { clock: new FixedClock(NOW_MS) } });
    assert.deepEqual(handler.keyIds, [], name);
    const errors = logs.lines.filter((l) => l.level === 'error').map((l) => l.message).join('\n');
    assert.match(errors, expected, name);
    assert.ok(errors.includes(name === 'folder' ? dir : path), name);
  }
  const sticky = mkdtempSync(join(tmpdir(), 'keys-sticky-'));
  const fine = join(sticky, 'k1.json');
  writeFileSync(fine, dumpKeyFile(KEY));
  chmodSync(fine, 0o600);
  chmodSync(sticky, 0o1777); // like /tmp: others cannot replace this entry
  const handler = await enableRemoteShutdown(new FakeCtx(), { env: { [KEYS_ENV]: fine }, logger: new Logs(), testing: { clock: new FixedClock(NOW_MS) } });
  assert.deepEqual(handler.keyIds, ['k1']);
});

// Issue 23 #6 and #10 (spec §7 step 15): a caller over its own limit is logged once, not once per attempt; a veto
// (a valid request refused for now) draws on no budget.
test('floods: a caller over its limit is logged once, never per attempt; vetoes draw on no budget', async () => {
  const ctx = new FakeCtx();
  const logs = new Logs();
  await enable(ctx, logs, { access: { veto: (r) => (r.reason === 'not now' ? 'busy' : undefined), rateLimit: { burst: 2 } } });
  const code = async (payload: string, caller: string): Promise<number> => {
    const e = await call(ctx, METHOD, payload, caller).catch((x: unknown) => x);
    return e instanceof RpcError ? Number(e.code) : 0;
  };
  for (let n = 0; n < 5; n++) assert.equal(await code(await signed({ reason: 'not now' }), 'backend'), 4133);
  const wrongRoom = await signed({ room: 'other-room' });
  for (let n = 0; n < 2; n++) assert.equal(await code(wrongRoom, 'mallory'), 4130);
  for (let n = 0; n < 300; n++) assert.equal(await code(wrongRoom, 'mallory'), 4140);
  await turns();
  const aboutMallory = logs.lines.filter((l) => l.level !== 'info' && l.message.includes('mallory'));
  assert.equal(aboutMallory.length, 3, aboutMallory.map((l) => l.message).join('\n')); // 2 refusals, 1 "over its budget"
  assert.equal(await code(await signed(), 'backend'), 0); // five vetoes left the backend within its limit of 2
});
