//! Snapshot -> verdict: what AWS would call public, how, and through which statement or grant.
//! Pure: no I/O. Errors in one statement are recorded as findings, never abort the evaluation.

use serde::{Deserialize, Serialize};

use crate::policy::{
    analyze_statement, ExposureKinds, PolicyDocument, PolicyKind, PrincipalForm, StatementEntry,
};
use crate::snapshot::{Acl, PublicAccessBlock, Snapshot};

/// The layer a finding concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Policy,
    BucketAcl,
    ObjectAcl,
    Bpa,
    AccountBpa,
    Ownership,
    AccessPoint,
    /// Website, tags, encryption, location: read for classification only.
    Metadata,
}

/// Whether a finding is an exposure now, one neutralised by BPA or ownership, or a weakness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Public,
    Latent,
    Info,
}

/// The statement a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRef {
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The ACL grant a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRef {
    pub grantee: String,
    pub permission: String,
}

/// One cause of exposure, or one weakness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub layer: Layer,
    pub code: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<StatementRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<GrantRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// What the cause lets the public do (for `public` and `latent` findings).
    #[serde(default)]
    pub exposes: ExposureKinds,
    pub message: String,
}

/// The evaluator's answer for one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub bucket: String,
    pub policy_is_public: bool,
    pub acl_is_public: bool,
    pub public: bool,
    pub exposure: ExposureKinds,
    pub latent: ExposureKinds,
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Whether anything is neutralised but would come back if BPA or ownership were removed.
    pub fn has_latent(&self) -> bool {
        self.findings.iter().any(|f| f.status == Status::Latent)
    }

    /// The findings that are live exposures.
    pub fn public_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.status == Status::Public)
    }
}

/// Collects findings and the exposure they add up to.
#[derive(Default)]
struct Builder {
    findings: Vec<Finding>,
    exposure: ExposureKinds,
    latent: ExposureKinds,
    public: bool,
}

impl Builder {
    fn push(&mut self, finding: Finding) {
        match finding.status {
            Status::Public => {
                self.public = true;
                self.exposure = self.exposure.union(finding.exposes);
            }
            Status::Latent => self.latent = self.latent.union(finding.exposes),
            Status::Info => {}
        }
        self.findings.push(finding);
    }

    fn info(&mut self, layer: Layer, code: &str, message: String) {
        self.push(Finding {
            layer,
            code: code.to_owned(),
            status: Status::Info,
            statement: None,
            grant: None,
            access_point: None,
            object: None,
            exposes: ExposureKinds::NONE,
            message,
        });
    }
}

/// Evaluates a snapshot.
pub fn evaluate(snapshot: &Snapshot) -> Verdict {
    let mut out = Builder::default();
    let bpa = snapshot.effective_bpa();
    let acls_disabled = snapshot.acls_disabled();

    let policy_is_public = snapshot.policy.as_ref().is_some_and(|policy| {
        policy_findings(
            &policy.document,
            PolicyKind::Bucket,
            bpa.restrict_public_buckets,
            None,
            &mut out,
        )
    });

    let acl_is_public = snapshot
        .acl
        .as_ref()
        .is_some_and(|acl| acl_findings(acl, AclTarget::Bucket, bpa, acls_disabled, &mut out));
    for object in &snapshot.objects {
        if let Some(acl) = &object.acl {
            acl_findings(
                acl,
                AclTarget::Object(&object.key),
                bpa,
                acls_disabled,
                &mut out,
            );
        }
    }

    for ap in &snapshot.access_points {
        if ap.is_vpc() {
            continue;
        }
        if let Some(policy) = &ap.policy {
            let restrict = bpa.restrict_public_buckets
                || ap
                    .public_access_block
                    .unwrap_or_default()
                    .restrict_public_buckets;
            policy_findings(
                &policy.document,
                PolicyKind::AccessPoint,
                restrict,
                Some(&ap.name),
                &mut out,
            );
        }
    }

    weakness_findings(snapshot, acls_disabled, &mut out);

    Verdict {
        bucket: snapshot.bucket.clone(),
        policy_is_public,
        acl_is_public,
        public: out.public,
        exposure: out.exposure,
        latent: out.latent,
        findings: out.findings,
    }
}

