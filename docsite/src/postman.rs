//! A Postman collection (v2.1) per version and a Postman environment for the sandbox. The
//! collection fetches its own access token: a collection-level pre-request script asks the
//! token endpoint (client credentials from the `client_id` and `client_secret` variables),
//! caches the token in a collection variable and fetches a new one shortly before it
//! expires, so the collection runs unmodified in the Postman app, in newman and in CI. The
//! environment holds a placeholder for the secret, never a real one.

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
                    // `x-api-key` is added by the pre-request script, only when set.
                    let mut headers = Vec::new();
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
            "description": "Generated from the API model. Import the Portico sandbox environment too and set client_id and client_secret (and api_key when your usage plan requires one), or pass them to newman with --env-var. Every request fetches and caches its own access token.",
        },
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{access_token}}", "type": "string"}],
        },
        "event": [{
            "listen": "prerequest",
            "script": {"type": "text/javascript", "exec": TOKEN_SCRIPT.lines().collect::<Vec<_>>()},
        }],
        "variable": [
            {"key": "access_token", "value": ""},
            {"key": "access_token_expires_at", "value": "0"},
        ],
        "item": folders,
    })
}

/// The collection's pre-request script (Postman sandbox JavaScript): a cached
/// client-credentials token, refreshed at 80 % of its lifetime, and `x-api-key` when set.
const TOKEN_SCRIPT: &str = r#"// Portico: fetch and cache an OAuth 2.0 client-credentials token for every request.
const unset = (value) => !value || String(value).startsWith('<');
const apiKey = pm.variables.get('api_key');
if (!unset(apiKey)) {
  pm.request.headers.upsert({ key: 'x-api-key', value: apiKey });
}
const token = pm.collectionVariables.get('access_token');
const expiresAt = Number(pm.collectionVariables.get('access_token_expires_at') || 0);
if (!token || Date.now() >= expiresAt) {
  const clientId = pm.variables.get('client_id');
  const clientSecret = pm.variables.get('client_secret');
  if (unset(clientId) || unset(clientSecret)) {
    throw new Error('Set client_id and client_secret (environment, or newman --env-var) first.');
  }
  const form = [{ key: 'grant_type', value: 'client_credentials' }];
  const scope = pm.variables.get('scope');
  if (!unset(scope)) {
    form.push({ key: 'scope', value: scope });
  }
  pm.sendRequest({
    url: pm.variables.get('token_url'),
    method: 'POST',
    header: [{ key: 'Authorization', value: 'Basic ' + btoa(clientId + ':' + clientSecret) }],
    body: { mode: 'urlencoded', urlencoded: form },
  }, (error, response) => {
    if (error || response.code !== 200) {
      console.error('Token request failed', error || response.text());
      pm.collectionVariables.set('access_token', '');
      return;
    }
    const body = response.json();
    pm.collectionVariables.set('access_token', body.access_token);
    // Refresh at 80 % of the token's lifetime.
    pm.collectionVariables.set('access_token_expires_at', String(Date.now() + body.expires_in * 800));
  });
}
"#;

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
            // Sent as x-api-key only when set (plans that require a key).
            {"key": "api_key", "value": "", "type": "secret", "enabled": true},
            // Empty: the token carries every scope the application holds.
            {"key": "scope", "value": "", "type": "default", "enabled": true},
        ],
        "_postman_variable_scope": "environment",
    })
}
