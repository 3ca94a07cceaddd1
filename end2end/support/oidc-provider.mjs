#!/usr/bin/env node
// A real, certified OpenID provider (npm `oidc-provider`) for Portico's single sign-on tests.
//
//   node end2end/support/oidc-provider.mjs REDIRECT_URI [REDIRECT_URI...]
//
// Listens on 127.0.0.1 on a free port (or OIDC_PORT) and prints its issuer URL, alone on one
// line of stdout, once it accepts connections. One confidential client is registered:
// OIDC_CLIENT_ID / OIDC_CLIENT_SECRET (defaults below) with the given redirect URIs (or the
// comma-separated OIDC_REDIRECT_URIS), the authorization code flow only, PKCE (S256) required.
// Sign-in uses the provider's development interactions: a login form (login + password) and a
// consent page. Known accounts are listed in ACCOUNTS; any other login is refused.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export const CLIENT_ID = process.env.OIDC_CLIENT_ID || 'portico-portal';
export const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET || 'portico-sso-test-secret';

// login → claims. The password field of the development login form is not checked.
export const ACCOUNTS = {
  'partner.dev': { email: 'partner.dev@partner.example', email_verified: true, name: 'Partner Developer' },
};

const redirectUris = process.argv.slice(2).length
  ? process.argv.slice(2)
  : (process.env.OIDC_REDIRECT_URIS || '').split(',').filter(Boolean);
if (!redirectUris.length) {
  console.error('usage: oidc-provider.mjs REDIRECT_URI [REDIRECT_URI...]  (or OIDC_REDIRECT_URIS)');
  process.exit(2);
}

// Bind first: the issuer has to name the port.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(process.env.OIDC_PORT || 0), '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

// Fresh signing keys each run (RS256 and ES256, both published; ID tokens use RS256).
async function signingKey(alg) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [await signingKey('RS256'), await signingKey('ES256')] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the requested scope claims (email, name) into the ID token itself: Portico reads only
  // the ID token and never calls the userinfo endpoint.
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});
provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

server.on('request', provider.callback());
console.log(issuer);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
