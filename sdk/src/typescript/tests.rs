use super::*;
use crate::model::Api;
use flate2::read::GzDecoder;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const V2: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../content/api/v2.yaml"
));
const V1: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../content/api/v1.yaml"
));
const V0: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../content/api/v0.yaml"
));
const GETTING_STARTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../content/docs/getting-started.md"
));
const LIBRARY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/library.yaml"
));

fn api(version: &str, yaml: &str) -> Api {
    let document: Value = serde_yaml::from_str(yaml).expect("the model parses");
    Api::from_openapi(version, &document).expect("the model reads")
}

fn targets() -> Targets {
    Targets {
        sandbox_url: "https://sandbox.example.test/".into(),
        production_url: None,
        portal_url: "https://portal.example.test".into(),
        audience: "portico-api".into(),
    }
}

/// The tarball's files, by path.
fn unpack(package: &Package) -> BTreeMap<String, String> {
    let artifact = package.primary().expect("a tarball");
    let mut tar = Vec::new();
    GzDecoder::new(&artifact.bytes[..])
        .read_to_end(&mut tar)
        .expect("gzip");
    let mut files = BTreeMap::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let field = |range: std::ops::Range<usize>| {
            String::from_utf8_lossy(&tar[at + range.start..at + range.end])
                .trim_end_matches('\0')
                .to_string()
        };
        let (name, prefix) = (field(0..100), field(345..500));
        let size = usize::from_str_radix(field(124..135).trim(), 8).expect("octal size");
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let text = String::from_utf8(tar[at + 512..at + 512 + size].to_vec()).expect("utf-8");
        files.insert(path, text);
        at += 512 + size.div_ceil(512) * 512;
    }
    files
}

fn generate(version: &str, yaml: &str) -> (Api, Package, BTreeMap<String, String>) {
    let api = api(version, yaml);
    let package = package(&api, &targets(), "0f".repeat(32).as_str()).expect("generates");
    let files = unpack(&package);
    (api, package, files)
}