/// Whether a policy document is public in `GetBucketPolicyStatus` semantics, ignoring BPA.
pub fn policy_is_public(document: &PolicyDocument, kind: PolicyKind) -> bool {
    document
        .entries()
        .iter()
        .filter_map(StatementEntry::valid)
        .any(|s| analyze_statement(s, kind).public)
}

/// Adds a finding per public or invalid statement; returns whether any statement is public.
fn policy_findings(
    document: &PolicyDocument,
    kind: PolicyKind,
    restricted: bool,
    access_point: Option<&str>,
    out: &mut Builder,
) -> bool {
    let (layer, prefix, what) = match access_point {
        None => (Layer::Policy, "policy", "bucket policy".to_owned()),
        Some(name) => (
            Layer::AccessPoint,
            "access_point",
            format!("policy of access point `{name}`"),
        ),
    };
    let mut any_public = false;
    for (index, entry) in document.entries().iter().enumerate() {
        let statement = match entry {
            StatementEntry::Valid(s) => s,
            StatementEntry::Invalid { raw, error } => {
                let sid = raw.get("Sid").and_then(|v| v.as_str()).map(str::to_owned);
                out.push(Finding {
                    layer,
                    code: format!("{prefix}.invalid_statement"),
                    status: Status::Info,
                    statement: Some(StatementRef { index, sid }),
                    grant: None,
                    access_point: access_point.map(str::to_owned),
                    object: None,
                    exposes: ExposureKinds::NONE,
                    message: format!("statement {index} of the {what} could not be read: {error}"),
                });
                continue;
            }
        };
        let analysis = analyze_statement(statement, kind);
        let label = statement_label(index, statement.sid.as_deref());
        if analysis.principal == PrincipalForm::Missing
            && statement.effect == crate::policy::Effect::Allow
        {
            out.push(Finding {
                layer,
                code: format!("{prefix}.invalid_statement"),
                status: Status::Info,
                statement: Some(StatementRef {
                    index,
                    sid: statement.sid.clone(),
                }),
                grant: None,
                access_point: access_point.map(str::to_owned),
                object: None,
                exposes: ExposureKinds::NONE,
                message: format!(
                    "{label} of the {what} has neither Principal nor NotPrincipal, which a resource policy requires"
                ),
            });
            continue;
        }
        if !analysis.public {
            continue;
        }
        any_public = true;
        let (code, who) = match (access_point, analysis.principal) {
            (Some(_), _) => ("access_point.public_policy", "the public"),
            (None, PrincipalForm::NotPrincipal) => {
                ("policy.not_principal", "everyone but the NotPrincipal list")
            }
            (None, _) => ("policy.public_principal", "a wildcard principal"),
        };
        let grants = describe_kinds(analysis.kinds);
        let message = if restricted {
            format!("{label} of the {what} grants {grants} to {who}; neutralised by RestrictPublicBuckets")
        } else {
            format!("{label} of the {what} grants {grants} to {who} with no condition that pins the caller")
        };
        out.push(Finding {
            layer,
            code: code.to_owned(),
            status: if restricted {
                Status::Latent
            } else {
                Status::Public
            },
            statement: Some(StatementRef {
                index,
                sid: statement.sid.clone(),
            }),
            grant: None,
            access_point: access_point.map(str::to_owned),
            object: None,
            exposes: analysis.kinds,
            message,
        });
    }
    any_public
}

fn statement_label(index: usize, sid: Option<&str>) -> String {
    match sid {
        Some(sid) if !sid.is_empty() => format!("statement `{sid}`"),
        _ => format!("statement {index}"),
    }
}

fn describe_kinds(kinds: ExposureKinds) -> String {
    let names = kinds.names();
    if names.is_empty() {
        "access".to_owned()
    } else {
        names.join("+")
    }
}

#[derive(Clone, Copy)]
enum AclTarget<'a> {
    Bucket,
    Object(&'a str),
}

/// What an ACL permission lets the public do, on a bucket or on an object.
pub fn acl_permission_kinds(permission: &str, on_object: bool) -> ExposureKinds {
    let mut k = ExposureKinds::NONE;
    match (permission, on_object) {
        ("READ", false) => k.list = true,
        ("READ", true) => k.read = true,
        ("WRITE", false) => k.write = true,
        ("READ_ACP", _) => k.read_acl = true,
        ("WRITE_ACP", _) => k.write_acl = true,
        ("FULL_CONTROL", false) => {
            k.list = true;
            k.write = true;
            k.read_acl = true;
            k.write_acl = true;
        }
        ("FULL_CONTROL", true) => {
            k.read = true;
            k.read_acl = true;
            k.write_acl = true;
        }
        // An object WRITE grant has no effect in S3; unknown permissions grant nothing known.
        _ => {}
    }
    k
}

