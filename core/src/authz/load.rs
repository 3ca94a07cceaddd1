//! Reading, parsing and strictly validating the schema and policies, with errors that point at
//! `file:line:column`.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use cedar_policy as cedar;
use cedar_policy::ffi::DetailedError;
use include_dir::{Dir, include_dir};

use crate::CoreError;

/// The copy of `content/policies/` built into the binary.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../content/policies");

/// How the embedded files are named in messages.
const EMBEDDED_PREFIX: &str = "content/policies";

/// The schema's file name inside the policy directory. Other `*.cedarschema` files there are
/// fragments of the same schema (e.g. an added API's entity types and actions).
pub(super) const SCHEMA_FILE: &str = "schema.cedarschema";

/// The extension of schema files.
const SCHEMA_EXTENSION: &str = "cedarschema";

/// One source file: the name used in messages, and its text.
pub(super) struct SourceFile {
    pub name: String,
    pub text: String,
}

pub(super) struct Sources {
    /// `schema.cedarschema` first, then the other `*.cedarschema` files sorted by name.
    pub schemas: Vec<SourceFile>,
    /// The `*.cedar` files, sorted by file name.
    pub policies: Vec<SourceFile>,
}

pub(super) struct Compiled {
    pub schema: cedar::Schema,
    /// The actions and entity types, with attributes.
    pub facts: super::schema::SchemaFacts,
    /// Every policy, renamed to its `@id`.
    pub policies: cedar::PolicySet,
    /// `@id` → `file:line`.
    pub locations: BTreeMap<String, String>,
}

fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::Invalid(message.into())
}

