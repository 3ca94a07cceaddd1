// The token server seen by an independent JWT library: `jose` fetches the published JWKS and
// verifies a token Portico issued to the demo application printed at first start.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startPortico } from './support.js';

describe('token server', () => {
  let portico;
  let demo;

  before(async () => {
    portico = await startPortico();
    // First start prints the demo credentials as one JSON line, just after the URLs.
    const jsonLine = () => portico.stdout().split('\n').map((l) => l.trim()).find((l) => l.startsWith('{'));
    for (let i = 0; i < 50 && !jsonLine(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(jsonLine(), `no demo credentials in:\n${portico.stdout()}`);
    demo = JSON.parse(jsonLine());
  });

  after(async () => {
    await portico?.stop();
  });

  async function requestToken(body, authorization) {
    return fetch(`${portico.sandboxUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization && { authorization }) },
      body,
    });
  }

  it('issues a token that jose verifies against the published JWKS', async () => {
    const basic = 'Basic ' + Buffer.from(`${demo.client_id}:${demo.client_secret}`).toString('base64');
    const res = await requestToken('grant_type=client_credentials&scope=commercial%3Aread', basic);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.json();
    assert.equal(body.token_type, 'Bearer');

    const metadata = await (await fetch(`${portico.sandboxUrl}/.well-known/oauth-authorization-server`)).json();
    const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
      issuer: metadata.issuer,
      audience: 'portico-api',
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, demo.client_id);
    assert.equal(payload.client_id, demo.client_id);
    assert.equal(payload.partner_id, 'demo');
    assert.equal(payload.scope, 'commercial:read');
    assert.equal(payload.exp - payload.iat, 900);
    assert.ok(payload.jti);
  });

  it('rejects a wrong secret with an RFC 6749 error', async () => {
    const res = await requestToken(
      `grant_type=client_credentials&client_id=${demo.client_id}&client_secret=pcs_wrong`,
    );
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /^Basic /);
    assert.equal((await res.json()).error, 'invalid_client');
  });

  it('makes jose reject a token whose payload was tampered with', async () => {
    const res = await requestToken(
      `grant_type=client_credentials&client_id=${demo.client_id}&client_secret=${demo.client_secret}`,
    );
    const { access_token: token } = await res.json();
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.partner_id = 'someone-else';
    const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
    assert.equal(decodeProtectedHeader(forged).typ, 'at+jwt');
    const jwks = createRemoteJWKSet(new URL(`${portico.sandboxUrl}/.well-known/jwks.json`));
    await assert.rejects(jwtVerify(forged, jwks), /signature/i);
  });
});
