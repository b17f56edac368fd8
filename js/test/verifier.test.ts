// The pure verifier (steps 1-14, one typed error, acceptance that remembers) and the decider around it (key
// scopes, the request id held while an async veto runs, the job state).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createRequest,
  DuplicateRequest,
  HmacSha256Key,
  type RequestAddress,
  type ShutdownCommand,
  ShutdownRpcError,
  signRequest,
  VerifiedRequest,
  Verifier,
  type VerifyingKey,
} from '../src/index.js';
import { DEFAULT_REPLAY_CAPACITY, FixedClock, ReplayCache } from '../src/wire.js';
import { ShutdownDecider } from '../src/agent.js';
import { scopeMatches } from '../src/decider.js';

const NOW = 1_800_000_005_000;
const KEY = new HmacSha256Key('k1', new Uint8Array(32).map((_, i) => i + 1));
const binding = { room: 'room-1', agentIdentity: 'agent-AJ_1', jobId: 'AJ_1' };

type RequestOverrides = Partial<RequestAddress> & ShutdownCommand & { nowMs?: number };

function req({ room = 'room-1', target = 'agent-AJ_1', issuer = 'unit-test', nowMs = NOW - 5000, ...command }: RequestOverrides = {}) {
  return createRequest({ room, target, issuer }, { reason: 'done', ...command }, nowMs);
}

async function refusalOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ShutdownRpcError, String(e));
    return e.refusal.name;
  }
  assert.fail('expected a ShutdownRpcError');
}

test('Verifier: one typed error per refusal; verifying remembers nothing, accepting does', async () => {
  const clock = new FixedClock(NOW);
  const v = new Verifier({ keys: [KEY], clock });
  assert.equal(v.replay.capacity, DEFAULT_REPLAY_CAPACITY);
  assert.equal(await refusalOf(v.verify('not base64!', binding)), 'MALFORMED');
  assert.equal(await refusalOf(v.verify(await signRequest(req({ room: 'room-2' }), KEY), binding)), 'WRONG_ROOM');
  assert.equal(await refusalOf(v.verify(await signRequest(req()), binding)), 'UNSIGNED_REFUSED');
  assert.equal(await refusalOf(v.verify(await signRequest(req({ target: '*' }), KEY), binding)), 'NOT_AUTHORIZED');
  assert.ok((await v.verify(await signRequest(req({ target: '*' }), KEY), binding, { allowAnyAgent: true })) instanceof VerifiedRequest);

  const payload = await signRequest(req(), KEY);
  const first = await v.verify(payload, binding);
  assert.ok(first instanceof VerifiedRequest && first.keyId === 'k1');
  assert.ok((await v.verify(payload, binding)) instanceof VerifiedRequest, 'not remembered before acceptance');
  clock.advance(1500);
  const ack = await first.accept();
  assert.deepEqual(ack, { version: 1, status: 'accepted', requestId: first.request.requestId, agentIdentity: 'agent-AJ_1', jobId: 'AJ_1', agentTimeMs: NOW + 1500 });
  const dup = await v.verify(payload, binding);
  assert.ok(dup instanceof DuplicateRequest);
  assert.deepEqual(await dup.ack, { ...ack, status: 'duplicate' });
  // the same id with other content
  const other = await signRequest({ ...req(), requestId: first.request.requestId, reason: 'other' }, KEY);
  assert.equal(await refusalOf(v.verify(other, binding)), 'REQUEST_ID_CONFLICT');
  // a copy verified before the first was accepted is answered as a repeat when accepted in turn
  const copy = await v.verify(await signRequest(req({ requestId: 'CCCCCCCCCCCCCCCCCCCCCC' }), KEY), binding);
  const racing = await v.verify(await signRequest(req({ requestId: 'CCCCCCCCCCCCCCCCCCCCCC' }), KEY), binding);
  assert.ok(copy instanceof VerifiedRequest && racing instanceof VerifiedRequest);
  assert.equal((await copy.accept()).status, 'accepted');
  assert.equal((await racing.accept()).status, 'duplicate');
  // remembered until expires_at + skew, then forgotten (and then expired anyway)
  clock.set((first.request.expiresAt + 30) * 1000);
  assert.equal(await refusalOf(v.verify(payload, binding)), 'EXPIRED');
  assert.equal(v.replay.lookup(first.request.requestId, clock.nowMs()), undefined);
});