#[test]
fn the_v2_package_follows_the_naming_contract() {
    let (_, package, files) = generate("v2", V2);
    assert_eq!(package.language, Language::TypeScript);
    assert_eq!(package.name, "portico-commercial");
    assert_eq!(package.import_name, "portico-commercial");
    assert_eq!(package.client_class, "PorticoCommercialClient");
    assert_eq!(package.version, "2.0.0");
    let artifact = package.primary().expect("a tarball");
    assert_eq!(artifact.file_name, "portico-commercial-2.0.0.tgz");
    assert_eq!(artifact.media_type, "application/gzip");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "package/README.md",
            "package/index.d.ts",
            "package/index.js",
            "package/package.json",
            "package/runtime.d.ts",
            "package/runtime.js"
        ]
    );

    let manifest: Value = serde_json::from_str(&files["package/package.json"]).expect("JSON");
    assert_eq!(manifest["name"], "portico-commercial");
    assert_eq!(manifest["version"], "2.0.0");
    assert_eq!(manifest["type"], "module");
    assert_eq!(manifest["types"], "./index.d.ts");
    assert_eq!(manifest["exports"]["."]["types"], "./index.d.ts");
    assert_eq!(manifest["engines"]["node"], ">=18");
    assert_eq!(manifest.get("dependencies"), None);
    let description = manifest["description"].as_str().unwrap_or_default();
    assert!(description.contains("v2"), "{description}");
    assert!(description.contains(&"0f".repeat(32)), "{description}");
    assert!(
        description.contains("https://portal.example.test"),
        "{description}"
    );

    let declarations = &files["package/index.d.ts"];
    for expected in [
        "export declare class PorticoCommercialClient extends runtime.BaseClient {",
        "  constructor(options: runtime.ClientOptions);",
        "  listOrders(params?: ListOrdersParams, options?: runtime.RequestOptions): Promise<OrderPage>;",
        "  paginateListOrders(params?: Omit<ListOrdersParams, \"cursor\">, options?: runtime.RequestOptions): AsyncIterable<Order>;",
        "  createOrder(params: CreateOrderParams, options?: runtime.RequestOptions): Promise<Order>;",
        "  getOrder(params: GetOrderParams, options?: runtime.RequestOptions): Promise<Order>;",
        "  deleteAccount(params: DeleteAccountParams, options?: runtime.RequestOptions): Promise<void>;",
        "  idempotencyKey?: string;\n  /** The JSON request body. */\n  body: CreateOrderRequest;",
        "  orderId: string;",
        "  status?: OrderStatus;",
        "export type OrderStatus = \"pending\" | \"confirmed\" | \"shipped\" | \"delivered\" | \"cancelled\";",
        "export interface Order {",
        "  customer_reference?: string | null;",
        "  items: OrderLine[];",
        "export interface OrderPage {\n  data: Order[];",
        "  next_cursor: string | null;",
        "export declare class ValidationException extends runtime.ApiError {\n  readonly type: \"ValidationException\";",
        "  readonly fieldErrors: runtime.FieldErrorDetail[];",
        "export declare class ThrottlingException extends runtime.ApiError {\n  readonly type: \"ThrottlingException\";\n  /** Seconds to wait before trying again (the Retry-After header), or null. */\n  readonly retryAfter: number | null;",
        "export declare const SDK_VERSION: \"2.0.0\";",
        "export declare const API_VERSION: \"v2\";",
        "export { ApiError, AuthenticationError, WebhookVerificationError, verifyWebhook } from \"./runtime.js\";",
        // JSDoc from the model, with paragraphs.
        "   * Create an order\n   *\n   * Creates an order in the caller's partner organisation.",
        "   * @throws {ThrottlingException | LimitExceededException} HTTP 429.",
        "  /** The partner organisation that owns the order. */\n  tenant_id: string;",
    ] {
        assert!(
            declarations.contains(expected),
            "index.d.ts lacks {expected:?}"
        );
    }
    // Every documented `__type` has its class, in the model's order.
    let classes: Vec<&str> = declarations
        .lines()
        .filter_map(|l| l.strip_prefix("export declare class "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(
        classes,
        [
            "UnauthorizedException",
            "ForbiddenException",
            "ValidationException",
            "NotFoundException",
            "ConflictException",
            "ThrottlingException",
            "LimitExceededException",
            "GoneException",
            "InternalServerException",
            "ServiceUnavailableException",
            "MethodNotAllowedException",
            "BadGatewayException",
            "GatewayTimeoutException",
            "PorticoCommercialClient"
        ]
    );
    // The ServiceUnavailableException carries retryAfter; NotFoundException does not.
    let not_found = declarations
        .split("export declare class NotFoundException")
        .nth(1)
        .and_then(|rest| rest.split("}\n").next())
        .unwrap_or_default();
    assert!(!not_found.contains("retryAfter"));

    let javascript = &files["package/index.js"];
    for expected in [
        "export const ENVIRONMENTS = Object.freeze({\n  sandbox: Object.freeze({\n    baseUrl: \"https://sandbox.example.test\",\n    tokenUrl: \"https://sandbox.example.test/oauth2/token\",\n    audience: \"portico-api\",",
        "path: \"/v2/commercial/orders/{orderId}/cancel\",",
        // CancelOrder is a POST without a key: never retried after a network error.
        "id: \"CancelOrder\",\n    method: \"POST\",\n    path: \"/v2/commercial/orders/{orderId}/cancel\",\n    parameters: [\n      { key: \"orderId\", name: \"orderId\", in: \"path\" },\n    ],\n    body: false,\n    idempotent: false,",
        "{ key: \"idempotencyKey\", name: \"Idempotency-Key\", in: \"header\" },\n    ],\n    body: true,\n    idempotent: true,\n    idempotencyKey: \"idempotencyKey\",",
        "pagination: { style: \"cursor\", cursor: \"cursor\", items: \"data\", nextCursor: \"next_cursor\" },",
        "  [\"ValidationException\", ValidationException],",
        "    this.fieldErrors = runtime.fieldErrorsOf(init.body);",
    ] {
        assert!(javascript.contains(expected), "index.js lacks {expected:?}");
    }
    assert_eq!(files["package/runtime.js"], RUNTIME_JS);

    let readme = &files["package/README.md"];
    assert!(
        readme.contains("npm install https://portal.example.test/sdk/typescript/v2/latest.tgz")
    );
    assert!(readme.contains(
        "npm install https://portal.example.test/sdk/typescript/v2/portico-commercial-2.0.0.tgz"
    ));
    assert!(readme.contains(&package.quick_start));
}

#[test]
fn a_configured_production_stage_becomes_a_preset() {
    let api = api("v2", V2);
    let with_production = Targets {
        production_url: Some("https://api.example.test/".into()),
        ..targets()
    };
    let files = unpack(&package(&api, &with_production, "00").expect("generates"));
    assert!(files["package/index.js"].contains(
        "  production: Object.freeze({\n    baseUrl: \"https://api.example.test\",\n    tokenUrl: \"https://sandbox.example.test/oauth2/token\",\n    audience: \"portico-api/production\","
    ));
    assert!(files["package/index.d.ts"].contains(
        "  readonly sandbox: runtime.EnvironmentPreset;\n  readonly production: runtime.EnvironmentPreset;\n};"
    ));
    assert!(files["package/README.md"].contains("- `production`: https://api.example.test\n"));
    // Without one, no preset (the runtime then refuses `environment: "production"`).
    let (_, _, sandbox_only) = generate("v2", V2);
    assert!(!sandbox_only["package/index.js"].contains("production:"));
}

#[test]
fn the_quick_start_lists_pages_and_prints_field_errors() {
    let (_, package, _) = generate("v2", V2);
    let quick_start = &package.quick_start;
    for expected in [
        "// npm install https://portal.example.test/sdk/typescript/v2/latest.tgz\n",
        "import { PorticoCommercialClient, ValidationException } from \"portico-commercial\";",
        "  environment: \"sandbox\",\n  clientId: process.env.CLIENT_ID!,\n  clientSecret: process.env.CLIENT_SECRET!,\n  apiKey: process.env.API_KEY,",
        "const page = await client.listOrders({ limit: 5 });",
        "for await (const order of client.paginateListOrders()) {",
        "if (error instanceof ValidationException) {",
        "for (const field of error.fieldErrors) {",
    ] {
        assert!(
            quick_start.contains(expected),
            "quick start lacks {expected:?}:\n{quick_start}"
        );
    }
    // From the model, not a template: another API lists its own first list operation.
    let (_, library, _) = generate("v3", LIBRARY);
    assert!(
        library
            .quick_start
            .contains("client.listCategories({ limit: 5 })")
    );
    assert!(
        library
            .quick_start
            .contains("for await (const category of client.paginateListCategories())")
    );
}

#[test]
fn v1_pages_by_number_and_keeps_its_own_version() {
    let (_, package, files) = generate("v1", V1);
    assert_eq!(package.version, "1.4.0");
    assert_eq!(
        package.primary().map(|a| a.file_name.clone()),
        Some(format!("{}-1.4.0.tgz", package.name))
    );
    let javascript = &files["package/index.js"];
    assert!(javascript.contains(
        "pagination: { style: \"page\", page: \"page\", size: \"perPage\", items: \"items\", total: \"total\" },"
    ));
    assert!(javascript.contains("{ key: \"perPage\", name: \"per_page\", in: \"query\" },"));
    let declarations = &files["package/index.d.ts"];
    assert!(declarations.contains("Omit<ListOrdersParams, \"page\">"));
    assert!(declarations.contains("  perPage?: number;"));
}

#[test]
fn a_retired_version_without_operations_still_packs() {
    let (_, package, files) = generate("v0", V0);
    assert_eq!(package.version, "0.9.0");
    assert!(files["package/index.d.ts"].contains("export declare class GoneException"));
    assert!(package.quick_start.contains("client.baseUrl"));
}

#[test]
fn nested_recursive_and_odd_schemas_become_named_types() {
    let (_, package, files) = generate("v3", LIBRARY);
    assert_eq!(package.name, "lending-library");
    assert_eq!(package.client_class, "LendingLibraryClient");
    assert_eq!(package.version, "3.2.1");
    let declarations = &files["package/index.d.ts"];
    for expected in [
        // Recursive, through its own name.
        "export interface Category {\n  name: string;\n  /** Sub-categories (recursive). */\n  children: Category[];\n  parent?: CategoryRef;\n}",
        // A $ref chain keeps each name.
        "export type CategoryRef = CategoryName;",
        "export type CategoryName = string;",
        // Enum values escaped as string literals.
        "export type Format = \"hardcover\" | \"paperback\" | \"e-book\" | \"it's \\\"audio\\\"\";",
        // Nested inline objects, a property that is no identifier, a map, a nullable.
        "  dimensions?: {\n    pages?: number;\n    size?: {\n      width_mm: number;\n      height_mm: number;\n    };\n  };",
        "  \"x-rating\"?: number;",
        "  copies?: Record<string, number>;",
        "  subtitle?: string | null;",
        "  notes?: string | null;",
        "  labels?: Record<string, string>;",
        // allOf.
        "export type Loan = LoanRequest & {\n  id: string;",
        "  state?: \"open\" | \"returned\" | \"null\";",
        // A reserved word as a schema name, and as a property name (fine there).
        "export interface packageModel {\n  default?: boolean;\n}",
        // A reserved word as an operation (fine as a method) and as a parameter name.
        "  return(params: ReturnParams, options?: runtime.RequestOptions): Promise<void>;",
        "  default: \"on-time\" | \"late\";",
        "  paginateListBooks(params?: Omit<ListBooksParams, \"cursor\">, options?: runtime.RequestOptions): AsyncIterable<Book>;",
        "  xTraceId?: string;",
        // A description cannot end its comment early.
        "characters that must not end a comment early: *\\/ and \"quotes\"",
        "export declare class OutOfStockException extends runtime.ApiError",
    ] {
        assert!(
            declarations.contains(expected),
            "index.d.ts lacks {expected:?}\n{declarations}"
        );
    }
    assert!(!declarations.contains("early: */"));
    let javascript = &files["package/index.js"];
    assert!(javascript.contains(
        "pagination: { style: \"cursor\", cursor: \"cursor\", items: \"books\", nextCursor: \"next\" },"
    ));
    assert!(javascript.contains("{ key: \"xTraceId\", name: \"x-trace-id\", in: \"header\" },"));
}

fn sample_of(api: &Api, package: &Package, operation_id: &str, call: SampleCall<'_>) -> String {
    let operation = api.operation(operation_id).expect("the operation");
    sample(api, package, operation, call)
}

#[test]
fn samples_call_one_method_with_the_example_values_typed() {
    let (api, package, _) = generate("v2", V2);
    let headers = [("Idempotency-Key".to_owned(), "5f0c9a3e".to_owned())];
    let body = json!({
        "customer_reference": "PO-2026-0042",
        "items": [
            {"product_id": "prd_01jd8x5v7k2m3n4p5q6r7s8t9v", "quantity": 2},
            {"product_id": "prd_01jd8x5v7k2m3n4p5q6r7s8t9w", "quantity": 1}
        ]
    });
    let create = sample_of(
        &api,
        &package,
        "CreateOrder",
        SampleCall {
            path_params: &[],
            query: &[],
            headers: &headers,
            body: Some(&body),
        },
    );
    assert_eq!(
        create,
        r#"import { PorticoCommercialClient } from "portico-commercial";

const client = new PorticoCommercialClient({
  environment: "sandbox",
  clientId: process.env.CLIENT_ID!,
  clientSecret: process.env.CLIENT_SECRET!,
  apiKey: process.env.API_KEY,
});

// Create an order (the SDK sends a new Idempotency-Key, the same one on retries)
const result = await client.createOrder({
  body: {
    customer_reference: "PO-2026-0042",
    items: [
      { product_id: "prd_01jd8x5v7k2m3n4p5q6r7s8t9v", quantity: 2 },
      { product_id: "prd_01jd8x5v7k2m3n4p5q6r7s8t9w", quantity: 1 },
    ],
  },
});
console.log(JSON.stringify(result, null, 2));
"#
    );

    let user = [(
        "userId".to_owned(),
        "usr_01jd8x5v7k2m3n4p5q6r7s8t9v".to_owned(),
    )];
    let delete = sample_of(
        &api,
        &package,
        "DeleteAccount",
        SampleCall {
            path_params: &user,
            query: &[],
            headers: &[],
            body: None,
        },
    );
    assert!(delete.ends_with(
        "await client.deleteAccount({ userId: \"usr_01jd8x5v7k2m3n4p5q6r7s8t9v\" });\nconsole.log(\"done\");\n"
    ));

    let query = [
        ("limit".to_owned(), "20".to_owned()),
        ("status".to_owned(), "pending".to_owned()),
    ];
    let list = sample_of(
        &api,
        &package,
        "ListOrders",
        SampleCall {
            path_params: &[],
            query: &query,
            headers: &[],
            body: None,
        },
    );
    // Integers as numbers, enum values as their literals, in declaration order.
    assert!(list.contains("await client.listOrders({ status: \"pending\", limit: 20 });"));
    let none = sample_of(
        &api,
        &package,
        "ListProducts",
        SampleCall {
            path_params: &[],
            query: &[],
            headers: &[],
            body: None,
        },
    );
    assert!(none.contains("const result = await client.listProducts();\n"));
}

#[test]
fn packing_is_deterministic() {
    let (_, first, _) = generate("v2", V2);
    let (_, second, _) = generate("v2", V2);
    assert_eq!(first.artifacts, second.artifacts);
}

// ---------------------------------------------------------------------------------------------
// The generated packages in the real tools: tsc (strict) and node.

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

struct Tools {
    node: PathBuf,
    tsc: PathBuf,
    end2end_modules: PathBuf,
}

fn tools() -> Tools {
    let end2end_modules = repo_root().join("end2end/node_modules");
    let tsc = end2end_modules.join(".bin/tsc");
    let node = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("node"))
        .find(|candidate| candidate.is_file());
    match node {
        Some(node) if tsc.is_file() && end2end_modules.join("@types/node").is_dir() => Tools {
            node,
            tsc,
            end2end_modules,
        },
        _ => panic!(
            "the TypeScript SDK tests need node and the end-to-end npm packages (typescript, \
             @types/node): run `cd end2end && npm ci` first"
        ),
    }
}

