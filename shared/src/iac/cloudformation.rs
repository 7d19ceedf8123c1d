//! CloudFormation (and SAM) templates, YAML or JSON: the `AWS::S3::Bucket` whose `BucketName`
//! is the bucket, and the `AWS::S3::BucketPolicy` whose `Bucket` is `!Ref` to it (or its name).
//!
//! The template is read as a value (YAML short-form tags such as `!Sub` become one-key maps,
//! `{"!Sub": ...}`, which serialise back to the same tags). The fix is decided on that value.
//! YAML files are then edited by splicing only the property blocks that change, located by
//! indentation, so comments and layout elsewhere survive; JSON files are re-serialised with
//! their indentation (JSON has no comments to keep).

use std::ops::Range;

use serde_json::{json, Map, Value};

use super::edit::{self, Splice};
use super::{
    canned_acl, canned_acl_is_public, FileEdit, FixRequest, IacError, IacFix, IacFormat,
    SourceFile, BPA_FLAGS,
};
use crate::plan::{apply_surgery, public_statement_surgery};
use crate::policy::PolicyKind;
use crate::snapshot::{
    BucketPolicy, OwnershipControls, OwnershipRule, PublicAccessBlock, Snapshot,
    BUCKET_OWNER_ENFORCED,
};

/// Whether a path may hold a template.
pub fn is_template_path(path: &str) -> bool {
    [".yaml", ".yml", ".json", ".template"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

/// Whether any file is a CloudFormation template.
pub fn any_template(files: &[&SourceFile]) -> bool {
    files.iter().any(|f| matches!(parse(f), Ok(Some(_))))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Yaml,
    Json,
}

/// The template as a value, or `None` when the file is not a template.
fn parse(file: &SourceFile) -> Result<Option<(Value, Syntax)>, IacError> {
    let syntax = if file.text.trim_start().starts_with('{') {
        Syntax::Json
    } else {
        Syntax::Yaml
    };
    let value: Result<Value, String> = match syntax {
        Syntax::Json => serde_json::from_str(&file.text).map_err(|e| e.to_string()),
        Syntax::Yaml => serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&file.text)
            .map_err(|e| e.to_string())
            .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string())),
    };
    let looks_like_template = file.text.contains("AWS::");
    match value {
        Ok(v) if v.get("Resources").is_some_and(Value::is_object) => Ok(Some((v, syntax))),
        Ok(_) => Ok(None),
        Err(reason) if looks_like_template => Err(IacError::Parse {
            path: file.path.clone(),
            reason,
        }),
        Err(_) => Ok(None),
    }
}

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.iter())
}

fn type_of(resource: &Value) -> Option<&str> {
    resource.get("Type").and_then(Value::as_str)
}

fn properties(resource: &Value) -> Option<&Map<String, Value>> {
    resource.get("Properties").and_then(Value::as_object)
}

/// `!Ref X` or `{"Ref": "X"}` -> X.
fn ref_target(value: &Value) -> Option<&str> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.get("Ref").or_else(|| map.get("!Ref"))?.as_str()
}

fn bucket_logical_id(template: &Value, bucket: &str) -> Vec<String> {
    resources(template)
        .filter(|(_, r)| type_of(r) == Some("AWS::S3::Bucket"))
        .filter(|(_, r)| {
            properties(r)
                .and_then(|p| p.get("BucketName"))
                .and_then(Value::as_str)
                == Some(bucket)
        })
        .map(|(id, _)| id.clone())
        .collect()
}

fn policy_logical_id(template: &Value, logical: &str, bucket: &str) -> Option<String> {
    resources(template)
        .filter(|(_, r)| type_of(r) == Some("AWS::S3::BucketPolicy"))
        .find(|(_, r)| {
            properties(r)
                .and_then(|p| p.get("Bucket"))
                .is_some_and(|b| ref_target(b) == Some(logical) || b.as_str() == Some(bucket))
        })
        .map(|(id, _)| id.clone())
}

