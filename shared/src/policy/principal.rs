//! Is a principal "fixed" in the sense of "The meaning of public"?

use super::document::Principal;

/// How a statement names who it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalForm {
    /// Every value is a fixed account, user, role, service, canonical user or provider.
    Fixed,
    /// `"*"`, a wildcard value, or a list with a wildcard among fixed values.
    Wildcard,
    /// `NotPrincipal`: everyone but the listed principals.
    NotPrincipal,
    /// Neither `Principal` nor `NotPrincipal` (invalid in a resource policy).
    Missing,
}

/// Whether one principal value pins the caller. Any `*` or `?` makes it a wildcard: AWS
/// allows no partial wildcards in principals, so such a value can only widen the grant.
pub fn principal_value_is_fixed(_kind: &str, value: &str) -> bool {
    !value.is_empty() && !value.contains(['*', '?'])
}

impl Principal {
    /// Whether every value of the principal is fixed.
    pub fn is_fixed(&self) -> bool {
        match self {
            Principal::Star => false,
            Principal::Map(map) => {
                !map.is_empty()
                    && map.iter().all(|(kind, values)| {
                        !values.as_slice().is_empty()
                            && values.iter().all(|v| principal_value_is_fixed(kind, v))
                    })
            }
        }
    }
}
