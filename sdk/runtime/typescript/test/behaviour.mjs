// The runtime's behaviour, through generated packages and a scripted `fetch` (no server):
// tokens (cache, single flight, renewal, one retry after a 401), retries (Retry-After,
// backoff, network errors only when idempotent, one Idempotency-Key per call), typed errors,
// both pagination styles, deprecation warnings and webhook verification.
//
// node behaviour.mjs <v2 package dir> <v1 package dir> [<standardwebhooks package dir>]
// Run by the Rust test `typescript::tests::runtime_behaves` (cargo test -p portico-sdk).
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const [v2Dir, v1Dir, standardWebhooksDir] = process.argv.slice(2);
const v2 = await import(pathToFileURL(path.join(v2Dir, 'index.js')).href);
const v1 = await import(pathToFileURL(path.join(v1Dir, 'index.js')).href);
const clientClass = (module) => Object.values(module).find((v) => typeof v === 'function' && v.name.endsWith('Client'));
const V2Client = clientClass(v2);
const V1Client = clientClass(v1);
const SANDBOX = v2.ENVIRONMENTS.sandbox.baseUrl;

const json = (status, body, headers = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

// A fetch answering from `handler(request)`, recording every request.
function scripted(handler, { expiresIn = 900 } = {}) {
  const calls = [];
  let tokens = 0;
  const fetch = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const call = { url: new URL(url), method: init.method ?? 'GET', headers, body: init.body };
    calls.push(call);
    if (call.url.pathname === '/oauth2/token') {
      tokens += 1;
      return json(200, { access_token: `token-${tokens}`, token_type: 'Bearer', expires_in: expiresIn });
    }
    return handler(call, calls);
  };
  return {
    fetch,
    calls,
    api: () => calls.filter((c) => c.url.pathname !== '/oauth2/token'),
    tokenCalls: () => calls.filter((c) => c.url.pathname === '/oauth2/token'),
  };
}

const credentials = { clientId: 'pci_1', clientSecret: 'pcs_s3cret+/=', apiKey: 'pak_1' };
const page = (data, next = null) => json(200, { data, next_cursor: next });

test('one token, sent as Bearer with the API key; the token request is client-credentials Basic', async () => {
  const server = scripted(() => page([]));
  const client = new V2Client({ ...credentials, scopes: ['commercial:read', 'commercial:write'], fetch: server.fetch });
  await client.listOrders();
  await client.listOrders({ status: 'pending', limit: 5 });
  const [token] = server.tokenCalls();
  assert.equal(server.tokenCalls().length, 1);
  assert.equal(token.url.href, v2.ENVIRONMENTS.sandbox.tokenUrl);
  assert.equal(token.headers.get('authorization'), `Basic ${btoa('pci_1:pcs_s3cret%2B%2F%3D')}`);
  const form = new URLSearchParams(token.body);
  assert.equal(form.get('grant_type'), 'client_credentials');
  assert.equal(form.get('scope'), 'commercial:read commercial:write');
  assert.equal(form.get('audience'), v2.ENVIRONMENTS.sandbox.audience);
  const [first, second] = server.api();
  assert.equal(first.url.href, `${SANDBOX}/v2/commercial/orders`);
  assert.equal(first.headers.get('authorization'), 'Bearer token-1');
  assert.equal(first.headers.get('x-api-key'), 'pak_1');
  assert.equal(second.url.search, '?status=pending&limit=5');
});

test('concurrent calls share one token request; a token is renewed at 80 % of its lifetime', async () => {
  const server = scripted(() => page([]), { expiresIn: 1 });
  const client = new V2Client({ ...credentials, fetch: server.fetch });
  await Promise.all(Array.from({ length: 5 }, () => client.listOrders()));
  assert.equal(server.tokenCalls().length, 1);
  await new Promise((resolve) => setTimeout(resolve, 850));
  await client.listOrders();
  assert.equal(server.tokenCalls().length, 2);
  assert.equal(server.api().at(-1).headers.get('authorization'), 'Bearer token-2');
});

test('a 401 is answered by one renewal and one retry, never a loop', async () => {
  const once = scripted((call, calls) =>
    calls.filter((c) => c.url.pathname !== '/oauth2/token').length === 1
      ? json(401, { __type: 'UnauthorizedException', message: 'The access token has expired.' })
      : page([]),
  );
  const client = new V2Client({ ...credentials, fetch: once.fetch });
  await client.listOrders();
  assert.equal(once.tokenCalls().length, 2);
  assert.deepEqual(once.api().map((c) => c.headers.get('authorization')), ['Bearer token-1', 'Bearer token-2']);

  const always = scripted(() => json(401, { __type: 'UnauthorizedException', message: 'no' }));
  const refused = new V2Client({ ...credentials, fetch: always.fetch });
  const error = await refused.listOrders().catch((e) => e);
  assert.ok(error instanceof v2.UnauthorizedException);
  assert.equal(always.api().length, 2);
  assert.equal(always.tokenCalls().length, 2);
});

