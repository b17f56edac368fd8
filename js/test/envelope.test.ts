// Payloads: signing (signRequest, seal) and reading without a key (inspectPayload).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HmacSha256Key, inspectPayload, signRequest } from '../src/index.js';
import { encodeBody, seal } from '../src/wire.js';
import { KEY, req, SECRET } from './fixtures.js';

test('inspectPayload reads without a key; the body is the library encoding of the ordered map', async () => {
  const r = req({ drain: true, graceMs: 1500, deleteRoom: true });
  const p = await signRequest(r, new HmacSha256Key('k1', SECRET));
  const i = inspectPayload(p);
  assert.ok(!('ok' in i));
  if (!('ok' in i)) {
    assert.deepEqual(i.request, r);
    assert.equal(i.keyId, 'k1');
    assert.equal(i.signed, true);
  }
});

test('signRequest is seal over the encoded body; no key means unsigned (key id "")', async () => {
  const r = req();
  assert.equal(await signRequest(r, KEY), await seal(encodeBody(r), KEY));
  const unsigned = await signRequest(r);
  assert.equal(unsigned, await seal(encodeBody(r)));
  const seen = inspectPayload(unsigned);
  assert.ok(!('ok' in seen) && seen.keyId === '' && !seen.signed);
});
