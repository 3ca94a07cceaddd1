// "Done when" of the SDKs: a partner copies the two commands /docs/sdks shows for a language
// (install, run the quick start) into a fresh folder, with their application's credentials
// in the environment, and the program works against their sandbox with no token code of
// their own. Both commands are taken from the page exactly as shown and run by a shell.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApplication, htmlText, startPortico } from './support.js';


/// The install and run commands the page shows for one API version and language.
function commandsOf(page, version, language) {
  // Attribute order is the renderer's: find the tags by their attributes.
  const versionTag = page.match(new RegExp(`<section(?=[^>]*class="sdk-version")(?=[^>]*id="${version}")[^>]*>`));
  assert.ok(versionTag, `the page has a section for ${version}`);
  const section = page.slice(versionTag.index).split(/<section(?=[^>]*class="sdk-version")/)[1];
  const packageTag = section.match(new RegExp(`<section(?=[^>]*class="sdk-package")(?=[^>]*data-language="${language}")[^>]*>`));
  assert.ok(packageTag, `the ${version} section has ${language}`);
  const pkg = section.slice(packageTag.index).split('</section>')[0];
  const command = (kind) => {
    const match = pkg.match(new RegExp(`<pre(?=[^>]*class="${kind}")[^>]*><code>([\\s\\S]*?)</code></pre>`));
    assert.ok(match, `${language} ${version}: no ${kind} command`);
    return htmlText(match[1]);
  };
  return { install: command('install'), run: command('run') };
}

function shell(command, cwd, env) {
  const result = spawnSync('bash', ['-c', command], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(result.status, 0, `${command}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  return result.stdout;
}

describe('the SDK quick starts, as /docs/sdks tells a partner', () => {
  let portico;
  let work;
  let page;

  before(async () => {
    portico = await startPortico();
    work = await mkdtemp(path.join(tmpdir(), 'portico-quickstart-'));
    const response = await fetch(`${portico.portalUrl}/docs/sdks`);
    assert.equal(response.status, 200);
    page = await response.text();
  });

  after(async () => {
    if (portico) await portico.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  function credentials(partner) {
    const app = createApplication(portico, partner, 'commercial:read commercial:write', 'Quick start');
    return { CLIENT_ID: app.client_id, CLIENT_SECRET: app.client_secret, API_KEY: app.api_key };
  }

  it('TypeScript: npm install, then run the quick start', async () => {
    const { install, run } = commandsOf(page, 'v2', 'typescript');
    assert.match(install, /^npm install http:\/\/\S+\/sdk\/typescript\/v2\/portico-commercial-2\.\d+\.\d+\.tgz$/);
    const dir = path.join(work, 'typescript');
    shell(`mkdir -p ${dir}`, work, process.env);
    const env = { ...process.env, ...credentials('quickstart-ts'), npm_config_audit: 'false', npm_config_fund: 'false' };
    shell(install, dir, env);
    const output = shell(run, dir, env);
    assert.match(output, /first page: 5/);
    assert.equal((output.match(/^ord_[0-9a-z]{26}$/gm) ?? []).length, 12, `every seed order, page after page:\n${output}`);
  });

  it('Python: pip install (in a fresh virtual environment), then run the quick start', async () => {
    const { install, run } = commandsOf(page, 'v2', 'python');
    assert.match(install, /^pip install http:\/\/\S+\/sdk\/python\/v2\/portico_commercial-2\.\d+\.\d+-py3-none-any\.whl$/);
    const dir = path.join(work, 'python');
    shell(`python3 -m venv ${dir}/venv`, work, process.env);
    // An activated virtual environment: its pip and python come first on PATH.
    const env = {
      ...process.env,
      ...credentials('quickstart-py'),
      VIRTUAL_ENV: `${dir}/venv`,
      PATH: `${dir}/venv/bin:${process.env.PATH}`,
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
    };
    shell(install, dir, env);
    const output = shell(run, dir, env);
    assert.equal((output.match(/^ord_[0-9a-z]{26}$/gm) ?? []).length, 12, `every seed order, page after page:\n${output}`);
    assert.match(output, /^query\.limit /m, 'the ValidationException names the failing field');
  });
});
