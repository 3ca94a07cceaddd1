// The TypeScript SDK as a partner gets it (issue: SDKs generated from the API models): npm
// installs it from the portal, a strict TypeScript program uses it against the live sandbox
// (lost answers retried with one Idempotency-Key, pagination, typed errors, a revoked token
// renewed once), and every v2 operation's "TypeScript SDK" sample on the reference pages
// compiles and runs as shown.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApplication, mustRun, run, sampleCode, startPortico } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const end2end = path.resolve(here, '..');
const fixtures = path.join(end2end, 'sdk', 'typescript');
const tsc = path.join(end2end, 'node_modules', '.bin', 'tsc');
const TIMEOUT_MS = 300_000;


// Strict TypeScript, Node's types only (what a Node partner project has), ES modules.
async function compile(work, files) {
  const config = {
    compilerOptions: {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2022'],
      types: ['node'],
      typeRoots: [path.join(end2end, 'node_modules', '@types')],
      outDir: 'out',
      rootDir: '.',
    },
    files,
  };
  await writeFile(path.join(work, 'tsconfig.json'), JSON.stringify(config, null, 2));
  mustRun(tsc, ['-p', 'tsconfig.json'], { cwd: work });
}



describe('TypeScript SDK', () => {
  let portico;
  let work;

  before(async () => {
    portico = await startPortico();
    work = await mkdtemp(path.join(tmpdir(), 'portico-sdk-ts-'));
    await writeFile(
      path.join(work, 'package.json'),
      JSON.stringify({ name: 'sdk-partner', private: true, type: 'module' }, null, 2),
    );
  });

  after(async () => {
    await portico?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('installs from the portal with npm, and a strict program uses it against the sandbox', { timeout: TIMEOUT_MS }, async (t) => {
    // Exactly what the portal tells a partner to run.
    const latest = `${portico.portalUrl}/sdk/typescript/v2/latest.tgz`;
    mustRun('npm', ['install', '--no-audit', '--no-fund', latest], {
      cwd: work,
      env: { ...process.env, NPM_CONFIG_UPDATE_NOTIFIER: 'false' },
    });
    const installed = JSON.parse(await readFile(path.join(work, 'node_modules', 'portico-commercial', 'package.json'), 'utf8'));
    assert.equal(installed.version.split('.')[0], '2');
    assert.equal(installed.dependencies, undefined);
    const manifest = JSON.parse(await readFile(path.join(work, 'package.json'), 'utf8'));
    assert.equal(manifest.dependencies['portico-commercial'], latest);

    await copyFile(path.join(fixtures, 'consumer.ts'), path.join(work, 'consumer.ts'));
    await compile(work, ['consumer.ts']);

    const main = createApplication(portico, 'sdk-partner', 'commercial:read commercial:write');
    const readOnly = createApplication(portico, 'sdk-reader', 'commercial:read');
    const ran = mustRun(process.execPath, [path.join(work, 'out', 'consumer.js')], {
      cwd: work,
      env: {
        ...process.env,
        CLIENT_ID: main.client_id,
        CLIENT_SECRET: main.client_secret,
        API_KEY: main.api_key,
        READONLY_CLIENT_ID: readOnly.client_id,
        READONLY_CLIENT_SECRET: readOnly.client_secret,
        READONLY_API_KEY: readOnly.api_key,
        SANDBOX_URL: portico.sandboxUrl,
      },
    });
    const summary = JSON.parse(ran.stdout.trim().split('\n').at(-1));
    t.diagnostic(`consumer summary: ${JSON.stringify(summary)}`);

    assert.equal(summary.sdkVersion, installed.version);
    assert.ok(summary.firstPageCount > 0, JSON.stringify(summary));
    // The first answer was lost after the server created the order: the SDK tried again
    // with the same key, and there is one order with that reference.
    assert.equal(summary.created.posts, 2);
    assert.equal(summary.created.keys[0], summary.created.keys[1]);
    assert.match(summary.created.keys[0], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(summary.created.ordersWithReference, 1);
    assert.equal(summary.created.status, 'pending');
    assert.match(summary.created.id, /^ord_/);
    assert.equal(summary.created.total.currency, 'EUR');
    assert.equal(summary.cancelledStatus, 'cancelled');
    // Two at a time through every order: no duplicates, none missed.
    assert.equal(summary.paged.items, summary.paged.total);
    assert.equal(summary.paged.unique, summary.paged.total);
    assert.equal(summary.paged.requests, Math.ceil(summary.paged.total / 2));
    assert.ok(summary.paged.total >= 13, JSON.stringify(summary.paged));
    assert.deepEqual(
      { status: summary.validation.status, type: summary.validation.type },
      { status: 400, type: 'ValidationException' },
    );
    assert.ok(summary.validation.paths.includes('body.items[0].quantity'), JSON.stringify(summary.validation));
    assert.match(summary.validation.requestId, /\S/);
    assert.equal(summary.forbidden.readScope, 'ForbiddenException 403 ForbiddenException');
    assert.equal(summary.forbidden.readOnlyApp, 'ForbiddenException 403 ForbiddenException');
    assert.equal(summary.forbidden.instanceOfForbiddenException, true);
    // One token for everything before the revocation; after it, one 401, one renewal.
    assert.equal(summary.refresh.revokeStatus, 200);
    assert.equal(summary.refresh.tokenRequestsBeforeRevocation, 1);
    assert.equal(summary.refresh.unauthorized, 1);
    assert.equal(summary.refresh.tokenRequests, 1);
    assert.equal(summary.refresh.listed, 1);
  });

  it('runs every v2 operation\'s TypeScript SDK sample from the reference pages', { timeout: TIMEOUT_MS }, async (t) => {
    // The package from the first test; install it here too when this test runs alone.
    const packageDir = path.join(work, 'node_modules', 'portico-commercial');
    if (!existsSync(packageDir)) {
      mustRun('npm', ['install', '--no-audit', '--no-fund', `${portico.portalUrl}/sdk/typescript/v2/latest.tgz`], { cwd: work });
    }
    const index = await (await fetch(`${portico.portalUrl}/reference/v2`)).text();
    const operations = [...new Set([...index.matchAll(/href="\/reference\/v2\/([A-Za-z0-9_]+)"/g)].map((m) => m[1]))];
    for (const expected of ['ListOrders', 'CreateOrder', 'GetOrder', 'CancelOrder', 'DeleteAccount']) {
      assert.ok(operations.includes(expected), `${expected} is not on /reference/v2: ${operations}`);
    }

    const files = [];
    for (const operationId of operations) {
      const response = await fetch(`${portico.portalUrl}/reference/v2/${operationId}`);
      assert.equal(response.status, 200, operationId);
      const code = sampleCode(await response.text(), 'typescript-sdk');
      assert.match(code, /from "portico-commercial"/);
      const file = `sample_${operationId}.ts`;
      await writeFile(path.join(work, file), code);
      files.push(file);
    }
    await compile(work, files);

    for (const operationId of operations) {
      // A fresh partner each: the examples name seed data every new partner has (the
      // pending order CancelOrder cancels, once).
      const app = createApplication(portico, `sdk-sample-${operationId.toLowerCase()}`, 'commercial:read commercial:write');
      const ran = run(process.execPath, [path.join(work, 'out', `sample_${operationId}.js`)], {
        cwd: work,
        env: { ...process.env, CLIENT_ID: app.client_id, CLIENT_SECRET: app.client_secret, API_KEY: app.api_key },
      });
      t.diagnostic(`${operationId}: exit ${ran.status}, ${ran.stdout.length} bytes printed`);
      if (operationId === 'DeleteAccount') {
        // Machine clients may never delete accounts (by design): the typed error surfaces.
        assert.notEqual(ran.status, 0, ran.stdout);
        assert.match(ran.stderr, /ForbiddenException/);
      } else {
        assert.equal(ran.status, 0, `${operationId} sample failed:\n${ran.stdout}\n${ran.stderr}`);
        // The printed result: the response body as JSON (or `done` for an empty answer).
        const printed = ran.stdout.trim();
        if (printed !== 'done') assert.equal(typeof JSON.parse(printed), 'object', `${operationId}: ${printed}`);
      }
    }
  });
});
