//! Who can weaken bucket security: for every user, group and role, which of the sensitive S3
//! actions its identity policies allow, on which buckets, through which statement, and what
//! limits it (a permissions boundary, an explicit Deny). Pure: inventory in, report out.
//! The rules are in `docs/iam.md`.

use serde::Serialize;

use super::condition::{self, arn_like, Caller, Truth};
use super::inventory::{AttachedPolicy, InlinePolicy, Inventory};
use super::scope::{ResourceType, Scope};
use crate::policy::{glob_match, glob_match_case_sensitive, Effect, PolicyDocument, Statement};
use crate::severity::Severity;

/// The actions that can make a bucket public, or remove what stops it, with the resource each
/// applies to.
pub const SENSITIVE_ACTIONS: [(&str, ResourceType); 8] = [
    ("s3:PutBucketPolicy", ResourceType::Bucket),
    ("s3:PutBucketAcl", ResourceType::Bucket),
    ("s3:PutObjectAcl", ResourceType::Object),
    ("s3:PutBucketPublicAccessBlock", ResourceType::Bucket),
    ("s3:PutAccountPublicAccessBlock", ResourceType::Account),
    ("s3:PutBucketOwnershipControls", ResourceType::Bucket),
    ("s3:DeleteBucketPolicy", ResourceType::Bucket),
    ("s3:CreateAccessPoint", ResourceType::AccessPoint),
];

/// The actions that make a principal a finding when allowed on all buckets: turning off Block
/// Public Access (bucket or account) and writing bucket policies.
pub const FINDING_ACTIONS: [&str; 3] = [
    "s3:PutBucketPublicAccessBlock",
    "s3:PutAccountPublicAccessBlock",
    "s3:PutBucketPolicy",
];

/// bucketward's own roles (the template puts them under this path); always approved.
pub const BUCKETWARD_ROLE_PATTERN: &str = "arn:aws:iam::*:role/bucketward/*";

/// The principals allowed to change bucket security: ARNs or `ArnLike` patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approved {
    patterns: Vec<String>,
}

impl Approved {
    /// The given patterns plus bucketward's own roles.
    pub fn new<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut list: Vec<String> = vec![BUCKETWARD_ROLE_PATTERN.to_owned()];
        for p in patterns {
            let p: String = p.into();
            let p = p.trim().to_owned();
            if !p.is_empty() && !list.contains(&p) {
                list.push(p);
            }
        }
        Self { patterns: list }
    }

    /// From a comma-separated list (`BUCKETWARD_APPROVED_PRINCIPALS`).
    pub fn from_list(text: &str) -> Self {
        Self::new(text.split(','))
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether a principal ARN is approved, matched as the guardrails' `ArnLike` would.
    pub fn matches(&self, arn: &str) -> bool {
        self.patterns.iter().any(|p| arn_like(p, arn))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Group,
    Role,
}

impl std::fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Role => "role",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOrigin {
    Inline,
    CustomerManaged,
    AwsManaged,
}

/// Where a statement comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    pub name: String,
    pub arn: Option<String>,
    pub origin: PolicyOrigin,
    /// The group the policy reaches a user through.
    pub via_group: Option<String>,
}

impl PolicyRef {
    pub fn describe(&self) -> String {
        let origin = match self.origin {
            PolicyOrigin::Inline => "inline",
            PolicyOrigin::CustomerManaged => "managed",
            PolicyOrigin::AwsManaged => "AWS managed",
        };
        let group = self
            .via_group
            .as_ref()
            .map(|g| format!(" via group {g}"))
            .unwrap_or_default();
        format!("{origin} {}{group}", self.name)
    }
}

/// An Allow statement that grants a sensitive action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub policy: PolicyRef,
    /// The statement's position in the document, from 0.
    pub statement: usize,
    pub sid: Option<String>,
    /// The `Action` pattern that matched, or `NotAction`.
    pub matched: String,
    /// Granted through `*`, `s3:*`, `s3:Put*` or the like, or through `NotAction`.
    pub wildcard: bool,
    pub scope: Scope,
    /// The statement has a condition the evaluator cannot decide; it is counted as granting.
    pub conditional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// The permissions boundary does not allow (all of) it.
    Boundary,
    /// A Deny statement covers it.
    ExplicitDeny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitEffect {
    /// Nothing the grants allow is left.
    Full,
    /// Some of what the grants allow is left.
    Partial,
    /// Depends on a condition the evaluator cannot decide; not counted.
    Conditional,
}

