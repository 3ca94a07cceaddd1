// Shared helpers for the end-to-end tests: run a real `portico serve` on
// ephemeral ports with a throwaway SQLite database, and launch the system
// Chromium (no Playwright-downloaded browsers are available here).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { auditedBrowser } from './audit.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
// The binary announces each bound listener as e.g. "  portal   http://127.0.0.1:PORT".
const LISTENER_LINE = /^\s*(portal|sandbox)\s+(http:\/\/\S+)\s*$/gm;

export async function startPortico() {
  const bin = process.env.PORTICO_BIN || path.join(repoRoot, 'target', 'debug', 'portico');
  const dir = await mkdtemp(path.join(tmpdir(), 'portico-e2e-'));
  const child = spawn(bin, ['serve'], {
    cwd: dir,
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${dir}/portico.db`,
      // Port 0: let the OS pick, so parallel runs never collide.
      PORTICO_PORTAL_ADDR: '127.0.0.1:0',
      PORTICO_SANDBOX_ADDR: '127.0.0.1:0',
      PORTICO_LOG: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  // A failed hook may never reach stop(): the server must neither keep this test process
  // alive nor outlive it.
  child.unref();
  child.stdout.unref();
  child.stderr.unref();
  process.on('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => {
    child.on('exit', (code) => resolve(code));
    // A spawn failure (e.g. binary missing) emits 'error' and may never emit 'exit'.
    child.on('error', (e) => { err += `\nspawn error: ${e.message}`; resolve(null); });
  });
  const captured = () => `--- stdout ---\n${out}\n--- stderr ---\n${err}`;

  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };

  let urls;
  try {
    urls = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`portico did not report its listeners within 60 s\n${captured()}`)),
        READY_TIMEOUT_MS,
      );
      const check = () => {
        const found = {};
        for (const m of out.matchAll(LISTENER_LINE)) found[m[1]] = m[2].replace(/\/+$/, '');
        if (found.portal && found.sandbox) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child.stdout.on('data', check);
      exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`portico exited early (code ${code})\n${captured()}`));
      });
      check();
    });
  } catch (e) {
    await cleanup();
    throw e;
  }

  return {
    portalUrl: urls.portal,
    sandboxUrl: urls.sandbox,
    // The working directory (database, master key), for CLI commands against the same data.
    dir,
    bin,
    stdout: () => out,
    // SIGTERM must trigger a graceful shutdown; SIGKILL only as a last resort.
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// Runs a command to completion (a spawn failure throws).
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 240_000, ...options });
  if (result.error) throw result.error;
  return result;
}

// Runs a command that must succeed; the failure message carries its output.
export function mustRun(command, args, options = {}) {
  const result = run(command, args, options);
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

// A new partner's application with `scopes`, made by the CLI on the running server's database
// (as an operator would): `{client_id, client_secret, api_key, partner_id}`.
export function createApplication(portico, partner, scopes, name = `SDK ${partner}`) {
  const made = mustRun(
    portico.bin,
    ['app', 'create', '--partner', partner, '--name', name, '--scopes', scopes],
    { cwd: portico.dir, env: { ...process.env, DATABASE_URL: `sqlite://${portico.dir}/portico.db` } },
  );
  return JSON.parse(made.stdout.split('\n').find((line) => line.trim().startsWith('{')));
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

// The text of an HTML fragment: tags stripped, entities decoded (as a reader copies it).
export function htmlText(fragment) {
  return fragment
    .replace(/<[^>]+>/g, '')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, name) => {
      if (name[0] === '#') {
        const hex = name[1] === 'x' || name[1] === 'X';
        return String.fromCodePoint(Number.parseInt(name.slice(hex ? 2 : 1), hex ? 16 : 10));
      }
      return ENTITIES[name.toLowerCase()] ?? entity;
    });
}

// The code of one sample (`typescript-sdk`, `python-sdk`, `curl`, …) on a reference page.
export function sampleCode(html, key) {
  // Attributes in any order (the renderer decides it).
  const section = html.match(
    new RegExp(`<section(?=[^>]*\\bclass="sample")(?=[^>]*\\bdata-language="${key}")[^>]*>([\\s\\S]*?)<\\/section>`),
  );
  assert.ok(section, `no ${key} sample on the page`);
  const code = section[1].match(/<pre[^>]*>\s*<code[^>]*>([\s\S]*?)<\/code>\s*<\/pre>/);
  assert.ok(code, `no code in the ${key} sample`);
  return htmlText(code[1]);
}

// Every browser the suite launches audits what its pages showed: see ./audit.js.
export async function launchChromium() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    // Sandboxing needs user namespaces (absent as root/CI); the rest keeps
    // Chromium off the network, which is unreachable here anyway.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  return auditedBrowser(browser);
}

// The bootstrap admin signs in once with the one-time link printed at first start and picks a
// password; returns that admin's browser context.
export async function signInBootstrapAdmin(browser, portico, { password, timeout }) {
  const link = portico.stdout().match(/http:\/\/\S+\/signin\?token=pst_\S+/);
  if (!link) throw new Error(`no sign-in link in:\n${portico.stdout()}`);
  const admin = await browser.newContext({ baseURL: portico.portalUrl });
  admin.setDefaultTimeout(timeout);
  const page = await admin.newPage();
  await page.goto(link[0]);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((u) => u.pathname === '/account/password');
  await page.fill('#password', password);
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.waitForURL((u) => u.pathname === '/admin');
  await page.close();
  return admin;
}
