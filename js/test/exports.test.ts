// The public surface, pinned: each entry's runtime exports are exactly test/exports.json (adding or removing a
// public name is a deliberate change to that file), the main entry stays within issue 18's 40 runtime names,
// and the names shared with the Python package follow test/python_names.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as agent from '../src/agent.js';
import * as main from '../src/index.js';
import * as wire from '../src/wire.js';

type Entry = 'livekit-shutdown-rpc' | 'livekit-shutdown-rpc/wire' | 'livekit-shutdown-rpc/agent';
interface SharedName {
  python_module: string;
  python: string;
  js_entry: Entry;
  js: string;
  kind: 'value' | 'type';
}

const read = (name: string): string => readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');
const pinned = JSON.parse(read('test/exports.json')) as Record<Entry, string[]>;
const shared = (JSON.parse(read('test/python_names.json')) as { names: SharedName[] }).names;
const modules: Record<Entry, object> = {
  'livekit-shutdown-rpc': main,
  'livekit-shutdown-rpc/wire': wire,
  'livekit-shutdown-rpc/agent': agent,
};
const sources: Record<Entry, string> = {
  'livekit-shutdown-rpc': read('src/index.ts'),
  'livekit-shutdown-rpc/wire': read('src/wire.ts'),
  'livekit-shutdown-rpc/agent': read('src/agent.ts'),
};

const sorted = (names: Iterable<string>): string[] => [...names].sort();

for (const entry of Object.keys(modules) as Entry[]) {
  test(`${entry}: its runtime exports are exactly the pinned list`, () => {
    assert.deepEqual(sorted(Object.keys(modules[entry])), sorted(pinned[entry]));
  });
}

test('the main entry has at most 40 runtime exports and re-exports no module wholesale', () => {
  assert.ok(pinned['livekit-shutdown-rpc'].length <= 40, `${pinned['livekit-shutdown-rpc'].length} names`);
  for (const [entry, text] of Object.entries(sources)) assert.doesNotMatch(text, /export \*/, entry);
});

test('names shared with Python: in their entry, the Python name camelCased for functions, else identical', () => {
  assert.ok(shared.length > 0);
  for (const n of shared) {
    const camel = /^[a-z][a-z0-9_]*$/.test(n.python) ? n.python.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : n.python;
    assert.equal(n.js, camel, `${n.python} should be ${camel} in JS`);
    if (n.kind === 'value') assert.ok(pinned[n.js_entry].includes(n.js), `${n.js} is not exported by ${n.js_entry}`);
    else assert.match(sources[n.js_entry], new RegExp(`\\btype ${n.js}\\b`), `type ${n.js} is not exported by ${n.js_entry}`);
  }
});

test('the names issue 18 replaced are exported by no entry', () => {
  const old = ['Ed25519PrivateKey', 'Ed25519PublicKey', 'VerificationKey', 'ReplayMemory', 'RefusalCode', 'METHOD', 'RECEIPT_METHOD'];
  for (const name of [...old, 'buildPayload', 'encodeEnvelope', 'ShutdownPolicy', 'Attributes']) {
    for (const [entry, text] of Object.entries(sources)) {
      assert.ok(!Object.keys(modules[entry as Entry]).includes(name), `${entry} exports ${name}`);
      assert.doesNotMatch(text, new RegExp(`\\btype ${name}\\b`), `${entry} exports type ${name}`);
    }
  }
});
