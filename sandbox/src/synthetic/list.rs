//! Listing a collection: equality filters, provider preferences, cursor or page pagination,
//! and the ordered scans of stored items they read.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portico_core::CoreResult;
use portico_core::sandbox_data::{self, CollectionKey};
use serde_json::{Map, Value};

use super::{BackendRequest, BackendResponse, SyntheticBackend, scalar_text, storage_key, view_of};
use crate::model::{Pagination, ParamLocation, SandboxBinding};
use crate::validate::{FieldError, validation_error_body};

/// Rows read per round trip while scanning a collection.
const SCAN_CHUNK: u32 = 200;
impl SyntheticBackend {
    pub(super) async fn list(
        &self,
        request: &BackendRequest<'_>,
        binding: &SandboxBinding,
    ) -> CoreResult<BackendResponse> {
        self.ensure_seeded(request.tenant, &binding.storage).await?;
        let key = storage_key(&binding.storage, request.tenant);
        let filters = equality_filters(request, binding);
        let preferences = request
            .preferences
            .filter(|p| !p.is_empty())
            .zip(binding.provider_field.as_deref());
        // `max_providers` depends on the whole list: find the chosen providers first.
        let chosen = match preferences {
            Some((prefs, field)) if prefs.max_providers.is_some() => {
                let mut providers = Vec::new();
                self.scan(key, binding, None, |item| {
                    if let Some(p) = item.get(field).and_then(Value::as_str) {
                        providers.push(p.to_owned());
                    }
                    true
                })
                .await?;
                prefs.chosen(providers.iter().map(String::as_str))
            }
            _ => None,
        };
        let matches = |item: &Value| {
            let provider_ok = match preferences {
                None => true,
                Some((prefs, field)) => match item.get(field).and_then(Value::as_str) {
                    None => prefs.allowed_providers.is_none() && prefs.max_providers.is_none(),
                    Some(provider) => {
                        prefs.permits(provider)
                            && chosen
                                .as_ref()
                                .is_none_or(|c| c.iter().any(|p| p.eq_ignore_ascii_case(provider)))
                    }
                },
            };
            provider_ok
                && filters.iter().all(|(name, wanted)| {
                    item.get(name.as_str())
                        .and_then(scalar_text)
                        .is_some_and(|have| wanted.contains(&have))
                })
        };

        match &binding.pagination {
            None => {
                let mut items = Vec::new();
                self.scan(key, binding, None, |item| {
                    if matches(&item) {
                        items.push(item);
                    }
                    true
                })
                .await?;
                Ok(BackendResponse::json(
                    request.operation.success_status,
                    Value::Array(items),
                ))
            }
            Some(Pagination::Cursor {
                cursor_param,
                limit_param,
                default_limit,
                max_limit,
                items_field,
                next_cursor_field,
            }) => {
                let after = match query_value(request.query, cursor_param) {
                    None => None,
                    Some(text) => match decode_cursor(text) {
                        Some(position) => Some(position),
                        None => {
                            let errors = [FieldError::new(
                                format!("query.{cursor_param}"),
                                "is not a cursor returned by this API",
                            )];
                            return Ok(BackendResponse::json(
                                StatusCode::BAD_REQUEST,
                                validation_error_body(&errors, None),
                            ));
                        }
                    },
                };
                let limit = page_size(request.query, limit_param, *default_limit, *max_limit);
                let mut items: Vec<(i64, String, Value)> = Vec::new();
                let mut more = false;
                self.scan_positions(
                    key,
                    binding,
                    after.as_ref().map(|(seq, id)| (*seq, id.as_str())),
                    |seq, id, item| {
                        if !matches(&item) {
                            return true;
                        }
                        if items.len() >= limit as usize {
                            more = true;
                            return false;
                        }
                        items.push((seq, id.to_owned(), item));
                        true
                    },
                )
                .await?;
                let next = match items.last() {
                    Some((seq, id, _)) if more => Value::from(encode_cursor(*seq, id)),
                    _ => Value::Null,
                };
                let mut body = Map::new();
                body.insert(
                    items_field.clone(),
                    Value::Array(items.into_iter().map(|(_, _, item)| item).collect()),
                );
                body.insert(next_cursor_field.clone(), next);
                Ok(BackendResponse::json(
                    request.operation.success_status,
                    Value::Object(body),
                ))
            }
            Some(Pagination::Page {
                page_param,
                size_param,
                default_size,
                max_size,
                items_field,
                total_field,
            }) => {
                let page = query_value(request.query, page_param)
                    .and_then(|p| p.parse::<u64>().ok())
                    .unwrap_or(1)
                    .max(1);
                let size = page_size(request.query, size_param, *default_size, *max_size);
                let skip = (page - 1).saturating_mul(u64::from(size));
                let mut total: u64 = 0;
                let mut items = Vec::new();
                self.scan(key, binding, None, |item| {
                    if matches(&item) {
                        if total >= skip && items.len() < size as usize {
                            items.push(item);
                        }
                        total += 1;
                    }
                    true
                })
                .await?;
                let mut body = Map::new();
                body.insert(items_field.clone(), Value::Array(items));
                body.insert(page_param.clone(), Value::from(page));
                body.insert(size_param.clone(), Value::from(size));
                if let Some(field) = total_field {
                    body.insert(field.clone(), Value::from(total));
                }
                Ok(BackendResponse::json(
                    request.operation.success_status,
                    Value::Object(body),
                ))
            }
        }
    }