/// Writes a package's files to `node_modules/<name>/` under `root`.
fn install(root: &Path, package: &Package) -> PathBuf {
    let dir = root.join("node_modules").join(&package.name);
    for (path, text) in unpack(package) {
        let relative = path.strip_prefix("package/").expect("under package/");
        std::fs::create_dir_all(dir.join(relative).parent().expect("a parent")).expect("mkdir");
        std::fs::write(dir.join(relative), text).expect("write");
    }
    dir
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the tool starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

/// A consumer of the v2 package: typed calls compile, mistyped ones do not.
const V2_CONSUMER: &str = r#"import {
  PorticoCommercialClient,
  ValidationException,
  ThrottlingException,
  ApiError,
  AuthenticationError,
  ENVIRONMENTS,
  SDK_VERSION,
  API_VERSION,
  MODEL_SHA256,
  verifyWebhook,
  WebhookVerificationError,
  type Order,
  type OrderStatus,
  type CreateOrderRequest,
  type FieldErrorDetail,
} from "portico-commercial";

const client = new PorticoCommercialClient({
  clientId: "pci_x",
  clientSecret: "pcs_x",
  scopes: ["commercial:read"],
  environment: "sandbox",
  maxAttempts: 2,
  timeoutMs: 5000,
  fetch: globalThis.fetch,
});
const viaHook = new PorticoCommercialClient({ tokenProvider: async () => "token" });

