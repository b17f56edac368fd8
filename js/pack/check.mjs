// The npm package as a user gets it: `npm pack` the tarball, install it into a fresh Node project, import
// every entry there (node.mjs), require() every entry from CommonJS (node.cjs), and import them from a plain
// browser page (index.html: ESM + import map, no bundler) in headless Chromium. Each rebuilds the shared
// vectors byte for byte and finds the pinned export names (smoke.mjs, test/exports.json). Then tsc type-checks
// an ESM and a CommonJS consumer of every entry (consumer.mts, consumer.cts). Run from js/:
//   node pack/check.mjs            (CHROMIUM_PATH overrides /usr/bin/chromium; a missing Chromium fails)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const jsDir = resolve(here, '..');
const vectorsPath = resolve(jsDir, '..', 'vectors', 'v1.json');
const exportsPath = resolve(jsDir, 'test', 'exports.json');
const work = mkdtempSync(join(tmpdir(), 'shutdown-rpc-npm-pack-'));
const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];

function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: e });
  }
}

function verdict(where, out) {
  const { checked, failures } = out;
  if (failures.length > 0 || checked === 0) throw new Error(`${where}: ${checked} vectors, failures: ${failures.join('; ')}`);
  console.log(`  ${where}: every entry loaded with its pinned names, ${checked} vector payloads rebuilt byte for byte`);
}

function serve(root) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '');
    const file = join(root, path || 'index.html');
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function inBrowser(app) {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath} (apt-get install -y chromium)`);
  const server = await serve(app);
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const errors = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForSelector('#result[data-state="done"]', { state: 'attached', timeout: 30000 });
    const out = JSON.parse((await page.textContent('#result')) ?? '{}');
    out.failures.push(...errors);
    return out;
  } finally {
    await browser.close();
    server.close();
  }
}

try {
  const tarball = run('npm', ['pack', '--pack-destination', work, ...quiet], jsDir).trim().split('\n').pop();
  const files = run('tar', ['tzf', join(work, tarball)], work).split('\n').filter(Boolean);
  const wanted = ['package/LICENSE', 'package/README.md', 'package/dist/cjs/package.json'];
  for (const entry of ['index', 'wire', 'agent']) {
    for (const dir of ['dist', 'dist/cjs']) wanted.push(`package/${dir}/${entry}.js`, `package/${dir}/${entry}.d.ts`);
  }
  for (const required of wanted) {
    if (!files.includes(required)) throw new Error(`${tarball} lacks ${required}`);
  }
  console.log(`  npm pack: ${tarball} (${files.length} files)`);

  const app = join(work, 'app');
  run('mkdir', ['-p', app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
  run('npm', ['install', join(work, tarball), '--prefer-offline', ...quiet], app);
  for (const f of ['smoke.mjs', 'node.mjs', 'node.cjs', 'index.html', 'consumer.mts', 'consumer.cts']) copyFileSync(join(here, f), join(app, f));
  copyFileSync(vectorsPath, join(app, 'v1.json'));
  copyFileSync(exportsPath, join(app, 'exports.json'));

  verdict('Node ESM (fresh project, import)', JSON.parse(run('node', ['node.mjs'], app).trim().split('\n').pop()));
  verdict('Node CommonJS (fresh project, require)', JSON.parse(run('node', ['node.cjs'], app).trim().split('\n').pop()));
  verdict('Chromium (import map, no bundler)', await inBrowser(app));
  // Types as a TypeScript application sees them, for import and for require (this checkout's tsc).
  const tsc = join(jsDir, 'node_modules', 'typescript', 'bin', 'tsc');
  const tscArgs = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom'];
  run('node', [tsc, ...tscArgs, 'consumer.mts', 'consumer.cts'], app);
  console.log('  TypeScript (nodenext, ESM and CommonJS consumers): every entry typed');
} finally {
  rmSync(work, { recursive: true, force: true });
}
