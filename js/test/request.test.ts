// Producing requests: createRequest with a ShutdownCommand, the §4 producer rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createRequest, RequestValidationError } from '../src/index.js';
import { req } from './fixtures.js';

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
  assert.throws(() => req({ graceMs: 60001 }), RequestValidationError);
  assert.throws(() => req({ requestId: 'short' }), RequestValidationError);
  assert.throws(() => req({ reason: '\ud800' }), RequestValidationError);
});

test('createRequest: the ShutdownCommand fills the request, the address binds it, defaults are the spec\'s', () => {
  const to = { room: 'support-42', target: 'agent-AJ_x', issuer: 'web-backend' };
  const command = { reason: 'user hung up', drain: true, graceMs: 1500, deleteRoom: true, lifetimeS: 30, requestId: 'R'.repeat(22) };
  assert.deepEqual(createRequest(to, command, 1_800_000_000_999), {
    requestId: 'R'.repeat(22),
    issuedAt: 1_800_000_000,
    expiresAt: 1_800_000_030,
    room: 'support-42',
    target: 'agent-AJ_x',
    reason: 'user hung up',
    issuer: 'web-backend',
    options: { drain: true, graceMs: 1500, deleteRoom: true },
  });
  const plain = createRequest(to);
  assert.deepEqual([plain.reason, plain.options, plain.expiresAt - plain.issuedAt], ['', { drain: false, graceMs: 0, deleteRoom: false }, 60]);
});
