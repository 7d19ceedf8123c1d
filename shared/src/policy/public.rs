//! "Is this statement public?", following "The meaning of public" in the S3 user guide.

use super::action::{actions_grant, ExposureKinds};
use super::condition::{condition_pins, ConditionPin};
use super::document::{Effect, Statement};
use super::principal::PrincipalForm;

/// Which kind of resource policy a statement belongs to: the rules differ for
/// `s3:DataAccessPointArn` wildcards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Bucket,
    AccessPoint,
}

/// The analysis of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementPublicity {
    pub effect: Effect,
    pub principal: PrincipalForm,
    /// The condition that pins the statement to fixed values, if any.
    pub pinned_by: Option<ConditionPin>,
    /// Whether the statement grants access to the public.
    pub public: bool,
    /// What the statement's actions let a grantee do.
    pub kinds: ExposureKinds,
}

/// Decides whether one statement is public. S3 assumes public, then looks for a fixed
/// principal or a pinning condition. `Deny` is never public.
pub fn analyze_statement(statement: &Statement, kind: PolicyKind) -> StatementPublicity {
    let principal = match (&statement.principal, &statement.not_principal) {
        (_, Some(_)) => PrincipalForm::NotPrincipal,
        (Some(p), None) if p.is_fixed() => PrincipalForm::Fixed,
        (Some(_), None) => PrincipalForm::Wildcard,
        (None, None) => PrincipalForm::Missing,
    };
    let pinned_by = statement
        .condition
        .as_ref()
        .and_then(|c| condition_pins(c, kind));
    let kinds = match (&statement.action, &statement.not_action) {
        (_, Some(not_action)) => actions_grant(not_action.iter().map(String::as_str), true),
        (Some(action), None) => actions_grant(action.iter().map(String::as_str), false),
        (None, None) => ExposureKinds::NONE,
    };
    let public = statement.effect == Effect::Allow
        && matches!(
            principal,
            PrincipalForm::Wildcard | PrincipalForm::NotPrincipal
        )
        && pinned_by.is_none();
    StatementPublicity {
        effect: statement.effect,
        principal,
        pinned_by,
        public,
        kinds,
    }
}
