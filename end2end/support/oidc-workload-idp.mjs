#!/usr/bin/env node
// A real OAuth 2.0 / OpenID provider (npm `oidc-provider`) acting as a partner's own identity
// provider for Portico's federation tests: its workloads get JWT access tokens by
// client_credentials, for the resource (RFC 8707) named by AUDIENCE, and exchange them at
// Portico's token endpoint (RFC 7523 jwt-bearer) or present them to the gateway directly.
//
//   AUDIENCE=http://sandbox.test node end2end/support/oidc-workload-idp.mjs
//
// Listens on 127.0.0.1 on a free port and prints its issuer URL, alone on one line of stdout,
// once it accepts connections. One workload client is registered: WORKLOAD_CLIENT_ID /
// WORKLOAD_CLIENT_SECRET (defaults below), client_credentials only. Its tokens are ES256 JWTs
// with `sub` = the client id, `aud` = AUDIENCE, scope `commercial:read`, 5 minutes.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const CLIENT_ID = process.env.WORKLOAD_CLIENT_ID || 'orders-sync';
const CLIENT_SECRET = process.env.WORKLOAD_CLIENT_SECRET || 'orders-sync-test-secret';
const AUDIENCE = process.env.AUDIENCE;
if (!AUDIENCE) {
  console.error('set AUDIENCE to the audience Portico registered for this identity provider');
  process.exit(2);
}

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signing = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: `es256-${randomBytes(4).toString('hex')}` };

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    // Only an ES256 key is published.
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signing] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['commercial:read'],
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => AUDIENCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator) => {
        if (resourceIndicator !== AUDIENCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'commercial:read',
          audience: AUDIENCE,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

server.on('request', provider.callback());
console.log(issuer);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
