// Opens the built docs site (served by tests/docs/test_site.py on loopback) in headless Chromium: every page
// given on the command line must load with a title and no script error; the search box must find QUERY.
// Prints one JSON object. Usage: node site_check.mjs BASE_URL SCREENSHOT QUERY PAGE...
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.JS_DIR}/package.json`); // playwright-core from js/node_modules
const { chromium } = require('playwright-core');

const [base, screenshot, query, ...pages] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH,
  headless: true,
  // No name is ever resolved (the site is served on 127.0.0.1): Chromium's own lookups (DNS prefetch of the
  // pages' external links) would otherwise trip the e2e egress guard when these tests share a session with it.
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--dns-prefetch-disable',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});
const result = { pages: {}, search: [], errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => result.errors.push(`${page.url()}: ${error.message}`));
  // the site must not reach beyond the server it is served from (no web fonts, no analytics)
  page.on('request', (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith('data:')) result.errors.push(`external request: ${request.url()}`);
  });
  for (const path of pages) {
    const response = await page.goto(`${base}/${path}`);
    const h1 = await page.locator('article h1').first().textContent({ timeout: 10000 }).catch(() => null);
    result.pages[path] = { status: response ? response.status() : 0, h1: h1 && h1.trim() };
  }
  await page.goto(`${base}/`);
  await page.keyboard.press('s'); // the theme's shortcut: focus the search box, as a reader would
  await page.locator('input.md-search__input').pressSequentially(query);
  const hits = page.locator('.md-search-result__item');
  await hits.first().waitFor({ timeout: 20000 });
  result.search = await hits.allTextContents();
  await page.screenshot({ path: screenshot });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
