//! A Postman collection (v2.1) per version and a Postman environment for the sandbox. The
//! collection authenticates with OAuth 2.0 client credentials against the token endpoint
//! from the environment's `client_id` and `client_secret` variables; the environment holds
//! a placeholder for the secret, never a real one.

use crate::reference::VersionDoc;
use serde_json::{Value, json};

pub const SECRET_PLACEHOLDER: &str = "<paste your client secret here>";

pub fn collection(version: &VersionDoc) -> Value {
    let folders: Vec<Value> = version
        .tags
        .iter()
        .map(|tag| {
            let items: Vec<Value> = tag
                .operations
                .iter()
                .filter_map(|summary| version.operation(&summary.id))
                .map(|op| {
                    let example = &op.example;
                    // Postman variables in the path: {orderId} → the example value.
                    let path = example.path(&op.path);
                    let raw = format!("{{{{base_url}}}}{path}{}", example.query_string());
                    let mut headers = vec![json!({"key": "x-api-key", "value": "{{api_key}}"})];
                    for (name, value) in &example.headers {
                        let value = if name.eq_ignore_ascii_case("idempotency-key") {
                            "{{$guid}}".to_owned()
                        } else {
                            value.clone()
                        };
                        headers.push(json!({"key": name, "value": value}));
                    }
                    let mut request = json!({
                        "method": op.method,
                        "header": headers,
                        "url": {
                            "raw": raw,
                            "host": ["{{base_url}}"],
                            "path": path.trim_start_matches('/').split('/').collect::<Vec<_>>(),
                            "query": example.query.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
                        },
                        "description": op.summary,
                    });
                    if let Some(body) = &example.body {
                        request["body"] = json!({
                            "mode": "raw",
                            "raw": body,
                            "options": {"raw": {"language": "json"}},
                        });
                    }
                    json!({"name": op.summary, "request": request})
                })
                .collect();
            json!({"name": tag.name, "item": items})
        })
        .collect();
    json!({
        "info": {
            "name": format!("{} ({})", version.title, version.name),
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
            "description": "Generated from the API model. Import the Portico sandbox environment too, and paste your client secret into it.",
        },
        "auth": {
            "type": "oauth2",
            "oauth2": [
                {"key": "grant_type", "value": "client_credentials", "type": "string"},
                {"key": "accessTokenUrl", "value": "{{token_url}}", "type": "string"},
                {"key": "clientId", "value": "{{client_id}}", "type": "string"},
                {"key": "clientSecret", "value": "{{client_secret}}", "type": "string"},
                {"key": "scope", "value": "{{scope}}", "type": "string"},
                {"key": "client_authentication", "value": "header", "type": "string"},
                {"key": "addTokenTo", "value": "header", "type": "string"},
                {"key": "tokenName", "value": "Portico sandbox", "type": "string"},
            ],
        },
        "item": folders,
    })
}

/// The sandbox environment; `client_id` pre-filled when the portal knows it.
pub fn environment(sandbox_url: &str, client_id: Option<&str>) -> Value {
    let base = sandbox_url.trim_end_matches('/');
    json!({
        "name": "Portico sandbox",
        "values": [
            {"key": "base_url", "value": base, "type": "default", "enabled": true},
            {"key": "token_url", "value": format!("{base}/oauth2/token"), "type": "default", "enabled": true},
            {"key": "client_id", "value": client_id.unwrap_or("<your client_id>"), "type": "default", "enabled": true},
            {"key": "client_secret", "value": SECRET_PLACEHOLDER, "type": "secret", "enabled": true},
            {"key": "api_key", "value": "<your API key>", "type": "secret", "enabled": true},
            {"key": "scope", "value": "commercial:read commercial:write", "type": "default", "enabled": true},
        ],
        "_postman_variable_scope": "environment",
    })
}