export async function use(): Promise<void> {
  const page = await client.listOrders({ status: "pending", limit: 2 });
  const first: Order | undefined = page.data[0];
  const next: string | null = page.next_cursor;
  const reference: string | null | undefined = first?.customer_reference;
  const status: OrderStatus | undefined = first?.status;
  const request: CreateOrderRequest = { items: [{ product_id: "prd_1", quantity: 1 }] };
  const created: Order = await client.createOrder({ body: request });
  await client.createOrder({ idempotencyKey: "key", body: { customer_reference: "PO-1", items: [] } });
  const cancelled = await client.cancelOrder({ orderId: created.id });
  const nothing: void = await viaHook.deleteAccount({ userId: "usr_1" });
  for await (const order of client.paginateListOrders({ limit: 2 })) {
    const amount: string = order.total.amount;
    console.log(amount, cancelled.status, next, reference, status, nothing);
  }
  try {
    await client.getProduct({ productId: "prd_1" });
  } catch (error) {
    if (error instanceof ValidationException) {
      const fields: FieldErrorDetail[] = error.fieldErrors;
      console.log(fields[0]?.path, error.requestId, error.status, error.type);
    } else if (error instanceof ThrottlingException) {
      const seconds: number | null = error.retryAfter;
      console.log(seconds);
    } else if (error instanceof AuthenticationError) {
      console.log(error.code);
    } else if (error instanceof ApiError) {
      console.log(error.body, error.headers.get("x-request-id"));
    }
  }
  const event = await verifyWebhook<{ type: string }>("{}", { "webhook-id": "1" }, "whsec_eA==");
  console.log(event.type, ENVIRONMENTS.sandbox.baseUrl, SDK_VERSION, API_VERSION, MODEL_SHA256, client.baseUrl);
  console.log(new WebhookVerificationError("x").message);

  // @ts-expect-error: not an OrderStatus
  await client.listOrders({ status: "lost" });
  // @ts-expect-error: the body is required
  await client.createOrder({});
  // @ts-expect-error: quantity is a number
  await client.createOrder({ body: { items: [{ product_id: "p", quantity: "1" }] } });
  // @ts-expect-error: orderId is required
  await client.getOrder({});
  // @ts-expect-error: the paginator drives the cursor itself
  client.paginateListOrders({ cursor: "c" });
  // @ts-expect-error: not an environment
  new PorticoCommercialClient({ clientId: "a", clientSecret: "b", environment: "staging" });
  // @ts-expect-error: Order has no such property
  console.log(first?.customerReference);
}
"#;