    /// Visits the collection's items in order, as the binding's version shows them, until
    /// `visit` returns false.
    async fn scan(
        &self,
        key: CollectionKey<'_>,
        binding: &SandboxBinding,
        after: Option<(i64, &str)>,
        mut visit: impl FnMut(Value) -> bool,
    ) -> CoreResult<()> {
        self.scan_positions(key, binding, after, |_, _, item| visit(item))
            .await
    }

    async fn scan_positions(
        &self,
        key: CollectionKey<'_>,
        binding: &SandboxBinding,
        after: Option<(i64, &str)>,
        mut visit: impl FnMut(i64, &str, Value) -> bool,
    ) -> CoreResult<()> {
        let mut position: Option<(i64, String)> = after.map(|(seq, id)| (seq, id.to_owned()));
        loop {
            let chunk = sandbox_data::scan(
                &self.db,
                key,
                position.as_ref().map(|(seq, id)| (*seq, id.as_str())),
                SCAN_CHUNK,
            )
            .await?;
            let full = chunk.len() == SCAN_CHUNK as usize;
            for object in &chunk {
                let Ok(item) = serde_json::from_str::<Value>(&object.body) else {
                    tracing::warn!(id = %object.id, "unreadable sandbox object skipped");
                    continue;
                };
                let item = match view_of(binding, item) {
                    Ok(item) => item,
                    Err(error) => {
                        tracing::warn!(id = %object.id, %error, "sandbox object without a view skipped");
                        continue;
                    }
                };
                if !visit(object.seq, &object.id, item) {
                    return Ok(());
                }
            }
            match chunk.last() {
                Some(last) if full => position = Some((last.seq, last.id.clone())),
                _ => return Ok(()),
            }
        }
    }
}

/// `(property, accepted values)` for query parameters that name item properties (pagination
/// parameters excluded).
fn equality_filters(
    request: &BackendRequest<'_>,
    binding: &SandboxBinding,
) -> Vec<(String, Vec<String>)> {
    let Some(properties) = binding
        .item_schema
        .get("properties")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let paging: Vec<&str> = match &binding.pagination {
        Some(Pagination::Cursor {
            cursor_param,
            limit_param,
            ..
        }) => vec![cursor_param, limit_param],
        Some(Pagination::Page {
            page_param,
            size_param,
            ..
        }) => vec![page_param, size_param],
        None => Vec::new(),
    };
    request
        .operation
        .parameters
        .iter()
        .filter(|p| {
            p.location == ParamLocation::Query
                && !paging.contains(&p.name.as_str())
                && properties.contains_key(&p.name)
        })
        .filter_map(|p| {
            let values: Vec<String> = request
                .query
                .iter()
                .filter(|(name, _)| *name == p.name)
                .flat_map(|(_, value)| {
                    if p.explode {
                        vec![value.clone()]
                    } else {
                        value.split(',').map(str::to_owned).collect()
                    }
                })
                .collect();
            (!values.is_empty()).then(|| (p.name.clone(), values))
        })
        .collect()
}
fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn page_size(query: &[(String, String)], name: &str, default: u32, max: u32) -> u32 {
    query_value(query, name)
        .and_then(|text| text.parse::<u32>().ok())
        .unwrap_or(default)
        .clamp(1, max.max(1))
}

/// An opaque cursor: the position (seq, id) of the last item returned.
fn encode_cursor(seq: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{seq}:{id}"))
}

fn decode_cursor(text: &str) -> Option<(i64, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (seq, id) = text.split_once(':')?;
    Some((seq.parse().ok()?, id.to_owned()))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = encode_cursor(42, "ord_01abc");
        assert_eq!(decode_cursor(&cursor), Some((42, "ord_01abc".to_owned())));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("x:y")), None);
    }
}