/// Adds a finding per public grant; returns whether the ACL, alone, is public.
fn acl_findings(
    acl: &Acl,
    target: AclTarget<'_>,
    bpa: PublicAccessBlock,
    acls_disabled: bool,
    out: &mut Builder,
) -> bool {
    let (layer, code, object, what) = match target {
        AclTarget::Bucket => (
            Layer::BucketAcl,
            "bucket_acl.public_grant",
            None,
            "bucket ACL".to_owned(),
        ),
        AclTarget::Object(key) => (
            Layer::ObjectAcl,
            "object_acl.public_grant",
            Some(key.to_owned()),
            format!("ACL of object `{key}`"),
        ),
    };
    let mut any_public = false;
    for grant in acl.grants.iter().filter(|g| g.grantee.is_public()) {
        let exposes = acl_permission_kinds(&grant.permission, object.is_some());
        if object.is_some() && !exposes.any() {
            // An object WRITE grant means nothing; not an exposure.
            continue;
        }
        any_public = true;
        let grantee = grant.grantee.label();
        let neutraliser = if acls_disabled {
            Some("BucketOwnerEnforced (ACLs disabled)")
        } else if bpa.ignore_public_acls {
            Some("IgnorePublicAcls")
        } else {
            None
        };
        let base = format!("the {what} grants {} to {grantee}", grant.permission);
        out.push(Finding {
            layer,
            code: code.to_owned(),
            status: if neutraliser.is_some() {
                Status::Latent
            } else {
                Status::Public
            },
            statement: None,
            grant: Some(GrantRef {
                grantee,
                permission: grant.permission.clone(),
            }),
            access_point: None,
            object: object.clone(),
            exposes,
            message: match neutraliser {
                Some(n) => format!("{base}; neutralised by {n}"),
                None => base,
            },
        });
    }
    any_public
}

fn weakness_findings(snapshot: &Snapshot, acls_disabled: bool, out: &mut Builder) {
    match snapshot.public_access_block {
        Some(b) if b.all_on() => {}
        Some(_) => out.info(
            Layer::Bpa,
            "bpa.bucket_incomplete",
            "bucket Block Public Access is only partly on".to_owned(),
        ),
        None => out.info(
            Layer::Bpa,
            "bpa.bucket_incomplete",
            "the bucket has no Block Public Access configuration".to_owned(),
        ),
    }
    match snapshot.account_public_access_block {
        Some(b) if b.all_on() => {}
        Some(_) => out.info(
            Layer::AccountBpa,
            "account_bpa.incomplete",
            "account Block Public Access is only partly on".to_owned(),
        ),
        None => out.info(
            Layer::AccountBpa,
            "account_bpa.incomplete",
            "the account has no Block Public Access configuration".to_owned(),
        ),
    }
    if !acls_disabled {
        out.info(
            Layer::Ownership,
            "ownership.acls_enabled",
            "object ownership is not BucketOwnerEnforced, so ACLs still grant access".to_owned(),
        );
    }
    for error in &snapshot.errors {
        out.info(
            layer_of(&error.layer),
            "snapshot.layer_unreadable",
            format!("layer `{}` could not be read: {}", error.layer, error.code),
        );
    }
}

/// Maps a snapshot `Errors[].Layer` name to a layer.
fn layer_of(name: &str) -> Layer {
    match name.to_ascii_lowercase().as_str() {
        "policy" => Layer::Policy,
        "acl" | "bucket_acl" => Layer::BucketAcl,
        "objects" | "object_acl" => Layer::ObjectAcl,
        "publicaccessblock" | "public_access_block" | "bpa" => Layer::Bpa,
        "accountpublicaccessblock" | "account_public_access_block" | "account_bpa" => {
            Layer::AccountBpa
        }
        "ownershipcontrols" | "ownership_controls" | "ownership" => Layer::Ownership,
        "accesspoints" | "access_points" | "access_point" => Layer::AccessPoint,
        _ => Layer::Metadata,
    }
}
