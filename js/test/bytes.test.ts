// Strict base64 (§2): canonical standard alphabet with padding only.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { base64DecodeStrict, base64Encode } from '../src/wire.js';

test('strict base64: canonical standard alphabet with padding only', () => {
  assert.deepEqual(base64DecodeStrict('AQI='), new Uint8Array([1, 2]));
  assert.deepEqual(base64DecodeStrict(''), new Uint8Array(0));
  for (const bad of ['AQI', 'AQJ=', 'AQ==AQ==', 'A Q==', 'AQ-_', '====', 'AQ=A', 'é===']) {
    assert.equal(base64DecodeStrict(bad), undefined, bad);
  }
  for (let n = 0; n < 8; n++) {
    const b = new Uint8Array(n).map((_, i) => i * 37 + 250);
    assert.deepEqual(base64DecodeStrict(base64Encode(b)), b);
  }
});