/// A consumer of the library package (recursive types, maps, allOf, reserved words).
const LIBRARY_CONSUMER: &str = r#"import { LendingLibraryClient, OutOfStockException, type Category, type Loan } from "lending-library";

const client = new LendingLibraryClient({ clientId: "a", clientSecret: "b" });

function depth(category: Category): number {
  return 1 + Math.max(0, ...category.children.map(depth));
}

export async function use(): Promise<void> {
  for await (const category of client.paginateListCategories({ limit: 10, xTraceId: "t" })) {
    console.log(depth(category), category.parent?.toUpperCase());
  }
  const books = await client.listBooks({ format: "it's \"audio\"", available: true });
  for (const book of books.books) {
    console.log(book.copies?.["main"] ?? 0, book["x-rating"], book.dimensions?.size?.width_mm, book.subtitle?.length);
  }
  try {
    const loan: Loan = await client.borrowBook({
      body: { isbn: "1", member: { id: "m", card: { number: "1" } }, notes: null, labels: { shelf: "A3" } },
    });
    console.log(loan.id, loan.due, loan.isbn, loan.member.card?.expires);
  } catch (error) {
    if (error instanceof OutOfStockException) console.log(error.status);
  }
  await client.return({ loanId: "ln_1", default: "late" });
  // @ts-expect-error: a map of numbers
  const wrong: Record<string, string> = (await client.getBook({ isbn: "1" })).copies ?? {};
  console.log(wrong);
}
"#;