/// An intrinsic-free rendering of a value for the evaluator.
fn flatten(value: &Value, logical: &str, bucket: &str, account: &str) -> Value {
    let sub = |s: &str| {
        s.replace(
            &format!("${{{logical}.Arn}}"),
            &format!("arn:aws:s3:::{bucket}"),
        )
        .replace(&format!("${{{logical}}}"), bucket)
        .replace("${AWS::AccountId}", account)
        .replace("${AWS::Partition}", "aws")
    };
    let as_text = |v: &Value| match flatten(v, logical, bucket, account) {
        Value::String(s) => s,
        other => other.to_string(),
    };
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| flatten(v, logical, bucket, account))
                .collect(),
        ),
        Value::Object(map) if map.len() == 1 => {
            let Some((key, inner)) = map.iter().next() else {
                return Value::Null;
            };
            let name = key.trim_start_matches('!').trim_start_matches("Fn::");
            match (name, inner) {
                ("Ref", Value::String(target)) => Value::String(if target == logical {
                    bucket.to_owned()
                } else if target == "AWS::AccountId" {
                    account.to_owned()
                } else {
                    format!("${{{target}}}")
                }),
                ("GetAtt", target) => {
                    let path = match target {
                        Value::String(s) => s.clone(),
                        Value::Array(parts) => parts
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("."),
                        other => other.to_string(),
                    };
                    Value::String(if path == format!("{logical}.Arn") {
                        format!("arn:aws:s3:::{bucket}")
                    } else {
                        format!("${{{path}}}")
                    })
                }
                ("Sub", Value::String(s)) => Value::String(sub(s)),
                ("Sub", Value::Array(parts)) => Value::String(
                    parts
                        .first()
                        .and_then(Value::as_str)
                        .map(&sub)
                        .unwrap_or_default(),
                ),
                ("Join", Value::Array(parts)) => {
                    let separator = parts.first().and_then(Value::as_str).unwrap_or("");
                    let items = parts
                        .get(1)
                        .and_then(Value::as_array)
                        .map(|list| list.iter().map(as_text).collect::<Vec<_>>())
                        .unwrap_or_default();
                    Value::String(items.join(separator))
                }
                _ if key.starts_with('!') || key.starts_with("Fn::") => {
                    Value::String(format!("${{{key}}}"))
                }
                _ => Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), flatten(v, logical, bucket, account)))
                        .collect(),
                ),
            }
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), flatten(v, logical, bucket, account)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn snapshot_of(
    template: &Value,
    logical: &str,
    policy: Option<&str>,
    request: &FixRequest<'_>,
) -> Snapshot {
    let props = template
        .get("Resources")
        .and_then(|r| r.get(logical))
        .and_then(properties);
    let get = |key: &str| props.and_then(|p| p.get(key));
    let document = policy
        .and_then(|id| template.get("Resources")?.get(id))
        .and_then(properties)
        .and_then(|p| p.get("PolicyDocument"))
        .map(|d| flatten(d, logical, request.bucket, request.account_id))
        .and_then(|d| BucketPolicy::from_text(d.to_string()).ok());
    let flag = |v: &Value, key: &str| {
        v.get(key)
            .is_some_and(|f| f.as_bool() == Some(true) || f.as_str() == Some("true"))
    };
    let bpa = get("PublicAccessBlockConfiguration").map(|v| PublicAccessBlock {
        block_public_acls: flag(v, "BlockPublicAcls"),
        ignore_public_acls: flag(v, "IgnorePublicAcls"),
        block_public_policy: flag(v, "BlockPublicPolicy"),
        restrict_public_buckets: flag(v, "RestrictPublicBuckets"),
    });
    let ownership = get("OwnershipControls").map(|v| OwnershipControls {
        rules: v
            .get("Rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("ObjectOwnership").and_then(Value::as_str))
            .map(|o| OwnershipRule {
                object_ownership: o.to_owned(),
            })
            .collect(),
    });
    let acl = canned_acl(
        get("AccessControl")
            .and_then(Value::as_str)
            .unwrap_or("Private"),
    );
    Snapshot {
        bucket: request.bucket.to_owned(),
        account_id: Some(request.account_id.to_owned()),
        policy: document,
        acl: Some(acl),
        public_access_block: bpa,
        ownership_controls: ownership,
        ..Snapshot::default()
    }
}

fn all_bpa() -> Value {
    let mut map = Map::new();
    for (_, key) in BPA_FLAGS {
        map.insert(key.to_owned(), Value::Bool(true));
    }
    Value::Object(map)
}

fn enforced_ownership() -> Value {
    json!({"Rules": [{"ObjectOwnership": BUCKET_OWNER_ENFORCED}]})
}

/// What the fix does to a template, decided on its value.
#[derive(Debug, Default)]
struct Changes {
    /// Bucket properties to set (`Some`) or remove (`None`).
    properties: Vec<(String, Option<Value>)>,
    policy: PolicyChange,
    summaries: Vec<String>,
    notes: Vec<String>,
}

#[derive(Debug, Default)]
enum PolicyChange {
    #[default]
    Keep,
    Replace(Value),
    Delete,
}

fn decide_changes(
    template: &Value,
    logical: &str,
    policy: Option<&str>,
    request: &FixRequest<'_>,
) -> Changes {
    let mut changes = Changes::default();
    let resource = template.get("Resources").and_then(|r| r.get(logical));
    let get = |key: &str| resource.and_then(properties).and_then(|p| p.get(key));
    if request.wants_bpa() {
        let on = get("PublicAccessBlockConfiguration").is_some_and(|v| {
            BPA_FLAGS
                .iter()
                .all(|(_, k)| v.get(*k).and_then(Value::as_bool) == Some(true))
        });
        if !on {
            changes
                .properties
                .push(("PublicAccessBlockConfiguration".to_owned(), Some(all_bpa())));
            changes.summaries.push(format!(
                "{logical}: PublicAccessBlockConfiguration with all four flags true"
            ));
        }
    }
    let enforce = request.wants_ownership();
    if let Some(acl) = get("AccessControl").and_then(Value::as_str) {
        if enforce {
            changes.properties.push(("AccessControl".to_owned(), None));
            changes.summaries.push(format!(
                "{logical}: remove AccessControl {acl} (ACLs are disabled below)"
            ));
        } else if request.wants_private_acl() && canned_acl_is_public(acl) {
            changes
                .properties
                .push(("AccessControl".to_owned(), Some(json!("Private"))));
            changes
                .summaries
                .push(format!("{logical}: AccessControl {acl} -> Private"));
        }
    }
    if enforce && get("OwnershipControls") != Some(&enforced_ownership()) {
        changes
            .properties
            .push(("OwnershipControls".to_owned(), Some(enforced_ownership())));
        changes.summaries.push(format!(
            "{logical}: OwnershipControls {BUCKET_OWNER_ENFORCED}"
        ));
    }
    let Some(policy_id) = policy else {
        return changes;
    };
    let Some(document) = template
        .get("Resources")
        .and_then(|r| r.get(policy_id))
        .and_then(properties)
        .and_then(|p| p.get("PolicyDocument"))
    else {
        return changes;
    };
    let evaluable = flatten(document, logical, request.bucket, request.account_id).to_string();
    match public_statement_surgery(&evaluable, PolicyKind::Bucket, request.allowed) {
        Ok(None) => {}
        Ok(Some(surgery)) => {
            let mut patched = document.clone();
            match apply_surgery(&mut patched, &surgery) {
                Ok(true) => {
                    changes.policy = PolicyChange::Replace(patched);
                    changes
                        .summaries
                        .push(format!("{policy_id}: {}", surgery.describe()));
                }
                Ok(false) => {
                    changes.policy = PolicyChange::Delete;
                    changes
                        .summaries
                        .push(format!("remove {policy_id} (every statement was public)"));
                }
                Err(e) => changes.notes.push(format!("{policy_id}: {e}")),
            }
        }
        Err(e) => changes.notes.push(format!(
            "{policy_id}: the policy could not be evaluated ({e}); left as it is"
        )),
    }
    changes
}

/// Applies the changes to a JSON template value.
fn apply_to_value(template: &mut Value, logical: &str, policy: Option<&str>, changes: &Changes) {
    let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(resource) = resources.get_mut(logical).and_then(Value::as_object_mut) {
        let props = resource
            .entry("Properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(props) = props.as_object_mut() {
            for (key, value) in &changes.properties {
                match value {
                    Some(v) => {
                        props.insert(key.clone(), v.clone());
                    }
                    None => {
                        props.shift_remove(key);
                    }
                }
            }
        }
    }
    match (&changes.policy, policy) {
        (PolicyChange::Replace(document), Some(id)) => {
            if let Some(props) = resources
                .get_mut(id)
                .and_then(|r| r.get_mut("Properties"))
                .and_then(Value::as_object_mut)
            {
                props.insert("PolicyDocument".to_owned(), document.clone());
            }
        }
        (PolicyChange::Delete, Some(id)) => {
            resources.shift_remove(id);
        }
        _ => {}
    }
}

/// The indentation unit of a JSON text (the first indented line's).
fn json_indent(text: &str) -> usize {
    text.lines()
        .find_map(|l| {
            let width = l.len() - l.trim_start().len();
            (width > 0).then_some(width)
        })
        .unwrap_or(2)
}

fn to_json_text(value: &Value, indent: usize) -> String {
    use serde::Serialize;
    let unit = " ".repeat(indent);
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(unit.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    if value.serialize(&mut serializer).is_err() {
        return String::new();
    }
    let mut text = String::from_utf8(out).unwrap_or_default();
    text.push('\n');
    text
}

/// A YAML mapping entry located by indentation: lines `line..end` (end exclusive, trailing
/// blank and comment lines excluded).
#[derive(Debug, Clone, Copy)]
struct Entry {
    line: usize,
    end: usize,
    indent: usize,
}

struct Outline<'t> {
    text: &'t str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'t> Outline<'t> {
    fn new(text: &'t str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        if starts.last() == Some(&text.len()) {
            starts.pop();
        }
        Self { text, starts }
    }

    fn line(&self, i: usize) -> &'t str {
        let start = self.starts.get(i).copied().unwrap_or(self.text.len());
        let end = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// Indentation and content of a line holding YAML, `None` for blank and comment lines.
    fn content(&self, i: usize) -> Option<(usize, &'t str)> {
        let line = self.line(i);
        let rest = line.trim_start_matches(' ');
        if rest.is_empty() || rest.starts_with('#') {
            return None;
        }
        Some((line.len() - rest.len(), rest))
    }

    fn byte_range(&self, lines: Range<usize>) -> Range<usize> {
        let start = self
            .starts
            .get(lines.start)
            .copied()
            .unwrap_or(self.text.len());
        let end = self
            .starts
            .get(lines.end)
            .copied()
            .unwrap_or(self.text.len());
        start..end
    }

    /// The key `key` among the mapping entries of `lines` (at their first line's indentation).
    fn find(&self, lines: Range<usize>, key: &str) -> Option<Entry> {
        let indent = lines.clone().find_map(|i| self.content(i))?.0;
        let matches = |rest: &str| {
            [key.to_owned(), format!("\"{key}\""), format!("'{key}'")]
                .iter()
                .any(|k| {
                    rest.strip_prefix(k.as_str())
                        .is_some_and(|r| r.starts_with(':'))
                })
        };
        let line = lines.clone().find(|&i| {
            self.content(i)
                .is_some_and(|(ind, rest)| ind == indent && matches(rest))
        })?;
        let mut end = line + 1;
        let mut last = line + 1;
        while end < lines.end {
            match self.content(end) {
                Some((ind, _)) if ind <= indent => break,
                Some(_) => last = end + 1,
                None => {}
            }
            end += 1;
        }
        Some(Entry {
            line,
            end: last,
            indent,
        })
    }

    fn top(&self, key: &str) -> Option<Entry> {
        self.find(0..self.starts.len(), key)
    }

    fn children(entry: Entry) -> Range<usize> {
        entry.line + 1..entry.end
    }

    /// Indentation of an entry's children (two more than the entry when it has none).
    fn child_indent(&self, entry: Entry) -> usize {
        Self::children(entry)
            .find_map(|i| self.content(i))
            .map_or(entry.indent + 2, |(ind, _)| ind)
    }
}

