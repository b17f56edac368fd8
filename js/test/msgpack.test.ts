// The strict msgpack reader (§3) against the library encoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encode as libEncode } from '@msgpack/msgpack';

import { decodeStrict, MsgpackFloat, StrictMsgpackError } from '../src/wire.js';

test('strict msgpack: ints vs floats, ext, duplicate and non-str keys, >16 items, trailing bytes, UTF-8', () => {
  assert.equal(decodeStrict(new Uint8Array([0xcf, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0])), 1800000000);
  assert.equal(decodeStrict(new Uint8Array([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 2n ** 64n - 1n);
  assert.ok(decodeStrict(libEncode(1800000000.5)) instanceof MsgpackFloat);
  assert.ok(decodeStrict(new Uint8Array([0xcb, 0x41, 0xda, 0xd2, 0x74, 0x80, 0, 0, 0])) instanceof MsgpackFloat);
  const bad: Array<[string, number[]]> = [
    ['timestamp ext', [0xd6, 0xff, 0, 0, 0, 0]],
    ['ext8', [0xc7, 0, 1]],
    ['never used', [0xc1]],
    ['duplicate key', [0x82, 0xa1, 0x61, 1, 0xa1, 0x61, 2]],
    ['int key', [0x81, 1, 1]],
    ['17 items', [0xdc, 0, 17, ...new Array<number>(17).fill(0)]],
    ['map16 17 entries', [0xde, 0, 17]],
    ['trailing', [0x01, 0x02]],
    ['empty', []],
    ['truncated str', [0xa3, 0x61]],
    ['bad utf8', [0xa2, 0xc3, 0x28]],
    ['surrogate utf8', [0xa3, 0xed, 0xa0, 0x80]],
    ['overlong utf8', [0xa2, 0xc0, 0xaf]],
    ['str32 huge', [0xdb, 0xff, 0xff, 0xff, 0xff]],
  ];
  for (const [name, bytes] of bad) assert.throws(() => decodeStrict(new Uint8Array(bytes)), StrictMsgpackError, name);
  // a leading BOM is data, not stripped
  assert.equal(decodeStrict(new Uint8Array([0xa3, 0xef, 0xbb, 0xbf])), '\ufeff');
  const m = decodeStrict(libEncode({ b: 1, a: [true, null, new Uint8Array([1])] }));
  assert.ok(m instanceof Map);
  assert.deepEqual([...(m as Map<string, unknown>).keys()], ['b', 'a']);
});
