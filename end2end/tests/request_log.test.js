// The request log in the browser (issue 16): a partner whose application lacks
// commercial:write makes a refused call (POST /v2/commercial/orders) from Node, finds it in the
// application's request log by its x-request-id with the filter form, opens it, reads why it
// was refused and follows "Request the scope" to the scope request form of the application
// page. Run with JavaScript on and with JavaScript off (plain GET form and links).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPortico, launchChromium, signInBootstrapAdmin } from './support.js';

const TIMEOUT_MS = 20_000;
const PASSWORD = 'correct horse battery staple';
const here = path.dirname(fileURLToPath(import.meta.url));
const screenshots = path.resolve(here, '..', 'screenshots');

async function token(sandboxUrl, clientId, secret) {
  const res = await fetch(`${sandboxUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  return { status: res.status, body: await res.json() };
}

describe('request log in the portal', () => {
  let portico;
  let browser;
  let admin;

  before(async () => {
    portico = await startPortico();
    browser = await launchChromium();
    await mkdir(screenshots, { recursive: true });
    admin = await signInBootstrapAdmin(browser, portico, { password: PASSWORD, timeout: TIMEOUT_MS });
  });

  after(async () => {
    if (portico) await portico.stop();
    // Last: closing the browser runs the page audit, which throws on a finding.
    await browser?.close();
  });

  for (const javaScriptEnabled of [true, false]) {
    const label = javaScriptEnabled ? 'JavaScript on' : 'JavaScript off';
    it(`finds a refused call by its id and explains it with ${label}`, async () => {
      const tag = javaScriptEnabled ? 'js' : 'nojs';
      const email = `logs-${tag}@partner-${tag}.test`;
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      const page = await context.newPage();
      const adminPage = await admin.newPage();
      try {
        // A partner with an approved organisation (the token endpoint refuses pending ones).
        await page.goto('/signup');
        await page.fill('#display_name', 'Lou Logreader');
        await page.fill('#email', email);
        await page.fill('#password', PASSWORD);
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.waitForURL((u) => u.pathname === '/org');
        await page.fill('#legal_name', `Logs ${tag.toUpperCase()} Ltd`);
        await page.fill('#contact_email', email);
        await page.check('input[name="attested"]');
        await page.getByRole('button', { name: 'Create organisation' }).click();
        await page.locator('[data-testid="org-status"]').waitFor();
        const slug = (await page.locator('dd code').first().textContent()).trim();
        await adminPage.goto('/admin/partners');
        const row = adminPage.locator(`tr[data-org="${slug}"]`);
        await row.getByRole('button', { name: 'Approve' }).click();
        await adminPage.waitForURL((u) => u.pathname === '/admin/partners');

        // An application without commercial:write; its credentials are shown once.
        await page.goto('/apps/new');
        await page.fill('input[name="name"]', `Log reader ${tag}`);
        await page.getByRole('button', { name: 'Register application' }).click();
        await page.locator('[data-testid="shown-once"]').waitFor();
        const appPath = new URL(page.url()).pathname;
        const clientId = await page.inputValue('#client-id');
        const secret = await page.inputValue('#secret-client-secret');
        const issued = await token(portico.sandboxUrl, clientId, secret);
        assert.equal(issued.status, 200, JSON.stringify(issued.body));

        // The refused call, from Node.
        const res = await fetch(`${portico.sandboxUrl}/v2/commercial/orders`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${issued.body.access_token}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ productId: 'prod_1', quantity: 1 }),
        });
        assert.equal(res.status, 403, await res.text());
        const requestId = res.headers.get('x-request-id');
        assert.ok(requestId, 'x-request-id on the response');

        // The application page leads to its request log; the form finds the call by its id
        // (the request-log writer batches: try again until it is written).
        await page.goto(appPath);
        await page.locator('[data-testid="request-log-link"]').click();
        await page.waitForURL((u) => u.pathname === `${appPath}/logs`);
        const found = page.locator(`tr[data-request-id="${requestId}"]`);
        const deadline = Date.now() + TIMEOUT_MS;
        for (;;) {
          await page.fill('#log-request-id', requestId);
          await page.getByRole('button', { name: 'Filter' }).click();
          await page.waitForURL((u) => u.searchParams.get('request_id') === requestId);
          if ((await found.count()) === 1) break;
          if (Date.now() > deadline) throw new Error('the call never showed in the request log');
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        assert.equal(await page.locator('tr[data-request-id]').count(), 1);
        assert.equal(await found.getAttribute('data-decision'), 'denied');
        assert.equal(await found.getAttribute('data-status'), '403');
        assert.equal(await page.inputValue('#log-request-id'), requestId, 'the filter stays in the form');
        await page.screenshot({ path: path.join(screenshots, `request-log-${tag}.png`), fullPage: true });

        // Its page says what happened and what to do.
        await found.getByRole('link', { name: requestId }).click();
        await page.waitForURL((u) => u.pathname === `${appPath}/logs/${requestId}`);
        const explanation = await page.locator('[data-testid="explanation"]').textContent();
        assert.match(explanation, /Scope commercial:write is not granted to this application/);
        const failed = page.locator('[data-testid="pipeline"] li[data-outcome="failed"]');
        assert.equal(await failed.count(), 1);
        assert.match(await failed.textContent(), /Scopes and policies/);
        await page.screenshot({ path: path.join(screenshots, `request-detail-${tag}.png`), fullPage: true });

        // "Request the scope" lands on the scope request form of the application page.
        await page.getByRole('link', { name: 'Request the scope' }).click();
        await page.waitForURL((u) => u.pathname === appPath && u.hash === '#scopes');
        const form = page.locator('#scopes form.request-scopes');
        await form.waitFor();
        assert.equal(await form.locator('input[name="scopes"][value="commercial:write"]').count(), 1);
      } finally {
        await adminPage.close();
        await context.close();
      }
    });
  }
});