/// A template value as YAML, one-key `{"!Sub": ...}` maps back as short-form tags.
fn to_yaml(value: &Value) -> serde_yaml_ng::Value {
    use serde_yaml_ng::value::{Tag, TaggedValue};
    use serde_yaml_ng::Value as Yaml;
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Number(n) => serde_yaml_ng::to_value(n).unwrap_or(Yaml::Null),
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Sequence(items.iter().map(to_yaml).collect()),
        Value::Object(map) => {
            if let (1, Some((key, inner))) = (map.len(), map.iter().next()) {
                if let Some(tag) = key.strip_prefix('!') {
                    return Yaml::Tagged(Box::new(TaggedValue {
                        tag: Tag::new(tag),
                        value: to_yaml(inner),
                    }));
                }
            }
            Yaml::Mapping(
                map.iter()
                    .map(|(k, v)| (Yaml::String(k.clone()), to_yaml(v)))
                    .collect(),
            )
        }
    }
}

/// `key: value` as YAML lines at `indent`.
fn yaml_entry(key: &str, value: &Value, indent: usize) -> String {
    let mut map = Map::new();
    map.insert(key.to_owned(), value.clone());
    let text = serde_yaml_ng::to_string(&to_yaml(&Value::Object(map))).unwrap_or_default();
    let pad = " ".repeat(indent);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// Splices the changes into a YAML template, leaving every other line as it is.
fn apply_to_yaml(
    text: &str,
    logical: &str,
    policy: Option<&str>,
    changes: &Changes,
) -> Option<String> {
    let outline = Outline::new(text);
    let resources = outline.top("Resources")?;
    let bucket = outline.find(Outline::children(resources), logical)?;
    let mut splices = Vec::new();
    if !changes.properties.is_empty() {
        match outline.find(Outline::children(bucket), "Properties") {
            Some(props) => {
                let indent = outline.child_indent(props);
                let insert_at = outline.byte_range(props.end..props.end).start;
                for (key, value) in &changes.properties {
                    let existing = outline.find(Outline::children(props), key);
                    match (existing, value) {
                        (Some(entry), Some(v)) => splices.push(Splice::replace(
                            outline.byte_range(entry.line..entry.end),
                            yaml_entry(key, v, indent),
                        )),
                        (Some(entry), None) => splices.push(Splice::replace(
                            outline.byte_range(entry.line..entry.end),
                            "",
                        )),
                        (None, Some(v)) => {
                            splices.push(Splice::insert(insert_at, yaml_entry(key, v, indent)))
                        }
                        (None, None) => {}
                    }
                }
            }
            None => {
                let indent = outline.child_indent(bucket);
                let mut block = format!("{}Properties:\n", " ".repeat(indent));
                for (key, value) in &changes.properties {
                    if let Some(v) = value {
                        block.push_str(&yaml_entry(key, v, indent + 2));
                    }
                }
                let at = outline.byte_range(bucket.end..bucket.end).start;
                splices.push(Splice::insert(at, block));
            }
        }
    }
    if let Some(policy_id) = policy {
        let entry = outline.find(Outline::children(resources), policy_id)?;
        match &changes.policy {
            PolicyChange::Keep => {}
            PolicyChange::Delete => {
                let range = outline.byte_range(entry.line..entry.end);
                splices.push(Splice::replace(edit::whole_lines(text, range, &["#"]), ""));
            }
            PolicyChange::Replace(document) => {
                let props = outline.find(Outline::children(entry), "Properties")?;
                let doc = outline.find(Outline::children(props), "PolicyDocument")?;
                splices.push(Splice::replace(
                    outline.byte_range(doc.line..doc.end),
                    yaml_entry("PolicyDocument", document, doc.indent),
                ));
            }
        }
    }
    let mut out = edit::apply(text, splices);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

struct Found<'f> {
    file: &'f SourceFile,
    template: Value,
    syntax: Syntax,
    logical: String,
    policy: Option<String>,
}

fn find<'f>(files: &[&'f SourceFile], bucket: &str) -> Result<Option<Found<'f>>, IacError> {
    let mut found: Vec<Found<'f>> = Vec::new();
    for file in files {
        let Some((template, syntax)) = parse(file)? else {
            continue;
        };
        for logical in bucket_logical_id(&template, bucket) {
            let policy = policy_logical_id(&template, &logical, bucket);
            found.push(Found {
                file,
                template: template.clone(),
                syntax,
                logical,
                policy,
            });
        }
    }
    if found.len() > 1 {
        return Err(IacError::Ambiguous {
            bucket: bucket.to_owned(),
            count: found.len(),
            places: found
                .iter()
                .map(|f| format!("{}: {}", f.file.path, f.logical))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(found.pop())
}

/// Patches the template that defines the bucket; `None` when none does.
pub fn fix(files: &[&SourceFile], request: &FixRequest<'_>) -> Result<Option<IacFix>, IacError> {
    let Some(found) = find(files, request.bucket)? else {
        return Ok(None);
    };
    let policy = found.policy.as_deref();
    let before = snapshot_of(&found.template, &found.logical, policy, request);
    let changes = decide_changes(&found.template, &found.logical, policy, request);
    let mut notes = request.live_only_notes();
    notes.extend(changes.notes.iter().cloned());
    let path = &found.file.path;
    let mut located = vec![format!("{path}: {} (AWS::S3::Bucket)", found.logical)];
    if let Some(p) = policy {
        located.push(format!("{path}: {p} (AWS::S3::BucketPolicy)"));
    }
    let nothing = changes.properties.is_empty() && matches!(changes.policy, PolicyChange::Keep);
    let after_text = if nothing {
        None
    } else {
        match found.syntax {
            Syntax::Json => {
                let mut value = found.template.clone();
                apply_to_value(&mut value, &found.logical, policy, &changes);
                Some(to_json_text(&value, json_indent(&found.file.text)))
            }
            Syntax::Yaml => Some(
                apply_to_yaml(&found.file.text, &found.logical, policy, &changes).ok_or_else(
                    || IacError::PatchedInvalid {
                        path: path.clone(),
                        reason: "the template's layout could not be followed (flow-style \
                                 mappings?)"
                            .to_owned(),
                    },
                )?,
            ),
        }
    };
    let mut edits = Vec::new();
    let mut after = Some(before.clone());
    if let Some(text) = after_text {
        let patched = SourceFile {
            path: path.clone(),
            text,
        };
        let (template, _) = parse(&patched)
            .map_err(|e| match e {
                IacError::Parse { path, reason } => IacError::PatchedInvalid { path, reason },
                other => other,
            })?
            .ok_or_else(|| IacError::PatchedInvalid {
                path: path.clone(),
                reason: "the patched file is no longer a template".to_owned(),
            })?;
        let policy_after = policy_logical_id(&template, &found.logical, request.bucket);
        after = Some(snapshot_of(
            &template,
            &found.logical,
            policy_after.as_deref(),
            request,
        ));
        edits.push(FileEdit {
            path: path.clone(),
            before: Some(found.file.text.clone()),
            after: patched.text,
        });
    }
    Ok(Some(IacFix {
        format: Some(IacFormat::CloudFormation),
        located,
        edits,
        changes: changes.summaries,
        notes,
        after,
        before: Some(before),
    }))
}

/// The template added when no resource defines the bucket. CloudFormation configures only
/// buckets it owns, so the new template defines the bucket for a resource import
/// (`DeletionPolicy: Retain`, so that a mistake never deletes it) with the fixed properties,
/// and its policy with the public statements removed when the live plan keeps one.
pub fn new_file(request: &FixRequest<'_>) -> IacFix {
    let mut notes = vec![format!(
        "No `AWS::S3::Bucket` with `BucketName: {}` was found in this repository (nor a \
         Terraform `aws_s3_bucket`), so the fix is a new template. CloudFormation cannot \
         configure a bucket no stack owns: import the bucket with it (`aws cloudformation \
         create-change-set --change-set-type IMPORT`). The live bucket is fixed by `bucketward \
         remediate` in the meantime.",
        request.bucket
    )];
    notes.extend(request.live_only_notes());
    let mut properties = Map::new();
    properties.insert("BucketName".to_owned(), json!(request.bucket));
    let mut changes = vec![format!(
        "add BucketwardImportedBucket ({}), to import, with DeletionPolicy Retain",
        request.bucket
    )];
    if request.wants_bpa() {
        properties.insert("PublicAccessBlockConfiguration".to_owned(), all_bpa());
        changes.push("PublicAccessBlockConfiguration with all four flags true".to_owned());
    }
    if request.wants_ownership() {
        properties.insert("OwnershipControls".to_owned(), enforced_ownership());
        changes.push(format!("OwnershipControls {BUCKET_OWNER_ENFORCED}"));
    }
    let mut resources = Map::new();
    resources.insert(
        "BucketwardImportedBucket".to_owned(),
        json!({
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }),
    );
    let policy = request.plan.steps.iter().find_map(|s| match &s.change {
        crate::plan::Change::PutPolicy { text } => serde_json::from_str::<Value>(text).ok(),
        _ => None,
    });
    if let Some(policy) = policy {
        resources.insert(
            "BucketwardImportedBucketPolicy".to_owned(),
            json!({
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"!Ref": "BucketwardImportedBucket"}, "PolicyDocument": policy}
            }),
        );
        changes.push("the bucket policy with its public statements removed".to_owned());
    }
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("Added by bucketward: {} as it should be, for a resource import.", request.bucket),
        "Resources": resources,
    });
    let text = serde_yaml_ng::to_string(&to_yaml(&template)).unwrap_or_default();
    IacFix::new_file(
        format!("bucketward-{}.yaml", request.bucket),
        text,
        changes,
        notes,
    )
}

#[cfg(test)]
pub(crate) fn outline_find_for_tests(text: &str, path: &[&str]) -> Option<String> {
    let outline = Outline::new(text);
    let mut entry = outline.top(path.first()?)?;
    for key in path.iter().skip(1) {
        entry = outline.find(Outline::children(entry), key)?;
    }
    let range = outline.byte_range(entry.line..entry.end);
    text.get(range).map(str::to_owned)
}