#[test]
fn the_generated_packages_compile_import_and_behave() {
    let tools = tools();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    std::fs::write(
        root.join("package.json"),
        r#"{"type": "module", "private": true}"#,
    )
    .expect("write");

    // One folder per API version, each with its own node_modules: versions of one API share
    // the package name (`portico-commercial` 2.x and 1.x), as they do for partners.
    let mut sources: Vec<String> = Vec::new();
    let mut write_source = |name: &str, text: &str| {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        sources.push(name.to_owned());
    };
    write_source("v2/v2_consumer.ts", V2_CONSUMER);
    write_source("v3/library_consumer.ts", LIBRARY_CONSUMER);
    // The guide's TypeScript SDK snippet, against the package it describes.
    let guide_snippet = GETTING_STARTED
        .split("```typescript\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|code| code.contains("from \"portico-commercial\""))
        .expect("getting-started.md shows the TypeScript SDK");
    write_source("v2/getting_started.ts", guide_snippet);

    let mut installed = Vec::new();
    for (version, yaml) in [("v2", V2), ("v1", V1), ("v3", LIBRARY), ("v0", V0)] {
        let (api, package, _) = generate(version, yaml);
        installed.push((
            install(&root.join(version), &package),
            package.client_class.clone(),
        ));
        write_source(
            &format!("{version}/quick_start_{version}.ts"),
            &package.quick_start,
        );
        // Every operation's sample, with the values an example would have (placeholders
        // where the model gives none).
        for operation in &api.operations {
            let body = operation.body.as_ref().map(|_| match version {
                "v2" => json!({"items": [{"product_id": "prd_1", "quantity": 1}]}),
                "v1" => json!({"items": [{"product_id": "prd_1", "quantity": 1}]}),
                _ => json!({"isbn": "1", "member": {"id": "m"}}),
            });
            let code = sample(
                &api,
                &package,
                operation,
                SampleCall {
                    path_params: &[],
                    query: &[],
                    headers: &[],
                    body: body.as_ref(),
                },
            );
            write_source(
                &format!("{version}/sample_{version}_{}.ts", operation.id),
                &code,
            );
        }
    }

    // Strict, in a Node project (Node's types, no DOM) and in a browser project (the DOM's
    // types, no Node's: the consumers that do not touch `process`).
    let types_root = tools.end2end_modules.join("@types");
    let projects = [
        (
            "tsconfig.node.json",
            json!(["es2022"]),
            json!(["node"]),
            json!(sources),
        ),
        (
            "tsconfig.browser.json",
            json!(["es2022", "dom"]),
            json!([]),
            json!(["v2/v2_consumer.ts", "v3/library_consumer.ts"]),
        ),
    ];
    for (file, lib, types, files) in projects {
        let config = json!({
            "compilerOptions": {
                "strict": true,
                "noEmit": true,
                "module": "nodenext",
                "moduleResolution": "nodenext",
                "target": "es2022",
                "lib": lib,
                "types": types,
                "typeRoots": [types_root],
            },
            "files": files,
        });
        std::fs::write(root.join(file), config.to_string()).expect("write");
        run(Command::new(&tools.tsc)
            .current_dir(root)
            .args(["-p", file]));
    }

    // Each package imports in node, and its client constructs.
    for (dir, client_class) in &installed {
        let script = format!(
            "const m = await import({}); \
             const client = new m[{}]({{ clientId: 'a', clientSecret: 'b' }}); \
             if (typeof m.verifyWebhook !== 'function' || !(new m.ApiError({{ status: 500, message: 'x' }}) instanceof Error)) throw new Error('exports'); \
             console.log(client.baseUrl, m.SDK_VERSION, m.API_VERSION);",
            names::js_string(&dir.join("index.js").to_string_lossy()),
            names::js_string(client_class)
        );
        let output = run(Command::new(&tools.node).args(["--input-type=module", "-e", &script]));
        assert!(
            output.starts_with("https://sandbox.example.test "),
            "{output}"
        );
    }

    // The runtime's behaviour, against the v2 and v1 packages and a scripted fetch.
    let behaviour =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime/typescript/test/behaviour.mjs");
    let report = run(Command::new(&tools.node)
        .arg(&behaviour)
        .arg(&installed[0].0)
        .arg(&installed[1].0)
        .arg(tools.end2end_modules.join("standardwebhooks")));
    assert!(
        report.contains("# fail 0") && !report.contains("# pass 0"),
        "{report}"
    );
    println!("{report}");
}