test('a tokenProvider replaces the grant and is asked again after a 401', async () => {
  let asked = 0;
  const server = scripted((call, calls) => (calls.length === 1 ? json(401, {}) : page([])));
  const client = new V2Client({ tokenProvider: async () => `provided-${++asked}`, fetch: server.fetch });
  await client.listOrders();
  assert.equal(asked, 2);
  assert.equal(server.tokenCalls().length, 0);
  assert.equal(server.api()[1].headers.get('authorization'), 'Bearer provided-2');
  assert.equal(server.api()[1].headers.get('x-api-key'), null);
});

test('429 and 503 are retried (Retry-After honoured, else backoff), up to maxAttempts', async () => {
  const statuses = [429, 503, 200];
  const server = scripted(() => {
    const status = statuses.shift();
    return status === 200 ? page([]) : json(status, { __type: 'ThrottlingException', message: 'slow down' }, { 'retry-after': '0' });
  });
  await new V2Client({ ...credentials, fetch: server.fetch }).listOrders();
  assert.equal(server.api().length, 3);

  const busy = scripted(() => json(503, { __type: 'ServiceUnavailableException', message: 'busy' }, { 'retry-after': '1' }));
  const started = Date.now();
  const error = await new V2Client({ ...credentials, fetch: busy.fetch, maxAttempts: 2 }).listOrders().catch((e) => e);
  assert.ok(Date.now() - started >= 950, 'waited for Retry-After');
  assert.ok(error instanceof v2.ServiceUnavailableException);
  assert.equal(error.retryAfter, 1);
  assert.equal(busy.api().length, 2);

  // A Retry-After too long to sleep through goes to the caller at once.
  const quota = scripted(() => json(429, { __type: 'LimitExceededException', message: 'quota' }, { 'retry-after': '86400' }));
  const exhausted = await new V2Client({ ...credentials, fetch: quota.fetch }).listOrders().catch((e) => e);
  assert.ok(exhausted instanceof v2.LimitExceededException);
  assert.equal(exhausted.retryAfter, 86400);
  assert.equal(quota.api().length, 1);
});

test('network errors are retried only when the call cannot act twice; one Idempotency-Key per call', async () => {
  const order = { id: 'ord_1', status: 'pending' };
  let failures = 1;
  const flaky = (call) => {
    if (failures > 0) {
      failures -= 1;
      throw new TypeError('fetch failed');
    }
    return json(call.method === 'POST' ? 201 : 200, order);
  };
  const server = scripted(flaky);
  const client = new V2Client({ ...credentials, fetch: server.fetch });
  const created = await client.createOrder({ body: { items: [{ product_id: 'prd_1', quantity: 1 }] } });
  assert.deepEqual(created, order);
  const keys = server.api().map((c) => c.headers.get('idempotency-key'));
  assert.equal(keys.length, 2);
  assert.match(keys[0], /^[0-9a-f-]{36}$/);
  assert.equal(keys[0], keys[1], 'the retry reuses the key');
  assert.equal(server.api()[0].headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(server.api()[0].body), { items: [{ product_id: 'prd_1', quantity: 1 }] });

  await client.createOrder({ body: { items: [] } });
  await client.createOrder({ idempotencyKey: 'mine', body: { items: [] } });
  const later = server.api().slice(2).map((c) => c.headers.get('idempotency-key'));
  assert.notEqual(later[0], keys[0], 'a new call, a new key');
  assert.equal(later[1], 'mine');

  // CancelOrder is a POST without a key: a lost answer is not retried.
  failures = 1;
  const before = server.api().length;
  await assert.rejects(client.cancelOrder({ orderId: 'ord_1' }), /fetch failed/);
  assert.equal(server.api().length, before + 1);

  failures = 1;
  await client.getOrder({ orderId: 'ord/../1' });
  assert.equal(server.api().at(-1).url.pathname, '/v2/commercial/orders/ord%2F..%2F1');
});

