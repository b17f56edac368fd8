// The pure verifier (§7 steps 1-14): one typed error per refusal, acceptance that remembers, its options.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DuplicateRequest, signRequest, VerifiedRequest, Verifier } from '../src/index.js';
import { DEFAULT_REPLAY_CAPACITY, FixedClock, ReplayCache } from '../src/wire.js';
import { NOW, KEY, binding, req, refusalOf } from './fixtures.js';

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
