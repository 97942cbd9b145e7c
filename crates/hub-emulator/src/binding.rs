//! Which `Range` a signed xet-bridge CDN URL is bound to (issue #9 item 7).
//!
//! The Hub's bridge URLs changed over time (real-hub-2026.md §4):
//! - 2025: the CloudFront policy held only `DateLessThan` (datasets#7685): any range works
//!   ([`RangeBinding::None`]);
//! - 2026: a URL minted by a resolve with `Range: bytes=0-0` answers 403 on any other range
//!   (hf-fetch-model commit 7e2ab85): [`RangeBinding::ExactWhenRanged`] if a URL minted
//!   without a `Range` still serves anything, [`RangeBinding::Strict`] if it then serves only
//!   Range-less GETs.
//!
//! The default stays what the emulator always did — strict — so older tests keep their
//! meaning. Classic LFS files (`Repo::lfs_plain`) are never bound: they are plain CloudFront
//! signed URLs. A refused range gets the CDN's `403 AccessDenied`.

use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;

/// JSON: `"none"`, `"exact_when_ranged"` or `"strict"` (the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeBinding {
    /// The URL serves any range (the 2025 bridge).
    None,
    /// A URL minted with a `Range` serves exactly that `Range`; one minted without serves any.
    ExactWhenRanged,
    /// The URL serves exactly the `Range` header of the resolve that minted it, and a URL
    /// minted without `Range` only serves GETs without one.
    #[default]
    Strict,
}

impl RangeBinding {
    /// Whether a CDN request with `requested` may use a URL minted with `minted` (`""` when the
    /// resolve carried no `Range`).
    pub(crate) fn allows(self, minted: &str, requested: Option<&str>) -> bool {
        match self {
            RangeBinding::None => true,
            RangeBinding::ExactWhenRanged => minted.is_empty() || requested == Some(minted),
            RangeBinding::Strict => requested.unwrap_or("") == minted,
        }
    }
}

impl Scenario {
    /// Issue #9: how signed xet-bridge URLs are bound to the `Range` that minted them.
    pub fn range_binding(mut self, binding: RangeBinding) -> Self {
        self.range_binding = binding;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::RangeBinding;

    #[test]
    fn binding_modes() {
        let r = Some("bytes=0-9");
        assert!(RangeBinding::None.allows("bytes=0-0", r));
        assert!(RangeBinding::ExactWhenRanged.allows("", r));
        assert!(RangeBinding::ExactWhenRanged.allows("", None));
        assert!(RangeBinding::ExactWhenRanged.allows("bytes=0-9", r));
        assert!(!RangeBinding::ExactWhenRanged.allows("bytes=0-0", r));
        assert!(!RangeBinding::ExactWhenRanged.allows("bytes=0-0", None));
        assert!(RangeBinding::Strict.allows("", None));
        assert!(!RangeBinding::Strict.allows("", r));
        assert!(RangeBinding::Strict.allows("bytes=0-9", r));
        assert!(!RangeBinding::Strict.allows("bytes=0-9", None));
    }
}