/// Something that takes away (some of) what the grants allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub kind: LimitKind,
    pub policy: PolicyRef,
    /// The Deny statement, for an explicit Deny.
    pub statement: Option<usize>,
    pub sid: Option<String>,
    pub effect: LimitEffect,
}

/// One sensitive action for one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionReport {
    pub action: String,
    pub grants: Vec<Grant>,
    pub limits: Vec<Limit>,
    /// What is left after the boundary and the explicit Denies.
    pub effective: Scope,
}

impl ActionReport {
    pub fn via_wildcard(&self) -> bool {
        self.grants.iter().any(|g| g.wildcard)
    }
}

/// A principal that can do something it should not, not being approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The finding actions it can perform on all buckets.
    pub actions: Vec<String>,
    /// Why it has this severity.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalReport {
    pub kind: PrincipalKind,
    pub name: String,
    pub arn: String,
    pub approved: bool,
    /// Users: active access keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_access_keys: Option<u32>,
    /// Roles: who outside the account can assume it (`*` for anyone).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_trust: Vec<String>,
    /// The sensitive actions some statement grants, granted or not in the end.
    pub actions: Vec<ActionReport>,
    pub finding: Option<Finding>,
    /// Policies that could not be read; their statements are not counted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl PrincipalReport {
    /// Whether it can still perform at least one sensitive action somewhere.
    pub fn can_perform(&self) -> bool {
        self.actions.iter().any(|a| !a.effective.is_none())
    }

    pub fn action(&self, action: &str) -> Option<&ActionReport> {
        self.actions
            .iter()
            .find(|a| a.action.eq_ignore_ascii_case(action))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamReport {
    pub account_id: String,
    pub approved: Vec<String>,
    /// Every user, group and role some statement grants a sensitive action, in the order
    /// users, groups, roles.
    pub principals: Vec<PrincipalReport>,
}

impl IamReport {
    pub fn findings(&self) -> impl Iterator<Item = (&PrincipalReport, &Finding)> {
        self.principals
            .iter()
            .filter_map(|p| p.finding.as_ref().map(|f| (p, f)))
    }
}

/// A parsed policy and where it comes from.
struct Source {
    policy: PolicyRef,
    document: PolicyDocument,
}

fn origin_of(arn: &str) -> PolicyOrigin {
    if arn.contains(":iam::aws:policy/") {
        PolicyOrigin::AwsManaged
    } else {
        PolicyOrigin::CustomerManaged
    }
}

fn parse_inline(
    p: &InlinePolicy,
    via_group: Option<&str>,
    out: &mut Vec<Source>,
    errors: &mut Vec<String>,
) {
    match PolicyDocument::parse(&p.document) {
        Ok(document) => out.push(Source {
            policy: PolicyRef {
                name: p.name.clone(),
                arn: None,
                origin: PolicyOrigin::Inline,
                via_group: via_group.map(str::to_owned),
            },
            document,
        }),
        Err(e) => errors.push(format!("inline policy `{}`: {e}", p.name)),
    }
}

fn parse_managed(
    inventory: &Inventory,
    arn: &str,
    name: &str,
    via_group: Option<&str>,
    errors: &mut Vec<String>,
) -> Option<Source> {
    let Some(text) = inventory.policy(arn).and_then(|p| p.document.as_deref()) else {
        errors.push(format!(
            "managed policy `{arn}`: its document was not in the account details"
        ));
        return None;
    };
    match PolicyDocument::parse(text) {
        Ok(document) => Some(Source {
            policy: PolicyRef {
                name: name.to_owned(),
                arn: Some(arn.to_owned()),
                origin: origin_of(arn),
                via_group: via_group.map(str::to_owned),
            },
            document,
        }),
        Err(e) => {
            errors.push(format!("managed policy `{arn}`: {e}"));
            None
        }
    }
}

fn collect(
    inventory: &Inventory,
    inline: &[InlinePolicy],
    attached: &[AttachedPolicy],
    via_group: Option<&str>,
    out: &mut Vec<Source>,
    errors: &mut Vec<String>,
) {
    for p in inline {
        parse_inline(p, via_group, out, errors);
    }
    for a in attached {
        out.extend(parse_managed(inventory, &a.arn, &a.name, via_group, errors));
    }
}

/// How a statement's `Action` / `NotAction` covers an action.
struct ActionMatch {
    matched: String,
    wildcard: bool,
}

fn action_match(statement: &Statement, action: &str) -> Option<ActionMatch> {
    if let Some(actions) = &statement.action {
        let mut wildcard = None;
        for p in actions.iter() {
            if glob_match(p, action) {
                if !p.contains(['*', '?']) {
                    return Some(ActionMatch {
                        matched: p.clone(),
                        wildcard: false,
                    });
                }
                wildcard.get_or_insert_with(|| p.clone());
            }
        }
        return wildcard.map(|matched| ActionMatch {
            matched,
            wildcard: true,
        });
    }
    if let Some(not_actions) = &statement.not_action {
        if !not_actions.iter().any(|p| glob_match(p, action)) {
            return Some(ActionMatch {
                matched: "NotAction".to_owned(),
                wildcard: true,
            });
        }
    }
    None
}

fn condition_truth(statement: &Statement, caller: &Caller<'_>) -> Truth {
    statement
        .condition
        .as_ref()
        .map_or(Truth::True, |c| condition::evaluate(c, caller))
}

/// The grants and Denies of a set of policies for one action.
struct Evaluated {
    allowed: Scope,
    grants: Vec<Grant>,
    /// What the unconditional Denies cover.
    denied: Scope,
    /// Each Deny statement that covers the action, with its scope and condition.
    denies: Vec<(PolicyRef, usize, Option<String>, Scope, Truth)>,
}

fn evaluate_sources(
    sources: &[Source],
    action: &str,
    kind: ResourceType,
    caller: &Caller<'_>,
) -> Evaluated {
    let mut out = Evaluated {
        allowed: Scope::None,
        grants: Vec::new(),
        denied: Scope::None,
        denies: Vec::new(),
    };
    for source in sources {
        for (index, entry) in source.document.entries().iter().enumerate() {
            let Some(statement) = entry.valid() else {
                continue;
            };
            let Some(m) = action_match(statement, action) else {
                continue;
            };
            let truth = condition_truth(statement, caller);
            if truth == Truth::False {
                continue;
            }
            let scope = Scope::of_statement(statement, kind);
            if scope.is_none() {
                continue;
            }
            match statement.effect {
                Effect::Allow => {
                    out.allowed = out.allowed.union(&scope);
                    out.grants.push(Grant {
                        policy: source.policy.clone(),
                        statement: index,
                        sid: statement.sid.clone(),
                        matched: m.matched,
                        wildcard: m.wildcard,
                        scope,
                        conditional: truth == Truth::Unknown,
                    });
                }
                Effect::Deny => {
                    if truth == Truth::True {
                        out.denied = out.denied.union(&scope);
                    }
                    out.denies.push((
                        source.policy.clone(),
                        index,
                        statement.sid.clone(),
                        scope,
                        truth,
                    ));
                }
            }
        }
    }
    out
}

/// A principal's policies, ready to evaluate.
struct Subject<'a> {
    kind: PrincipalKind,
    name: &'a str,
    arn: &'a str,
    identity: Vec<Source>,
    boundary: Option<Result<Source, String>>,
    errors: Vec<String>,
}

