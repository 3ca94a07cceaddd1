//! Code samples for every operation, generated from the model's own example request: curl,
//! Python (requests), TypeScript (fetch) and Rust (reqwest), each starting with the token
//! step (client credentials). Credentials come from the environment (`CLIENT_ID`,
//! `CLIENT_SECRET`, `API_KEY`): a sample never contains a secret.

use crate::highlight;
use crate::reference::{OperationDoc, Sample};
use portico_sdk::python::syntax as python;
use serde_json::Value;

pub fn for_operation(operation: &OperationDoc, sandbox_url: &str) -> Vec<Sample> {
    let request = Request::of(operation, sandbox_url.trim_end_matches('/'));
    [
        ("curl", "bash", curl(&request)),
        ("Python", "python", python(&request)),
        ("TypeScript", "typescript", typescript(&request)),
        ("Rust", "rust", rust(&request)),
    ]
    .into_iter()
    .map(|(label, language, code)| Sample {
        key: language_key(language),
        label: label.to_owned(),
        language: language.to_owned(),
        html: highlight::code_block(&code, language),
        code,
    })
    .collect()
}

fn language_key(language: &str) -> String {
    match language {
        "bash" => "curl".to_owned(),
        other => other.to_owned(),
    }
}

/// The SDK samples of one operation (TypeScript, then Python), from the version's generated
/// packages and the model's example request.
pub fn for_sdks(operation: &OperationDoc, sdks: &portico_sdk::VersionSdks) -> Vec<Sample> {
    let example = &operation.example;
    let body: Option<Value> = example
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok());
    let call = portico_sdk::SampleCall {
        path_params: &example.path_params,
        query: &example.query,
        headers: &example.headers,
        body: body.as_ref(),
    };
    portico_sdk::Language::ALL
        .into_iter()
        .filter_map(|language| {
            let code = sdks.sample(language, &operation.id, call)?;
            let fence = match language {
                portico_sdk::Language::TypeScript => "typescript",
                portico_sdk::Language::Python => "python",
            };
            Some(Sample {
                key: format!("{}-sdk", language.slug()),
                label: format!("{} SDK", language.label()),
                language: fence.to_owned(),
                html: highlight::code_block(&code, fence),
                code,
            })
        })
        .collect()
}

struct Request<'a> {
    base: &'a str,
    method: &'a str,
    /// Path and query, filled in.
    target: String,
    scope: String,
    summary: &'a str,
    /// Headers besides Authorization, x-api-key and Content-Type.
    headers: Vec<(String, String)>,
    body: Option<Value>,
}