test('error answers become their typed errors, unknown and non-JSON ones an ApiError', async () => {
  const answers = [
    json(400, {
      __type: 'ValidationException',
      message: 'body.items[0].quantity must be >= 1.',
      requestId: 'req_body',
      fieldErrors: [{ path: 'body.items[0].quantity', message: 'must be >= 1' }],
    }),
    json(404, { __type: 'NotFoundException', message: 'no such order' }, { 'x-request-id': 'req_header' }),
    json(418, { __type: 'TeapotException', message: 'short and stout' }),
    new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } }),
    json(409, { __type: 'constructor', message: 'not a class name' }),
  ];
  const server = scripted(() => answers.shift());
  const client = new V2Client({ ...credentials, fetch: server.fetch });

  const invalid = await client.createOrder({ body: { items: [{ product_id: 'p', quantity: 0 }] } }).catch((e) => e);
  assert.ok(invalid instanceof v2.ValidationException && invalid instanceof v2.ApiError && invalid instanceof Error);
  assert.equal(invalid.name, 'ValidationException');
  assert.equal(invalid.status, 400);
  assert.equal(invalid.type, 'ValidationException');
  assert.equal(invalid.requestId, 'req_body');
  assert.equal(invalid.operationId, 'CreateOrder');
  assert.deepEqual(invalid.fieldErrors, [{ path: 'body.items[0].quantity', message: 'must be >= 1' }]);

  const missing = await client.getOrder({ orderId: 'ord_x' }).catch((e) => e);
  assert.ok(missing instanceof v2.NotFoundException);
  assert.equal(missing.requestId, 'req_header');
  assert.equal(missing.message, 'no such order');

  const unknown = await client.getOrder({ orderId: 'ord_x' }).catch((e) => e);
  assert.equal(unknown.constructor, v2.ApiError);
  assert.equal(unknown.type, 'TeapotException');

  const html = await client.getOrder({ orderId: 'ord_x' }).catch((e) => e);
  assert.equal(html.constructor, v2.ApiError);
  assert.equal(html.status, 502);
  assert.equal(html.type, null);
  assert.equal(html.body, '<html>bad gateway</html>');
  assert.match(html.message, /GetOrder failed with HTTP 502/);

  const odd = await client.getOrder({ orderId: 'ord_x' }).catch((e) => e);
  assert.equal(odd.constructor, v2.ApiError);
});

test('a refused token request is an AuthenticationError with the OAuth error code', async () => {
  const fetch = async () =>
    json(401, { error: 'invalid_client', error_description: 'client authentication failed' }, { 'x-request-id': 'req_t' });
  const error = await new V2Client({ ...credentials, fetch }).listOrders().catch((e) => e);
  assert.ok(error instanceof v2.AuthenticationError && error instanceof v2.ApiError);
  assert.equal(error.code, 'invalid_client');
  assert.equal(error.status, 401);
  assert.equal(error.requestId, 'req_t');
  assert.match(error.message, /invalid_client: client authentication failed/);
});

test('construction errors are clear', () => {
  assert.throws(() => new V2Client({ clientId: 'x' }), /needs credentials: clientId and clientSecret.*tokenProvider/);
  assert.throws(() => new V2Client({ ...credentials, environment: 'production' }), /production environment is not configured/);
  assert.throws(() => new V2Client({ ...credentials, environment: 'staging' }), /unknown environment "staging"/);
  assert.throws(() => new V2Client({ ...credentials, maxAttempts: 0 }), /maxAttempts/);
  const custom = new V2Client({ ...credentials, baseUrl: 'https://proxy.example/', fetch: async () => page([]) });
  assert.equal(custom.baseUrl, 'https://proxy.example');
  assert.equal(custom.environment, 'sandbox');
});

test('cursor pagination follows next_cursor to the end', async () => {
  const pages = { '': [['a', 'b'], 'c1'], c1: [['c', 'd'], 'c2'], c2: [['e'], null] };
  const server = scripted((call) => {
    const [data, next] = pages[call.url.searchParams.get('cursor') ?? ''];
    return page(data.map((id) => ({ id })), next);
  });
  const client = new V2Client({ ...credentials, fetch: server.fetch });
  const ids = [];
  for await (const order of client.paginateListOrders({ limit: 2, status: 'pending' })) ids.push(order.id);
  assert.deepEqual(ids, ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(server.api().map((c) => c.url.search), [
    '?status=pending&limit=2',
    '?status=pending&cursor=c1&limit=2',
    '?status=pending&cursor=c2&limit=2',
  ]);
});

test('page pagination (v1) stops at a short page or the total; deprecation warns once per operation', async () => {
  const all = Array.from({ length: 5 }, (_, i) => ({ id: `ord_${i}` }));
  const sunset = { deprecation: '@1780272000', sunset: 'Wed, 30 Jun 2027 00:00:00 GMT' };
  const server = scripted((call) => {
    const number = Number(call.url.searchParams.get('page'));
    const size = Number(call.url.searchParams.get('per_page') ?? 2);
    if (call.url.pathname.endsWith('/products')) return json(200, { items: [], total: 0 }, sunset);
    return json(200, { items: all.slice((number - 1) * size, number * size), page: number, per_page: size, total: all.length }, sunset);
  });
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
  try {
    const client = new V1Client({ ...credentials, fetch: server.fetch });
    const ids = [];
    for await (const order of client.paginateListOrders({ perPage: 2 })) ids.push(order.id);
    assert.deepEqual(ids, all.map((o) => o.id));
    assert.deepEqual(server.api().map((c) => c.url.searchParams.get('page')), ['1', '2', '3']);
    // Exactly divisible: the total ends it without asking for an empty page.
    const four = [];
    all.pop();
    for await (const order of client.paginateListOrders({ perPage: 2 })) four.push(order.id);
    assert.equal(four.length, 4);
    assert.equal(server.api().length, 5);
    await client.listProducts();
    await client.listProducts();
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0], /ListOrders \(API v1\) is deprecated and stops working on 2027-06-30/);
  assert.match(warnings[1], /ListProducts/);
});