fn evaluate_action(
    subject: &Subject<'_>,
    caller: &Caller<'_>,
    action: &str,
    kind: ResourceType,
) -> Option<ActionReport> {
    let identity = evaluate_sources(&subject.identity, action, kind, caller);
    if identity.grants.is_empty() {
        return None;
    }
    let allowed = identity.allowed.clone();
    let mut limits = Vec::new();
    let mut permitted = allowed.clone();
    let mut denied = identity.denied.clone();
    let mut denies = identity.denies;
    if let Some(Ok(boundary)) = &subject.boundary {
        let b = evaluate_sources(std::slice::from_ref(boundary), action, kind, caller);
        let within = allowed.intersect(&b.allowed);
        if within != allowed {
            limits.push(Limit {
                kind: LimitKind::Boundary,
                policy: boundary.policy.clone(),
                statement: None,
                sid: None,
                effect: if within.is_none() {
                    LimitEffect::Full
                } else {
                    LimitEffect::Partial
                },
            });
        }
        permitted = within;
        denied = denied.union(&b.denied);
        denies.extend(b.denies);
    }
    for (policy, index, sid, scope, truth) in denies {
        let effect = if truth == Truth::Unknown {
            LimitEffect::Conditional
        } else if allowed.minus(&scope).is_none() {
            LimitEffect::Full
        } else {
            LimitEffect::Partial
        };
        limits.push(Limit {
            kind: LimitKind::ExplicitDeny,
            policy,
            statement: Some(index),
            sid,
            effect,
        });
    }
    Some(ActionReport {
        action: action.to_owned(),
        grants: identity.grants,
        limits,
        effective: permitted.minus(&denied),
    })
}

