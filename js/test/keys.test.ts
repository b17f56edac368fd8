// Keys: Ed25519 and HMAC on WebCrypto, key files (§12).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  dumpKeyFile,
  Ed25519SigningKey,
  HmacSha256Key,
  KeyError,
  parseKeyFile,
  signRequest,
  VerifiedRequest,
  Verifier,
} from '../src/index.js';
import { base64Encode } from '../src/wire.js';
import { NOW, SECRET, binding, req } from './fixtures.js';

test('Ed25519 keys: sign with a seed, verify with the public key only, key files round-trip', async () => {
  const priv = await Ed25519SigningKey.generate('ops-1');
  const file = priv.toKeyFile();
  assert.equal(Object.keys(file).join(','), 'key_id,algorithm,private_key,public_key');
  const pubOnly = await parseKeyFile(JSON.stringify(priv.verifyingKey().toKeyFile()));
  const r = req();
  const payload = await signRequest(r, priv);
  const v = new Verifier({ keys: [pubOnly] });
  assert.ok((await v.verify(payload, binding, { nowMs: NOW })) instanceof VerifiedRequest);
  const reparsed = await parseKeyFile(file);
  assert.ok(reparsed instanceof Ed25519SigningKey);
  await assert.rejects(parseKeyFile({ ...file, public_key: base64Encode(new Uint8Array(32)) }), KeyError);
  assert.equal(String(priv), 'Ed25519SigningKey(ops-1)');
});

test('HMAC keys: >= 32 bytes, valid key ids, secret never in toString', async () => {
  assert.throws(() => new HmacSha256Key('k', new Uint8Array(31)), KeyError);
  assert.throws(() => new HmacSha256Key('bad id', SECRET), KeyError);
  assert.throws(() => new HmacSha256Key('x'.repeat(65), SECRET), KeyError);
  const k = await parseKeyFile({ key_id: 'backend-1', algorithm: 'hmac-sha256', secret: base64Encode(SECRET) });
  assert.equal(String(k), 'HmacSha256Key(backend-1)');
  await assert.rejects(parseKeyFile({ key_id: 'b', algorithm: 'hmac-sha256', secret: 'AQ' }), KeyError);
  await assert.rejects(parseKeyFile({ key_id: 'b', algorithm: 'rsa', secret: base64Encode(SECRET) }), KeyError);
});

test('dumpKeyFile writes what parseKeyFile reads, in the Python package\'s layout', async () => {
  const hmac = new HmacSha256Key('backend-1', SECRET);
  const text = dumpKeyFile(hmac);
  assert.equal(text, `{\n  "key_id": "backend-1",\n  "algorithm": "hmac-sha256",\n  "secret": "${base64Encode(SECRET)}"\n}\n`);
  assert.equal(String(await parseKeyFile(text)), 'HmacSha256Key(backend-1)');
  const ed = await Ed25519SigningKey.generate('ops-2');
  const back = await parseKeyFile(dumpKeyFile(ed));
  assert.ok(back instanceof Ed25519SigningKey);
  assert.deepEqual(back.publicKey, ed.publicKey);
});
