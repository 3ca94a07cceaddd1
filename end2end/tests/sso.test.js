// "Sign in with SSO" in a real Chromium, against a real OpenID provider (the certified npm
// `oidc-provider`, end2end/support/oidc-provider.mjs) and a real `portico serve` configured
// with PORTICO_OIDC_*: the provider's login form, its consent page, and back to /apps signed in.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const TIMEOUT_MS = 15_000;
const READY_TIMEOUT_MS = 60_000;

const CLIENT_ID = 'portico-portal';
const CLIENT_SECRET = 'portico-sso-e2e-secret';
const ACCOUNT = 'partner.dev';
const ACCOUNT_EMAIL = 'partner.dev@partner.example';

// The redirect URI must be registered at the provider before Portico starts, and Portico
// discovers the provider when it starts: so the portal's port is chosen first.
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Spawns `command`, resolves with the first stdout match of `pattern` (and the process).
async function spawnUntil(command, args, options, pattern, name) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', (e) => { err += `\nspawn error: ${e.message}`; resolve(null); });
  });
  const captured = () => `--- ${name} stdout ---\n${out}\n--- ${name} stderr ---\n${err}`;
  try {
    const match = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} was not ready within ${READY_TIMEOUT_MS / 1000} s\n${captured()}`)),
        READY_TIMEOUT_MS,
      );
      const check = () => {
        const m = out.match(pattern);
        if (m) { clearTimeout(timer); resolve(m); }
      };
      child.stdout.on('data', check);
      exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited early (code ${code})\n${captured()}`));
      });
      check();
    });
    return { child, match, exited, captured };
  } catch (e) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw e;
  }
}

async function stop(proc) {
  if (!proc) return;
  const { child, exited } = proc;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

describe('single sign-on', () => {
  let provider;
  let portico;
  let portalUrl;
  let dataDir;
  let browser;

  before(async () => {
    const port = await freePort();
    portalUrl = `http://127.0.0.1:${port}`;
    provider = await spawnUntil(
      process.execPath,
      [path.join(repoRoot, 'end2end', 'support', 'oidc-provider.mjs'), `${portalUrl}/signin/sso/callback`],
      { env: { ...process.env, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET } },
      /^(http:\/\/\S+)$/m,
      'oidc-provider',
    );
    const issuer = provider.match[1];

    dataDir = await mkdtemp(path.join(tmpdir(), 'portico-e2e-sso-'));
    const bin = process.env.PORTICO_BIN || path.join(repoRoot, 'target', 'debug', 'portico');
    portico = await spawnUntil(bin, ['serve'], {
      cwd: dataDir,
      env: {
        ...process.env,
        DATABASE_URL: `sqlite://${dataDir}/portico.db`,
        PORTICO_PORTAL_ADDR: `127.0.0.1:${port}`,
        PORTICO_SANDBOX_ADDR: '127.0.0.1:0',
        PORTICO_PUBLIC_PORTAL_URL: portalUrl,
        PORTICO_LOG: 'info',
        PORTICO_OIDC_ISSUER: issuer,
        PORTICO_OIDC_CLIENT_ID: CLIENT_ID,
        PORTICO_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      },
    }, /^\s*portal\s+http:\/\/\S+\s*$/m, 'portico');
    browser = await launchChromium();
  });

  after(async () => {
    await stop(portico);
    await stop(provider);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    // Last: closing the browser runs the page audit, which throws on a finding.
    await browser?.close();
  });

  it('never prints the client secret', () => {
    assert.ok(!portico.captured().includes(CLIENT_SECRET), 'the secret appeared in the output');
  });

  it('signs a partner in through the provider and lands on /apps', async () => {
    const context = await browser.newContext({ baseURL: portalUrl });
    context.setDefaultTimeout(TIMEOUT_MS);
    const page = await context.newPage();
    try {
      await page.goto('/signin');
      const sso = page.locator('a[href="/signin/sso"]');
      await sso.waitFor({ state: 'visible' });
      assert.match(await sso.innerText(), /Sign in with SSO/);
      await sso.click();

      // The provider's development login form (any password), then its consent page.
      await page.waitForURL((url) => url.href.startsWith(provider.match[1]));
      await page.locator('input[name="login"]').fill(ACCOUNT);
      await page.locator('input[name="password"]').fill('correct horse battery staple');
      await page.locator('button[type="submit"]').click();
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.waitForURL((url) => url.origin === portalUrl && url.pathname === '/apps');
      const user = page.locator('[data-testid="current-user"]');
      await user.waitFor({ state: 'visible' });
      assert.match(await user.innerText(), new RegExp(ACCOUNT_EMAIL.replace(/\./g, '\\.')));

      // The provider session is remembered; the portal session too: /apps stays signed in.
      await page.reload();
      await user.waitFor({ state: 'visible' });
    } finally {
      await context.close();
    }
  });

  it('a forged callback is refused with a message and no sign-in', async () => {
    const context = await browser.newContext({ baseURL: portalUrl });
    context.setDefaultTimeout(TIMEOUT_MS);
    const page = await context.newPage();
    try {
      const res = await page.goto('/signin/sso/callback?code=forged&state=forged');
      assert.ok(res.status() < 500, `status ${res.status()}`);
      await page.getByText('The sign-in was cancelled or expired; try again.').waitFor({ state: 'visible' });
      assert.equal(await page.locator('[data-testid="current-user"]').count(), 0);
    } finally {
      await context.close();
    }
  });
});
