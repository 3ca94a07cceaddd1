// private_key_jwt end to end, with unmodified third-party clients: a partner registers an
// ES256 JWK and an RSA PEM public key on the application page (in Chromium), refuses client
// secrets, then node `openid-client` (PrivateKeyJwt) gets a token and calls the gateway, and
// Python Authlib (PrivateKeyJWT) gets a token too. The old client secret is refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { startPortico, launchChromium, signInBootstrapAdmin, run } from './support.js';

const TIMEOUT_MS = 20_000;
const PASSWORD = 'correct horse battery staple';

// Authlib's own PrivateKeyJWT client authentication, as a partner's Python code would use it.
const AUTHLIB_CLIENT = `
import json, sys
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT

token_endpoint, client_id, private_key_pem = sys.argv[1], sys.argv[2], sys.stdin.read()
session = OAuth2Session(client_id, private_key_pem, token_endpoint_auth_method="private_key_jwt")
session.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="RS256"))
token = session.fetch_token(token_endpoint, grant_type="client_credentials")
print(json.dumps({"token_type": token["token_type"], "scope": token.get("scope", "")}))
`;

async function tokenWithSecret(sandboxUrl, clientId, secret) {
  const res = await fetch(`${sandboxUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return { status: res.status, body: await res.json() };
}

describe('private_key_jwt with real clients', () => {
  let portico;
  let browser;
  let admin;

  before(async () => {
    portico = await startPortico();
    browser = await launchChromium();
    admin = await signInBootstrapAdmin(browser, portico, { password: PASSWORD, timeout: TIMEOUT_MS });
  });

  after(async () => {
    await portico?.stop();
    await browser?.close();
  });

  it('registers keys in the portal, then openid-client and Authlib authenticate without a secret', async () => {
    const partner = await browser.newContext({ baseURL: portico.portalUrl, javaScriptEnabled: false });
    partner.setDefaultTimeout(TIMEOUT_MS);
    const page = await partner.newPage();
    const adminPage = await admin.newPage();
    adminPage.on('dialog', (dialog) => dialog.accept());
    try {
      await page.goto('/signup');
      await page.fill('#display_name', 'Kim Keys');
      await page.fill('#email', 'kim@keys.test');
      await page.fill('#password', PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL((u) => u.pathname === '/org');
      await page.fill('#legal_name', 'Keys Ltd');
      await page.fill('#contact_email', 'kim@keys.test');
      await page.check('input[name="attested"]');
      await page.getByRole('button', { name: 'Create organisation' }).click();
      const slug = (await page.locator('dd code').first().textContent()).trim();
      await adminPage.goto('/admin/partners');
      await adminPage.locator(`tr[data-org="${slug}"]`).getByRole('button', { name: 'Approve' }).click();
      await adminPage.waitForURL((u) => u.pathname === '/admin/partners');

      await page.goto('/apps/new');
      await page.fill('input[name="name"]', 'Key Signer');
      await page.check('input[name="scopes"][value="commercial:read"]');
      await page.fill('textarea[name="justification"]', 'We read orders.');
      await page.getByRole('button', { name: 'Register application' }).click();
      await page.locator('[data-testid="shown-once"]').waitFor();
      const appPath = new URL(page.url()).pathname;
      const clientId = await page.inputValue('#client-id');
      const secret = await page.inputValue('#secret-client-secret');

      // The scope request is approved by the admin when registration left it pending.
      await adminPage.goto('/admin/scope-requests');
      const pending = adminPage.locator('tr[data-scope-request]').filter({ hasText: 'Key Signer' });
      if (await pending.count()) {
        await pending.first().getByRole('button', { name: 'Approve' }).click();
        await adminPage.waitForURL((u) => u.pathname === '/admin/scope-requests');
      }

      // An ES256 key as a JWK, and an RSA key as PEM.
      const es = await generateKeyPair('ES256', { extractable: true });
      const esJwk = { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' };
      const rsa = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
      await page.goto(appPath);
      for (const key of [JSON.stringify(esJwk), await exportSPKI(rsa.publicKey)]) {
        await page.fill('#client-key', key);
        await page.getByRole('button', { name: 'Register key' }).click();
        await page.waitForURL((u) => u.pathname === appPath);
      }
      assert.equal(await page.locator('tr[data-client-key-id]').count(), 2);
      await page.check('#confirm-keys-only');
      await page.getByRole('button', { name: 'Refuse client secrets' }).click();
      await page.waitForURL((u) => u.pathname === appPath);
      await page.locator('[data-testid="client-auth-methods"]').getByText('private_key_jwt only').waitFor();

      // The secret shown at registration no longer works: there is none left.
      const refused = await tokenWithSecret(portico.sandboxUrl, clientId, secret);
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.equal(refused.body.error, 'invalid_client');

      // openid-client: discovery through RFC 8414 metadata, PrivateKeyJwt, client_credentials.
      const config = await oidc.discovery(
        new URL(portico.sandboxUrl),
        clientId,
        { token_endpoint_auth_method: 'private_key_jwt' },
        oidc.PrivateKeyJwt({ key: es.privateKey, kid: 'es-1' }),
        { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] },
      );
      assert.ok(config.serverMetadata().token_endpoint_auth_methods_supported.includes('private_key_jwt'));
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'commercial:read' });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      const response = await oidc.fetchProtectedResource(
        config,
        tokens.access_token,
        new URL(`${portico.sandboxUrl}/v2/commercial/orders?limit=1`),
        'GET',
      );
      assert.equal(response.status, 200, await response.clone().text());
      assert.ok(Array.isArray((await response.json()).data));

      // Authlib with the RSA key.
      const python = run('python3', ['-c', AUTHLIB_CLIENT, `${portico.sandboxUrl}/oauth2/token`, clientId], {
        input: await exportPKCS8(rsa.privateKey),
      });
      assert.equal(python.status, 0, `Authlib failed:\n${python.stdout}\n${python.stderr}`);
      const authlibToken = JSON.parse(python.stdout.trim().split('\n').pop());
      assert.equal(authlibToken.token_type.toLowerCase(), 'bearer');
      assert.equal(authlibToken.scope, 'commercial:read');
    } finally {
      await partner.close();
      await adminPage.close();
    }
  });
});
