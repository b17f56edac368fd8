// Issue 11 #11 (spec §7 step 15): refused attempts are bounded across all callers, and a valid request is never
// kept out by them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildPayload, createRequest, HmacSha256Key, ShutdownHandler } from '../src/index.js';

const NOW = 1_800_000_005_000;
const binding = { room: 'room-1', agentIdentity: 'agent-AJ_1', jobId: 'AJ_1' };
const key = new HmacSha256Key('k1', new Uint8Array(32).map((_, i) => i + 1));

function req(overrides: { room?: string; reason?: string } = {}) {
  return createRequest({
    room: overrides.room ?? 'room-1',
    target: 'agent-AJ_1',
    reason: overrides.reason ?? 'bye',
    issuer: 'backend',
    nowMs: NOW,
  });
}

test('budget: refusals from ever new callers draw RATE_LIMITED, a valid request is still accepted', async () => {
  let clock = 0;
  const handler = new ShutdownHandler({
    keys: [key],
    binding,
    refusalBudget: { burst: 5, refillPerS: 1 },
    monotonicMs: () => clock,
  });
  const wrongRoom = await buildPayload(req({ room: 'other-room' }), key);
  const names: string[] = [];
  for (let n = 0; n < 20; n++) {
    const r = await handler.handle(n % 2 ? wrongRoom : 'not base64!', { callerIdentity: `PA_${n}`, nowMs: NOW });
    assert.equal(r.outcome, 'refused');
    if (r.outcome === 'refused') names.push(r.refusal.name);
  }
  assert.deepEqual(names.slice(0, 5), ['MALFORMED', 'WRONG_ROOM', 'MALFORMED', 'WRONG_ROOM', 'MALFORMED']);
  assert.ok(names.slice(5).every((n) => n === 'RATE_LIMITED'), names.join());
  const valid = await handler.handle(await buildPayload(req(), key), { callerIdentity: 'PA_valid', nowMs: NOW });
  assert.equal(valid.outcome, 'accepted');
  // the budget refills with time: refusals carry their own code again
  clock += 2000;
  const later = await handler.handle(wrongRoom, { callerIdentity: 'PA_later', nowMs: NOW });
  assert.ok(later.outcome === 'refused' && later.refusal.name === 'WRONG_ROOM');
});

test('budget: refuses a nonsensical budget', () => {
  assert.throws(() => new ShutdownHandler({ keys: [key], binding, refusalBudget: { burst: 0, refillPerS: 1 } }), RangeError);
  assert.throws(() => new ShutdownHandler({ keys: [key], binding, refusalBudget: { burst: 1, refillPerS: 0 } }), RangeError);
});

// Issue 23 #10 (spec §7 step 15): only the refusals the budget could answer RATE_LIMITED draw on it; a veto
// (a valid request the application refuses for now) keeps its code and spends nothing.
test('budget: vetoes draw nothing, over budget a key-scope refusal is RATE_LIMITED and a veto keeps its code', async () => {
  const vetoing = new ShutdownHandler({
    keys: [key],
    binding,
    refusalBudget: { burst: 2, refillPerS: 1e-9 },
    monotonicMs: () => 0,
    policy: { veto: (r) => (r.reason === 'vetoed' ? 'busy' : false), keyScopes: { k1: { issuers: ['backend'] } } },
  });
  const outcome = async (payload: string): Promise<string> => {
    const r = await vetoing.handle(payload, { callerIdentity: 'PA', nowMs: NOW });
    return r.outcome === 'refused' ? r.refusal.name : r.outcome;
  };
  for (let n = 0; n < 4; n++) assert.equal(await outcome(await buildPayload(req({ reason: 'vetoed' }), key)), 'VETOED');
  const wrongRoom = await buildPayload(req({ room: 'other-room' }), key);
  assert.equal(await outcome(wrongRoom), 'WRONG_ROOM'); // the vetoes spent nothing
  assert.equal(await outcome(wrongRoom), 'WRONG_ROOM');
  assert.equal(await outcome(wrongRoom), 'RATE_LIMITED'); // now the budget is spent
  const intruder = await buildPayload(createRequest({ room: 'room-1', target: 'agent-AJ_1', reason: '', issuer: 'intruder', nowMs: NOW }), key);
  assert.equal(await outcome(intruder), 'RATE_LIMITED'); // NOT_AUTHORIZED (key scope) over budget
  assert.equal(await outcome(await buildPayload(req({ reason: 'vetoed' }), key)), 'VETOED');
  assert.equal(await outcome(await buildPayload(req(), key)), 'accepted');
});
