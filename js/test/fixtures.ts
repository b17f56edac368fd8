// What the unit tests share: one clock reading, one HMAC key, one agent binding, a request factory.
import assert from 'node:assert/strict';

import { createRequest, HmacSha256Key, ShutdownRpcError, type RequestAddress, type ShutdownCommand } from '../src/index.js';

export const NOW = 1_800_000_005_000;
export const SECRET = new Uint8Array(32).map((_, i) => i + 1);
export const KEY = new HmacSha256Key('k1', SECRET);
export const binding = { room: 'room-1', agentIdentity: 'agent-AJ_1', jobId: 'AJ_1' };

type RequestOverrides = Partial<RequestAddress> & ShutdownCommand & { nowMs?: number };

/** A valid request issued 5 s before NOW to agent-AJ_1 in room-1; any field overridable. */
export function req({ room = 'room-1', target = 'agent-AJ_1', issuer = 'unit-test', nowMs = NOW - 5000, ...command }: RequestOverrides = {}) {
  return createRequest({ room, target, issuer }, { reason: 'done', ...command }, nowMs);
}

/** The §9 name a promise rejects with (fails the test if it resolves or throws anything else). */
export async function refusalOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ShutdownRpcError, String(e));
    return e.refusal.name;
  }
  assert.fail('expected a ShutdownRpcError');
}
