//! "What changed from vN to vN+1", computed from the two models: operations added, removed
//! and changed (method, path, parameters, request and response fields), each change marked
//! breaking when a client written for the older version could fail against the newer one.

use crate::reference::{OperationDoc, VersionDoc};
use crate::schema::SchemaRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changelog {
    pub from: String,
    pub to: String,
    pub operations: Vec<OperationChanges>,
}

impl Changelog {
    pub fn breaking_count(&self) -> usize {
        self.operations
            .iter()
            .flat_map(|o| &o.changes)
            .filter(|c| c.breaking)
            .count()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationChanges {
    pub operation_id: String,
    pub summary: String,
    pub kind: ChangeKind,
    pub changes: Vec<Change>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub text: String,
    pub breaking: bool,
}

fn change(text: impl Into<String>, breaking: bool) -> Change {
    Change {
        text: text.into(),
        breaking,
    }
}

/// The path of an operation without its version prefix.
fn unversioned(op: &OperationDoc) -> &str {
    op.path
        .strip_prefix(&format!("/{}", op.version))
        .unwrap_or(&op.path)
}

pub fn compare(from: &VersionDoc, to: &VersionDoc) -> Changelog {
    let mut operations = Vec::new();
    for old in &from.operations {
        match to.operation(&old.id) {
            None => operations.push(OperationChanges {
                operation_id: old.id.clone(),
                summary: old.summary.clone(),
                kind: ChangeKind::Removed,
                changes: vec![change(
                    format!("{} {} is removed", old.method, unversioned(old)),
                    true,
                )],
            }),
            Some(new) => {
                let changes = operation_changes(old, new);
                if !changes.is_empty() {
                    operations.push(OperationChanges {
                        operation_id: new.id.clone(),
                        summary: new.summary.clone(),
                        kind: ChangeKind::Changed,
                        changes,
                    });
                }
            }
        }
    }
    for new in &to.operations {
        if from.operation(&new.id).is_none() {
            operations.push(OperationChanges {
                operation_id: new.id.clone(),
                summary: new.summary.clone(),
                kind: ChangeKind::Added,
                changes: vec![change(
                    format!("{} {} is new", new.method, unversioned(new)),
                    false,
                )],
            });
        }
    }
    Changelog {
        from: from.name.clone(),
        to: to.name.clone(),
        operations,
    }
}

fn operation_changes(old: &OperationDoc, new: &OperationDoc) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.method != new.method || unversioned(old) != unversioned(new) {
        changes.push(change(
            format!(
                "moved from {} {} to {} {}",
                old.method,
                unversioned(old),
                new.method,
                unversioned(new)
            ),
            true,
        ));
    }
    if old.scopes != new.scopes {
        changes.push(change(
            format!(
                "required scopes changed from {} to {}",
                old.scopes.join(" "),
                new.scopes.join(" ")
            ),
            true,
        ));
    }
    // Parameters, by place and name.
    let params = |op: &OperationDoc| -> BTreeMap<(String, String), (bool, String)> {
        op.parameters
            .iter()
            .map(|p| {
                (
                    (p.location.clone(), p.name.clone()),
                    (p.required, p.type_label.clone()),
                )
            })
            .collect()
    };
    let (old_params, new_params) = (params(old), params(new));
    for ((location, name), (_, old_type)) in &old_params {
        match new_params.get(&(location.clone(), name.clone())) {
            None => changes.push(change(
                format!("{location} parameter `{name}` is removed"),
                true,
            )),
            Some((new_required, new_type)) => {
                if old_type != new_type {
                    changes.push(change(
                        format!("{location} parameter `{name}` changed type from {old_type} to {new_type}"),
                        true,
                    ));
                }
                let was_required = old_params
                    .get(&(location.clone(), name.clone()))
                    .is_some_and(|(r, _)| *r);
                if *new_required && !was_required {
                    changes.push(change(
                        format!("{location} parameter `{name}` is now required"),
                        true,
                    ));
                }
            }
        }
    }
    for ((location, name), (required, _)) in &new_params {
        if !old_params.contains_key(&(location.clone(), name.clone())) {
            let text = if *required {
                format!("new required {location} parameter `{name}`")
            } else {
                format!("new optional {location} parameter `{name}`")
            };
            changes.push(change(text, *required));
        }
    }
    // Request body fields: a new required field or a removed / retyped one breaks clients.
    let rows = |op: &OperationDoc| -> Vec<SchemaRow> {
        op.request_body
            .as_ref()
            .map(|b| b.rows.clone())
            .unwrap_or_default()
    };
    fields(
        &rows(old),
        &rows(new),
        "request",
        &mut changes,
        |kind| match kind {
            FieldChange::Added { required } => required,
            FieldChange::Removed | FieldChange::Retyped | FieldChange::NowRequired => true,
        },
    );
    // Success response fields: a removed or retyped field breaks readers; a new one does not.
    let response_rows = |op: &OperationDoc| -> Vec<SchemaRow> {
        op.responses
            .iter()
            .find(|r| r.status.starts_with('2'))
            .and_then(|r| r.body.as_ref())
            .map(|b| b.rows.clone())
            .unwrap_or_default()
    };
    fields(
        &response_rows(old),
        &response_rows(new),
        "response",
        &mut changes,
        |kind| matches!(kind, FieldChange::Removed | FieldChange::Retyped),
    );
    changes
}

#[derive(Clone, Copy)]
enum FieldChange {
    Added { required: bool },
    Removed,
    Retyped,
    NowRequired,
}

/// A row's type without the name of the schema it refers to (a renamed schema of the same
/// shape is no change).
fn base_type(row: &SchemaRow) -> String {
    match &row.schema_name {
        Some(name) => row
            .type_label
            .replace(&format!(" ({name})"), "")
            .replace(&format!("array of {name}"), "array of object"),
        None => row.type_label.clone(),
    }
}

fn fields(
    old: &[SchemaRow],
    new: &[SchemaRow],
    side: &str,
    changes: &mut Vec<Change>,
    breaking: impl Fn(FieldChange) -> bool,
) {
    let index = |rows: &[SchemaRow]| -> BTreeMap<String, (String, bool)> {
        rows.iter()
            .map(|r| (r.path.clone(), (base_type(r), r.required)))
            .collect()
    };
    let (old_fields, new_fields) = (index(old), index(new));
    // Only the top-most removed or added path of a subtree is listed.
    let under_listed = |path: &str, listed: &[String]| {
        listed
            .iter()
            .any(|p| path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}[]")))
    };
    let mut removed: Vec<String> = Vec::new();
    for (path, (old_type, old_required)) in &old_fields {
        match new_fields.get(path) {
            None => {
                if !under_listed(path, &removed) {
                    changes.push(change(
                        format!("{side} field `{path}` ({old_type}) is removed"),
                        breaking(FieldChange::Removed),
                    ));
                    removed.push(path.clone());
                }
            }
            Some((new_type, new_required)) => {
                if old_type != new_type {
                    changes.push(change(
                        format!("{side} field `{path}` changed type from {old_type} to {new_type}"),
                        breaking(FieldChange::Retyped),
                    ));
                }
                if *new_required && !old_required && side == "request" {
                    changes.push(change(
                        format!("{side} field `{path}` is now required"),
                        breaking(FieldChange::NowRequired),
                    ));
                }
            }
        }
    }
    let mut added: Vec<String> = Vec::new();
    for (path, (new_type, required)) in &new_fields {
        if !old_fields.contains_key(path) && !under_listed(path, &added) {
            let required = *required && side == "request";
            changes.push(change(
                format!(
                    "new {}{side} field `{path}` ({new_type})",
                    if required { "required " } else { "" }
                ),
                breaking(FieldChange::Added { required }),
            ));
            added.push(path.clone());
        }
    }
}