test('an aborted call rejects with the abort reason and stops retrying', async () => {
  const server = scripted(() => json(503, {}, { 'retry-after': '30' }));
  const client = new V2Client({ ...credentials, fetch: server.fetch });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('gave up')), 50);
  await assert.rejects(client.listOrders({}, { signal: controller.signal }), /gave up/);
  assert.equal(server.api().length, 1);
});

test('a request that hangs times out per attempt (and is retried when idempotent)', async () => {
  let attempts = 0;
  const fetch = (url, init) => {
    if (new URL(url).pathname === '/oauth2/token') return Promise.resolve(json(200, { access_token: 't', expires_in: 900 }));
    attempts += 1;
    return new Promise((resolve, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
  };
  const client = new V2Client({ ...credentials, fetch, timeoutMs: 50, maxAttempts: 2 });
  const error = await client.getOrder({ orderId: 'ord_1' }).catch((e) => e);
  assert.equal(error.name, 'TimeoutError');
  assert.match(error.message, /timed out after 50 ms/);
  assert.equal(attempts, 2);
});

function sign(secret, id, timestamp, payload) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${payload}`).digest('base64')}`;
}

test('verifyWebhook accepts Standard Webhooks signatures and refuses the rest', async () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const payload = JSON.stringify({ type: 'order.created', data: { id: 'ord_1' } });
  const now = Math.floor(Date.now() / 1000);
  const headers = {
    'Webhook-Id': 'msg_1',
    'Webhook-Timestamp': String(now),
    'Webhook-Signature': `v1,bm90IGl0 ${sign(secret, 'msg_1', now, payload)}`,
  };
  assert.deepEqual(await v2.verifyWebhook(payload, headers, secret), JSON.parse(payload));
  assert.deepEqual(await v2.verifyWebhook(payload, new Headers(headers), secret), JSON.parse(payload));

  const refused = async (...args) => {
    const error = await v2.verifyWebhook(...args).catch((e) => e);
    assert.ok(error instanceof v2.WebhookVerificationError, String(error));
    return error.message;
  };
  assert.match(await refused(`${payload} `, headers, secret), /No matching signature/);
  assert.match(await refused(payload, headers, `whsec_${randomBytes(24).toString('base64')}`), /No matching signature/);
  assert.match(await refused(payload, { ...headers, 'Webhook-Id': 'msg_2' }, secret), /No matching signature/);
  assert.match(await refused(payload, { 'webhook-id': 'msg_1' }, secret), /Missing required headers/);
  const old = now - 330;
  assert.match(
    await refused(payload, { ...headers, 'Webhook-Timestamp': String(old), 'Webhook-Signature': sign(secret, 'msg_1', old, payload) }, secret),
    /too old/,
  );
  // A wider tolerance accepts it.
  assert.ok(await v2.verifyWebhook(payload, { ...headers, 'Webhook-Timestamp': String(old), 'Webhook-Signature': sign(secret, 'msg_1', old, payload) }, secret, 600));
  // Well past the 300 s tolerance: a second may tick between signing and verifying.
  const future = now + 330;
  assert.match(
    await refused(payload, { ...headers, 'Webhook-Timestamp': String(future), 'Webhook-Signature': sign(secret, 'msg_1', future, payload) }, secret),
    /too new/,
  );

  // The reference implementation's signatures verify, and it accepts what it signs the same way.
  if (standardWebhooksDir) {
    const { Webhook } = createRequire(import.meta.url)(standardWebhooksDir);
    const reference = new Webhook(secret);
    const signature = reference.sign('msg_ref', new Date(now * 1000), payload);
    const referenceHeaders = { 'webhook-id': 'msg_ref', 'webhook-timestamp': String(now), 'webhook-signature': signature };
    assert.deepEqual(await v2.verifyWebhook(payload, referenceHeaders, secret), reference.verify(payload, referenceHeaders));
  }
});