test('Verifier: skew and maximum lifetime are options within the spec bounds', async () => {
  assert.throws(() => new Verifier({ keys: [], skewS: 301 }), RangeError);
  assert.throws(() => new Verifier({ keys: [], maxLifetimeS: 301 }), RangeError);
  assert.throws(() => new Verifier({ keys: [], maxLifetimeS: 0 }), RangeError);
  assert.throws(() => new ReplayCache(0), RangeError);
  const short = new Verifier({ keys: [KEY], maxLifetimeS: 30, clock: new FixedClock(NOW) });
  assert.equal(await refusalOf(short.verify(await signRequest(req(), KEY), binding)), 'LIFETIME_TOO_LONG');
  const noSkew = new Verifier({ keys: [KEY], skewS: 0, clock: new FixedClock(NOW - 6000) });
  assert.equal(await refusalOf(noSkew.verify(await signRequest(req(), KEY), binding)), 'NOT_YET_VALID');
});

test('key scope entries: literal except "*", which matches any run of characters', () => {
  const cases: Array<[string, string, boolean]> = [
    ['billing', 'billing', true],
    ['billing', 'billing2', false],
    ['billing', 'Billing', false],
    ['*', '', true],
    ['*', '*', true],
    ['*', 'anything at all', true],
    ['agent-*', 'agent-', true],
    ['agent-*', 'agent-AJ_1', true],
    ['agent-*', '*', false],
    ['agent-*', 'xagent-1', false],
    ['*-backend', 'billing-backend', true],
    ['*-backend', 'billing-backend-2', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYc-', false],
    ['a**', 'a', true],
    ['', '', true],
    ['', 'a', false],
    ['svc-?', 'svc-1', false],
    ['svc-?', 'svc-?', true],
    ['[ab]', 'a', false],
    ['[ab]', '[ab]', true],
    ['a.c', 'abc', false],
    ['line*', 'line\nbreak', true],
    ['ops[1]', 'ops1', false],
  ];
  for (const [pattern, value, expected] of cases) assert.equal(scopeMatches(pattern, value), expected, `${pattern} ~ ${value}`);
  // no catastrophic backtracking on many stars
  assert.equal(scopeMatches('*a'.repeat(30) + 'b', 'a'.repeat(256)), false);
});

test('decider: the any-agent target is policy (allowAnyAgent, a verify option), not part of the binding', async () => {
  const any = await signRequest(req({ target: '*' }), KEY);
  const strict = await new ShutdownDecider({ keys: [KEY], binding }).decide(any, { nowMs: NOW });
  assert.ok(strict.outcome === 'refused' && strict.refusal.name === 'NOT_AUTHORIZED');
  const open = new ShutdownDecider({ keys: [KEY], binding, policy: { allowAnyAgent: true } });
  assert.equal((await open.decide(any, { nowMs: NOW })).outcome, 'accepted');
  assert.deepEqual(Object.keys(open.binding).sort(), ['agentIdentity', 'jobId', 'room']);
});

test('decider: key scopes on issuers and targets, "*" target only through an entry matching it', async () => {
  const scoped = (targets: string[]) =>
    new ShutdownDecider({ keys: [KEY], binding, policy: { allowAnyAgent: true, keyScopes: { k1: { issuers: ['unit-*'], targets } } } });
  assert.equal((await scoped(['agent-*']).decide(await signRequest(req(), KEY), { nowMs: NOW })).outcome, 'accepted');
  const any = await signRequest(req({ target: '*' }), KEY);
  const r = await scoped(['agent-*']).decide(any, { nowMs: NOW });
  assert.ok(r.outcome === 'refused' && r.refusal.name === 'NOT_AUTHORIZED' && /target/.test(r.refusal.detail));
  assert.equal((await scoped(['*']).decide(any, { nowMs: NOW })).outcome, 'accepted');
  const wrongIssuer = await scoped(['*']).decide(await signRequest(req({ issuer: 'billing' }), KEY), { nowMs: NOW });
  assert.ok(wrongIssuer.outcome === 'refused' && /issuer/.test(wrongIssuer.refusal.detail));
});

/** A veto that waits until released; `called` settles once it has been asked (no sleeps in tests). */
function heldVeto() {
  let calls = 0;
  let asked!: () => void;
  const called = new Promise<void>((r) => (asked = r));
  let release!: (verdict: boolean | string) => void;
  const verdict = new Promise<boolean | string>((r) => (release = r));
  const veto = () => {
    calls++;
    asked();
    return verdict;
  };
  return { veto, called, release, calls: () => calls };
}

/** KEY in a verifier's ring, telling when its n-th signature check has finished. */
function watchedKey() {
  const waiters: Array<[number, () => void]> = [];
  let checks = 0;
  const key: VerifyingKey = {
    keyId: KEY.keyId,
    algorithm: KEY.algorithm,
    signatureLength: KEY.signatureLength,
    async verify(message, signature) {
      const ok = await KEY.verify(message, signature);
      checks++;
      for (const [n, done] of waiters) if (n <= checks) done();
      return ok;
    },
  };
  // After the check, the rest of Verifier.verify is microtasks: one macrotask later the caller is past step 11.
  const checked = (n: number) =>
    new Promise<void>((r) => waiters.push([n, r])).then(() => new Promise<void>((r) => setImmediate(r)));
  return { key, checked };
}

test('decider: a repeat sent while the veto runs waits for that outcome instead of a second decision', async () => {
  const held = heldVeto();
  const watched = watchedKey();
  const h = new ShutdownDecider({ keys: [watched.key], binding, policy: { veto: held.veto } });
  const request = req();
  const payload = await signRequest(request, KEY);
  const first = h.decide(payload, { nowMs: NOW });
  await held.called;
  const second = h.decide(payload, { nowMs: NOW + 10 });
  await watched.checked(2);
  const conflict = await h.decide(await signRequest({ ...request, reason: 'other' }, KEY), { nowMs: NOW });
  assert.ok(conflict.outcome === 'refused' && conflict.refusal.name === 'REQUEST_ID_CONFLICT');
  assert.equal(h.state, 'listening');
  held.release(false);
  const [a, b] = await Promise.all([first, second]);
  assert.equal(held.calls(), 1);
  assert.ok(a.outcome === 'accepted' && b.outcome === 'duplicate');
  assert.deepEqual(b.ack, { ...a.ack, status: 'duplicate' });
  assert.equal(h.state, 'accepted');
  assert.equal(h.accepted?.requestId, request.requestId);
  // the job ending for another cause after the acceptance: overtaken, and still answering already_shutting_down
  h.noteJobEnding('room disconnected');
  assert.equal(h.state, 'accepted_overtaken');
  const late = await h.decide(await signRequest(req(), KEY), { nowMs: NOW });
  assert.equal(late.outcome, 'already_shutting_down');
  assert.equal(h.state, 'accepted_overtaken');
});

test('decider: a full replay memory refuses before the veto; requests being decided count (§7.1)', async () => {
  const held = heldVeto();
  const first = req();
  const vetoed: string[] = [];
  const veto = (r: { requestId: string }) => {
    vetoed.push(r.requestId);
    return r.requestId === first.requestId ? held.veto() : false; // only the first waits: a regression fails, never hangs
  };
  const h = new ShutdownDecider({ keys: [KEY], binding, replay: new ReplayCache(1), policy: { veto } });
  const firstPayload = await signRequest(first, KEY);
  const pending = h.decide(firstPayload, { nowMs: NOW });
  await held.called; // its id takes the only room while the veto runs
  const full = await h.decide(await signRequest(req(), KEY), { nowMs: NOW });
  assert.ok(full.outcome === 'refused' && full.refusal.name === 'RATE_LIMITED' && full.refusal.retryable);
  assert.deepEqual(vetoed, [first.requestId]); // refused before any policy work that takes time
  held.release(false);
  assert.equal((await pending).outcome, 'accepted');
  assert.equal((await h.decide(firstPayload, { nowMs: NOW })).outcome, 'duplicate'); // repeats still answered
  const stillFull = await h.decide(await signRequest(req(), KEY), { nowMs: NOW }); // never evicts the live entry
  assert.ok(stillFull.outcome === 'refused' && stillFull.refusal.name === 'RATE_LIMITED');
  assert.deepEqual(vetoed, [first.requestId]);
  const later = (first.expiresAt + 30) * 1000; // the first request can no longer verify: its room is free
  assert.equal((await h.decide(await signRequest(req({ nowMs: later }), KEY), { nowMs: later })).outcome, 'already_shutting_down');
});

test('decider: a refusal by the veto reaches the waiting repeat and is not remembered', async () => {
  const held = heldVeto();
  const watched = watchedKey();
  const h = new ShutdownDecider({ keys: [watched.key], binding, policy: { veto: held.veto } });
  const payload = await signRequest(req(), KEY);
  const first = h.decide(payload, { nowMs: NOW });
  await held.called;
  const second = h.decide(payload, { nowMs: NOW });
  await watched.checked(2);
  held.release('busy');
  for (const r of await Promise.all([first, second])) {
    assert.ok(r.outcome === 'refused' && r.refusal.name === 'VETOED' && r.refusal.detail === 'busy', JSON.stringify(r));
  }
  assert.equal(held.calls(), 1);
  assert.equal(h.verifier.replay.size, 0);
  assert.equal(h.state, 'listening');
});

test('decider: the job ending while the veto runs turns the acceptance into already_shutting_down', async () => {
  const held = heldVeto();
  const h = new ShutdownDecider({ keys: [KEY], binding, policy: { veto: held.veto } });
  const pending = h.decide(await signRequest(req(), KEY), { nowMs: NOW });
  await held.called;
  h.noteJobEnding('');
  held.release(false);
  assert.equal((await pending).outcome, 'already_shutting_down');
  assert.equal(h.state, 'ending_other_cause');
  assert.equal(h.endingCause, 'unknown cause');
  h.noteJobEnding('later cause');
  assert.equal(h.endingCause, 'unknown cause', 'first cause kept');
  assert.equal(h.state, 'ending_other_cause');
});

test('decider: a veto that throws is INTERNAL_ERROR, reported, and not remembered', async () => {
  const seen: unknown[] = [];
  const h = new ShutdownDecider({
    keys: [KEY],
    binding,
    policy: { veto: () => { throw new Error('app bug'); } },
    onInternalError: (e) => seen.push(e),
  });
  const r = await h.decide(await signRequest(req(), KEY), { nowMs: NOW });
  assert.ok(r.outcome === 'refused' && r.refusal.name === 'INTERNAL_ERROR' && r.refusal.retryable);
  assert.equal(seen.length, 1);
  assert.equal(h.verifier.replay.size, 0);
});

test('decider: two copies of one payload at once give one acceptance and one duplicate', async () => {
  // Unsigned: no signature check to wait for, so both copies pass step 11 before either is accepted.
  for (const key of [undefined, KEY]) {
    const h = new ShutdownDecider({ keys: [KEY], binding, policy: { allowUnsigned: true } });
    const payload = await signRequest(req(), key);
    const results = await Promise.all([h.decide(payload, { nowMs: NOW }), h.decide(payload, { nowMs: NOW })]);
    assert.deepEqual(results.map((r) => r.outcome).sort(), ['accepted', 'duplicate'], JSON.stringify(results));
  }
});

test('decider: the acknowledgement carries the clock at acceptance, after the veto', async () => {
  const clock = new FixedClock(NOW);
  const h = new ShutdownDecider({ keys: [KEY], binding, clock, policy: { veto: () => (clock.advance(700), false) } });
  const r = await h.decide(await signRequest(req(), KEY));
  assert.ok(r.outcome === 'accepted' && r.ack.agentTimeMs === NOW + 700, JSON.stringify(r));
});
