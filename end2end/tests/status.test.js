// The public status page in a real Chromium, with JavaScript on and off: the probes' results,
// the 90-day uptime bars (inline SVG) and latency charts, and an incident an admin posts through
// the admin forms, which then shows on the page and in the Atom feed.
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

// Probe every 2 s so the first results are there at once (the first pass runs at start-up).
process.env.PORTICO_PROBE_INTERVAL = '2';

async function statusJson(portalUrl) {
  const res = await fetch(`${portalUrl}/status.json`);
  assert.equal(res.status, 200);
  return res.json();
}

/** Polls status.json until `done(doc)` holds; a generous deadline, no timing asserted. */
async function waitForStatus(portalUrl, done) {
  const deadline = Date.now() + 60_000;
  let doc;
  while (Date.now() < deadline) {
    doc = await statusJson(portalUrl);
    if (done(doc)) return doc;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`status.json never matched; last: ${JSON.stringify(doc)}`);
}

describe('status page', () => {
  let portico;
  let browser;
  let admin;

  before(async () => {
    portico = await startPortico();
    browser = await launchChromium();
    await mkdir(screenshots, { recursive: true });
    await waitForStatus(portico.portalUrl, (doc) => {
      const v2 = doc.components.find((c) => c.name === 'Sandbox API v2');
      return v2 && v2.status === 'operational';
    });
    admin = await signInBootstrapAdmin(browser, portico, { password: PASSWORD, timeout: TIMEOUT_MS });
  });

  after(async () => {
    if (portico) await portico.stop();
    // Last: closing the browser runs the page audit, which throws on a finding.
    await browser?.close();
  });

  it('an admin posts an incident through the forms', async () => {
    const page = await admin.newPage();
    try {
      await page.goto('/admin/incidents');
      await page.getByRole('heading', { level: 1, name: 'Status incidents' }).waitFor();
      await page.check('input[name="kind"][value="incident"]');
      await page.fill('#incident-title', 'Slow order listings on v2');
      await page.check('input[name="components"][value="Sandbox API v2"]');
      await page.selectOption('#incident-impact', 'minor');
      await page.selectOption('#incident-status', 'investigating');
      await page.fill('#incident-message', 'Some order listings take several seconds; we are looking into it.');
      await page.getByRole('button', { name: 'Publish' }).click();
      await page.waitForURL((u) => /^\/admin\/incidents\/inc_/.test(u.pathname));
      await page.locator('[data-testid="flash"]').getByText('is on the status page').waitFor();
      await page.selectOption('#update-status', 'identified');
      await page.fill('#update-message', 'A slow index; a fix is rolling out.');
      await page.getByRole('button', { name: 'Post update' }).click();
      await page.locator('[data-testid="incident-status"]').getByText('Identified').waitFor();
    } finally {
      await page.close();
    }
    const doc = await statusJson(portico.portalUrl);
    assert.equal(doc.status.indicator, 'minor');
    assert.equal(doc.incidents[0].name, 'Slow order listings on v2');
    assert.equal(doc.incidents[0].updates.length, 2);
    const feed = await fetch(`${portico.portalUrl}/status/feed.atom`);
    assert.equal(feed.headers.get('content-type'), 'application/atom+xml; charset=utf-8');
    const xml = await feed.text();
    assert.match(xml, /<title>Slow order listings on v2 \(Identified\)<\/title>/);
  });

  for (const javaScriptEnabled of [true, false]) {
    const tag = javaScriptEnabled ? 'js' : 'nojs';
    it(`renders the components, bars, charts and incidents (${tag})`, async () => {
      const context = await browser.newContext({
        baseURL: portico.portalUrl,
        javaScriptEnabled,
        viewport: { width: 1100, height: 900 },
      });
      context.setDefaultTimeout(TIMEOUT_MS);
      const page = await context.newPage();
      try {
        const res = await page.goto('/status');
        assert.equal(res.status(), 200);
        await page.getByRole('heading', { level: 1, name: 'System status' }).waitFor();
        await page.locator('[data-testid="status-banner"]').getByText('Minor service disruption').waitFor();
        // The incident is on top, with both updates and their times.
        const incident = page.locator('section[aria-labelledby="active-heading"] article.incident');
        await incident.getByText('Slow order listings on v2').waitFor();
        await incident.getByText('A slow index; a fix is rolling out.').waitFor();
        // Each component: its state, a visible 90-day bar with one cell per day, a chart.
        for (const name of ['Developer portal', 'Token endpoint', 'Sandbox API v1', 'Sandbox API v2']) {
          const card = page.locator(`article.status-component[data-component="${name}"]`);
          await card.waitFor();
          const bar = card.locator('svg.uptime-bar');
          await bar.waitFor({ state: 'visible' });
          const box = await bar.boundingBox();
          assert.ok(box && box.width > 100 && box.height > 10, `${name}: bar is visible (${JSON.stringify(box)})`);
          assert.equal(await bar.locator('rect').count(), 90, name);
          assert.match(await bar.getAttribute('aria-label'), /over the last 90 days/);
          const today = bar.locator('rect').last();
          assert.match(await today.locator('title').textContent(), /^\d{4}-\d{2}-\d{2}: \d+(\.\d+)? % uptime$/);
          await card.locator('svg.latency-chart').waitFor({ state: 'visible' });
        }
        const v2 = page.locator('article.status-component[data-component="Sandbox API v2"]');
        assert.equal(await v2.getAttribute('data-status'), 'degraded_performance', 'the incident overlays the probe');
        await v2.getByText('Degraded performance').waitFor();
        const token = page.locator('article.status-component[data-component="Token endpoint"]');
        await token.getByText('Operational', { exact: true }).waitFor();
        if (javaScriptEnabled) {
          await page.screenshot({ path: path.join(screenshots, 'status.png'), fullPage: true });
        }
      } finally {
        await context.close();
      }
    });
  }
});