/// The account ids (or `*`) outside `account` that a trust policy lets assume the role.
pub fn external_trust(trust_policy: &str, account: &str) -> Vec<String> {
    let Ok(doc) = PolicyDocument::parse(trust_policy) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut add = |who: String| {
        if !out.contains(&who) {
            out.push(who);
        }
    };
    for statement in doc.entries().iter().filter_map(|e| e.valid()) {
        if statement.effect != Effect::Allow {
            continue;
        }
        let assumes = [
            "sts:AssumeRole",
            "sts:AssumeRoleWithSAML",
            "sts:AssumeRoleWithWebIdentity",
        ]
        .iter()
        .any(|a| action_match(statement, a).is_some());
        if !assumes {
            continue;
        }
        if statement.not_principal.is_some() {
            add("* (NotPrincipal)".to_owned());
        }
        match &statement.principal {
            Some(crate::policy::Principal::Star) => add("*".to_owned()),
            Some(crate::policy::Principal::Map(map)) => {
                for (kind, values) in map {
                    for value in values.iter() {
                        match kind.as_str() {
                            "AWS" => {
                                let owner = if value == "*" {
                                    "*".to_owned()
                                } else if value.len() == 12
                                    && value.bytes().all(|b| b.is_ascii_digit())
                                {
                                    value.clone()
                                } else {
                                    value.split(':').nth(4).unwrap_or(value).to_owned()
                                };
                                if owner != account {
                                    add(value.clone());
                                }
                            }
                            "Federated" | "CanonicalUser" => add(value.clone()),
                            _ => {}
                        }
                    }
                }
            }
            None => {}
        }
    }
    out
}

fn finding_for(report: &PrincipalReport) -> Option<Finding> {
    if report.kind == PrincipalKind::Group || report.approved {
        return None;
    }
    let actions: Vec<String> = FINDING_ACTIONS
        .iter()
        .filter(|a| report.action(a).is_some_and(|r| r.effective.is_broad()))
        .map(|a| (*a).to_owned())
        .collect();
    if actions.is_empty() {
        return None;
    }
    let mut reasons = Vec::new();
    if let Some(keys) = report.active_access_keys.filter(|k| *k > 0) {
        reasons.push(format!("user with {keys} active access key(s)"));
    }
    if !report.external_trust.is_empty() {
        reasons.push(format!(
            "role assumable from outside the account ({})",
            report.external_trust.join(", ")
        ));
    }
    let severity = if reasons.is_empty() {
        reasons.push(format!("{} not on the approved list", report.kind));
        Severity::Medium
    } else {
        Severity::High
    };
    Some(Finding {
        severity,
        actions,
        reasons,
    })
}

fn report_subject(
    subject: Subject<'_>,
    account: &str,
    approved: &Approved,
    active_access_keys: Option<u32>,
    external_trust: Vec<String>,
) -> Option<PrincipalReport> {
    let caller = Caller {
        arn: subject.arn,
        account,
    };
    let actions: Vec<ActionReport> = SENSITIVE_ACTIONS
        .iter()
        .filter_map(|(action, kind)| evaluate_action(&subject, &caller, action, *kind))
        .collect();
    let mut errors = subject.errors;
    if let Some(Err(e)) = &subject.boundary {
        errors.push(e.clone());
    }
    if actions.is_empty() && errors.is_empty() {
        return None;
    }
    let mut report = PrincipalReport {
        kind: subject.kind,
        name: subject.name.to_owned(),
        arn: subject.arn.to_owned(),
        approved: subject.kind != PrincipalKind::Group && approved.matches(subject.arn),
        active_access_keys,
        external_trust,
        actions,
        finding: None,
        errors,
    };
    if report.actions.is_empty() {
        return Some(report);
    }
    report.finding = finding_for(&report);
    Some(report)
}

fn boundary(inventory: &Inventory, arn: Option<&str>) -> Option<Result<Source, String>> {
    let arn = arn?;
    let mut errors = Vec::new();
    let name = arn.rsplit('/').next().unwrap_or(arn);
    Some(
        parse_managed(inventory, arn, name, None, &mut errors)
            .ok_or_else(|| format!("permissions boundary: {}", errors.join("; "))),
    )
}

