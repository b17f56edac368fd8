// What the compiler does not check about the sources, checked here instead of by a linter (js/ has none, see
// README "Checks"): the library imports nothing but its own modules and its one dependency, so it stays
// browser-safe and free of the LiveKit SDKs it only talks to through `performRpc`; and no file in js/ carries a
// directive that switches a check off.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url)); // js/, from dist-test/test/

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js|mjs|cjs|html)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

test('src/ imports only its own modules and @msgpack/msgpack', () => {
  const files = sources('src');
  assert.ok(files.length >= 10, `found ${files.length} source files`);
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)) {
      const spec = m[1]!;
      assert.ok(/^\.\/[a-z_]+\.js$/.test(spec) || spec === '@msgpack/msgpack', `${f} imports ${spec}`);
    }
    assert.doesNotMatch(readFileSync(f, 'utf8'), /\bimport\s*\(|\brequire\s*\(/, `${f}: dynamic import`);
  }
});

test('no directive in js/ switches a check off', () => {
  // Spelled in pieces so this file does not match itself.
  const directive = new RegExp(['eslint' + '-(disable|enable)', 'eslint' + '\\s', '@ts-' + '(ignore|nocheck|expect-error)', 'tslint' + ':', 'prettier' + '-ignore'].join('|'));
  const files = ['src', 'test', 'live'].flatMap(sources);
  assert.ok(files.length >= 15, `found ${files.length} files`);
  for (const f of files) assert.doesNotMatch(readFileSync(f, 'utf8'), directive, f);
});
