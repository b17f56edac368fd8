// The sans-IO agent core around the Verifier: key scopes, the veto with the request id held, the replay cache
// bound, the job state, the budget of refusals across all callers.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HmacSha256Key, signRequest, type VerifyingKey } from '../src/index.js';
import { FixedClock, ReplayCache } from '../src/wire.js';
import { ShutdownDecider, shutdownReason } from '../src/agent.js';
import { scopeMatches } from '../src/decider.js';
import { binding, KEY, NOW, req, SECRET } from './fixtures.js';

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

test('decider: replay memory is bounded and fails closed; entries are forgotten after expiry', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const v = new ShutdownDecider({ keys: [key], binding, replay: new ReplayCache(1) });
  assert.equal((await v.decide(await signRequest(req(), key), { nowMs: NOW })).outcome, 'accepted');
  const second = await v.decide(await signRequest(req(), key), { nowMs: NOW });
  assert.ok(second.outcome === 'refused' && second.refusal.name === 'RATE_LIMITED' && second.refusal.retryable);
  // after expires_at + skew the first entry is gone
  const later = NOW + 200_000;
  const third = await v.decide(await signRequest(req({ nowMs: later }), key), { nowMs: later });
  assert.equal(third.outcome, 'already_shutting_down');
});

test('decider: policy hooks (unsigned per caller, key scopes, veto, rate limit) and the §11 reason', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const unsigned = await signRequest(req());
  const byCaller = new ShutdownDecider({ keys: [], binding, policy: { allowUnsigned: (c) => c === 'trusted' } });
  const r1 = await byCaller.decide(unsigned, { nowMs: NOW, callerIdentity: 'stranger' });
  assert.ok(r1.outcome === 'refused' && r1.refusal.code === 4112);
  const r2 = await byCaller.decide(unsigned, { nowMs: NOW, callerIdentity: 'trusted' });
  assert.equal(r2.outcome, 'accepted');
  if (r2.outcome === 'accepted') {
    assert.equal(shutdownReason(r2.request), `remote shutdown by unit-test [${r2.request.requestId}]: done`);
  }

  const scoped = new ShutdownDecider({ keys: [key], binding, policy: { keyScopes: { k1: { issuers: ['billing'] } } } });
  const r3 = await scoped.decide(await signRequest(req(), key), { nowMs: NOW });
  assert.ok(r3.outcome === 'refused' && r3.refusal.name === 'NOT_AUTHORIZED');

  const vetoing = new ShutdownDecider({ keys: [key], binding, policy: { veto: () => 'mid-call' } });
  const r4 = await vetoing.decide(await signRequest(req(), key), { nowMs: NOW });
  assert.ok(r4.outcome === 'refused' && r4.refusal.name === 'VETOED' && r4.refusal.detail === 'mid-call');

  const limited = new ShutdownDecider({ keys: [key], binding, policy: { isRateLimited: () => true } });
  const r5 = await limited.decide(await signRequest(req(), key), { nowMs: NOW });
  assert.ok(r5.outcome === 'refused' && r5.refusal.name === 'RATE_LIMITED');
  // refused requests are not remembered: the same payload is accepted once the veto is lifted
  assert.equal(vetoing.verifier.replay.size, 0);
});

test('decider: a repeat of an already_shutting_down answer keeps that status', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const v = new ShutdownDecider({ keys: [key], binding });
  v.noteJobEnding('room disconnected');
  assert.equal(v.state, 'ending_other_cause');
  const p = await signRequest(req(), key);
  assert.equal((await v.decide(p, { nowMs: NOW })).outcome, 'already_shutting_down');
  const again = await v.decide(p, { nowMs: NOW + 1000 });
  assert.ok(again.outcome === 'duplicate' && again.ack.status === 'already_shutting_down' && again.ack.agentTimeMs === NOW);
  assert.equal(v.state, 'ending_other_cause');
  assert.equal(v.endingCause, 'room disconnected');
  assert.equal(v.accepted, undefined);
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

test('budget: refusals from ever new callers draw RATE_LIMITED, a valid request is still accepted', async () => {
  let clock = 0;
  const decider = new ShutdownDecider({
    keys: [KEY],
    binding,
    policy: { refusalBudget: { burst: 5, refillPerS: 1 } },
    monotonicMs: () => clock,
  });
  const wrongRoom = await signRequest(req({ room: 'other-room' }), KEY);
  const names: string[] = [];
  for (let n = 0; n < 20; n++) {
    const r = await decider.decide(n % 2 ? wrongRoom : 'not base64!', { callerIdentity: `PA_${n}`, nowMs: NOW });
    assert.equal(r.outcome, 'refused');
    if (r.outcome === 'refused') names.push(r.refusal.name);
  }
  assert.deepEqual(names.slice(0, 5), ['MALFORMED', 'WRONG_ROOM', 'MALFORMED', 'WRONG_ROOM', 'MALFORMED']);
  assert.ok(names.slice(5).every((n) => n === 'RATE_LIMITED'), names.join());
  const valid = await decider.decide(await signRequest(req(), KEY), { callerIdentity: 'PA_valid', nowMs: NOW });
  assert.equal(valid.outcome, 'accepted');
  // the budget refills with time: refusals carry their own code again
  clock += 2000;
  const later = await decider.decide(wrongRoom, { callerIdentity: 'PA_later', nowMs: NOW });
  assert.ok(later.outcome === 'refused' && later.refusal.name === 'WRONG_ROOM');
});

test('budget: refuses a nonsensical budget', () => {
  assert.throws(() => new ShutdownDecider({ keys: [KEY], binding, policy: { refusalBudget: { burst: 0, refillPerS: 1 } } }), RangeError);
  assert.throws(() => new ShutdownDecider({ keys: [KEY], binding, policy: { refusalBudget: { burst: 1, refillPerS: 0 } } }), RangeError);
});

// Issue 23 #10 (spec §7 step 15): only the refusals the budget could answer RATE_LIMITED draw on it; a veto
// (a valid request the application refuses for now) keeps its code and spends nothing.
test('budget: vetoes draw nothing, over budget a key-scope refusal is RATE_LIMITED and a veto keeps its code', async () => {
  const decider = new ShutdownDecider({
    keys: [KEY],
    binding,
    policy: {
      refusalBudget: { burst: 2, refillPerS: 1e-9 },
      veto: (r) => (r.reason === 'vetoed' ? 'busy' : false),
      keyScopes: { k1: { issuers: ['unit-test'] } },
    },
    monotonicMs: () => 0,
  });
  const outcome = async (payload: string): Promise<string> => {
    const r = await decider.decide(payload, { callerIdentity: 'PA', nowMs: NOW });
    return r.outcome === 'refused' ? r.refusal.name : r.outcome;
  };
  for (let n = 0; n < 4; n++) assert.equal(await outcome(await signRequest(req({ reason: 'vetoed' }), KEY)), 'VETOED');
  const wrongRoom = await signRequest(req({ room: 'other-room' }), KEY);
  assert.equal(await outcome(wrongRoom), 'WRONG_ROOM'); // the vetoes spent nothing
  assert.equal(await outcome(wrongRoom), 'WRONG_ROOM');
  assert.equal(await outcome(wrongRoom), 'RATE_LIMITED'); // now the budget is spent
  assert.equal(await outcome(await signRequest(req({ issuer: 'intruder' }), KEY)), 'RATE_LIMITED'); // key scope
  assert.equal(await outcome(await signRequest(req({ reason: 'vetoed' }), KEY)), 'VETOED');
  assert.equal(await outcome(await signRequest(req(), KEY)), 'accepted');
});
