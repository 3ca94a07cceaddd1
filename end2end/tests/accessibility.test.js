// Every portal route, as a visitor, a partner and an admin, with JavaScript on and off, so that
// the page audit (./audit.js: axe-core WCAG 2.1 AA and 320 px reflow, run when the browser
// closes) covers the whole portal, not only the pages other journeys pass through. Also: a
// refused sign-in announces its error and ties it to the fields, with and without JavaScript.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPortico, launchChromium, signInBootstrapAdmin } from './support.js';

const TIMEOUT_MS = 20_000;
const PASSWORD = 'correct horse battery staple';
const ADMIN_EMAIL = 'admin@portico.localhost';
// A long address: the header must still fit 320 px.
const PARTNER_EMAIL = 'a-rather-long-partner-address.for-reflow@integrations.example-partner.test';

const PUBLIC_PAGES = [
  '/', '/docs', '/docs/getting-started', '/docs/versioning', '/docs/authentication',
  '/docs/errors', '/docs/rate-limits', '/docs/sandbox', '/docs/security', '/docs/webhooks', '/docs/sdks',
  '/reference', '/reference/v2', '/reference/v2/CreateOrder', '/reference/v2/ListProducts',
  '/reference/v1/ListOrders', '/changelog', '/search?q=order', '/status', '/deprecations',
  '/signin', '/signup', '/apps', '/no-such-page',
];
const ADMIN_PAGES = [
  '/admin', '/admin/partners', '/admin/scope-requests', '/admin/applications', '/admin/keys',
  '/admin/versions', '/admin/traffic', '/admin/incidents', '/admin/audit', '/account/password',
];

async function clientToken(sandboxUrl, clientId, secret) {
  const res = await fetch(`${sandboxUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

describe('accessibility of every page', () => {
  let portico;
  let browser;
  let admin;
  let appPath;

  async function signIn(context, email) {
    const page = await context.newPage();
    await page.goto('/signin');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname !== '/signin');
    await page.close();
  }

  async function visitAll(context, paths) {
    const page = await context.newPage();
    try {
      for (const path of paths) {
        const res = await page.goto(path);
        assert.ok(res.status() < 500, `${path} answered ${res.status()}`);
      }
    } finally {
      await page.close();
    }
  }

  before(async () => {
    portico = await startPortico();
    browser = await launchChromium();
    admin = await signInBootstrapAdmin(browser, portico, { password: PASSWORD, timeout: TIMEOUT_MS });

    // A partner with an approved organisation, an application and a call in its request log.
    const partner = await browser.newContext({ baseURL: portico.portalUrl });
    partner.setDefaultTimeout(TIMEOUT_MS);
    const page = await partner.newPage();
    await page.goto('/signup');
    await page.fill('#display_name', 'Avery Auditor');
    await page.fill('#email', PARTNER_EMAIL);
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL((u) => u.pathname === '/org');
    await page.fill('#legal_name', 'Audited Partner Ltd');
    await page.fill('#contact_email', PARTNER_EMAIL);
    await page.check('input[name="attested"]');
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await page.locator('[data-testid="org-status"]').waitFor();
    const slug = (await page.locator('dd code').first().textContent()).trim();
    const adminPage = await admin.newPage();
    await adminPage.goto('/admin/partners');
    await adminPage.locator(`tr[data-org="${slug}"]`).getByRole('button', { name: 'Approve' }).click();
    await adminPage.waitForURL((u) => u.pathname === '/admin/partners');
    await adminPage.close();
    await page.goto('/apps/new');
    await page.fill('input[name="name"]', 'Audited application');
    await page.check('input[name="scopes"][value="commercial:read"]');
    await page.fill('textarea[name="justification"]', 'We read orders.');
    await page.getByRole('button', { name: 'Register application' }).click();
    await page.locator('[data-testid="shown-once"]').waitFor();
    appPath = new URL(page.url()).pathname;
    const clientId = await page.inputValue('#client-id');
    const secret = await page.inputValue('#secret-client-secret');
    const token = await clientToken(portico.sandboxUrl, clientId, secret);
    const call = await fetch(`${portico.sandboxUrl}/v2/commercial/orders?limit=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await call.arrayBuffer();
    await partner.close();
  });

  after(async () => {
    if (portico) await portico.stop();
    // Last: closing the browser runs the page audit, which throws on a finding.
    await browser?.close();
  });

  for (const javaScriptEnabled of [true, false]) {
    const tag = javaScriptEnabled ? 'JavaScript on' : 'JavaScript off';

    it(`visits every public page signed out (${tag})`, async () => {
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      try {
        await visitAll(context, PUBLIC_PAGES);
      } finally {
        await context.close();
      }
    });

    it(`announces a refused sign-in and ties it to the fields (${tag})`, async () => {
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      const page = await context.newPage();
      try {
        await page.goto('/signin');
        await page.fill('#email', PARTNER_EMAIL);
        await page.fill('#password', 'not the password at all');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.locator('#flash[role="alert"]').waitFor();
        for (const field of ['#email', '#password']) {
          assert.equal(await page.getAttribute(field, 'aria-invalid'), 'true', field);
          assert.equal(await page.getAttribute(field, 'aria-describedby'), 'flash', field);
        }
        // autofocus works without JavaScript too: the first refused field has the focus.
        const focused = await page.evaluate(() => document.activeElement?.id);
        assert.equal(focused, 'email');
      } finally {
        await context.close();
      }
    });

    it(`visits every partner page (${tag})`, async () => {
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      try {
        await signIn(context, PARTNER_EMAIL);
        const page = await context.newPage();
        // The call made in `before` reaches the log through a batching writer: wait for it.
        const deadline = Date.now() + TIMEOUT_MS;
        let detail;
        while (!detail) {
          await page.goto(`${appPath}/logs`);
          detail = await page.locator('tr[data-request-id] a').first().getAttribute('href', { timeout: 500 }).catch(() => null);
          if (!detail && Date.now() > deadline) throw new Error('the call never showed in the request log');
        }
        await page.close();
        await visitAll(context, [
          '/apps', '/apps/new', appPath, `${appPath}/logs`, detail, `${appPath}/usage`,
          '/org', '/org/usage', '/account/password', '/docs', '/reference/v2/CreateOrder',
          // A member who is not an admin meets the admin console's refusal.
          '/admin',
        ]);
      } finally {
        await context.close();
      }
    });

    it(`visits every admin page (${tag})`, async () => {
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      try {
        await signIn(context, ADMIN_EMAIL);
        await visitAll(context, [...ADMIN_PAGES, appPath]);
      } finally {
        await context.close();
      }
    });
  }
});
