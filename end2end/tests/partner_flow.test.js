// The partner and admin journey of issue #5, in two browser contexts against one real
// `portico serve`: sign up → organisation → admin approval → application → credentials shown
// once → tokens → secondary secret → revoke → scope request → admin approval → new scope.
// Run twice: with JavaScript on and with JavaScript off (plain forms only).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { startPortico, launchChromium, signInBootstrapAdmin } from './support.js';

const TIMEOUT_MS = 20_000;
const PASSWORD = 'correct horse battery staple';
const here = path.dirname(fileURLToPath(import.meta.url));
const screenshots = path.resolve(here, '..', 'screenshots');

async function token(sandboxUrl, clientId, secret, scope) {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope) body.set('scope', scope);
  const res = await fetch(`${sandboxUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body,
  });
  return { status: res.status, body: await res.json() };
}

describe('partner and admin journey', () => {
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
    it(`works end to end with ${label}`, async () => {
      const tag = javaScriptEnabled ? 'js' : 'nojs';
      const email = `dev-${tag}@partner-${tag}.test`;
      const partner = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      partner.setDefaultTimeout(TIMEOUT_MS);
      const page = await partner.newPage();
      page.on('dialog', (dialog) => dialog.accept());
      const adminPage = await admin.newPage();
      adminPage.on('dialog', (dialog) => dialog.accept());
      try {
        // Sign up and create the organisation.
        await page.goto('/signup');
        await page.fill('#display_name', 'Dana Developer');
        await page.fill('#email', email);
        await page.fill('#password', PASSWORD);
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.waitForURL((u) => u.pathname === '/org');
        await page.locator('[data-testid="current-user"]').getByText(email).waitFor();
        const legalName = `Partner ${tag.toUpperCase()} Ltd`;
        await page.fill('#legal_name', legalName);
        await page.fill('#contact_email', email);
        await page.check('input[name="attested"]');
        await page.getByRole('button', { name: 'Create organisation' }).click();
        await page.locator('[data-testid="org-status"]').getByText('Pending approval').waitFor();
        const slug = (await page.locator('dd code').first().textContent()).trim();

        // The admin approves it in the other browser context.
        await adminPage.goto('/admin/partners');
        const row = adminPage.locator(`tr[data-org="${slug}"]`);
        await row.waitFor();
        await row.getByRole('button', { name: 'Approve' }).click();
        await adminPage.waitForURL((u) => u.pathname === '/admin/partners');
        await page.goto('/org');
        await page.locator('[data-testid="org-status"]').getByText('Approved').waitFor();

        // Register an application; the credentials are shown once.
        await page.goto('/apps/new');
        await page.fill('input[name="name"]', `Booking ${tag}`);
        await page.fill('textarea[name="description"], input[name="description"]', 'Books trips for our customers.');
        await page.check('input[name="scopes"][value="commercial:read"]');
        await page.fill('textarea[name="justification"]', 'We list orders to show our customers their bookings.');
        await page.getByRole('button', { name: 'Register application' }).click();
        await page.locator('[data-testid="shown-once"]').waitFor();
        const appUrl = new URL(page.url()).pathname;
        const clientId = await page.inputValue('#client-id');
        const secret1 = await page.inputValue('#secret-client-secret');
        const apiKey = await page.inputValue('#secret-api-key');
        assert.match(secret1, /^pcs_/);
        assert.match(apiKey, /^pak_/);
        await page.screenshot({ path: path.join(screenshots, `application-page-${tag}.png`), fullPage: true });
        await page.reload();
        assert.equal(await page.locator('[data-testid="shown-once"]').count(), 0, 'shown once only');
        assert.equal(await page.content().then((html) => html.includes(secret1)), false);

        // The shown secret gets a token at the sandbox token endpoint.
        let res = await token(portico.sandboxUrl, clientId, secret1);
        assert.equal(res.status, 200, JSON.stringify(res.body));

        // Rotation: a secondary secret, both work, revoke the first, it is refused.
        await page.getByRole('button', { name: 'Add secondary secret' }).click();
        await page.locator('[data-testid="shown-once"]').waitFor();
        const secret2 = await page.inputValue('#secret-client-secret');
        assert.notEqual(secret2, secret1);
        assert.equal((await token(portico.sandboxUrl, clientId, secret1)).status, 200);
        assert.equal((await token(portico.sandboxUrl, clientId, secret2)).status, 200);
        const firstRow = page.locator('tr[data-secret-id]').filter({ hasText: secret1.slice(0, 8) });
        await firstRow.getByRole('button', { name: 'Revoke' }).click();
        await page.waitForURL((u) => u.pathname === appUrl);
        res = await token(portico.sandboxUrl, clientId, secret1);
        assert.equal(res.status, 401, JSON.stringify(res.body));
        assert.equal(res.body.error, 'invalid_client');
        assert.equal((await token(portico.sandboxUrl, clientId, secret2)).status, 200);

        // Scope request → admin approval → a new token carries the scope.
        await page.check('form[action$="/scope-requests"] input[name="scopes"][value="commercial:write"]');
        await page.fill('textarea[name="reason"]', 'We create orders when customers book.');
        await page.getByRole('button', { name: 'Request scopes' }).click();
        await page.locator('tr[data-scope-request]').filter({ hasText: 'commercial:write' }).getByText('pending', { exact: true }).waitFor();
        await adminPage.goto('/admin/scope-requests');
        await adminPage.screenshot({ path: path.join(screenshots, `admin-queue-${tag}.png`), fullPage: true });
        const requests = adminPage.locator('tr[data-scope-request]').filter({ hasText: `Booking ${tag}` });
        const writeRequest = requests.filter({ hasText: 'commercial:write' });
        await writeRequest.locator('input[name="note"], textarea[name="note"]').fill('Approved for bookings.');
        await writeRequest.getByRole('button', { name: 'Approve' }).click();
        await adminPage.waitForURL((u) => u.pathname === '/admin/scope-requests');
        res = await token(portico.sandboxUrl, clientId, secret2, 'commercial:write');
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(decodeJwt(res.body.access_token).scope.split(' ').includes('commercial:write'));
        await page.goto(appUrl);
        await page.locator('tr[data-scope-request]').filter({ hasText: 'commercial:write' }).getByText('approved', { exact: true }).waitFor();
      } finally {
        await adminPage.close();
        await partner.close();
      }
    });
  }
});
