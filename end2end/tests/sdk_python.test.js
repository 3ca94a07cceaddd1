// The Python SDK as a partner gets it (issue: SDKs generated from the API models): pip installs
// the wheel (and the sdist) from the portal into a fresh venv, a `mypy --strict` program uses it
// against the live sandbox (a lost answer retried with one Idempotency-Key, pagination, typed
// validation and scope errors, a revoked token renewed once), and every v2 operation's
// "Python SDK" sample on the reference pages runs as shown.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApplication, mustRun, run, sampleCode, startPortico } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '..', 'sdk', 'python');
const PYTHON = process.env.PYTHON || 'python3';
const TIMEOUT_MS = 600_000;


function credentials(app) {
  return { ...process.env, CLIENT_ID: app.client_id, CLIENT_SECRET: app.client_secret, API_KEY: app.api_key };
}

// A fresh virtual environment with one package installed from the portal, as the SDK page says.
async function venvWith(work, name, url) {
  const venv = path.join(work, name);
  mustRun(PYTHON, ['-m', 'venv', venv]);
  const python = path.join(venv, 'bin', 'python');
  mustRun(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', url]);
  return python;
}



describe('Python SDK from the portal', { timeout: TIMEOUT_MS }, () => {
  let portico;
  let work;
  let index;
  let python;

  before(async () => {
    const missing = [];
    if (run(PYTHON, ['--version']).status !== 0) missing.push('python3 (3.9+, with venv)');
    if (run(PYTHON, ['-m', 'mypy', '--version']).status !== 0) missing.push('mypy: python3 -m pip install mypy types-requests');
    assert.deepEqual(missing, [], `the Python SDK test needs: ${missing.join('; ')}`);
    portico = await startPortico();
    work = await mkdtemp(path.join(tmpdir(), 'portico-sdk-python-'));
    const response = await fetch(`${portico.portalUrl}/sdk/python/v2/index.json`);
    assert.equal(response.status, 200, 'the portal lists the v2 Python SDK files');
    index = await response.json();
  });

  after(async () => {
    if (portico) await portico.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('lists a wheel and an sdist whose bytes match their SHA-256', async () => {
    assert.equal(index.package, 'portico-commercial');
    const names = index.files.map((f) => f.name);
    assert.deepEqual(names, [
      `portico_commercial-${index.version}-py3-none-any.whl`,
      `portico_commercial-${index.version}.tar.gz`,
    ]);
    assert.match(index.version, /^2\.\d+\.\d+$/);
    for (const file of index.files) {
      const bytes = Buffer.from(await (await fetch(file.url)).arrayBuffer());
      const { createHash } = await import('node:crypto');
      assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256, file.name);
    }
  });

  it('pip installs the sdist into a fresh venv (setuptools builds it)', async () => {
    const sdist = index.files.find((f) => f.name.endsWith('.tar.gz'));
    const fromSource = await venvWith(work, 'venv-sdist', sdist.url);
    const probe = mustRun(fromSource, [
      '-c',
      'import portico_commercial as p, importlib.resources as r; '
        + 'print(p.__version__, p.API_VERSION, r.files("portico_commercial").joinpath("py.typed").is_file())',
    ]);
    assert.equal(probe.stdout.trim(), `${index.version} v2 True`);
  });

  it('pip installs the wheel; a mypy --strict program uses it against the sandbox', async () => {
    const wheel = index.files.find((f) => f.name.endsWith('.whl'));
    python = await venvWith(work, 'venv', wheel.url);
    const consumer = path.join(fixtures, 'consumer.py');
    mustRun(PYTHON, ['-m', 'mypy', '--strict', '--no-incremental', '--python-executable', python, consumer], { cwd: work });

    const app = createApplication(portico, 'sdk-python', 'commercial:read commercial:write');
    const ran = mustRun(python, [consumer], { env: credentials(app), cwd: work });
    const summary = JSON.parse(ran.stdout.trim().split('\n').at(-1));
    assert.equal(summary.base_url, portico.sandboxUrl, 'the sandbox preset is this Portico');
    assert.ok(summary.listed > 0, 'a fresh partner has seed orders');
    // The first create's answer was lost: the SDK sent it again with the same key, once created.
    assert.equal(summary.create_posts, 2);
    assert.equal(summary.same_idempotency_key, true);
    assert.equal(summary.orders_with_reference, 1);
    assert.equal(summary.created_status, 'pending');
    assert.equal(summary.cancelled_status, 'cancelled');
    // Two per page, every order once.
    assert.equal(summary.paged_orders, summary.all_orders);
    assert.equal(summary.paged_unique, true);
    assert.ok(summary.paged_requests >= Math.ceil(summary.all_orders / 2), JSON.stringify(summary));
    assert.ok(summary.paged_requests <= Math.ceil(summary.all_orders / 2) + 1, JSON.stringify(summary));
    assert.equal(summary.validation, 'ValidationException');
    assert.equal(summary.validation_status, 400);
    assert.ok(summary.validation_paths.includes('body.items[0].quantity'), JSON.stringify(summary.validation_paths));
    assert.equal(summary.validation_request_id, true);
    assert.equal(summary.forbidden, 'ForbiddenException');
    assert.equal(summary.forbidden_status, 403);
    // Revoked token: one 401, exactly one new token, then success.
    assert.equal(summary.revoke_status, 200);
    assert.equal(summary.unauthorized_after_revoke, 1);
    assert.equal(summary.token_requests_after_revoke, 1);
    assert.equal(summary.after_revoke_id_matches, true);
  });

  it('runs the quick start of the package\'s README as it is', async () => {
    assert.ok(python, 'the wheel venv exists (previous test)');
    const readme = mustRun(python, [
      '-c', 'import importlib.metadata as m; print(m.metadata("portico-commercial").get_payload())',
    ]).stdout;
    const quickStart = readme.match(/## Quick start\s+```python\n([\s\S]*?)```/);
    assert.ok(quickStart, `no quick start in the README:\n${readme}`);
    const file = path.join(work, 'quick_start.py');
    await writeFile(file, quickStart[1]);
    mustRun(PYTHON, ['-m', 'mypy', '--strict', '--no-incremental', '--python-executable', python, file], { cwd: work });
    const app = createApplication(portico, 'sdk-py-quick-start', 'commercial:read commercial:write');
    const ran = mustRun(python, [file], { env: credentials(app), cwd: work });
    // Every order printed by the paginator, then the validation error's field.
    assert.match(ran.stdout, /^ord_[0-9a-z]{26}$/m, ran.stdout);
    assert.match(ran.stdout, /^query\.limit /m, ran.stdout);
  });

  it('runs every v2 operation\'s Python SDK sample from the reference pages', async () => {
    assert.ok(python, 'the wheel venv exists (previous test)');
    const modelResponse = await fetch(`${portico.portalUrl}/downloads/v2/openapi.json`);
    assert.equal(modelResponse.status, 200);
    const model = await modelResponse.json();
    const operationIds = Object.values(model.paths)
      .flatMap((item) => Object.values(item).map((op) => op?.operationId).filter(Boolean));
    assert.ok(operationIds.includes('DeleteAccount') && operationIds.length >= 8, `operations: ${operationIds}`);
    let n = 0;
    for (const operationId of operationIds) {
      const page = await fetch(`${portico.portalUrl}/reference/v2/${operationId}`);
      assert.equal(page.status, 200, operationId);
      const code = sampleCode(await page.text(), 'python-sdk');
      assert.match(code, /environment="sandbox"/, `${operationId}: the sample targets the sandbox`);
      const file = path.join(work, `sample_${operationId}.py`);
      await writeFile(file, code);
      // A fresh partner for each sample: the examples name ids every new partner's sandbox has.
      const app = createApplication(portico, `sdk-py-sample-${n++}`, 'commercial:read commercial:write users:admin');
      const ran = run(python, [file], { env: credentials(app), cwd: work });
      if (operationId === 'DeleteAccount') {
        // Machine clients may never delete a person's account (by design).
        assert.notEqual(ran.status, 0, `${operationId} must be refused:\n${ran.stdout}`);
        assert.match(ran.stderr, /ForbiddenException/, ran.stderr);
      } else {
        assert.equal(ran.status, 0, `${operationId} sample failed:\n${code}\n--- stdout ---\n${ran.stdout}\n--- stderr ---\n${ran.stderr}`);
        assert.ok(ran.stdout.trim().length > 0, `${operationId} printed its result`);
      }
    }
  });
});
