// The deprecations page and the admin's version dates in a real Chromium, with JavaScript on
// and off: the page shows every version with the dates the gateway sends, an admin moves v1's
// sunset in the browser and the page and the gateway's `Sunset` header follow, and the admin
// sees the demo partner still calling v1.
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

// `YYYY-MM-DD` → the HTTP-date of its midnight (UTC), as the `Sunset` header carries it.
const httpDate = (day) => new Date(`${day}T00:00:00Z`).toUTCString();

describe('deprecations', () => {
  let portico;
  let browser;
  let admin;
  let token;

  before(async () => {
    portico = await startPortico();
    browser = await launchChromium();
    await mkdir(screenshots, { recursive: true });
    const line = portico.stdout().split('\n').find((l) => l.trim().startsWith('{'));
    assert.ok(line, `no demo credentials in:\n${portico.stdout()}`);
    const demo = JSON.parse(line);
    const basic = 'Basic ' + Buffer.from(`${demo.client_id}:${demo.client_secret}`).toString('base64');
    const res = await fetch(`${portico.sandboxUrl}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=commercial:read',
    });
    assert.equal(res.status, 200, await res.clone().text());
    token = (await res.json()).access_token;

    admin = await signInBootstrapAdmin(browser, portico, { password: PASSWORD, timeout: TIMEOUT_MS });
  });

  after(async () => {
    if (portico) await portico.stop();
    // Last: closing the browser runs the page audit, which throws on a finding.
    await browser?.close();
  });

  const callV1 = () => fetch(`${portico.sandboxUrl}/v1/commercial/products?limit=1`, {
    headers: { authorization: `Bearer ${token}` },
  });

  for (const javaScriptEnabled of [true, false]) {
    const tag = javaScriptEnabled ? 'js' : 'nojs';

    it(`the public page shows the dates the gateway sends (${tag})`, async () => {
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      const page = await context.newPage();
      try {
        const res = await callV1();
        assert.equal(res.status, 200);
        await page.goto('/deprecations?version=v1');
        await page.getByRole('heading', { level: 1, name: 'API versions and deprecations' }).waitFor();
        const v1 = page.locator('tr[data-version="v1"]');
        assert.equal(await v1.getAttribute('data-state'), 'deprecated');
        const sunset = (await v1.locator('[data-field="sunset"]').innerText()).trim();
        assert.equal(res.headers.get('sunset'), httpDate(sunset));
        assert.match(await v1.locator('[data-field="countdown"]').innerText(), /Stops working in \d+ days/);
        assert.equal(await page.locator('tr[data-version="v0"]').getAttribute('data-state'), 'sunset');
        assert.equal(await page.locator('tr[data-version="v2"]').getAttribute('data-state'), 'current');
        await page.screenshot({ path: path.join(screenshots, `deprecations-${tag}.png`), fullPage: true });
      } finally {
        await context.close();
      }
    });
  }

  it('an admin moves a sunset date in the browser and the gateway follows', async () => {
    // Calls the admin page can attribute to the demo partner.
    for (let i = 0; i < 3; i += 1) assert.equal((await callV1()).status, 200);
    const page = await admin.newPage();
    try {
      await page.goto('/admin/versions');
      const panel = page.locator('section[data-version="v1"]');
      await panel.locator('input[name="sunset"]').fill('2028-01-31');
      await panel.getByRole('button', { name: 'Save dates' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/versions');
      await page.getByText('v1 is now deprecated, sunset on 2028-01-31.').waitFor();
      assert.equal((await callV1()).headers.get('sunset'), httpDate('2028-01-31'));
      // The request log is written off the request path: wait until the demo partner shows.
      const callers = page.locator('[data-testid="callers-v1"] tr[data-partner="demo"]');
      for (let attempt = 0; attempt < 20 && (await callers.count()) === 0; attempt += 1) {
        await page.waitForTimeout(250);
        await page.reload();
      }
      await callers.waitFor();
      await page.screenshot({ path: path.join(screenshots, 'admin-versions.png'), fullPage: true });

      await page.goto('/deprecations');
      assert.equal(
        (await page.locator('tr[data-version="v1"] [data-field="sunset"]').innerText()).trim(),
        '2028-01-31',
      );
      // Back to the model's dates.
      await page.goto('/admin/versions');
      await page
        .locator('section[data-version="v1"]')
        .getByRole('button', { name: "Use the model's dates" })
        .click();
      await page.waitForURL((u) => u.pathname === '/admin/versions');
      assert.equal((await callV1()).headers.get('sunset'), httpDate('2027-06-30'));
    } finally {
      await page.close();
    }
  });
});
