// The portal's Postman collections run outside the Postman app: newman runs each downloaded
// collection with the downloaded environment plus the application's client id and secret on
// the command line, and every request the model's examples make succeeds (the collection's
// pre-request script fetches and caches the token). DeleteAccount answers 403 by design:
// machine clients may never delete a person's account.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApplication, startPortico } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const newman = path.resolve(here, '..', 'node_modules', '.bin', 'newman');


async function download(url, file) {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  const text = await response.text();
  await writeFile(file, text);
  return JSON.parse(text);
}

describe('Postman collection in newman', () => {
  let portico;
  let work;

  before(async () => {
    portico = await startPortico();
    work = await mkdtemp(path.join(tmpdir(), 'portico-newman-'));
  });

  after(async () => {
    if (portico) await portico.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  // v2 with only the client id and secret (no x-api-key then); v1 with the API key too.
  for (const [version, withApiKey] of [['v2', false], ['v1', true]]) {
    it(`runs the ${version} collection green with the client id and secret${withApiKey ? ' and the API key' : ''}`, async () => {
      const collectionFile = path.join(work, `${version}.postman_collection.json`);
      const environmentFile = path.join(work, 'sandbox.postman_environment.json');
      const collection = await download(`${portico.portalUrl}/downloads/${version}/postman_collection.json`, collectionFile);
      const environment = await download(`${portico.portalUrl}/downloads/sandbox.postman_environment.json`, environmentFile);
      assert.ok(!JSON.stringify(environment).includes('pcs_'), 'the environment never holds a real secret');

      const app = createApplication(portico, `newman-${version}`, 'commercial:read commercial:write');
      const report = path.join(work, `${version}.report.json`);
      const run = spawnSync(newman, [
        'run', collectionFile,
        '--environment', environmentFile,
        '--env-var', `client_id=${app.client_id}`,
        '--env-var', `client_secret=${app.client_secret}`,
        ...(withApiKey ? ['--env-var', `api_key=${app.api_key}`] : []),
        '--reporters', 'cli,json',
        '--reporter-json-export', report,
        '--color', 'off',
      ], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(run.status, 0, `newman failed:\n${run.stdout}\n${run.stderr}`);

      const { run: result } = JSON.parse(await readFile(report, 'utf8'));
      // The JSON reporter lists an execution twice when its pre-request script sent a request
      // (the token request): one entry per execution id.
      const calls = [...new Map(result.executions.map((e) => [e.id, e])).values()];
      const expected = collection.item.reduce((n, folder) => n + folder.item.length, 0);
      assert.equal(calls.length, expected, 'every request of the collection ran');
      const tokens = new Set();
      for (const execution of calls) {
        const name = execution.item.name;
        const code = execution.response?.code;
        const sent = execution.request.header.map((h) => `${h.key}: ${h.value}`).join('\n');
        const bearer = sent.match(/^Authorization: Bearer (\S+\.\S+\.\S+)$/m);
        assert.ok(bearer, `${name} carries a fetched access token`);
        tokens.add(bearer[1]);
        if (withApiKey) {
          assert.ok(sent.split('\n').includes(`x-api-key: ${app.api_key}`), `${name} sends the API key`);
        } else {
          assert.doesNotMatch(sent, /^x-api-key:/mi, `${name}: no x-api-key header while api_key is unset`);
        }
        if (/delete a user account/i.test(name)) {
          assert.equal(code, 403, `${name}: machine clients may never delete accounts`);
        } else {
          assert.ok(code >= 200 && code < 300, `${name} answered ${code}: ${execution.response?.stream ? Buffer.from(execution.response.stream.data).toString() : ''}`);
        }
      }
      assert.equal(tokens.size, 1, 'one token for the whole run: the script caches it');
      assert.deepEqual(result.failures, [], 'no script errors');
    });
  }
});
