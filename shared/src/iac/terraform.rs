//! Terraform: `.tf` files parsed with `hcl-edit` (which records where every block, attribute
//! and expression sits), the bucket found by its `bucket` argument, its companion resources by
//! their `bucket` reference, and the fix spliced into the spans that change.
//!
//! Supported shapes (AWS provider v4+ split resources, and the v3 inline arguments):
//! - `aws_s3_bucket` with a literal `bucket`; inline `acl`, `grant` and `policy` (v3);
//! - `aws_s3_bucket_policy` whose `policy` is `jsonencode({...})`, a heredoc or string of
//!   JSON, or `data.aws_iam_policy_document.NAME.json`;
//! - `aws_s3_bucket_acl` (`acl`, or `access_control_policy { grant { ... } }`);
//! - `aws_s3_bucket_public_access_block` and `aws_s3_bucket_ownership_controls`.
//!
//! A policy in another shape (a `templatefile()`, a module output) is reported, not guessed at.

use std::collections::BTreeMap;
use std::ops::Range;

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Attribute, Block, Body, Structure};
use hcl_edit::Span;
use serde_json::{Map, Value};

use super::edit::{self, Splice};
use super::{
    canned_acl, canned_acl_is_public, substitute, FileEdit, FixRequest, IacError, IacFix,
    IacFormat, SourceFile, BPA_FLAGS,
};
use crate::plan::{apply_surgery, public_statement_surgery};
use crate::policy::{principal_value_is_fixed, PolicyKind};
use crate::snapshot::{
    BucketPolicy, Grant, Grantee, OwnershipControls, OwnershipRule, PublicAccessBlock, Snapshot,
    BUCKET_OWNER_ENFORCED,
};

const COMMENTS: &[&str] = &["#", "//"];

struct Parsed<'a> {
    file: &'a SourceFile,
    body: Body,
}

/// A `resource` or `data` block.
#[derive(Clone, Copy)]
struct Item<'p> {
    file: usize,
    kind: &'p str,
    name: &'p str,
    block: &'p Block,
}

impl<'p> Item<'p> {
    fn label(&self, parsed: &[Parsed<'_>]) -> String {
        let path = parsed.get(self.file).map_or("?", |p| p.file.path.as_str());
        format!("{path}: {}.{}", self.kind, self.name)
    }

    fn attr(&self, key: &str) -> Option<&'p Attribute> {
        self.block.body.get_attribute(key)
    }

    fn span(&self) -> Range<usize> {
        self.block.span().unwrap_or(0..0)
    }
}

/// The bucket's resources.
struct Located<'p> {
    bucket: Item<'p>,
    policy: Option<Item<'p>>,
    acl: Option<Item<'p>>,
    bpa: Option<Item<'p>>,
    ownership: Option<Item<'p>>,
    data: Vec<Item<'p>>,
}

