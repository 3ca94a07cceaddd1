// Browser-level checks of the portal and the sandbox front door, against one
// real `portico serve` and one Chromium shared by the whole file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, launchChromium } from './support.js';

// playwright-core ships no `expect`, so waits are explicit `waitFor`s bounded by this.
const TIMEOUT_MS = 15_000;

// Path of a page's current URL, e.g. "/docs".
const pathOf = (page) => new URL(page.url()).pathname;

describe('portico end to end', () => {
  let portico;
  let browser;
  let context;
  let stopped = false;

  before(async () => {
    portico = await startPortico();
    browser = await launchChromium();
    context = await newContext();
  });

  after(async () => {
    // Normally the last test already stopped it; this covers filtered or failed runs.
    if (portico && !stopped) await portico.stop();
    // Last: closing the browser runs the page audit, which throws on a finding.
    await browser?.close();
  });

  async function newContext(options = {}) {
    const ctx = await browser.newContext({ baseURL: portico.portalUrl, ...options });
    ctx.setDefaultTimeout(TIMEOUT_MS);
    return ctx;
  }

  const mainNav = (page) => page.getByRole('navigation', { name: 'Main' });
  const navLink = (page, name) => mainNav(page).getByRole('link', { name, exact: true });

  async function clickNavAndWait(page, name, path) {
    await navLink(page, name).click();
    // Works for both full page loads and client-side (hydrated) route changes.
    await page.waitForURL((url) => url.pathname === path);
  }

  it('renders the home page', async () => {
    const page = await context.newPage();
    try {
      const res = await page.goto('/');
      assert.equal(res.status(), 200);
      assert.match(await page.title(), /Portico/);
      await page.locator('h1').first().waitFor({ state: 'visible' });
      for (const name of ['Docs', 'Applications', 'Status', 'Sign in']) {
        await navLink(page, name).waitFor({ state: 'visible' });
      }
    } finally {
      await page.close();
    }
  });

  it('navigates between pages from the main nav', async () => {
    const page = await context.newPage();
    // Hydration panics surface only as page errors; a broken client must fail loudly.
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await page.goto('/');

      await clickNavAndWait(page, 'Docs', '/docs');
      await page.locator('h1').first().waitFor({ state: 'visible' });

      await clickNavAndWait(page, 'Status', '/status');
      await page.getByText(/operational/i).first().waitFor({ state: 'visible' });

      await clickNavAndWait(page, 'Applications', '/apps');
      await clickNavAndWait(page, 'Sign in', '/signin');
      assert.equal(pathOf(page), '/signin');

      assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    } finally {
      await page.close();
    }
  });

  it('serves a 404 page with the site chrome', async () => {
    const page = await context.newPage();
    try {
      const res = await page.goto('/no-such-page');
      assert.equal(res.status(), 404);
      await page.getByRole('heading', { name: /Page not found/i }).first().waitFor({ state: 'visible' });
      await navLink(page, 'Docs').waitFor({ state: 'visible' });
    } finally {
      await page.close();
    }
  });

  it('works with JavaScript disabled', async () => {
    // Server-rendered HTML and plain links must be enough on their own.
    const noJs = await newContext({ javaScriptEnabled: false });
    try {
      const page = await noJs.newPage();
      const res = await page.goto('/status');
      assert.equal(res.status(), 200);
      await page.getByText(/operational/i).first().waitFor({ state: 'visible' });

      await page.goto('/docs');
      await page.locator('h1').first().waitFor({ state: 'visible' });
      await clickNavAndWait(page, 'Status', '/status');
      await page.getByText(/operational/i).first().waitFor({ state: 'visible' });
    } finally {
      await noJs.close();
    }
  });

  it('loads and applies the stylesheet', async () => {
    const page = await context.newPage();
    try {
      await page.goto('/');
      const href = await page.locator('link[rel="stylesheet"]').first().getAttribute('href');
      assert.ok(href, 'page has a <link rel="stylesheet" href>');
      const css = await page.request.get(new URL(href, page.url()).href);
      assert.equal(css.status(), 200);
      assert.match(css.headers()['content-type'] ?? '', /^text\/css/);

      // Compare with an unstyled document in the same browser, so the check
      // does not depend on which default font this Chromium uses.
      const bodyFont = () => getComputedStyle(document.body).fontFamily;
      const styled = await page.evaluate(bodyFont);
      const blank = await context.newPage();
      await blank.setContent('<!doctype html><body>x</body>');
      const unstyled = await blank.evaluate(bodyFont);
      await blank.close();
      assert.notEqual(styled, unstyled, `body font is the browser default (${styled})`);
      assert.doesNotMatch(styled, /^["']?Times New Roman["']?$/i);
    } finally {
      await page.close();
    }
  });

  it('answers on the sandbox front door', async () => {
    const health = await fetch(`${portico.sandboxUrl}/healthz`);
    assert.equal(health.status, 200);

    const res = await fetch(`${portico.sandboxUrl}/nope`);
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.__type, 'NotFoundException');
    assert.equal(typeof body.requestId, 'string');
    assert.equal(body.requestId, res.headers.get('x-request-id'));
  });

  // Must stay last: it stops the shared server.
  it('shuts down gracefully on SIGTERM', async () => {
    await context.close();
    stopped = true;
    const code = await portico.stop();
    assert.equal(code, 0, `exit code after SIGTERM\n${portico.stdout()}`);
  });
});