/// Evaluates every user, group and role of the inventory.
pub fn evaluate(inventory: &Inventory, approved: &Approved) -> IamReport {
    let account = inventory.account_id.as_str();
    let mut principals = Vec::new();
    for user in &inventory.users {
        let mut identity = Vec::new();
        let mut errors = Vec::new();
        collect(
            inventory,
            &user.inline,
            &user.attached,
            None,
            &mut identity,
            &mut errors,
        );
        for group_name in &user.groups {
            match inventory.group(group_name) {
                Some(g) => collect(
                    inventory,
                    &g.inline,
                    &g.attached,
                    Some(group_name),
                    &mut identity,
                    &mut errors,
                ),
                None => errors.push(format!(
                    "group `{group_name}` is not in the account details"
                )),
            }
        }
        let subject = Subject {
            kind: PrincipalKind::User,
            name: &user.name,
            arn: &user.arn,
            identity,
            boundary: boundary(inventory, user.boundary.as_deref()),
            errors,
        };
        principals.extend(report_subject(
            subject,
            account,
            approved,
            Some(user.active_access_keys),
            Vec::new(),
        ));
    }
    for group in &inventory.groups {
        let mut identity = Vec::new();
        let mut errors = Vec::new();
        collect(
            inventory,
            &group.inline,
            &group.attached,
            None,
            &mut identity,
            &mut errors,
        );
        let subject = Subject {
            kind: PrincipalKind::Group,
            name: &group.name,
            arn: &group.arn,
            identity,
            boundary: None,
            errors,
        };
        principals.extend(report_subject(subject, account, approved, None, Vec::new()));
    }
    for role in &inventory.roles {
        let mut identity = Vec::new();
        let mut errors = Vec::new();
        collect(
            inventory,
            &role.inline,
            &role.attached,
            None,
            &mut identity,
            &mut errors,
        );
        let trust = role
            .trust_policy
            .as_deref()
            .map(|t| external_trust(t, account))
            .unwrap_or_default();
        let subject = Subject {
            kind: PrincipalKind::Role,
            name: &role.name,
            arn: &role.arn,
            identity,
            boundary: boundary(inventory, role.boundary.as_deref()),
            errors,
        };
        principals.extend(report_subject(subject, account, approved, None, trust));
    }
    IamReport {
        account_id: inventory.account_id.clone(),
        approved: approved.patterns().to_vec(),
        principals,
    }
}

/// One concrete request, for checking a policy's decision.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a str,
    /// The resource ARN (`*` for actions without resource-level permissions).
    pub resource: &'a str,
    pub caller: Caller<'a>,
}

/// The decision of a set of identity policies (and guardrails) for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    /// No statement allows it.
    ImplicitDeny,
    ExplicitDeny,
}

fn statement_applies(statement: &Statement, request: &Request<'_>) -> Truth {
    if action_match(statement, request.action).is_none() {
        return Truth::False;
    }
    let resource = if let Some(resources) = &statement.resource {
        resources
            .iter()
            .any(|r| glob_match_case_sensitive(r, request.resource))
    } else if let Some(excluded) = &statement.not_resource {
        !excluded
            .iter()
            .any(|r| glob_match_case_sensitive(r, request.resource))
    } else {
        // SCP statements may leave Resource out? They may not; neither may identity policies.
        false
    };
    if !resource {
        return Truth::False;
    }
    condition_truth(statement, &request.caller)
}

/// Whether a document explicitly denies a request (a Deny whose condition is unknown does not
/// count).
pub fn denies(document: &PolicyDocument, request: &Request<'_>) -> bool {
    document
        .entries()
        .iter()
        .filter_map(|e| e.valid())
        .any(|s| s.effect == Effect::Deny && statement_applies(s, request) == Truth::True)
}

/// Deny precedence over a set of documents: an applicable Deny wins, then an applicable Allow
/// (conditions the evaluator cannot decide count as holding for Allow, not for Deny).
pub fn decide(documents: &[&PolicyDocument], request: &Request<'_>) -> Decision {
    if documents.iter().any(|d| denies(d, request)) {
        return Decision::ExplicitDeny;
    }
    let allowed = documents.iter().any(|d| {
        d.entries()
            .iter()
            .filter_map(|e| e.valid())
            .any(|s| s.effect == Effect::Allow && statement_applies(s, request) != Truth::False)
    });
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}
