// Live browser test driver: serves live/browser/ (the page), dist/ (this package as published) and the
// browser builds of livekit-client and @msgpack/msgpack on 127.0.0.1, opens the page in Debian's headless
// Chromium through playwright-core (no browser download), asks it to relay a minted payload, and prints the
// result the page shows as one JSON line.
//
// Environment: LIVEKIT_URL, LIVEKIT_TOKEN, SHUTDOWN_RPC_PAYLOAD, SHUTDOWN_RPC_DESTINATION; optional
// CHROMIUM_PATH (default /usr/bin/chromium), SHUTDOWN_RPC_SCREENSHOT (path of a PNG of the final page).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const JS_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..'); // dist-test/live -> js/

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`missing environment variable ${name}`);
  return v;
}

const ROUTES: Array<[string, string]> = [
  ['/vendor/livekit-client.mjs', 'node_modules/livekit-client/dist/livekit-client.esm.mjs'],
  ['/vendor/msgpack/', 'node_modules/@msgpack/msgpack/dist.esm/'],
  ['/pkg/', 'dist/'],
  ['/page.js', 'live/browser/page.js'],
  ['/', 'live/browser/index.html'],
];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
};

function resolveRoute(urlPath: string): string | undefined {
  for (const [prefix, target] of ROUTES) {
    if (prefix.endsWith('/') && prefix !== '/' ? urlPath.startsWith(prefix) : urlPath === prefix) {
      const rest = prefix.endsWith('/') && prefix !== '/' ? urlPath.slice(prefix.length) : '';
      const base = resolve(JS_ROOT, target);
      const file = normalize(join(base, rest));
      if (file !== base && !file.startsWith(base.endsWith(sep) ? base : base + sep)) return undefined;
      return file;
    }
  }
  return undefined;
}

function serve(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = resolveRoute(path);
    if (!file || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('no address');
      ok({ server, origin: `http://127.0.0.1:${addr.port}` });
    }),
  );
}

async function main(): Promise<void> {
  const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath} (apt-get install -y chromium)`);
  const { server, origin } = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'shutdown-rpc-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      // Nothing leaves the host (the e2e egress guard fails the test otherwise): every name but the loopback
      // address resolves to "not found" without a DNS query, and no background service is contacted.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--dns-prefetch-disable',
      '--disable-domain-reliability',
      '--disable-client-side-phishing-detection',
      '--disable-default-apps',
      '--no-pings',
    ],
  });
  const logs: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => logs.push(`[console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', undefined, { timeout: 15000 });
    const params = {
      url: env('LIVEKIT_URL'),
      token: env('LIVEKIT_TOKEN'),
      payload: env('SHUTDOWN_RPC_PAYLOAD'),
      destination: env('SHUTDOWN_RPC_DESTINATION'),
    };
    await page.evaluate((p) => {
      void (window as unknown as { startRelay(p: unknown): Promise<void> }).startRelay(p);
    }, params);
    await page.waitForSelector('#result[data-state="done"]', { state: 'attached', timeout: 60000 });
    const shown = await page.textContent('#result');
    const summary = await page.textContent('#summary');
    const screenshot = process.env['SHUTDOWN_RPC_SCREENSHOT'];
    if (screenshot) await page.screenshot({ path: screenshot });
    const out = JSON.parse(shown ?? '{}') as Record<string, unknown>;
    process.stdout.write(JSON.stringify({ mode: 'browser', shownSummary: summary, browser: context.browser()?.version(), ...out }) + '\n');
  } catch (e) {
    process.stderr.write(logs.join('\n') + '\n');
    throw e;
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`browser_relay failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
