// A condensed reporter for `node --test`: one line per test file, every failure in full, and one closing
// line "N passed, N failed, N skipped". (The default TAP/spec output prints a line per vector case.)
import { relative } from 'node:path';
import { inspect } from 'node:util';

export default async function* condensed(source) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const perFile = new Map();
  const failures = [];
  const started = Date.now();
  for await (const event of source) {
    const data = event.data ?? {};
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (data.details?.type === 'suite') continue; // count tests, not their describe() blocks
    const file = data.file ? relative(process.cwd(), data.file) : '(unknown file)';
    const entry = perFile.get(file) ?? { passed: 0, failed: 0, skipped: 0 };
    if (event.type === 'test:fail') {
      entry.failed += 1;
      counts.failed += 1;
      const error = data.details?.error;
      failures.push(`FAIL ${file} > ${data.name}\n${inspect(error?.cause ?? error, { depth: 4 })}\n`);
    } else if (data.skip !== undefined || data.todo !== undefined) {
      entry.skipped += 1;
      counts.skipped += 1;
    } else {
      entry.passed += 1;
      counts.passed += 1;
    }
    perFile.set(file, entry);
  }
  for (const [file, c] of perFile) yield `  ${file}: ${c.passed} passed${c.failed ? `, ${c.failed} FAILED` : ''}\n`;
  for (const failure of failures) yield failure;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  yield `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${seconds} s)\n`;
}
