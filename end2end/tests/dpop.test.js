// DPoP (RFC 9449) with a real, unmodified client: openid-client 6 gets a DPoP-bound token from
// the token endpoint (answering its use_dpop_nonce challenge on its own) and calls the gateway
// with a fresh proof per request. Plain http on loopback needs openid-client's
// allowInsecureRequests: tests only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { startPortico } from './support.js';

describe('DPoP with openid-client', () => {
  let portico;
  let demo;

  before(async () => {
    portico = await startPortico();
    const jsonLine = () => portico.stdout().split('\n').map((l) => l.trim()).find((l) => l.startsWith('{'));
    for (let i = 0; i < 50 && !jsonLine(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(jsonLine(), `no demo credentials in:\n${portico.stdout()}`);
    demo = JSON.parse(jsonLine());
  });

  after(async () => {
    await portico?.stop();
  });

  it('binds the token to the key and lets only proofs by that key use it', async () => {
    // Every proof openid-client sends, to replay one afterwards.
    const sent = [];
    const config = await client.discovery(
      new URL(portico.sandboxUrl),
      demo.client_id,
      undefined,
      client.ClientSecretBasic(demo.client_secret),
      { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
    );
    config[client.customFetch] = (url, options) => {
      const proof = new Headers(options.headers).get('dpop');
      if (proof) sent.push({ url, proof });
      return fetch(url, options);
    };
    assert.deepEqual(config.serverMetadata().dpop_signing_alg_values_supported, ['ES256', 'RS256', 'PS256', 'EdDSA']);

    const keyPair = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(config, keyPair);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'commercial:read' }, { DPoP });
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    assert.equal(decodeJwt(tokens.access_token).cnf.jkt, await DPoP.calculateThumbprint());
    // The first proof was answered with use_dpop_nonce; openid-client retried with the nonce.
    const tokenProofs = sent.filter((s) => String(s.url).endsWith('/oauth2/token'));
    assert.equal(tokenProofs.length, 2);
    assert.equal(decodeJwt(tokenProofs[0].proof).nonce, undefined);
    assert.ok(decodeJwt(tokenProofs[1].proof).nonce);

    const orders = new URL(`${portico.sandboxUrl}/v2/commercial/orders`);
    const res = await client.fetchProtectedResource(config, tokens.access_token, orders, 'GET', null, undefined, { DPoP });
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(Array.isArray((await res.json()).data));
    // Again: a new proof each time.
    const again = await client.fetchProtectedResource(config, tokens.access_token, orders, 'GET', null, undefined, { DPoP });
    assert.equal(again.status, 200);

    // A captured proof replayed with the token: refused.
    const captured = sent.at(-1).proof;
    const replay = await fetch(orders, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: captured } });
    assert.equal(replay.status, 401);
    assert.match(replay.headers.get('www-authenticate'), /^DPoP error="invalid_dpop_proof"/);
    const body = await replay.json();
    assert.equal(body.__type, 'UnauthorizedException');
    assert.match(body.message, /already used/);

    // The stolen token as a bearer token, or with a thief's own key: refused.
    const asBearer = await fetch(orders, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate'), /^DPoP error="invalid_token"/);
    const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    await assert.rejects(
      client.fetchProtectedResource(config, tokens.access_token, orders, 'GET', null, undefined, { DPoP: thief }),
      (e) => e.cause?.[0]?.parameters?.error === 'invalid_dpop_proof' || /invalid_dpop_proof/.test(String(e.cause?.[0]?.parameters?.error ?? e)),
    );

    // Introspection shows the binding.
    const introspected = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(introspected.token_type, 'DPoP');
    assert.equal(introspected.cnf.jkt, await DPoP.calculateThumbprint());
  });
});