/// Reads `dir/schema.cedarschema`, the other `dir/*.cedarschema` fragments and `dir/*.cedar`
/// (not recursively: `dir/tests/` holds the example requests).
pub(super) fn read_dir(dir: &Path) -> Result<Sources, CoreError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map(|text| SourceFile {
            name: path.display().to_string(),
            text,
        })
    };
    let schema_path = dir.join(SCHEMA_FILE);
    let schema = read(&schema_path).map_err(|e| {
        invalid(format!(
            "{}: cannot read schema: {e}",
            schema_path.display()
        ))
    })?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| invalid(format!("{}: cannot list policies: {e}", dir.display())))?;
    let mut paths = Vec::new();
    let mut fragment_paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| invalid(format!("{}: cannot list policies: {e}", dir.display())))?
            .path();
        if !path.is_file() {
            continue;
        }
        if path.extension().is_some_and(|ext| ext == "cedar") {
            paths.push(path);
        } else if path.extension().is_some_and(|ext| ext == SCHEMA_EXTENSION)
            && path.file_name().is_some_and(|name| name != SCHEMA_FILE)
        {
            fragment_paths.push(path);
        }
    }
    paths.sort();
    fragment_paths.sort();
    let read_all = |paths: &[std::path::PathBuf]| {
        paths
            .iter()
            .map(|path| {
                read(path).map_err(|e| invalid(format!("{}: cannot read: {e}", path.display())))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let policies = read_all(&paths)?;
    let mut schemas = vec![schema];
    schemas.extend(read_all(&fragment_paths)?);
    Ok(Sources { schemas, policies })
}

/// The embedded copy of `content/policies/`.
pub(super) fn read_embedded() -> Result<Sources, CoreError> {
    let text = |file: &include_dir::File<'_>| {
        let name = format!("{EMBEDDED_PREFIX}/{}", file.path().display());
        match file.contents_utf8() {
            Some(text) => Ok(SourceFile {
                name,
                text: text.to_owned(),
            }),
            None => Err(invalid(format!("{name}: not UTF-8"))),
        }
    };
    let schema = EMBEDDED
        .get_file(SCHEMA_FILE)
        .ok_or_else(|| invalid(format!("{EMBEDDED_PREFIX}/{SCHEMA_FILE}: missing")))?;
    let mut schemas = vec![text(schema)?];
    let with_extension = |extension: &str| {
        let mut files: Vec<_> = EMBEDDED
            .files()
            .filter(|file| file.path().extension().is_some_and(|ext| ext == extension))
            .filter(|file| {
                file.path()
                    .file_name()
                    .is_some_and(|name| name != SCHEMA_FILE)
            })
            .collect();
        files.sort_by_key(|file| file.path());
        files
    };
    for fragment in with_extension(SCHEMA_EXTENSION) {
        schemas.push(text(fragment)?);
    }
    let policies = with_extension("cedar")
        .into_iter()
        .map(text)
        .collect::<Result<_, _>>()?;
    Ok(Sources { schemas, policies })
}

/// Parses and validates everything; all problems found are reported together, one per line.
pub(super) fn compile(sources: Sources) -> Result<Compiled, CoreError> {
    let Sources {
        schemas: schema_files,
        policies: policy_files,
    } = sources;
    let (schema, facts) = compile_schema(&schema_files)?;
    let Some(schema_file) = schema_files.first() else {
        return Err(invalid("no Cedar schema"));
    };
    if policy_files.is_empty() {
        return Err(invalid(format!(
            "no *.cedar policy file next to {}",
            schema_file.name
        )));
    }

    let mut errors = Vec::new();
    let mut policies = cedar::PolicySet::new();
    // `@id` → (index into policy_files, `file:line`)
    let mut ids: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (index, file) in policy_files.iter().enumerate() {
        let parsed = match cedar::PolicySet::from_str(&file.text) {
            Ok(parsed) => parsed,
            Err(parse_errors) => {
                errors.extend(
                    parse_errors
                        .iter()
                        .map(|e| located(file, &DetailedError::from(e))),
                );
                continue;
            }
        };
        if let Some(template) = parsed.templates().next() {
            let at = line_of_policy(file, &template.to_string(), 0);
            errors.push(format!(
                "{}:{at}: policy templates (with ?principal or ?resource) are not supported",
                file.name
            ));
            continue;
        }
        let mut search_from = 0;
        for policy in parsed.policies() {
            let text = policy.to_string();
            let offset = offset_of_policy(&file.text, &text, search_from);
            search_from = offset + text.len();
            let (line, column) = line_column(&file.text, offset);
            let here = format!("{}:{line}:{column}", file.name);
            let id = match policy.annotation("id") {
                Some(id) if !id.trim().is_empty() => id.to_owned(),
                Some(_) => {
                    errors.push(format!("{here}: the policy's @id annotation is empty"));
                    continue;
                }
                None => {
                    errors.push(format!(
                        "{here}: the policy has no @id(\"...\") annotation; every policy needs a \
                         unique one, e.g. @id(\"applications-read-own-tenant\")"
                    ));
                    continue;
                }
            };
            if let Some((_, first)) = ids.get(&id) {
                errors.push(format!(
                    "{here}: duplicate @id(\"{id}\"), already used by the policy at {first}"
                ));
                continue;
            }
            let renamed = policy.new_id(cedar::PolicyId::new(&id));
            if let Err(e) = policies.add(renamed) {
                errors.push(format!("{here}: {}", DetailedError::from(&e).message));
                continue;
            }
            ids.insert(id, (index, format!("{}:{line}", file.name)));
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors.join("\n")));
    }

    let result =
        cedar::Validator::new(schema.clone()).validate(&policies, cedar::ValidationMode::Strict);
    let file_of = |policy_id: &cedar::PolicyId| {
        ids.get::<str>(policy_id.as_ref())
            .and_then(|(index, _)| policy_files.get(*index))
    };
    for warning in result.validation_warnings() {
        let detail = DetailedError::from(warning);
        match file_of(warning.policy_id()) {
            Some(file) => tracing::warn!("{}", located(file, &detail)),
            None => tracing::warn!("{}", detail.message),
        }
    }
    let errors: Vec<String> = result
        .validation_errors()
        .map(|error| {
            let detail = DetailedError::from(error);
            match file_of(error.policy_id()) {
                Some(file) => located(file, &detail),
                None => format!("policy {}: {}", error.policy_id(), detail.message),
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(invalid(errors.join("\n")));
    }

    let locations = ids.into_iter().map(|(id, (_, at))| (id, at)).collect();
    Ok(Compiled {
        schema,
        facts,
        policies,
        locations,
    })
}

/// Parses every schema file as a fragment and links them into one schema; all parse problems
/// come back together, each located in its file.
fn compile_schema(
    files: &[SourceFile],
) -> Result<(cedar::Schema, super::schema::SchemaFacts), CoreError> {
    let mut errors = Vec::new();
    let mut fragments = Vec::new();
    let mut fragments_json = Vec::new();
    for file in files {
        match cedar::SchemaFragment::from_cedarschema_str(&file.text) {
            Ok((fragment, warnings)) => {
                for warning in warnings {
                    tracing::warn!("{}", located(file, &DetailedError::from(&warning)));
                }
                match fragment
                    .to_json_string()
                    .ok()
                    .and_then(|json| serde_json::from_str(&json).ok())
                {
                    Some(json) => fragments_json.push(json),
                    None => errors.push(format!("{}: cannot read its entity types", file.name)),
                }
                fragments.push(fragment);
            }
            Err(e) => errors.push(located(file, &DetailedError::from(&e))),
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors.join("\n")));
    }
    match cedar::Schema::from_schema_fragments(fragments) {
        Ok(schema) => {
            let facts = super::schema::SchemaFacts::new(&schema, &fragments_json);
            Ok((schema, facts))
        }
        Err(e) => {
            // Linking problems (a type declared twice, a name no fragment declares) carry an
            // offset but not their file: it is the file whose text there is what the message
            // names (with one file, that file).
            let detail = DetailedError::from(&e);
            let origin = detail.source_locations.first().and_then(|label| {
                let span = label.loc.start..label.loc.end;
                files.iter().find(|file| {
                    files.len() == 1
                        || file
                            .text
                            .get(span.clone())
                            .is_some_and(|text| !text.is_empty() && detail.message.contains(text))
                })
            });
            match origin {
                Some(file) => Err(invalid(located(file, &detail))),
                None => {
                    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
                    let help = detail.help.map(|h| format!(" ({h})")).unwrap_or_default();
                    Err(invalid(format!(
                        "{}: {}{help}",
                        names.join(" + "),
                        detail.message
                    )))
                }
            }
        }
    }
}

/// `file:line:column: message (help)`, one line per related error.
fn located(file: &SourceFile, detail: &DetailedError) -> String {
    let mut out = match detail.source_locations.first() {
        Some(label) => {
            let (line, column) = line_column(&file.text, label.loc.start);
            format!("{}:{line}:{column}: {}", file.name, detail.message)
        }
        None => format!("{}: {}", file.name, detail.message),
    };
    if let Some(help) = &detail.help {
        out.push_str(" (");
        out.push_str(help);
        out.push(')');
    }
    for related in &detail.related {
        out.push('\n');
        out.push_str(&located(file, related));
    }
    out
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for (at, c) in text.char_indices() {
        if at >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// Byte offset of a policy's source text in its file, searching from `from` first (policies come
/// in file order), 0 when not found.
fn offset_of_policy(file: &str, policy: &str, from: usize) -> usize {
    file.get(from..)
        .and_then(|rest| rest.find(policy))
        .map(|at| at + from)
        .or_else(|| file.find(policy))
        .unwrap_or(0)
}

fn line_of_policy(file: &SourceFile, policy: &str, from: usize) -> usize {
    line_column(&file.text, offset_of_policy(&file.text, policy, from)).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_lines_and_characters() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 1), (1, 2));
        assert_eq!(line_column(text, 3), (2, 1));
        // "é" is two bytes: "f" is at byte 8, line 3 column 1.
        assert_eq!(line_column(text, 8), (3, 1));
        assert_eq!(line_column(text, 7), (2, 4));
        assert_eq!(line_column(text, 100), (3, 2));
    }

    #[test]
    fn shipped_policies_validate_without_warnings() {
        let compiled = compile(read_embedded().expect("embedded")).expect("compiles");
        let result = cedar::Validator::new(compiled.schema)
            .validate(&compiled.policies, cedar::ValidationMode::Strict);
        let warnings: Vec<String> = result
            .validation_warnings()
            .map(ToString::to_string)
            .collect();
        assert!(result.validation_passed_without_warnings(), "{warnings:?}");
    }

    #[test]
    fn embedded_copy_has_schema_and_policies() {
        let sources = read_embedded().expect("embedded");
        assert!(
            sources.schemas[0]
                .name
                .ends_with("content/policies/schema.cedarschema")
        );
        assert!(!sources.policies.is_empty());
        let names: Vec<_> = sources.policies.iter().map(|f| f.name.clone()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("content/policies/") && n.ends_with(".cedar"))
        );
    }
}