impl<'a> Request<'a> {
    fn of(operation: &'a OperationDoc, base: &'a str) -> Self {
        let example = &operation.example;
        Request {
            base,
            method: &operation.method,
            target: format!(
                "{}{}",
                example.path(&operation.path),
                example.query_string()
            ),
            scope: operation.scopes.join(" "),
            summary: &operation.summary,
            headers: example.headers.clone(),
            body: example
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str(b).ok()),
        }
    }

    fn is_idempotency_key(name: &str) -> bool {
        name.eq_ignore_ascii_case("idempotency-key")
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn curl(r: &Request<'_>) -> String {
    let mut out = String::new();
    out.push_str("# 1. Get an access token (OAuth 2.0 client credentials)\n");
    out.push_str("ACCESS_TOKEN=$(curl -s -u \"$CLIENT_ID:$CLIENT_SECRET\" \\\n");
    out.push_str("  -d grant_type=client_credentials \\\n");
    out.push_str(&format!(
        "  -d {} \\\n",
        shell_quote(&format!("scope={}", r.scope))
    ));
    out.push_str(&format!(
        "  {}/oauth2/token | jq -r .access_token)\n\n",
        r.base
    ));
    out.push_str(&format!("# 2. {}\n", r.summary));
    out.push_str(&format!(
        "curl -i -X {} {} \\\n",
        r.method,
        shell_quote(&format!("{}{}", r.base, r.target))
    ));
    out.push_str("  -H \"Authorization: Bearer $ACCESS_TOKEN\" \\\n");
    out.push_str("  -H \"x-api-key: $API_KEY\"");
    for (name, value) in &r.headers {
        // The model's Idempotency-Key as it is: use a new one per new request.
        out.push_str(" \\\n");
        out.push_str(&format!(
            "  -H {}",
            shell_quote(&format!("{name}: {value}"))
        ));
    }
    if let Some(body) = &r.body {
        out.push_str(" \\\n  -H 'Content-Type: application/json' \\\n");
        out.push_str(&format!("  -d {}", shell_quote(&body.to_string())));
    }
    out.push('\n');
    out
}

fn python(r: &Request<'_>) -> String {
    let mut out = String::new();
    let uses_uuid = r
        .headers
        .iter()
        .any(|(n, _)| Request::is_idempotency_key(n));
    out.push_str("import os\n");
    if uses_uuid {
        out.push_str("import uuid\n");
    }
    out.push_str("\nimport requests\n\n");
    out.push_str(&format!("SANDBOX = {}\n\n", python::string(r.base)));
    out.push_str("# 1. Get an access token (OAuth 2.0 client credentials)\n");
    out.push_str("token = requests.post(\n");
    out.push_str("    f\"{SANDBOX}/oauth2/token\",\n");
    out.push_str("    auth=(os.environ[\"CLIENT_ID\"], os.environ[\"CLIENT_SECRET\"]),\n");
    out.push_str(&format!(
        "    data={{\"grant_type\": \"client_credentials\", \"scope\": {}}},\n",
        python::string(&r.scope)
    ));
    out.push_str("    timeout=10,\n");
    out.push_str(").json()[\"access_token\"]\n\n");
    out.push_str(&format!("# 2. {}\n", r.summary));
    out.push_str("response = requests.request(\n");
    out.push_str(&format!("    {},\n", python::string(r.method)));
    out.push_str(&format!(
        "    f\"{{SANDBOX}}{}\",\n",
        r.target
            .replace('{', "{{")
            .replace('}', "}}")
            .replace('"', "\\\"")
    ));
    out.push_str("    headers={\n");
    out.push_str("        \"Authorization\": f\"Bearer {token}\",\n");
    out.push_str("        \"x-api-key\": os.environ[\"API_KEY\"],\n");
    for (name, value) in &r.headers {
        if Request::is_idempotency_key(name) {
            out.push_str(&format!(
                "        {}: str(uuid.uuid4()),  # a new key per new request\n",
                python::string(name)
            ));
        } else {
            out.push_str(&format!(
                "        {}: {},\n",
                python::string(name),
                python::string(value)
            ));
        }
    }
    out.push_str("    },\n");
    if let Some(body) = &r.body {
        out.push_str(&format!("    json={},\n", python::literal(body, 1)));
    }
    out.push_str("    timeout=10,\n");
    out.push_str(")\n");
    out.push_str("print(response.status_code)\n");
    out.push_str("print(response.text)\n");
    out
}

fn typescript(r: &Request<'_>) -> String {
    let mut out = String::new();
    out.push_str(&format!("const SANDBOX = {};\n\n", js_string(r.base)));
    out.push_str("// 1. Get an access token (OAuth 2.0 client credentials)\n");
    out.push_str("const basic = btoa(`${process.env.CLIENT_ID}:${process.env.CLIENT_SECRET}`);\n");
    out.push_str("const tokenResponse = await fetch(`${SANDBOX}/oauth2/token`, {\n");
    out.push_str("  method: \"POST\",\n");
    out.push_str("  headers: { Authorization: `Basic ${basic}` },\n");
    out.push_str(&format!(
        "  body: new URLSearchParams({{ grant_type: \"client_credentials\", scope: {} }}),\n",
        js_string(&r.scope)
    ));
    out.push_str("});\n");
    out.push_str(
        "const { access_token } = (await tokenResponse.json()) as { access_token: string };\n\n",
    );
    out.push_str(&format!("// 2. {}\n", r.summary));
    out.push_str(&format!(
        "const response = await fetch(`${{SANDBOX}}{}`, {{\n",
        r.target.replace('`', "\\`").replace("${", "\\${")
    ));
    out.push_str(&format!("  method: {},\n", js_string(r.method)));
    out.push_str("  headers: {\n");
    out.push_str("    Authorization: `Bearer ${access_token}`,\n");
    out.push_str("    \"x-api-key\": process.env.API_KEY ?? \"\",\n");
    for (name, value) in &r.headers {
        if Request::is_idempotency_key(name) {
            out.push_str(&format!(
                "    {}: crypto.randomUUID(), // a new key per new request\n",
                js_string(name)
            ));
        } else {
            out.push_str(&format!("    {}: {},\n", js_string(name), js_string(value)));
        }
    }
    if r.body.is_some() {
        out.push_str("    \"Content-Type\": \"application/json\",\n");
    }
    out.push_str("  },\n");
    if let Some(body) = &r.body {
        out.push_str(&format!(
            "  body: JSON.stringify({}),\n",
            indent(&pretty(body), "  ")
        ));
    }
    out.push_str("});\n");
    out.push_str("console.log(response.status, await response.text());\n");
    out
}

fn rust(r: &Request<'_>) -> String {
    let mut out = String::new();
    out.push_str(
        "// Cargo.toml: reqwest (features \"json\"), serde_json, tokio (features \"full\")",
    );
    let uses_uuid = r
        .headers
        .iter()
        .any(|(n, _)| Request::is_idempotency_key(n));
    if uses_uuid {
        out.push_str(", uuid (features \"v4\")");
    }
    out.push('\n');
    out.push_str("use std::env;\n\n");
    out.push_str(&format!("const SANDBOX: &str = {};\n\n", js_string(r.base)));
    out.push_str("#[tokio::main]\n");
    out.push_str("async fn main() -> Result<(), Box<dyn std::error::Error>> {\n");
    out.push_str("    let client = reqwest::Client::new();\n\n");
    out.push_str("    // 1. Get an access token (OAuth 2.0 client credentials)\n");
    out.push_str("    let token: serde_json::Value = client\n");
    out.push_str("        .post(format!(\"{SANDBOX}/oauth2/token\"))\n");
    out.push_str(
        "        .basic_auth(env::var(\"CLIENT_ID\")?, Some(env::var(\"CLIENT_SECRET\")?))\n",
    );
    out.push_str(&format!(
        "        .form(&[(\"grant_type\", \"client_credentials\"), (\"scope\", {})])\n",
        js_string(&r.scope)
    ));
    out.push_str("        .send()\n        .await?\n        .json()\n        .await?;\n");
    out.push_str(
        "    let access_token = token[\"access_token\"].as_str().unwrap_or_default();\n\n",
    );
    out.push_str(&format!("    // 2. {}\n", r.summary));
    out.push_str("    let response = client\n");
    out.push_str(&format!(
        "        .request(reqwest::Method::{}, format!(\"{{SANDBOX}}{}\"))\n",
        r.method,
        r.target
            .replace('{', "{{")
            .replace('}', "}}")
            .replace('"', "\\\"")
    ));
    out.push_str("        .bearer_auth(access_token)\n");
    out.push_str("        .header(\"x-api-key\", env::var(\"API_KEY\")?)\n");
    for (name, value) in &r.headers {
        if Request::is_idempotency_key(name) {
            out.push_str(&format!(
                "        .header({}, uuid::Uuid::new_v4().to_string()) // a new key per new request\n",
                js_string(name)
            ));
        } else {
            out.push_str(&format!(
                "        .header({}, {})\n",
                js_string(name),
                js_string(value)
            ));
        }
    }
    if let Some(body) = &r.body {
        out.push_str(&format!(
            "        .json(&serde_json::json!({}))\n",
            indent(&pretty(body), "        ")
        ));
    }
    out.push_str("        .send()\n        .await?;\n");
    out.push_str("    println!(\"{}\", response.status());\n");
    out.push_str("    println!(\"{}\", response.text().await?);\n");
    out.push_str("    Ok(())\n}\n");
    out
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Indents every line after the first.
fn indent(text: &str, by: &str) -> String {
    text.replace('\n', &format!("\n{by}"))
}

/// A double-quoted string literal (valid JSON, so also JavaScript and Rust).
fn js_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quotes_survive_single_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
