// vectors/v1.json `key_scope_patterns` (spec §7.2): the one matching rule of key-scope entries (literal, `*` the
// only wildcard), checked against the same cases as the Python agent's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { scopeMatches } from '../src/decider.js';

interface PatternCase {
  entry: string;
  value: string;
  matches: boolean;
}

const vectorsPath = process.env['SHUTDOWN_RPC_VECTORS'] ?? new URL('../../../vectors/v1.json', import.meta.url);
const cases = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { key_scope_patterns?: PatternCase[] }).key_scope_patterns;

test('key-scope entries match literally, `*` matching any run of characters', () => {
  assert.ok(cases !== undefined && cases.length > 0, 'vectors/v1.json has no key_scope_patterns');
  for (const c of cases) assert.equal(scopeMatches(c.entry, c.value), c.matches, JSON.stringify(c));
});
