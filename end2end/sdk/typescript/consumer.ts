// A partner program using the TypeScript SDK installed from the portal, against a live
// sandbox. It prints one JSON summary that tests/sdk_typescript.test.js asserts on.
//
// Environment: CLIENT_ID, CLIENT_SECRET, API_KEY (an application with commercial:read and
// commercial:write), READONLY_CLIENT_ID, READONLY_CLIENT_SECRET, READONLY_API_KEY (an
// application of another partner without commercial:write) and SANDBOX_URL.
import {
  PorticoCommercialClient,
  ForbiddenException,
  ValidationException,
  ApiError,
  API_VERSION,
  SDK_VERSION,
  type Order,
} from "portico-commercial";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const PRODUCT = "prd_01jd8x5v7k2m3n4p5q6r7s8t9v";

// Everything this client sends goes through here: token requests, statuses, the last
// bearer token, the Idempotency-Keys of order creations. On request it loses the answer
// to the next order creation after the server has handled it (a dropped connection).
const seen = { tokenRequests: 0, unauthorized: 0, listRequests: 0, createKeys: [] as string[] };
let lastToken: string | null = null;
let loseNextCreateAnswer = false;

const recordingFetch: typeof fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const headers = new Headers(init?.headers);
  const authorization = headers.get("authorization");
  if (authorization?.startsWith("Bearer ")) lastToken = authorization.slice("Bearer ".length);
  if (url.pathname === "/oauth2/token") seen.tokenRequests += 1;
  const isList = init?.method === "GET" && url.pathname === `/${API_VERSION}/commercial/orders`;
  if (isList) seen.listRequests += 1;
  const isCreate = init?.method === "POST" && url.pathname === `/${API_VERSION}/commercial/orders`;
  if (isCreate) seen.createKeys.push(headers.get("idempotency-key") ?? "");
  const response = await fetch(input, init);
  if (response.status === 401) seen.unauthorized += 1;
  if (isCreate && loseNextCreateAnswer) {
    loseNextCreateAnswer = false;
    await response.body?.cancel();
    throw new TypeError("the connection dropped after the server answered (simulated)");
  }
  return response;
};

const client = new PorticoCommercialClient({
  environment: "sandbox",
  clientId: env("CLIENT_ID"),
  clientSecret: env("CLIENT_SECRET"),
  apiKey: env("API_KEY"),
  fetch: recordingFetch,
});

async function errorName(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "no error";
  } catch (error) {
    if (error instanceof ApiError) return `${error.name} ${error.status} ${error.type}`;
    throw error;
  }
}

// 1. List.
const firstPage = await client.listOrders();

// 2. Create, losing the first answer: the SDK retries with the same Idempotency-Key and the
//    sandbox answers with the order it created the first time.
const reference = `SDK-E2E-${Date.now()}`;
loseNextCreateAnswer = true;
const created: Order = await client.createOrder({
  body: { customer_reference: reference, items: [{ product_id: PRODUCT, quantity: 2 }] },
});
const createAttempts = [...seen.createKeys];
let withReference = 0;
for await (const order of client.paginateListOrders({ limit: 100 })) {
  if (order.customer_reference === reference) withReference += 1;
}

// 3. Cancel it.
const cancelled = await client.cancelOrder({ orderId: created.id });

// 4. Page through every order, two at a time.
const listRequestsBefore = seen.listRequests;
const pagedIds: string[] = [];
for await (const order of client.paginateListOrders({ limit: 2 })) pagedIds.push(order.id);
const pagedRequests = seen.listRequests - listRequestsBefore;
const everything = await client.listOrders({ limit: 100 });

// 5. A bad body: quantity 0.
let validation: { status: number; type: string | null; paths: string[]; requestId: string | null } | null = null;
try {
  await client.createOrder({ body: { items: [{ product_id: PRODUCT, quantity: 0 }] } });
} catch (error) {
  if (!(error instanceof ValidationException)) throw error;
  validation = {
    status: error.status,
    type: error.type,
    paths: error.fieldErrors.map((field) => field.path),
    requestId: error.requestId,
  };
}

// 6. A missing scope, twice: a token asked for with commercial:read only, and an application
//    that was never granted commercial:write.
const readScope = new PorticoCommercialClient({
  clientId: env("CLIENT_ID"),
  clientSecret: env("CLIENT_SECRET"),
  apiKey: env("API_KEY"),
  scopes: ["commercial:read"],
});
const readOnlyApp = new PorticoCommercialClient({
  clientId: env("READONLY_CLIENT_ID"),
  clientSecret: env("READONLY_CLIENT_SECRET"),
  apiKey: env("READONLY_API_KEY"),
});
const createCall = (sdk: PorticoCommercialClient) => () =>
  sdk.createOrder({ body: { items: [{ product_id: PRODUCT, quantity: 1 }] } });
const forbiddenInstance = await (async () => {
  try {
    await createCall(readScope)();
    return false;
  } catch (error) {
    return error instanceof ForbiddenException;
  }
})();
const forbidden = {
  readScope: await errorName(createCall(readScope)),
  readOnlyApp: await errorName(createCall(readOnlyApp)),
  instanceOfForbiddenException: forbiddenInstance,
};

// 7. The token dies (revoked, RFC 7009): the next call gets one 401, renews its token once
//    and succeeds.
const tokenRequestsBefore = seen.tokenRequests;
const unauthorizedBefore = seen.unauthorized;
const revoked = await fetch(`${env("SANDBOX_URL")}/oauth2/revoke`, {
  method: "POST",
  headers: {
    authorization: `Basic ${btoa(`${env("CLIENT_ID")}:${env("CLIENT_SECRET")}`)}`,
    "content-type": "application/x-www-form-urlencoded",
  },
  body: new URLSearchParams({ token: lastToken ?? "" }),
});
const afterRevocation = await client.listOrders({ limit: 1 });

console.log(
  JSON.stringify({
    sdkVersion: SDK_VERSION,
    firstPageCount: firstPage.data.length,
    created: {
      id: created.id,
      status: created.status,
      reference: created.customer_reference,
      total: created.total,
      posts: createAttempts.length,
      keys: createAttempts,
      ordersWithReference: withReference,
    },
    cancelledStatus: cancelled.status,
    paged: {
      items: pagedIds.length,
      unique: new Set(pagedIds).size,
      requests: pagedRequests,
      total: everything.data.length,
    },
    validation,
    forbidden,
    refresh: {
      revokeStatus: revoked.status,
      tokenRequestsBeforeRevocation: tokenRequestsBefore,
      tokenRequests: seen.tokenRequests - tokenRequestsBefore,
      unauthorized: seen.unauthorized - unauthorizedBefore,
      listed: afterRevocation.data.length,
    },
  }),
);