fn parse_all<'a>(files: &[&'a SourceFile]) -> Result<Vec<Parsed<'a>>, IacError> {
    files
        .iter()
        .map(|file| {
            hcl_edit::parser::parse_body(&file.text)
                .map(|body| Parsed { file, body })
                .map_err(|e| IacError::Parse {
                    path: file.path.clone(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

fn items<'p>(parsed: &'p [Parsed<'_>], ident: &str) -> Vec<Item<'p>> {
    let mut out = Vec::new();
    for (file, p) in parsed.iter().enumerate() {
        for structure in p.body.iter() {
            let Structure::Block(block) = structure else {
                continue;
            };
            if !block.has_ident(ident) {
                continue;
            }
            if let [kind, name] = block.labels.as_slice() {
                out.push(Item {
                    file,
                    kind: kind.as_str(),
                    name: name.as_str(),
                    block,
                });
            }
        }
    }
    out
}

/// A literal string expression's value.
fn literal(expr: &Expression) -> Option<&str> {
    match expr {
        Expression::String(s) => Some(s.value().as_str()),
        _ => None,
    }
}

fn expr_text(expr: &Expression) -> String {
    expr.to_string().trim().to_owned()
}

/// Whether an expression names the bucket: `aws_s3_bucket.NAME.id` (or `.bucket`), or the
/// bucket's name as a literal.
fn names_bucket(expr: &Expression, resource: &str, bucket: &str) -> bool {
    if literal(expr) == Some(bucket) {
        return true;
    }
    let text = expr_text(expr);
    text == format!("aws_s3_bucket.{resource}.id")
        || text == format!("aws_s3_bucket.{resource}.bucket")
}

fn locate<'p>(parsed: &'p [Parsed<'_>], bucket: &str) -> Result<Option<Located<'p>>, IacError> {
    let resources = items(parsed, "resource");
    let buckets: Vec<Item<'p>> = resources
        .iter()
        .filter(|r| r.kind == "aws_s3_bucket")
        .filter(|r| r.attr("bucket").and_then(|a| literal(&a.value)) == Some(bucket))
        .copied()
        .collect();
    let Some(found) = buckets.first().copied() else {
        return Ok(None);
    };
    if buckets.len() > 1 {
        return Err(IacError::Ambiguous {
            bucket: bucket.to_owned(),
            count: buckets.len(),
            places: buckets
                .iter()
                .map(|b| b.label(parsed))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let related = |kind: &str| {
        resources
            .iter()
            .find(|r| {
                r.kind == kind
                    && r.attr("bucket")
                        .is_some_and(|a| names_bucket(&a.value, found.name, bucket))
            })
            .copied()
    };
    Ok(Some(Located {
        bucket: found,
        policy: related("aws_s3_bucket_policy"),
        acl: related("aws_s3_bucket_acl"),
        bpa: related("aws_s3_bucket_public_access_block"),
        ownership: related("aws_s3_bucket_ownership_controls"),
        data: items(parsed, "data"),
    }))
}

/// An HCL value as JSON: references and templates are kept as `${...}` text, which the
/// rendering back turns into the same HCL.
fn to_json(expr: &Expression) -> Value {
    match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => {
            serde_json::from_str(&n.to_string()).unwrap_or_else(|_| Value::String(n.to_string()))
        }
        Expression::String(s) => Value::String(s.value().clone()),
        Expression::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Expression::Object(object) => {
            let mut map = Map::new();
            for (key, value) in object.iter() {
                let key = match key {
                    ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                    ObjectKey::Expression(other) => format!("${{{}}}", expr_text(other)),
                };
                map.insert(key, to_json(value.expr()));
            }
            Value::Object(map)
        }
        Expression::StringTemplate(template) => {
            let text = expr_text(expr);
            let _ = template;
            Value::String(
                text.strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(&text)
                    .to_owned(),
            )
        }
        Expression::Parenthesis(inner) => to_json(inner.inner()),
        other => Value::String(format!("${{{}}}", expr_text(other))),
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// JSON rendered as an HCL expression, in `terraform fmt` layout (aligned `=` aside).
fn to_hcl(value: &Value, indent: &str) -> String {
    let inner = format!("{indent}  ");
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            // A whole-string reference goes back to being a reference.
            match s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                Some(reference) if !reference.contains("${") && !reference.contains('}') => {
                    reference.to_owned()
                }
                _ => quote(s),
            }
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let parts: Vec<String> = items.iter().map(|v| to_hcl(v, &inner)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Array(items) => {
            let mut out = "[\n".to_owned();
            for item in items {
                out.push_str(&format!("{inner}{},\n", to_hcl(item, &inner)));
            }
            out.push_str(indent);
            out.push(']');
            out
        }
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Object(map) => {
            let mut out = "{\n".to_owned();
            for (key, value) in map {
                let key = if is_identifier(key) {
                    key.clone()
                } else {
                    quote(key)
                };
                out.push_str(&format!("{inner}{key} = {}\n", to_hcl(value, &inner)));
            }
            out.push_str(indent);
            out.push('}');
            out
        }
    }
}

/// How a policy is written.
enum PolicyForm {
    JsonEncode,
    Heredoc { delimiter: String },
    Literal,
}

/// A policy attribute understood as JSON.
struct PolicyAttr<'p> {
    attr: &'p Attribute,
    form: PolicyForm,
    json: Value,
}

fn policy_attr(attr: &Attribute) -> Option<PolicyAttr<'_>> {
    let (form, json) = match &attr.value {
        Expression::FuncCall(call) if call.name.name.as_str() == "jsonencode" => {
            (PolicyForm::JsonEncode, to_json(call.args.get(0)?))
        }
        Expression::HeredocTemplate(heredoc) => {
            let text = heredoc.template.to_string();
            (
                PolicyForm::Heredoc {
                    delimiter: heredoc.delimiter.as_str().to_owned(),
                },
                serde_json::from_str(&text).ok()?,
            )
        }
        Expression::String(s) => (PolicyForm::Literal, serde_json::from_str(s.value()).ok()?),
        Expression::StringTemplate(_) => {
            let Value::String(text) = to_json(&attr.value) else {
                return None;
            };
            let unescaped = text.replace("\\\"", "\"").replace("\\\\", "\\");
            (PolicyForm::Literal, serde_json::from_str(&unescaped).ok()?)
        }
        _ => return None,
    };
    Some(PolicyAttr { attr, form, json })
}

/// The `Statement` value of a `jsonencode({...})` policy.
fn jsonencode_statements(attr: &Attribute) -> Option<&Expression> {
    let Expression::FuncCall(call) = &attr.value else {
        return None;
    };
    let Some(Expression::Object(object)) = call.args.get(0) else {
        return None;
    };
    object.iter().find_map(|(key, value)| {
        let name = match key {
            ObjectKey::Ident(ident) => ident.as_str().to_owned(),
            ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
            ObjectKey::Expression(_) => return None,
        };
        (name == "Statement").then(|| value.expr())
    })
}

/// The range that removes one element of a multi-line HCL list: its lines, its comma, and a
/// comment right above it; for an element sharing its line, the element and its comma.
fn element_range(text: &str, span: Range<usize>) -> Range<usize> {
    let rest = text.get(span.end..).unwrap_or("");
    let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let mut end = span.end + gap;
    if text.get(end..end + 1) == Some(",") {
        end += 1;
    }
    let line_rest = text.get(end..edit::line_end(text, end)).unwrap_or("");
    let own_line = text
        .get(edit::line_start(text, span.start)..span.start)
        .is_some_and(|p| p.trim().is_empty());
    if own_line && line_rest.trim().is_empty() {
        edit::whole_lines(text, span.start..end, COMMENTS)
    } else {
        let after = text.get(end..).unwrap_or("");
        end += after.len() - after.trim_start_matches(' ').len();
        span.start..end
    }
}

/// Applies a surgery to a `jsonencode` policy where it is written: dropped statements are
/// cut out of the list and narrowed principals rewritten, so every other statement keeps its
/// layout. Returns false when the policy is not shaped for that (the caller re-renders it).
fn edit_jsonencode_in_place(
    text: &str,
    file: usize,
    attr: &Attribute,
    patched: &Value,
    surgery: &crate::plan::Surgery,
    edits: &mut Edits,
) -> bool {
    let Some(statements) = jsonencode_statements(attr) else {
        return false;
    };
    let element = |index: usize| match statements {
        Expression::Array(list) => list.get(index),
        single => (index == 0).then_some(single),
    };
    let mut splices = Vec::new();
    for (index, _) in &surgery.dropped {
        match (statements, element(*index).and_then(|e| e.span())) {
            (Expression::Array(_), Some(span)) => {
                splices.push(Splice::replace(element_range(text, span), ""));
            }
            _ => return false,
        }
    }
    for (index, _) in &surgery.narrowed {
        let shift = surgery.dropped.iter().filter(|(d, _)| d < index).count();
        let new_principal = match patched.get("Statement") {
            Some(Value::Array(list)) => list.get(index - shift),
            Some(single) => Some(single),
            None => None,
        }
        .and_then(|s| s.get("Principal"));
        let Some(Expression::Object(object)) = element(*index) else {
            return false;
        };
        let old = object.iter().find_map(|(key, value)| match key {
            ObjectKey::Ident(ident) if ident.as_str() == "Principal" => value.expr().span(),
            _ => None,
        });
        match (old, new_principal) {
            (Some(span), Some(value)) => {
                let indent = edit::indent_at(text, span.start).to_owned();
                splices.push(Splice::replace(span, to_hcl(value, &indent)));
            }
            _ => return false,
        }
    }
    for splice in splices {
        edits.splice(file, splice);
    }
    true
}

fn render_policy(form: &PolicyForm, json: &Value, indent: &str) -> String {
    match form {
        PolicyForm::JsonEncode => format!("jsonencode({})", to_hcl(json, indent)),
        PolicyForm::Heredoc { delimiter } => format!(
            "<<{delimiter}\n{}\n{delimiter}",
            serde_json::to_string_pretty(json).unwrap_or_default()
        ),
        PolicyForm::Literal => quote(&serde_json::to_string(json).unwrap_or_default()),
    }
}

/// `data.aws_iam_policy_document.NAME.json` -> the data block.
fn policy_data<'p>(attr: &Attribute, located: &Located<'p>) -> Option<Item<'p>> {
    let text = expr_text(&attr.value);
    let name = text
        .strip_prefix("data.aws_iam_policy_document.")?
        .strip_suffix(".json")?;
    located
        .data
        .iter()
        .find(|d| d.kind == "aws_iam_policy_document" && d.name == name)
        .copied()
}

fn blocks<'b>(body: &'b Body, ident: &'b str) -> impl Iterator<Item = &'b Block> + 'b {
    body.iter().filter_map(move |s| match s {
        Structure::Block(b) if b.has_ident(ident) => Some(b),
        _ => None,
    })
}

fn attr_json(body: &Body, key: &str) -> Option<Value> {
    body.get_attribute(key).map(|a| to_json(&a.value))
}

/// An `aws_iam_policy_document` as a JSON policy document.
fn data_document(block: &Block) -> Value {
    let statements: Vec<Value> = blocks(&block.body, "statement")
        .map(|s| {
            let mut st = Map::new();
            if let Some(sid) = attr_json(&s.body, "sid") {
                st.insert("Sid".to_owned(), sid);
            }
            st.insert(
                "Effect".to_owned(),
                attr_json(&s.body, "effect").unwrap_or_else(|| Value::String("Allow".into())),
            );
            for (tf, json) in [
                ("actions", "Action"),
                ("not_actions", "NotAction"),
                ("resources", "Resource"),
                ("not_resources", "NotResource"),
            ] {
                if let Some(v) = attr_json(&s.body, tf) {
                    st.insert(json.to_owned(), v);
                }
            }
            for (tf, json) in [
                ("principals", "Principal"),
                ("not_principals", "NotPrincipal"),
            ] {
                let mut map = Map::new();
                let mut everyone = false;
                for p in blocks(&s.body, tf) {
                    let kind = attr_json(&p.body, "type")
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    if kind == "*" {
                        everyone = true;
                        continue;
                    }
                    let ids = attr_json(&p.body, "identifiers").unwrap_or(Value::Null);
                    match map.get_mut(&kind) {
                        Some(Value::Array(list)) => {
                            if let Value::Array(more) = ids {
                                list.extend(more);
                            }
                        }
                        _ => {
                            map.insert(kind, ids);
                        }
                    }
                }
                if everyone {
                    st.insert(json.to_owned(), Value::String("*".into()));
                } else if !map.is_empty() {
                    st.insert(json.to_owned(), Value::Object(map));
                }
            }
            let mut conditions: Map<String, Value> = Map::new();
            for c in blocks(&s.body, "condition") {
                let test = attr_json(&c.body, "test")
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let variable = attr_json(&c.body, "variable")
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let values = attr_json(&c.body, "values").unwrap_or(Value::Null);
                if let Value::Object(inner) = conditions
                    .entry(test)
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    inner.insert(variable, values);
                }
            }
            if !conditions.is_empty() {
                st.insert("Condition".to_owned(), Value::Object(conditions));
            }
            Value::Object(st)
        })
        .collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

/// The references in this configuration that stand for the bucket and account.
fn references(resource: &str, bucket: &str, account: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("${{aws_s3_bucket.{resource}.arn}}"),
            format!("arn:aws:s3:::{bucket}"),
        ),
        (
            format!("${{aws_s3_bucket.{resource}.id}}"),
            bucket.to_owned(),
        ),
        (
            format!("${{aws_s3_bucket.{resource}.bucket}}"),
            bucket.to_owned(),
        ),
        (
            "${data.aws_caller_identity.current.account_id}".to_owned(),
            account.to_owned(),
        ),
        ("$${".to_owned(), "${".to_owned()),
    ]
}

fn evaluable(json: &Value, pairs: &[(String, String)]) -> String {
    substitute(&serde_json::to_string(json).unwrap_or_default(), pairs)
}

fn bool_attr(body: &Body, key: &str) -> bool {
    matches!(body.get_attribute(key).map(|a| &a.value), Some(Expression::Bool(b)) if *b.value())
}

fn public_grant(block: &Block) -> bool {
    let uri = |body: &Body| {
        body.get_attribute("uri")
            .and_then(|a| literal(&a.value))
            .map(str::to_owned)
    };
    let uri = blocks(&block.body, "grantee")
        .find_map(|g| uri(&g.body))
        .or_else(|| uri(&block.body));
    uri.is_some_and(|u| {
        Grantee {
            uri: Some(u),
            ..Grantee::default()
        }
        .is_public()
    })
}

fn grant_of(block: &Block) -> Vec<Grant> {
    let grantee_body = blocks(&block.body, "grantee")
        .next()
        .map_or(&block.body, |g| &g.body);
    let text = |body: &Body, key: &str| {
        body.get_attribute(key)
            .and_then(|a| literal(&a.value))
            .map(str::to_owned)
    };
    let grantee = Grantee {
        kind: text(grantee_body, "type").unwrap_or_default(),
        id: text(grantee_body, "id"),
        uri: text(grantee_body, "uri"),
        ..Grantee::default()
    };
    let permissions: Vec<String> = match block.body.get_attribute("permission") {
        Some(a) => literal(&a.value).map(str::to_owned).into_iter().collect(),
        None => attr_json(&block.body, "permissions")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
    };
    permissions
        .into_iter()
        .map(|permission| Grant {
            grantee: grantee.clone(),
            permission,
        })
        .collect()
}

/// The policy JSON of the located configuration, and where it is written.
fn policy_json(located: &Located<'_>) -> Option<Value> {
    let attr = located
        .policy
        .and_then(|p| p.attr("policy"))
        .or_else(|| located.bucket.attr("policy"))?;
    if let Some(p) = policy_attr(attr) {
        return Some(p.json);
    }
    policy_data(attr, located).map(|d| data_document(d.block))
}

/// The configuration as the evaluator sees it.
fn snapshot_of(located: &Located<'_>, request: &FixRequest<'_>) -> Snapshot {
    let pairs = references(located.bucket.name, request.bucket, request.account_id);
    let policy = policy_json(located)
        .and_then(|json| BucketPolicy::from_text(evaluable(&json, &pairs)).ok());
    let mut grants = Vec::new();
    let mut canned = None;
    for holder in [Some(located.bucket), located.acl].into_iter().flatten() {
        if let Some(name) = holder.attr("acl").and_then(|a| literal(&a.value)) {
            canned = Some(name.to_owned());
        }
        grants.extend(blocks(&holder.block.body, "grant").flat_map(grant_of));
        for acp in blocks(&holder.block.body, "access_control_policy") {
            grants.extend(blocks(&acp.body, "grant").flat_map(grant_of));
        }
    }
    if let Some(name) = canned {
        grants.extend(canned_acl(&name).grants);
    }
    let bpa = located.bpa.map(|b| PublicAccessBlock {
        block_public_acls: bool_attr(&b.block.body, "block_public_acls"),
        ignore_public_acls: bool_attr(&b.block.body, "ignore_public_acls"),
        block_public_policy: bool_attr(&b.block.body, "block_public_policy"),
        restrict_public_buckets: bool_attr(&b.block.body, "restrict_public_buckets"),
    });
    let ownership = located.ownership.map(|o| OwnershipControls {
        rules: blocks(&o.block.body, "rule")
            .filter_map(|r| {
                r.body
                    .get_attribute("object_ownership")
                    .and_then(|a| literal(&a.value))
            })
            .map(|v| OwnershipRule {
                object_ownership: v.to_owned(),
            })
            .collect(),
    });
    Snapshot {
        bucket: request.bucket.to_owned(),
        account_id: Some(request.account_id.to_owned()),
        policy,
        acl: Some(crate::snapshot::Acl {
            owner: None,
            grants,
        }),
        public_access_block: bpa,
        ownership_controls: ownership,
        ..Snapshot::default()
    }
}

/// Splices per file index, plus text appended to a file.
#[derive(Default)]
struct Edits {
    splices: BTreeMap<usize, Vec<Splice>>,
    appends: BTreeMap<usize, Vec<String>>,
    changes: Vec<String>,
    notes: Vec<String>,
}

impl Edits {
    fn splice(&mut self, file: usize, splice: Splice) {
        self.splices.entry(file).or_default().push(splice);
    }

    fn delete(&mut self, parsed: &[Parsed<'_>], item: &Item<'_>) {
        let text = parsed.get(item.file).map_or("", |p| p.file.text.as_str());
        let range = edit::whole_lines(text, item.span(), COMMENTS);
        self.splice(item.file, Splice::replace(range, ""));
    }

    fn delete_block(&mut self, text: &str, file: usize, block: &Block) {
        if let Some(span) = block.span() {
            let range = edit::whole_lines(text, span, COMMENTS);
            self.splice(file, Splice::replace(range, ""));
        }
    }

    /// Sets an attribute of a block, or adds it before the block's closing brace.
    fn set_attr(&mut self, text: &str, file: usize, block: &Block, key: &str, value: &str) {
        self.set_attrs(text, file, block, &[(key, value)]);
    }

    /// Sets attributes of a block; the missing ones are added, in order, before its closing
    /// brace at the indentation of its first member.
    fn set_attrs(&mut self, text: &str, file: usize, block: &Block, pairs: &[(&str, &str)]) {
        let mut missing = Vec::new();
        for (key, value) in pairs {
            match block.body.get_attribute(key) {
                Some(attr) => {
                    if expr_text(&attr.value) != *value {
                        if let Some(span) = attr.value.span() {
                            self.splice(file, Splice::replace(span, *value));
                        }
                    }
                }
                None => missing.push((key, value)),
            }
        }
        if missing.is_empty() {
            return;
        }
        let Some(span) = block.span() else { return };
        let Some(brace) = text.get(..span.end).and_then(|t| t.rfind('}')) else {
            return;
        };
        let indent = block
            .body
            .iter()
            .find_map(|s| match s {
                Structure::Attribute(a) => a.span(),
                Structure::Block(b) => b.span(),
            })
            .map_or_else(
                || format!("{}  ", edit::indent_at(text, span.start)),
                |s| edit::indent_at(text, s.start).to_owned(),
            );
        let lines: String = missing
            .iter()
            .map(|(key, value)| format!("{indent}{key} = {value}\n"))
            .collect();
        let start = edit::line_start(text, brace);
        let before_brace = text.get(start..brace).unwrap_or("");
        if before_brace.trim().is_empty() {
            self.splice(file, Splice::insert(start, lines));
        } else {
            self.splice(file, Splice::insert(brace, format!("\n{lines}")));
        }
    }
}

fn resource_name(parsed: &[Parsed<'_>], kind: &str, wanted: &str) -> String {
    let taken = items(parsed, "resource")
        .iter()
        .any(|r| r.kind == kind && r.name == wanted);
    if taken {
        format!("{wanted}_bucketward")
    } else {
        wanted.to_owned()
    }
}

fn bpa_block(reference: &str, name: &str) -> String {
    format!(
        "# Added by bucketward: Block Public Access on, all four flags.\n\
         resource \"aws_s3_bucket_public_access_block\" \"{name}\" {{\n  \
         bucket = {reference}\n\n  \
         block_public_acls       = true\n  \
         block_public_policy     = true\n  \
         ignore_public_acls      = true\n  \
         restrict_public_buckets = true\n}}\n"
    )
}

fn ownership_block(reference: &str, name: &str) -> String {
    format!(
        "# Added by bucketward: ACLs disabled (the bucket owner owns every object).\n\
         resource \"aws_s3_bucket_ownership_controls\" \"{name}\" {{\n  \
         bucket = {reference}\n\n  \
         rule {{\n    object_ownership = \"{BUCKET_OWNER_ENFORCED}\"\n  }}\n}}\n"
    )
}

fn fix_bpa(parsed: &[Parsed<'_>], located: &Located<'_>, edits: &mut Edits) {
    let reference = format!("aws_s3_bucket.{}.id", located.bucket.name);
    match located.bpa {
        Some(bpa) => {
            let text = parsed.get(bpa.file).map_or("", |p| p.file.text.as_str());
            let off: Vec<&str> = BPA_FLAGS
                .iter()
                .map(|(tf, _)| *tf)
                .filter(|tf| !bool_attr(&bpa.block.body, tf))
                .collect();
            let pairs: Vec<(&str, &str)> = off.iter().map(|tf| (*tf, "true")).collect();
            edits.set_attrs(text, bpa.file, bpa.block, &pairs);
            if !off.is_empty() {
                edits.changes.push(format!(
                    "{}: set {} to true",
                    bpa.label(parsed),
                    off.join(", ")
                ));
            }
        }
        None => {
            let name = resource_name(
                parsed,
                "aws_s3_bucket_public_access_block",
                located.bucket.name,
            );
            edits
                .appends
                .entry(located.bucket.file)
                .or_default()
                .push(bpa_block(&reference, &name));
            edits.changes.push(format!(
                "add aws_s3_bucket_public_access_block.{name} (all four flags on)"
            ));
        }
    }
}

/// The surgery a policy needs, `None` when it needs none; a policy that cannot be evaluated
/// is noted and left as it is.
fn surgery_of(
    json: &Value,
    pairs: &[(String, String)],
    request: &FixRequest<'_>,
    label: &str,
    edits: &mut Edits,
) -> Option<crate::plan::Surgery> {
    match public_statement_surgery(&evaluable(json, pairs), PolicyKind::Bucket, request.allowed) {
        Ok(surgery) => surgery,
        Err(e) => {
            edits.notes.push(format!(
                "{label}: the policy could not be evaluated ({e}); left as it is"
            ));
            None
        }
    }
}

fn fix_policy(
    parsed: &[Parsed<'_>],
    located: &Located<'_>,
    request: &FixRequest<'_>,
    edits: &mut Edits,
) {
    let (holder, attr) = match located
        .policy
        .and_then(|p| p.attr("policy").map(|a| (p, a)))
    {
        Some(found) => found,
        None => match located.bucket.attr("policy") {
            Some(a) => (located.bucket, a),
            None => return,
        },
    };
    let text = parsed.get(holder.file).map_or("", |p| p.file.text.as_str());
    let pairs = references(located.bucket.name, request.bucket, request.account_id);
    if let Some(mut policy) = policy_attr(attr) {
        let Some(surgery) = surgery_of(&policy.json, &pairs, request, &holder.label(parsed), edits)
        else {
            return;
        };
        match apply_surgery(&mut policy.json, &surgery) {
            Ok(true) => {
                let in_place = matches!(policy.form, PolicyForm::JsonEncode)
                    && edit_jsonencode_in_place(
                        text,
                        holder.file,
                        attr,
                        &policy.json,
                        &surgery,
                        edits,
                    );
                if !in_place {
                    let indent = edit::indent_at(text, attr.span().map_or(0, |s| s.start));
                    if let Some(span) = policy.attr.value.span() {
                        edits.splice(
                            holder.file,
                            Splice::replace(
                                span,
                                render_policy(&policy.form, &policy.json, indent),
                            ),
                        );
                    }
                }
                edits
                    .changes
                    .push(format!("{}: {}", holder.label(parsed), surgery.describe()));
            }
            Ok(false) => {
                if holder.kind == "aws_s3_bucket_policy" {
                    edits.delete(parsed, &holder);
                    edits.changes.push(format!(
                        "remove {} (every statement was public)",
                        holder.label(parsed)
                    ));
                } else if let Some(span) = attr.span() {
                    let range = edit::whole_lines(text, span, COMMENTS);
                    edits.splice(holder.file, Splice::replace(range, ""));
                    edits.changes.push(format!(
                        "{}: remove the inline policy (every statement was public)",
                        holder.label(parsed)
                    ));
                }
            }
            Err(e) => edits.notes.push(format!("{}: {e}", holder.label(parsed))),
        }
        return;
    }
    let Some(data) = policy_data(attr, located) else {
        edits.notes.push(format!(
            "{}: the policy is `{}`, which bucketward cannot read statically; check it by hand",
            holder.label(parsed),
            expr_text(&attr.value)
        ));
        return;
    };
    fix_policy_document(parsed, located, request, &holder, &data, edits);
}

fn fix_policy_document(
    parsed: &[Parsed<'_>],
    located: &Located<'_>,
    request: &FixRequest<'_>,
    holder: &Item<'_>,
    data: &Item<'_>,
    edits: &mut Edits,
) {
    let pairs = references(located.bucket.name, request.bucket, request.account_id);
    let json = data_document(data.block);
    let Some(surgery) = surgery_of(&json, &pairs, request, &data.label(parsed), edits) else {
        return;
    };
    let text = parsed.get(data.file).map_or("", |p| p.file.text.as_str());
    let statements: Vec<&Block> = blocks(&data.block.body, "statement").collect();
    if surgery.dropped.len() == statements.len() {
        edits.delete(parsed, holder);
        edits.delete(parsed, data);
        edits.changes.push(format!(
            "remove {} and {} (every statement was public)",
            holder.label(parsed),
            data.label(parsed)
        ));
        return;
    }
    for (index, _) in &surgery.dropped {
        if let Some(block) = statements.get(*index) {
            edits.delete_block(text, data.file, block);
        }
    }
    for (index, _) in &surgery.narrowed {
        let Some(statement) = statements.get(*index) else {
            continue;
        };
        for principals in blocks(&statement.body, "principals") {
            let kind = principals
                .body
                .get_attribute("type")
                .and_then(|a| literal(&a.value))
                .unwrap_or_default();
            let ids = attr_json(&principals.body, "identifiers").unwrap_or(Value::Null);
            let fixed: Vec<Value> = ids
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|v| v.as_str().is_none_or(|s| principal_value_is_fixed(kind, s)))
                .collect();
            if kind == "*" || fixed.is_empty() {
                edits.delete_block(text, data.file, principals);
            } else if Some(fixed.len()) != ids.as_array().map(Vec::len) {
                edits.set_attr(
                    text,
                    data.file,
                    principals,
                    "identifiers",
                    &to_hcl(&Value::Array(fixed), ""),
                );
            }
        }
    }
    edits
        .changes
        .push(format!("{}: {}", data.label(parsed), surgery.describe()));
}

fn fix_acl(
    parsed: &[Parsed<'_>],
    located: &Located<'_>,
    request: &FixRequest<'_>,
    edits: &mut Edits,
) {
    let enforce = request.wants_ownership();
    if let (Some(acl), true) = (located.acl, enforce) {
        edits.delete(parsed, &acl);
        edits.changes.push(format!(
            "remove {} (ACLs are disabled by the ownership controls below)",
            acl.label(parsed)
        ));
    }
    let holders: Vec<Item<'_>> = [Some(located.bucket), located.acl.filter(|_| !enforce)]
        .into_iter()
        .flatten()
        .collect();
    for holder in holders {
        let text = parsed.get(holder.file).map_or("", |p| p.file.text.as_str());
        if let Some(attr) = holder.attr("acl") {
            if literal(&attr.value).is_some_and(canned_acl_is_public) {
                edits.set_attr(text, holder.file, holder.block, "acl", "\"private\"");
                edits.changes.push(format!(
                    "{}: acl {} -> \"private\"",
                    holder.label(parsed),
                    expr_text(&attr.value)
                ));
            }
        }
        let mut removed = 0;
        for grant in blocks(&holder.block.body, "grant").filter(|g| public_grant(g)) {
            edits.delete_block(text, holder.file, grant);
            removed += 1;
        }
        for acp in blocks(&holder.block.body, "access_control_policy") {
            for grant in blocks(&acp.body, "grant").filter(|g| public_grant(g)) {
                edits.delete_block(text, holder.file, grant);
                removed += 1;
            }
        }
        if removed > 0 {
            edits.changes.push(format!(
                "{}: remove {removed} public grant(s)",
                holder.label(parsed)
            ));
        }
    }
}

fn fix_ownership(parsed: &[Parsed<'_>], located: &Located<'_>, edits: &mut Edits) {
    let reference = format!("aws_s3_bucket.{}.id", located.bucket.name);
    let wanted = format!("\"{BUCKET_OWNER_ENFORCED}\"");
    match located.ownership {
        Some(own) => {
            let text = parsed.get(own.file).map_or("", |p| p.file.text.as_str());
            if let Some(rule) = blocks(&own.block.body, "rule").next() {
                let current = rule
                    .body
                    .get_attribute("object_ownership")
                    .map(|a| expr_text(&a.value));
                if current.as_deref() != Some(wanted.as_str()) {
                    edits.set_attr(text, own.file, rule, "object_ownership", &wanted);
                    edits.changes.push(format!(
                        "{}: object_ownership -> {BUCKET_OWNER_ENFORCED}",
                        own.label(parsed)
                    ));
                }
            }
        }
        None => {
            let name = resource_name(
                parsed,
                "aws_s3_bucket_ownership_controls",
                located.bucket.name,
            );
            edits
                .appends
                .entry(located.bucket.file)
                .or_default()
                .push(ownership_block(&reference, &name));
            edits.changes.push(format!(
                "add aws_s3_bucket_ownership_controls.{name} ({BUCKET_OWNER_ENFORCED})"
            ));
        }
    }
}

/// Patches the Terraform files that define the bucket; `None` when none does.
pub fn fix(files: &[&SourceFile], request: &FixRequest<'_>) -> Result<Option<IacFix>, IacError> {
    let parsed = parse_all(files)?;
    let Some(located) = locate(&parsed, request.bucket)? else {
        return Ok(None);
    };
    let before = snapshot_of(&located, request);
    let mut edits = Edits {
        notes: request.live_only_notes(),
        ..Edits::default()
    };
    if request.wants_bpa() {
        fix_bpa(&parsed, &located, &mut edits);
    }
    fix_policy(&parsed, &located, request, &mut edits);
    if request.wants_private_acl() {
        fix_acl(&parsed, &located, request, &mut edits);
    }
    if request.wants_ownership() {
        fix_ownership(&parsed, &located, &mut edits);
    }
    let mut located_labels = vec![located.bucket.label(&parsed)];
    located_labels.extend(
        [located.policy, located.acl, located.bpa, located.ownership]
            .into_iter()
            .flatten()
            .map(|i| i.label(&parsed)),
    );

    let mut file_edits = Vec::new();
    for (index, p) in parsed.iter().enumerate() {
        let splices = edits.splices.remove(&index).unwrap_or_default();
        let appends = edits.appends.remove(&index).unwrap_or_default();
        if splices.is_empty() && appends.is_empty() {
            continue;
        }
        let mut after = edit::apply(&p.file.text, splices);
        for block in appends {
            after = edit::append_block(&after, &block);
        }
        if after != p.file.text {
            file_edits.push(FileEdit {
                path: p.file.path.clone(),
                before: Some(p.file.text.clone()),
                after,
            });
        }
    }
    // The patched configuration must parse, and is evaluated as a whole.
    let patched: Vec<SourceFile> = files
        .iter()
        .map(|f| {
            file_edits.iter().find(|e| e.path == f.path).map_or_else(
                || (*f).clone(),
                |e| SourceFile {
                    path: e.path.clone(),
                    text: e.after.clone(),
                },
            )
        })
        .collect();
    let patched_refs: Vec<&SourceFile> = patched.iter().collect();
    let reparsed = parse_all(&patched_refs).map_err(|e| match e {
        IacError::Parse { path, reason } => IacError::PatchedInvalid { path, reason },
        other => other,
    })?;
    let after = locate(&reparsed, request.bucket)?.map(|l| snapshot_of(&l, request));
    Ok(Some(IacFix {
        format: Some(IacFormat::Terraform),
        located: located_labels,
        edits: file_edits,
        changes: edits.changes,
        notes: edits.notes,
        after,
        before: Some(before),
    }))
}

/// The file added when no Terraform resource defines the bucket: the resources that can be
/// added for a bucket managed elsewhere (importing the bucket itself is left to its owners).
pub fn new_file(request: &FixRequest<'_>) -> IacFix {
    let name: String = request
        .bucket
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let reference = quote(request.bucket);
    let mut text = format!(
        "# Added by bucketward for bucket `{}`, which no resource in this repository defines.\n\
         # Move these into the configuration that owns the bucket, or import the bucket.\n\n",
        request.bucket
    );
    let mut changes = Vec::new();
    if request.wants_bpa() {
        text.push_str(&bpa_block(&reference, &name));
        changes.push(format!(
            "add aws_s3_bucket_public_access_block.{name} (all four flags on)"
        ));
    }
    if request.wants_ownership() {
        text.push('\n');
        text.push_str(&ownership_block(&reference, &name));
        changes.push(format!(
            "add aws_s3_bucket_ownership_controls.{name} ({BUCKET_OWNER_ENFORCED})"
        ));
    }
    let mut notes = vec![format!(
        "No `aws_s3_bucket` with `bucket = \"{}\"` was found in this repository (nor a \
         CloudFormation `AWS::S3::Bucket` with that `BucketName`), so the fix is a new file. \
         The bucket policy and ACL are not managed here: they are fixed in the account by \
         `bucketward remediate`, or by the code that owns the bucket.",
        request.bucket
    )];
    notes.extend(request.live_only_notes());
    IacFix::new_file(
        format!("bucketward-{}.tf", request.bucket),
        text,
        changes,
        notes,
    )
}

#[cfg(test)]
pub(crate) fn render_for_tests(value: &Value) -> String {
    to_hcl(value, "")
}
