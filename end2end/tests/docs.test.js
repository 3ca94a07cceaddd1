// The public docs in a real Chromium: search finds an operation, the version switcher keeps
// the operation, "Try it" returns a sandbox response. With JavaScript on and off.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPortico, launchChromium } from './support.js';

const TIMEOUT_MS = 20_000;
const PASSWORD = 'correct horse battery staple';
const here = path.dirname(fileURLToPath(import.meta.url));
const screenshots = path.resolve(here, '..', 'screenshots');

describe('docs', () => {
  let portico;
  let browser;

  before(async () => {
    portico = await startPortico();
    browser = await launchChromium();
    await mkdir(screenshots, { recursive: true });
  });

  after(async () => {
    if (portico) await portico.stop();
    // Last: closing the browser runs the page audit, which throws on a finding.
    await browser?.close();
  });

  for (const javaScriptEnabled of [true, false]) {
    const tag = javaScriptEnabled ? 'js' : 'nojs';

    it(`search finds an operation and the version switcher keeps it (${tag})`, async () => {
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      const page = await context.newPage();
      try {
        await page.goto('/docs');
        await page.getByRole('link', { name: 'Getting started' }).first().waitFor();
        await page.fill('#docs-search', 'create an order');
        await page.getByRole('button', { name: 'Search' }).click();
        await page.waitForURL((u) => u.pathname === '/search');
        const first = page.locator('.search-hit a').first();
        assert.equal(await first.getAttribute('href'), '/reference/v2/CreateOrder');
        await first.click();
        await page.waitForURL((u) => u.pathname === '/reference/v2/CreateOrder');
        await page.getByRole('heading', { level: 1, name: /Create an order/ }).waitFor();
        // Request fields, errors and samples are on the page without any script.
        await page.locator('code[title="items[].product_id"]').first().waitFor();
        // The samples are tabs that need no script: the TypeScript SDK shows first, a click on
        // another tab's label shows that one instead.
        const panel = (key) => page.locator(`section.sample[data-language="${key}"]`);
        await panel('typescript-sdk').waitFor();
        assert.ok(!(await panel('python-sdk').isVisible()), 'one sample at a time');
        await page.locator('label[for="sample-tab-python-sdk"]').click();
        await panel('python-sdk').waitFor();
        assert.ok(!(await panel('typescript-sdk').isVisible()));
        assert.match(await panel('python-sdk').textContent(), /client\.create_order\(/);
        await page.locator('label[for="sample-tab-python"]').click();
        await panel('python').waitFor();
        // On a wide screen the samples sit beside the operation, not under it.
        await page.setViewportSize({ width: 1440, height: 900 });
        const main = await page.locator('.operation-main').boundingBox();
        const samples = await page.locator('.operation-samples').boundingBox();
        assert.ok(samples.x >= main.x + main.width, `samples beside the operation: ${JSON.stringify({ main, samples })}`);
        const height = await page.evaluate(() => document.documentElement.scrollHeight);
        console.log(`# CreateOrder reference page at 1440 px: ${height} px tall`);
        if (javaScriptEnabled) {
          await page.screenshot({ path: path.join(screenshots, 'reference-create-order.png'), fullPage: false });
        }

        await page.locator('.version-switcher a[data-version="v1"]').click();
        await page.waitForURL((u) => u.pathname === '/reference/v1/CreateOrder');
        await page.getByRole('heading', { level: 1, name: /Create an order/ }).waitFor();
        await page.getByText('deprecated · sunset on 2027-06-30').first().waitFor();
        await page.locator('.version-switcher a[data-version="v2"]').click();
        await page.waitForURL((u) => u.pathname === '/reference/v2/CreateOrder');
      } finally {
        await context.close();
      }
    });

    it(`try it returns a sandbox response (${tag})`, async () => {
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      const page = await context.newPage();
      try {
        const email = `docs-${tag}@partner-docs-${tag}.test`;
        await page.goto('/signup');
        await page.fill('#display_name', 'Tess Tryit');
        await page.fill('#email', email);
        await page.fill('#password', PASSWORD);
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.waitForURL((u) => u.pathname === '/org');
        await page.fill('#legal_name', `Docs ${tag.toUpperCase()} Ltd`);
        await page.fill('#contact_email', email);
        await page.check('input[name="attested"]');
        await page.getByRole('button', { name: 'Create organisation' }).click();
        await page.locator('[data-testid="org-status"]').waitFor();
        const slug = (await page.locator('dd code').first().textContent()).trim();
        // An application of this organisation with its scopes granted, made by the CLI on
        // the same database (as an operator would).
        const made = spawnSync(portico.bin, [
          'app', 'create', '--partner', slug, '--name', `Try ${tag}`, '--scopes', 'commercial:read commercial:write',
        ], { cwd: portico.dir, env: { ...process.env, DATABASE_URL: `sqlite://${portico.dir}/portico.db` }, encoding: 'utf8' });
        assert.equal(made.status, 0, made.stderr);

        await page.goto('/reference/v2/ListProducts');
        await page.locator('#try-application').selectOption({ label: `Try ${tag}` });
        await page.fill('#try-query-limit', '3');
        await page.getByRole('button', { name: 'Send to the sandbox' }).click();
        await page.waitForURL((u) => u.pathname === '/reference/v2/ListProducts');
        const status = page.locator('[data-testid="try-it-status"]');
        await status.waitFor();
        assert.equal((await status.textContent()).trim(), '200');
        const body = JSON.parse(await page.locator('[data-testid="try-it-body"]').textContent());
        assert.equal(body.data.length, 3);
        if (javaScriptEnabled) {
          await page.locator('#try-it').scrollIntoViewIfNeeded();
          await page.screenshot({ path: path.join(screenshots, 'reference-try-it.png'), fullPage: false });
        }
      } finally {
        await context.close();
      }
    });
  }
});
