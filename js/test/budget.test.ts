// Issue 11 #11 (spec §7 step 15): refused attempts are bounded across all callers, and a valid request is never
// kept out by them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createRequest, HmacSha256Key, signRequest } from '../src/index.js';
import { ShutdownDecider } from '../src/agent.js';

const NOW = 1_800_000_005_000;
const binding = { room: 'room-1', agentIdentity: 'agent-AJ_1', jobId: 'AJ_1' };
const key = new HmacSha256Key('k1', new Uint8Array(32).map((_, i) => i + 1));

function req(overrides: { room?: string; reason?: string } = {}) {
  return createRequest(
    { room: overrides.room ?? 'room-1', target: 'agent-AJ_1', issuer: 'backend' },
    { reason: overrides.reason ?? 'bye' },
    NOW,
  );
}

test('budget: refusals from ever new callers draw RATE_LIMITED, a valid request is still accepted', async () => {
  let clock = 0;
  const decider = new ShutdownDecider({
    keys: [key],
    binding,
    policy: { refusalBudget: { burst: 5, refillPerS: 1 } },
    monotonicMs: () => clock,
  });
  const wrongRoom = await signRequest(req({ room: 'other-room' }), key);
  const names: string[] = [];
  for (let n = 0; n < 20; n++) {
    const r = await decider.decide(n % 2 ? wrongRoom : 'not base64!', { callerIdentity: `PA_${n}`, nowMs: NOW });
    assert.equal(r.outcome, 'refused');
    if (r.outcome === 'refused') names.push(r.refusal.name);
  }
  assert.deepEqual(names.slice(0, 5), ['MALFORMED', 'WRONG_ROOM', 'MALFORMED', 'WRONG_ROOM', 'MALFORMED']);
  assert.ok(names.slice(5).every((n) => n === 'RATE_LIMITED'), names.join());
  const valid = await decider.decide(await signRequest(req(), key), { callerIdentity: 'PA_valid', nowMs: NOW });
  assert.equal(valid.outcome, 'accepted');
  // the budget refills with time: refusals carry their own code again
  clock += 2000;
  const later = await decider.decide(wrongRoom, { callerIdentity: 'PA_later', nowMs: NOW });
  assert.ok(later.outcome === 'refused' && later.refusal.name === 'WRONG_ROOM');
});

test('budget: refuses a nonsensical budget', () => {
  assert.throws(() => new ShutdownDecider({ keys: [key], binding, policy: { refusalBudget: { burst: 0, refillPerS: 1 } } }), RangeError);
  assert.throws(() => new ShutdownDecider({ keys: [key], binding, policy: { refusalBudget: { burst: 1, refillPerS: 0 } } }), RangeError);
});
