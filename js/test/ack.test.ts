// Acknowledgements (§8) and refusals (§9): writing them, reading them, the RpcError fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  makeRefusal,
  parseAck,
  parseRefusal,
  refusalToRpcError,
  serializeAck,
  utf8Length,
} from '../src/wire.js';

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
