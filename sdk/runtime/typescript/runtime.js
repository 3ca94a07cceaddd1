// The runtime of a Portico partner SDK, written once and shared by every generated operation
// (index.js holds the operations, types and error classes of one API version).
//
// No dependencies: global fetch, crypto.randomUUID and crypto.subtle (Node 18+ with the Web
// Crypto global, Node 20+, browsers).

const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_TIMEOUT_MS = 30_000;
// Full-jitter exponential backoff: a random wait in [0, min(cap, base * 2^(attempt - 1))).
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
// A Retry-After longer than this is not slept through: the error goes to the caller, with
// its retryAfter, to schedule the retry itself (a monthly quota can say "next month").
const RETRY_AFTER_LIMIT_SECONDS = 60;
// Tokens are renewed once this share of their lifetime has passed, well before they expire.
const REFRESH_AT_FRACTION = 0.8;
const ENVIRONMENT_NAMES = ['sandbox', 'production'];

/** An error answer of the API (or of the token endpoint, as its subclass AuthenticationError). */
export class ApiError extends Error {
  constructor(init) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.type = init.type ?? null;
    this.requestId = init.requestId ?? null;
    this.body = init.body ?? null;
    this.headers = init.headers ?? new Headers();
    this.operationId = init.operationId ?? null;
  }
}

/** The token endpoint refused the credentials or the request (OAuth 2.0 error answer). */
export class AuthenticationError extends ApiError {
  constructor(init) {
    super(init);
    this.name = 'AuthenticationError';
    this.code = init.code ?? null;
  }
}

/** A webhook delivery whose headers, timestamp or signature do not check out. */
export class WebhookVerificationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** The `fieldErrors` of a validation error body, as `{path, message}` objects. */
export function fieldErrorsOf(body) {
  const list = body !== null && typeof body === 'object' && Array.isArray(body.fieldErrors) ? body.fieldErrors : [];
  return list
    .filter((entry) => entry !== null && typeof entry === 'object')
    .map((entry) => ({ path: String(entry.path ?? ''), message: String(entry.message ?? '') }));
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP-date), or null. */
export function retryAfterSeconds(headers) {
  const value = headers?.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function backoffMs(attempt) {
  return Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function webCrypto() {
  const crypto = globalThis.crypto;
  if (!crypto?.subtle || typeof crypto.randomUUID !== 'function') {
    throw new Error(
      'This SDK needs the Web Crypto API (globalThis.crypto): use Node 20 or later ' +
        '(Node 18 with --experimental-global-webcrypto) or a current browser.',
    );
  }
  return crypto;
}

// application/x-www-form-urlencoded, as RFC 6749 §2.3.1 wants the Basic credentials' parts.
function formEncode(text) {
  return encodeURIComponent(text).replace(/%20/g, '+');
}

async function discard(response) {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to release.
  }
}

async function readJson(response) {
  const text = await response.text().catch(() => '');
  if (text === '') return { text, json: undefined };
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    return { text, json: undefined };
  }
}

