//! `types.py`: one type per `components.schemas` entry (a TypedDict for an object, a
//! `Literal` alias for a string enum, an alias otherwise), plus a TypedDict for each inline
//! object the schemas, bodies and responses contain (named after where it sits).
//!
//! Python evaluates base classes and alias right-hand sides at import time, so those names
//! are defined first (a depth-first walk); every other reference to a type not defined yet
//! (recursive schemas, forward references) is a string, which TypedDicts accept on 3.9.

use super::syntax;
use crate::model::{Api, NamedType, ObjectSchema, Property, Schema};
use crate::names;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Names the generated modules import, which a type must not shadow.
const RESERVED: [&str; 17] = [
    "Any",
    "Callable",
    "Dict",
    "Iterator",
    "List",
    "Literal",
    "Mapping",
    "Optional",
    "Sequence",
    "Type",
    "TypedDict",
    "Union",
    "BaseClient",
    "Operation",
    "iterate_cursor",
    "iterate_pages",
    "cast",
];

pub struct Types<'a> {
    api: &'a Api,
    /// Schema name → Python name.
    names: HashMap<String, String>,
    /// Python names in use in `types.py`.
    taken: HashSet<String>,
    /// Python names already written (usable without quotes).
    emitted: HashSet<String>,
    /// Schemas being written (a base or alias cycle falls back to `Any`).
    in_progress: HashSet<String>,
    /// Python names that are TypedDict classes (usable as bases).
    classes: HashSet<String>,
    definitions: Vec<String>,
    typing: BTreeSet<&'static str>,
    /// Python type names used since the last `take_referenced` (what another module imports).
    referenced: BTreeSet<String>,
}

impl<'a> Types<'a> {
    pub fn new(api: &'a Api) -> Self {
        let mut types = Types {
            api,
            names: HashMap::new(),
            taken: RESERVED.iter().map(|s| (*s).to_owned()).collect(),
            emitted: HashSet::new(),
            in_progress: HashSet::new(),
            classes: HashSet::new(),
            definitions: Vec::new(),
            typing: BTreeSet::new(),
            referenced: BTreeSet::new(),
        };
        for named in &api.types {
            let python = types.unique(&names::pascal(&named.name));
            types.names.insert(named.name.clone(), python);
        }
        types
    }

