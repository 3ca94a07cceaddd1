// Webhooks in the browser (issue 15): a partner adds an endpoint pointing at a real receiver,
// copies the whsec_ secret shown once, sends a test event, sees the attempt in the delivery
// log, replays it, and the receiver gets the same message twice (same webhook-id, valid
// Standard Webhooks signatures). Run with JavaScript on and with JavaScript off.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPortico, launchChromium } from './support.js';

const TIMEOUT_MS = 20_000;
const PASSWORD = 'correct horse battery staple';
const here = path.dirname(fileURLToPath(import.meta.url));
const screenshots = path.resolve(here, '..', 'screenshots');

// A receiver on loopback: records every request and answers 200.
async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('received');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function until(what, check, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// Standard Webhooks: base64(HMAC-SHA256(secret, `${id}.${timestamp}.${body}`)), one `v1,` entry
// per secret in force.
function signatureValid(secret, request) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.${request.body}`;
  const expected = createHmac('sha256', key).update(signed).digest();
  return (request.headers['webhook-signature'] || '').split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    const given = Buffer.from(value || '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

describe('webhooks in the portal', () => {
  let portico;
  let browser;
  let receiver;

  before(async () => {
    // startPortico passes this process's environment on: receivers here listen on loopback.
    process.env.PORTICO_WEBHOOKS_ALLOW_HTTP_LOOPBACK = 'true';
    receiver = await startReceiver();
    portico = await startPortico();
    browser = await launchChromium();
    await mkdir(screenshots, { recursive: true });
  });

  after(async () => {
    if (portico) await portico.stop();
    await receiver?.close();
    // Last: closing the browser runs the page audit, which throws on a finding.
    await browser?.close();
  });

  for (const javaScriptEnabled of [true, false]) {
    const label = javaScriptEnabled ? 'JavaScript on' : 'JavaScript off';
    it(`adds an endpoint, sends a test event and replays it with ${label}`, async () => {
      const tag = javaScriptEnabled ? 'js' : 'nojs';
      const email = `hooks-${tag}@partner-${tag}.test`;
      const hookPath = `/hook-${tag}`;
      const context = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled });
      context.setDefaultTimeout(TIMEOUT_MS);
      const page = await context.newPage();
      page.on('dialog', (dialog) => dialog.accept());
      try {
        // A partner with an organisation and an application.
        await page.goto('/signup');
        await page.fill('#display_name', 'Hook Developer');
        await page.fill('#email', email);
        await page.fill('#password', PASSWORD);
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.waitForURL((u) => u.pathname === '/org');
        await page.fill('#legal_name', `Hooks ${tag.toUpperCase()} Ltd`);
        await page.fill('#contact_email', email);
        await page.check('input[name="attested"]');
        await page.getByRole('button', { name: 'Create organisation' }).click();
        await page.locator('[data-testid="org-status"]').waitFor();
        await page.goto('/apps/new');
        await page.fill('input[name="name"]', `Hooks ${tag}`);
        await page.getByRole('button', { name: 'Register application' }).click();
        await page.locator('[data-testid="shown-once"]').waitFor();
        const appPath = new URL(page.url()).pathname;

        // A refused destination: the message, and what was typed stays.
        await page.fill('#webhook-url', 'https://169.254.169.254/latest');
        await page.check('#add-event-order-created');
        await page.getByRole('button', { name: 'Add endpoint' }).click();
        await page.locator('[data-testid="flash"]').getByText('cloud metadata address').waitFor();
        assert.equal(await page.inputValue('#webhook-url'), 'https://169.254.169.254/latest');

        // Add the endpoint: the secret is shown once, on the endpoint's page.
        await page.fill('#webhook-url', `${receiver.url}${hookPath}`);
        await page.fill('#webhook-description', `Receiver ${tag}`);
        await page.check('#add-event-order-created');
        await page.getByRole('button', { name: 'Add endpoint' }).click();
        await page.locator('[data-testid="shown-once"]').waitFor();
        const endpointPath = new URL(page.url()).pathname;
        assert.match(endpointPath, new RegExp(`^${appPath}/webhooks/`));
        const secret = await page.inputValue('#secret-signing-secret');
        assert.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
        await page.reload();
        assert.equal(await page.locator('[data-testid="shown-once"]').count(), 0, 'shown once only');
        assert.equal((await page.content()).includes(secret), false);
        await page.goto(appPath);
        await page.locator(`a[href="${endpointPath}"]`).click();
        await page.waitForURL((u) => u.pathname === endpointPath);

        // A test event reaches the receiver, and its attempt shows in the log.
        await page.getByRole('button', { name: 'Send test event' }).click();
        await page.locator('[data-testid="flash"]').getByText('test event').waitFor();
        const forMe = () => receiver.received.filter((r) => r.path === hookPath);
        await until('the test event at the receiver', () => forMe().length >= 1);
        const first = forMe()[0];
        assert.equal(JSON.parse(first.body).type, 'portico.test');
        assert.ok(signatureValid(secret, first), `signature: ${JSON.stringify(first.headers)}`);
        const rows = page.locator('tr[data-message-id]');
        await until('the attempt in the log', async () => {
          await page.reload();
          return (await rows.count()) >= 1;
        });
        const row = rows.first();
        assert.equal(await row.getAttribute('data-result'), 'succeeded');
        assert.equal((await row.locator('[data-testid="attempt-result"]').textContent()).trim(), '200');
        const messageId = await row.getAttribute('data-message-id');
        assert.equal(first.headers['webhook-id'], messageId);

        // Replay: sent again with the same message id.
        await row.getByRole('button', { name: 'Replay', exact: true }).click();
        await page.locator('[data-testid="flash"]').getByText('same webhook-id').waitFor();
        await until('the replay at the receiver', () => forMe().length >= 2);
        const sameMessage = page.locator(`tr[data-message-id="${messageId}"]`);
        await until('the second attempt in the log', async () => {
          await page.reload();
          return (await sameMessage.count()) >= 2;
        });
        const ids = forMe().map((r) => r.headers['webhook-id']);
        assert.deepEqual(ids, [messageId, messageId]);
        assert.equal(forMe()[1].body, first.body, 'the same payload');
        assert.ok(signatureValid(secret, forMe()[1]));
        await page.screenshot({ path: path.join(screenshots, `webhook-endpoint-${tag}.png`), fullPage: true });

        // The log's filters are a GET form.
        await page.selectOption('#filter-result', 'failed');
        await page.getByRole('button', { name: 'Filter' }).click();
        await page.waitForURL((u) => u.searchParams.get('result') === 'failed');
        await page.locator('[data-testid="no-attempts"]').waitFor();
      } finally {
        await context.close();
      }
    });
  }
});
