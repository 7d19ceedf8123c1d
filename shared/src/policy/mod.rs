//! The IAM policy model (serde) and the rules that decide whether a statement is public.
//!
//! The model is our own: existing crates reject policies that AWS accepts. It keeps the
//! document's shape (one-or-many values, statement order, condition order) so that a policy can be
//! parsed, edited and written back without changing its meaning.

mod action;
mod condition;
mod document;
mod principal;
mod public;

pub use action::{actions_grant, glob_match, glob_match_case_sensitive, ExposureKinds};
pub use condition::{condition_pins, ConditionPin};
pub use document::{
    ConditionBlock, ConditionValue, Effect, OneOrMany, PolicyDocument, PolicyError, Principal,
    Statement, StatementEntry,
};
pub use principal::{principal_value_is_fixed, PrincipalForm};
pub use public::{analyze_statement, PolicyKind, StatementPublicity};