// One request with a per-attempt timeout, also ended by the caller's signal.
async function fetchWithTimeout(fetchImpl, url, init, timeoutMs, signal) {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    const error = new Error(`${init.method} ${url} timed out after ${timeoutMs} ms`);
    error.name = 'TimeoutError';
    controller.abort(error);
  }, timeoutMs);
  const onAbort = () => controller.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await fetchImpl(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

// OAuth 2.0 client credentials: one cached token, renewed at 80 % of its lifetime; callers
// arriving while a token request is in flight wait for that one request.
class ClientCredentials {
  #token = null;
  #renewAt = 0;
  #pending = null;

  constructor({ clientId, clientSecret, scopes, audience, tokenUrl, send }) {
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.scopes = scopes;
    this.audience = audience;
    this.tokenUrl = tokenUrl;
    this.send = send;
  }

  token() {
    if (this.#token !== null && Date.now() < this.#renewAt) return Promise.resolve(this.#token);
    this.#pending ??= this.#request().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  /** Forgets `token` (refused by the API) unless a newer one replaced it already. */
  invalidate(token) {
    if (this.#token === token) this.#token = null;
  }

  async #request() {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.scopes.length > 0) form.set('scope', this.scopes.join(' '));
    if (this.audience) form.set('audience', this.audience);
    const basic = btoa(`${formEncode(this.clientId)}:${formEncode(this.clientSecret)}`);
    const response = await this.send(this.tokenUrl, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
    });
    const { text, json } = await readJson(response);
    const oauthError = json !== null && typeof json === 'object' && typeof json.error === 'string' ? json : null;
    if (!response.ok || typeof json?.access_token !== 'string') {
      const detail = oauthError
        ? `${oauthError.error}${oauthError.error_description ? `: ${oauthError.error_description}` : ''}`
        : `HTTP ${response.status}${response.ok ? ' without an access_token' : ''}`;
      throw new AuthenticationError({
        status: response.status,
        type: null,
        code: oauthError?.error ?? null,
        message: `The token endpoint refused the request (${detail})`,
        requestId: response.headers.get('x-request-id'),
        body: json ?? text,
        headers: response.headers,
      });
    }
    const lifetime = Number(json.expires_in) > 0 ? Number(json.expires_in) : 60;
    this.#token = json.access_token;
    this.#renewAt = Date.now() + lifetime * 1000 * REFRESH_AT_FRACTION;
    return this.#token;
  }
}

// Tokens the partner gets elsewhere: asked for on every call (the hook caches if it wants).
class ProvidedTokens {
  constructor(provider) {
    this.provider = provider;
  }

  async token() {
    const token = await this.provider();
    if (typeof token !== 'string' || token === '') {
      throw new TypeError('tokenProvider must resolve to a non-empty access token string');
    }
    return token;
  }

  invalidate() {}
}

// Deprecation warnings already printed in this process: one per package and operation.
const warnedOperations = new Set();

function httpDateToIso(value) {
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString().slice(0, 10);
}

function warnIfDeprecated(packageName, apiVersion, operationId, headers) {
  const deprecation = headers.get('deprecation');
  const sunset = headers.get('sunset');
  if (!deprecation && !sunset) return;
  const key = `${packageName}\u0000${operationId}`;
  if (warnedOperations.has(key)) return;
  warnedOperations.add(key);
  const until = sunset ? ` and stops working on ${httpDateToIso(sunset)}` : '';
  console.warn(
    `${packageName}: ${operationId} (API ${apiVersion}) is deprecated${until}; see the changelog on the developer portal.`,
  );
}

/**
 * What generated clients extend: credentials, environments, requests with retries, typed
 * errors, pagination. The members starting with `_` are for the generated methods only.
 */
export class BaseClient {
  #spec;
  #fetch;
  #credentials;
  #baseUrl;
  #environment;
  #apiKey;
  #maxAttempts;
  #timeoutMs;

  constructor(options, spec) {
    this.#spec = spec;
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`${spec.clientName}: pass options: { clientId, clientSecret } or { tokenProvider }`);
    }
    const environment = options.environment ?? 'sandbox';
    if (!ENVIRONMENT_NAMES.includes(environment)) {
      throw new TypeError(
        `${spec.clientName}: unknown environment ${JSON.stringify(environment)}; use "sandbox" or "production"`,
      );
    }
    const preset = Object.hasOwn(spec.environments, environment) ? spec.environments[environment] : undefined;
    if (preset === undefined && !(options.baseUrl && (options.tokenUrl || options.tokenProvider))) {
      const known = Object.keys(spec.environments).join(', ');
      throw new Error(
        `${spec.clientName}: the ${environment} environment is not configured on this Portico, so this ` +
          `package has no ${environment} preset (it knows: ${known}). Pass baseUrl and tokenUrl to call another host.`,
      );
    }
    this.#environment = environment;
    this.#baseUrl = String(options.baseUrl ?? preset.baseUrl).replace(/\/+$/, '');
    this.#apiKey = options.apiKey || null;
    this.#maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new TypeError(`${spec.clientName}: maxAttempts must be an integer of at least 1`);
    }
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.#timeoutMs > 0)) throw new TypeError(`${spec.clientName}: timeoutMs must be positive`);
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') {
      throw new TypeError(`${spec.clientName}: no global fetch (Node 18 or later, or pass options.fetch)`);
    }
    // Called unbound: browsers refuse a fetch called on another object than window.
    this.#fetch = (url, init) => fetchImpl(url, init);

    if (typeof options.tokenProvider === 'function') {
      this.#credentials = new ProvidedTokens(options.tokenProvider);
    } else if (options.clientId && options.clientSecret) {
      if (options.scopes !== undefined && !Array.isArray(options.scopes)) {
        throw new TypeError(`${spec.clientName}: scopes must be an array of scope names`);
      }
      this.#credentials = new ClientCredentials({
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        scopes: options.scopes ?? [],
        audience: options.audience ?? preset?.audience ?? null,
        tokenUrl: options.tokenUrl ?? preset.tokenUrl,
        send: (url, init) => this.#sendWithRetries(url, init, true, undefined),
      });
    } else {
      throw new TypeError(
        `${spec.clientName} needs credentials: clientId and clientSecret (from the developer portal), or a tokenProvider`,
      );
    }
  }

  /** The API root requests go to (the operation paths start with the version, `/v2/…`). */
  get baseUrl() {
    return this.#baseUrl;
  }

  /** The environment preset in use. */
  get environment() {
    return this.#environment;
  }

  async _request(operation, params, options) {
    const { url, headers } = this.#prepare(operation, params ?? {});
    let body;
    if (operation.body && params?.body !== undefined) {
      body = JSON.stringify(params.body);
      headers['content-type'] = 'application/json';
    }
    const response = await this.#authorized(operation, url, { method: operation.method, headers, body }, options?.signal);
    warnIfDeprecated(this.#spec.packageName, this.#spec.apiVersion, operation.id, response.headers);
    if (!response.ok) throw await this.#error(operation, response);
    if (response.status === 204 || response.status === 205) {
      await discard(response);
      return undefined;
    }
    const { text, json } = await readJson(response);
    if (text !== '' && json === undefined) {
      throw new ApiError({
        status: response.status,
        type: null,
        message: `${operation.id}: the response is not JSON`,
        requestId: response.headers.get('x-request-id'),
        body: text,
        headers: response.headers,
        operationId: operation.id,
      });
    }
    return json;
  }

  async *_paginate(operation, params, options) {
    const pagination = operation.pagination;
    const base = { ...(params ?? {}) };
    if (pagination.style === 'cursor') {
      let cursor = base[pagination.cursor];
      for (;;) {
        const page = await this._request(operation, { ...base, [pagination.cursor]: cursor }, options);
        yield* page?.[pagination.items] ?? [];
        cursor = page?.[pagination.nextCursor];
        if (cursor === undefined || cursor === null || cursor === '') return;
      }
    }
    // Page numbers: the last page is the first shorter than the page size (the requested
    // one, else the first page's), an empty one, or the one that reaches the total.
    let number = base[pagination.page] ?? 1;
    let size = base[pagination.size];
    let seen = 0;
    for (;;) {
      const page = await this._request(operation, { ...base, [pagination.page]: number }, options);
      const items = page?.[pagination.items] ?? [];
      yield* items;
      seen += items.length;
      size ??= items.length;
      const total = pagination.total ? page?.[pagination.total] : undefined;
      const firstNumber = base[pagination.page] ?? 1;
      if (items.length === 0 || items.length < size) return;
      if (typeof total === 'number' && (firstNumber - 1) * size + seen >= total) return;
      number += 1;
    }
  }

  #prepare(operation, params) {
    let path = operation.path;
    const query = new URLSearchParams();
    const headers = { accept: 'application/json' };
    for (const parameter of operation.parameters) {
      let value = params[parameter.key];
      if (parameter.key === operation.idempotencyKey) {
        // One key per logical call: its retries send the same one.
        value ??= webCrypto().randomUUID();
      }
      if (parameter.in === 'path') {
        if (value === undefined || value === null || value === '') {
          throw new TypeError(`${operation.id}: ${parameter.key} is required`);
        }
        path = path.replace(`{${parameter.name}}`, encodeURIComponent(String(value)));
      } else if (value === undefined || value === null) {
        continue;
      } else if (parameter.in === 'query') {
        for (const item of Array.isArray(value) ? value : [value]) query.append(parameter.name, String(item));
      } else {
        headers[parameter.name.toLowerCase()] = String(value);
      }
    }
    const search = query.toString();
    return { url: `${this.#baseUrl}${path}${search ? `?${search}` : ''}`, headers };
  }

  // The API call: a 401 is answered by one token renewal and one more try, never more.
  async #authorized(operation, url, init, signal) {
    let renewed = false;
    for (;;) {
      const token = await this.#credentials.token();
      const headers = { ...init.headers, authorization: `Bearer ${token}` };
      if (this.#apiKey) headers['x-api-key'] = this.#apiKey;
      const response = await this.#sendWithRetries(url, { ...init, headers }, operation.idempotent, signal);
      if (response.status !== 401 || renewed) return response;
      renewed = true;
      await discard(response);
      this.#credentials.invalidate(token);
    }
  }

  // 429 and 503 are retried (nothing was done), network errors only when repeating the
  // request cannot act twice; Retry-After is honoured, else backoff with full jitter.
  async #sendWithRetries(url, init, idempotent, signal) {
    for (let attempt = 1; ; attempt += 1) {
      signal?.throwIfAborted();
      let response;
      try {
        response = await fetchWithTimeout(this.#fetch, url, init, this.#timeoutMs, signal);
      } catch (error) {
        if (signal?.aborted || !idempotent || attempt >= this.#maxAttempts) throw error;
        await sleep(backoffMs(attempt), signal);
        continue;
      }
      if ((response.status !== 429 && response.status !== 503) || attempt >= this.#maxAttempts) return response;
      const retryAfter = retryAfterSeconds(response.headers);
      if (retryAfter !== null && retryAfter > RETRY_AFTER_LIMIT_SECONDS) return response;
      await discard(response);
      await sleep(retryAfter === null ? backoffMs(attempt) : retryAfter * 1000, signal);
    }
  }

  async #error(operation, response) {
    const { text, json } = await readJson(response);
    const body = json ?? (text === '' ? null : text);
    const fields = json !== null && typeof json === 'object' ? json : {};
    const type = typeof fields.__type === 'string' ? fields.__type : null;
    const init = {
      status: response.status,
      type,
      message:
        typeof fields.message === 'string' && fields.message !== ''
          ? fields.message
          : `${operation.id} failed with HTTP ${response.status}`,
      requestId: typeof fields.requestId === 'string' ? fields.requestId : response.headers.get('x-request-id'),
      body,
      headers: response.headers,
      operationId: operation.id,
      retryAfter: retryAfterSeconds(response.headers),
    };
    const ErrorClass = (type !== null && this.#spec.errorTypes.get(type)) || ApiError;
    return new ErrorClass(init);
  }
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function headerValue(headers, name) {
  if (typeof headers?.get === 'function') return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

/**
 * Verifies a Standard Webhooks delivery (https://www.standardwebhooks.com) and returns its
 * parsed JSON payload. The signature check is WebCrypto's HMAC verify (constant time).
 */
export async function verifyWebhook(payload, headers, secret, toleranceSeconds = 300) {
  const id = headerValue(headers, 'webhook-id');
  const timestamp = headerValue(headers, 'webhook-timestamp');
  const signatures = headerValue(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('Missing required headers (webhook-id, webhook-timestamp, webhook-signature)');
  }
  const seconds = Number.parseInt(timestamp, 10);
  if (Number.isNaN(seconds)) throw new WebhookVerificationError('Invalid webhook-timestamp header');
  const now = Math.floor(Date.now() / 1000);
  if (now - seconds > toleranceSeconds) throw new WebhookVerificationError('Message timestamp too old');
  if (seconds > now + toleranceSeconds) throw new WebhookVerificationError('Message timestamp too new');

  let keyBytes;
  try {
    keyBytes = base64ToBytes(String(secret).replace(/^whsec_/, ''));
  } catch {
    throw new WebhookVerificationError('The webhook secret is not whsec_ followed by base64');
  }
  if (keyBytes.length === 0) throw new WebhookVerificationError('The webhook secret is empty');
  const { subtle } = webCrypto();
  const key = await subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const encoder = new TextEncoder();
  const body = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const prefix = encoder.encode(`${id}.${seconds}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);

  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) continue;
    let signature;
    try {
      signature = base64ToBytes(value);
    } catch {
      continue;
    }
    if (await subtle.verify('HMAC', key, signature, signed)) {
      const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
      return text === '' ? undefined : JSON.parse(text);
    }
  }
  throw new WebhookVerificationError('No matching signature found');
}