    /// A Python name not used yet in `types.py`, from `wanted`.
    fn unique(&mut self, wanted: &str) -> String {
        let mut candidate = wanted.to_owned();
        if self.taken.contains(&candidate) || syntax::is_keyword(&candidate) {
            candidate = format!("{wanted}Model");
        }
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{wanted}{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }

    /// The Python name of a component schema.
    pub fn python_name(&self, schema_name: &str) -> Option<&str> {
        self.names.get(schema_name).map(String::as_str)
    }

    /// Writes every component schema, in document order (dependencies first).
    pub fn render_components(&mut self) {
        for named in &self.api.types {
            self.ensure(&named.name);
        }
    }

    /// Writes a component schema if it is not written yet; false if it cannot be written
    /// now (unknown, or part of a base/alias cycle).
    fn ensure(&mut self, schema_name: &str) -> bool {
        let Some(python) = self.names.get(schema_name).cloned() else {
            return false;
        };
        if self.emitted.contains(&python) {
            return true;
        }
        if self.in_progress.contains(schema_name) {
            return false;
        }
        let Some(named) = self.api.named(schema_name) else {
            return false;
        };
        self.in_progress.insert(schema_name.to_owned());
        self.render_named(named, &python);
        self.in_progress.remove(schema_name);
        true
    }

    fn render_named(&mut self, named: &'a NamedType, python: &str) {
        let description = named.description.as_deref();
        match &named.schema {
            Schema::Object(object) if !object.properties.is_empty() => {
                self.typed_dict(python, description, Vec::new(), &object.properties);
            }
            Schema::AllOf(parts) => match self.composition(parts) {
                Some((bases, properties)) => {
                    self.typed_dict(python, description, bases, &properties);
                }
                None => {
                    self.typing.insert("Any");
                    self.typing.insert("Dict");
                    self.alias(python, description, "Dict[str, Any]");
                }
            },
            Schema::Ref(target) => {
                let right = if self.ensure(target) {
                    let target = self.names.get(target).cloned().unwrap_or_default();
                    if self.classes.contains(&target) {
                        self.classes.insert(python.to_owned());
                    }
                    target
                } else {
                    self.typing.insert("Any");
                    "Any".into()
                };
                self.alias(python, description, &right);
            }
            other => {
                // A union's members are written first: a bare forward name would be a string.
                if let Schema::Union(parts) = other {
                    for part in parts {
                        if let Schema::Ref(target) = part {
                            self.ensure(target);
                        }
                    }
                }
                let mut right = self.annotation(other, python);
                if right.starts_with('"') {
                    self.typing.insert("Any");
                    right = "Any".into();
                }
                self.alias(python, description, &right);
            }
        }
    }

    fn alias(&mut self, python: &str, description: Option<&str>, right: &str) {
        let mut text = String::new();
        if let Some(description) = description {
            text.push_str(&syntax::attribute_comment(description, ""));
        }
        text.push_str(&syntax::fit(&format!("{python} = "), right, ""));
        text.push('\n');
        self.definitions.push(text);
        self.emitted.insert(python.to_owned());
    }

    /// `allOf` as TypedDict bases and own properties, when every part is an object.
    fn composition(&mut self, parts: &[Schema]) -> Option<(Vec<String>, Vec<Property>)> {
        let mut bases = Vec::new();
        let mut properties: Vec<Property> = Vec::new();
        for part in parts {
            match part {
                Schema::Ref(target) => {
                    let python = self.names.get(target).cloned()?;
                    if !self.ensure(target) || !self.classes.contains(&python) {
                        return None;
                    }
                    if !bases.contains(&python) {
                        bases.push(python);
                    }
                }
                Schema::Object(ObjectSchema {
                    properties: own, ..
                }) => {
                    for property in own {
                        properties.retain(|p| p.name != property.name);
                        properties.push(property.clone());
                    }
                }
                _ => return None,
            }
        }
        Some((bases, properties))
    }

    /// A TypedDict: class syntax when every key is a plain identifier, else the functional
    /// syntax for the keys (as bases of the documented class). Required and optional keys
    /// go in two classes (`total=False` for the second), as Python 3.9 has no `NotRequired`.
    fn typed_dict(
        &mut self,
        python: &str,
        description: Option<&str>,
        bases: Vec<String>,
        properties: &[Property],
    ) {
        self.typing.insert("TypedDict");
        let fields: Vec<(&Property, String)> = properties
            .iter()
            .map(|p| {
                let hint = format!("{python}{}", names::pascal(&p.name));
                (p, self.annotation(&p.schema, &hint))
            })
            .collect();
        let (required, optional): (Vec<_>, Vec<_>) = fields.iter().partition(|(p, _)| p.required);
        let mut text = String::new();
        let class_syntax = properties
            .iter()
            .all(|p| syntax::is_plain_identifier(&p.name));
        let base_list = if bases.is_empty() {
            "TypedDict".to_owned()
        } else {
            bases.join(", ")
        };
        let doc = description.map(|d| syntax::docstring(d, "    "));
        if class_syntax {
            let field_lines = |fields: &[&(&Property, String)]| -> String {
                fields
                    .iter()
                    .map(|(p, annotation)| {
                        let comment = p
                            .description
                            .as_deref()
                            .map(|d| syntax::attribute_comment(d, "    "))
                            .unwrap_or_default();
                        let field = syntax::fit(&format!("    {}: ", p.name), annotation, "    ");
                        format!("{comment}{field}\n")
                    })
                    .collect()
            };
            let body = |doc: Option<&String>, lines: String| -> String {
                match (doc, lines.is_empty()) {
                    (Some(doc), true) => doc.clone(),
                    (Some(doc), false) => format!("{doc}\n{lines}"),
                    (None, true) => "    pass\n".into(),
                    (None, false) => lines,
                }
            };
            if optional.is_empty() {
                text.push_str(&format!("class {python}({base_list}):\n"));
                text.push_str(&body(doc.as_ref(), field_lines(&required)));
            } else if required.is_empty() {
                text.push_str(&format!("class {python}({base_list}, total=False):\n"));
                text.push_str(&body(doc.as_ref(), field_lines(&optional)));
            } else {
                let required_class = self.unique(&format!("_{python}Required"));
                text.push_str(&format!("class {required_class}({base_list}):\n"));
                text.push_str(&field_lines(&required));
                text.push_str("\n\n");
                text.push_str(&format!("class {python}({required_class}, total=False):\n"));
                text.push_str(&body(doc.as_ref(), field_lines(&optional)));
            }
        } else {
            let functional = |name: &str, fields: &[&(&Property, String)], total: bool| {
                let mut out = format!(
                    "{name} = TypedDict(\n    {},\n    {{\n",
                    syntax::string(name)
                );
                for (p, annotation) in fields {
                    if let Some(d) = p.description.as_deref() {
                        out.push_str(&syntax::attribute_comment(d, "        "));
                    }
                    let prefix = format!("        {}: ", syntax::string(&p.name));
                    out.push_str(&syntax::fit(&prefix, annotation, "        "));
                    out.push_str(",\n");
                }
                out.push_str("    },\n");
                if !total {
                    out.push_str("    total=False,\n");
                }
                out.push_str(")\n");
                out
            };
            let mut all_bases = bases;
            if !required.is_empty() {
                let name = self.unique(&format!("_{python}Required"));
                text.push_str(&functional(&name, &required, true));
                text.push('\n');
                all_bases.push(name);
            }
            if !optional.is_empty() {
                let name = self.unique(&format!("_{python}Optional"));
                text.push_str(&functional(&name, &optional, false));
                text.push('\n');
                all_bases.push(name);
            }
            text.push_str(&format!("\nclass {python}({}):\n", all_bases.join(", ")));
            text.push_str(&doc.unwrap_or_else(|| "    pass\n".into()));
        }
        self.definitions.push(text);
        self.emitted.insert(python.to_owned());
        self.classes.insert(python.to_owned());
    }

    /// The type expression of a schema. Inline objects become TypedDicts named `hint` (made
    /// unique); references to types not written yet are quoted.
    pub fn annotation(&mut self, schema: &Schema, hint: &str) -> String {
        match schema {
            Schema::Ref(name) => match self.names.get(name).cloned() {
                Some(python) => {
                    self.referenced.insert(python.clone());
                    if self.emitted.contains(&python) {
                        python
                    } else {
                        syntax::string(&python)
                    }
                }
                None => self.any(),
            },
            Schema::String {
                enumeration: Some(values),
                ..
            } if !values.is_empty() => {
                self.typing.insert("Literal");
                let values: Vec<String> = values.iter().map(|v| syntax::string(v)).collect();
                format!("Literal[{}]", values.join(", "))
            }
            Schema::String { .. } => "str".into(),
            Schema::Integer => "int".into(),
            Schema::Number => "float".into(),
            Schema::Boolean => "bool".into(),
            Schema::Null => "None".into(),
            Schema::Any => self.any(),
            Schema::Array(item) => {
                self.typing.insert("List");
                format!("List[{}]", self.annotation(item, &singular(hint)))
            }
            Schema::Map(value) => {
                self.typing.insert("Dict");
                format!(
                    "Dict[str, {}]",
                    self.annotation(value, &format!("{hint}Value"))
                )
            }
            Schema::Union(parts) => {
                let mut members: Vec<String> = Vec::new();
                let mut nullable = false;
                for (i, part) in parts.iter().enumerate() {
                    let member = self.annotation(part, &format!("{hint}{}", i + 1));
                    if member == "None" {
                        nullable = true;
                    } else if !members.contains(&member) {
                        members.push(member);
                    }
                }
                let inner = match members.len() {
                    0 => return "None".into(),
                    1 => members.remove(0),
                    _ => {
                        self.typing.insert("Union");
                        format!("Union[{}]", members.join(", "))
                    }
                };
                if nullable {
                    self.typing.insert("Optional");
                    format!("Optional[{inner}]")
                } else {
                    inner
                }
            }
            Schema::AllOf(parts) => match self.composition(parts) {
                Some((bases, properties)) => {
                    let python = self.unique(hint);
                    self.typed_dict(&python, None, bases, &properties);
                    self.referenced.insert(python.clone());
                    python
                }
                None => self.open_object(),
            },
            Schema::Object(object) if object.properties.is_empty() => self.open_object(),
            Schema::Object(object) => {
                let python = self.unique(hint);
                self.typed_dict(&python, None, Vec::new(), &object.properties);
                self.referenced.insert(python.clone());
                python
            }
        }
    }

    fn any(&mut self) -> String {
        self.typing.insert("Any");
        "Any".into()
    }

    fn open_object(&mut self) -> String {
        self.typing.insert("Any");
        self.typing.insert("Dict");
        "Dict[str, Any]".into()
    }

    /// The type names used since the last call (to import them elsewhere).
    pub fn take_referenced(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.referenced)
    }

    /// Follows references to the schema they name.
    pub fn resolve<'s>(&'s self, schema: &'s Schema) -> &'s Schema {
        let mut current = schema;
        for _ in 0..16 {
            match current {
                Schema::Ref(name) => match self.api.named(name) {
                    Some(named) => current = &named.schema,
                    None => break,
                },
                _ => break,
            }
        }
        current
    }

    /// `types.py`.
    pub fn module(&self, heading: &str) -> String {
        let mut out = syntax::docstring(heading, "");
        out.push('\n');
        if !self.typing.is_empty() {
            let imported: Vec<&str> = self.typing.iter().copied().collect();
            out.push_str(&format!("from typing import {}\n", imported.join(", ")));
        }
        for definition in &self.definitions {
            out.push_str("\n\n");
            out.push_str(definition);
        }
        out
    }
}

/// The name of an array's item type: `OrderItems` → `OrderItem`, `Tags` → `Tag`, else
/// `…Item`.
fn singular(hint: &str) -> String {
    match hint.strip_suffix('s') {
        Some(stem) if !stem.ends_with('s') && stem.len() > 1 => stem.to_owned(),
        _ => format!("{hint}Item"),
    }
}
