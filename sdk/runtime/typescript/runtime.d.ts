// Types of the runtime shared by every generated operation (see runtime.js).

/** The environment presets baked into the package from the portal's public URLs. */
export type Environment = 'sandbox' | 'production';

/** Where an environment's API calls and token requests go. */
export interface EnvironmentPreset {
  /** The API root, without the version: operation paths start with it (`/v2/…`). */
  readonly baseUrl: string;
  /** The OAuth 2.0 token endpoint (client credentials). */
  readonly tokenUrl: string;
  /** The `audience` asked for in token requests. */
  readonly audience: string;
}

/**
 * How a client authenticates and where it sends requests. Either `clientId` and
 * `clientSecret` (the application's credentials from the developer portal) or a
 * `tokenProvider` is required.
 */
export interface ClientOptions {
  /** The application's client id (`pci_…`). */
  clientId?: string;
  /** The application's client secret (`pcs_…`), sent only to the token endpoint. */
  clientSecret?: string;
  /** Sent as `x-api-key` on every API call, when the application's usage plan wants one. */
  apiKey?: string;
  /** Scopes to ask for; the token carries all the application's scopes when omitted. */
  scopes?: string[];
  /**
   * `sandbox` (the default) or `production`. Asking for `production` throws when this
   * Portico has no production stage (unless `baseUrl` and `tokenUrl` are given).
   */
  environment?: Environment;
  /** Overrides the environment's API root (without the version segment). */
  baseUrl?: string;
  /** Overrides the environment's token endpoint. */
  tokenUrl?: string;
  /** Overrides the environment's token `audience`. */
  audience?: string;
  /**
   * Supplies access tokens obtained elsewhere instead of the client-credentials grant. It is
   * called before every request (cache in it if you like) and once more after a 401.
   */
  tokenProvider?: () => Promise<string>;
  /**
   * Tries per call, the first included (default 3): 429 and 503 answers are retried, network
   * errors only for operations that cannot act twice (safe methods, PUT, DELETE, or an
   * Idempotency-Key).
   */
  maxAttempts?: number;
  /** The fetch to use (default: the global one): for proxies, tests, instrumentation. */
  fetch?: typeof fetch;
  /** Per-attempt timeout in milliseconds (default 30000). */
  timeoutMs?: number;
}

/** Per-call options. */
export interface RequestOptions {
  /** Cancels the call, its retries and backoff waits. */
  signal?: AbortSignal;
}

/** One failing field of a validation error. */
export interface FieldErrorDetail {
  /** Where: `body.items[0].quantity`, `query.limit`, `header.Idempotency-Key`, `path.orderId`. */
  path: string;
  /** The rule that failed. */
  message: string;
}

export interface ApiErrorInit {
  status: number;
  type?: string | null;
  message: string;
  requestId?: string | null;
  body?: unknown;
  headers?: Headers;
  operationId?: string | null;
  retryAfter?: number | null;
  code?: string | null;
}

/**
 * An error answer of the API. The generated subclasses (one per documented `__type`, e.g.
 * `NotFoundException`) let `instanceof` pick the case; an undocumented or non-JSON error
 * answer is a plain `ApiError`.
 */
export declare class ApiError extends Error {
  constructor(init: ApiErrorInit);
  /** The HTTP status. */
  readonly status: number;
  /** The body's `__type` (`ValidationException`), or null when the body has none. */
  readonly type: string | null;
  /** The request id (the body's `requestId`, else the `x-request-id` header): quote it to support. */
  readonly requestId: string | null;
  /** The parsed JSON body, or its text when it is not JSON, or null when empty. */
  readonly body: unknown;
  readonly headers: Headers;
  /** The operation that failed (`CreateOrder`); null for token requests. */
  readonly operationId: string | null;
}

/** The token endpoint refused the request: `code` is the OAuth 2.0 `error` (`invalid_client`). */
export declare class AuthenticationError extends ApiError {
  readonly code: string | null;
}

/** A webhook delivery that does not verify (missing headers, stale timestamp, bad signature). */
export declare class WebhookVerificationError extends Error {
  constructor(message: string);
}

/**
 * Verifies a Standard Webhooks delivery: the `webhook-signature` must hold a `v1,` HMAC-SHA256
 * of `{webhook-id}.{webhook-timestamp}.{payload}` under `secret` (`whsec_…`, shown once when
 * the endpoint was added), and the timestamp must be within `toleranceSeconds` of now.
 * Resolves to the parsed JSON payload; rejects with `WebhookVerificationError`.
 *
 * Pass the raw request body, exactly as received (not re-serialised JSON).
 */
export declare function verifyWebhook<T = unknown>(
  payload: string | Uint8Array,
  headers: Headers | Record<string, string | string[] | undefined>,
  secret: string,
  toleranceSeconds?: number,
): Promise<T>;

/** @internal What generated clients extend. */
export declare class BaseClient {
  protected constructor(options: ClientOptions, spec: unknown);
  /** The API root requests go to (the operation paths start with the version, `/v2/…`). */
  readonly baseUrl: string;
  /** The environment preset in use. */
  readonly environment: Environment;
}

/** @internal */
export declare function fieldErrorsOf(body: unknown): FieldErrorDetail[];

/** @internal */
export declare function retryAfterSeconds(headers: Headers | undefined): number | null;
