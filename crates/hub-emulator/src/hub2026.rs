//! The Hub as 2025–26 captures show it, where it differs from what the rest of the emulator
//! does by default: opt-in scenario switches, so older tests keep their meaning and hfget is
//! tested against both (issue #10). Sources: `real-hub-2026.md` §2–3.
//!
//! - masked hashes: for a caller without content access on a gated repo, `/tree` gives
//!   `"xetHash"` as 64 asterisks (huggingface_hub PR #4595, xet-core#895, reproduced on
//!   `google/translategemma-4b-it`); a third-party report says `lfs.oid` too;
//! - the root `README.md` of a gated repo is readable by anyone, `.gitattributes` stays gated
//!   (third-party report; the gated `.gitattributes` is confirmed by the official live test);
//! - `/api/resolve-cache/` 307s only on public, non-gated repos (third-party report);
//! - a bad token is refused as `Invalid username or password.` (huggingface_hub#2002, after a
//!   token was deleted) or `Invalid credentials in Authorization header` (2025 captures);
//! - 401s carry `WWW-Authenticate: Bearer realm="Authentication required", charset="UTF-8"`;
//! - `auth-check` answers 200 with the body `OK` (third-party report; another says empty).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scenario::Gate;
use crate::state::{Caller, Denial, RepoState, Shared};

/// Which hashes `/tree` masks for callers without content access.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskedHashes {
    /// Nothing masked (the emulator's behaviour before issue #10).
    #[default]
    Off,
    /// `xetHash` only (primary sources).
    Xet,
    /// `xetHash` and `lfs.oid` (third-party report).
    XetAndLfs,
}

/// The text of the 401 that refuses a bad token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadTokenWording {
    /// `Invalid credentials in Authorization header` (2025 captures).
    #[default]
    InvalidCredentials,
    /// `Invalid username or password.` (huggingface_hub#2002).
    InvalidUsernameOrPassword,
}

/// The switches, copied from the scenario when the emulator starts.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Switches {
    pub masked_hashes: MaskedHashes,
    pub public_readme_on_gated: bool,
    pub resolve_cache_only_public: bool,
    pub bad_token_wording: BadTokenWording,
    pub www_authenticate: bool,
    pub auth_check_ok_body: bool,
}

impl Switches {
    pub(crate) fn from_scenario(s: &crate::scenario::Scenario) -> Switches {
        Switches {
            masked_hashes: s.masked_hashes,
            public_readme_on_gated: s.public_readme_on_gated,
            resolve_cache_only_public: s.resolve_cache_only_public,
            bad_token_wording: s.bad_token_wording,
            www_authenticate: s.www_authenticate,
            auth_check_ok_body: s.auth_check_ok_body,
        }
    }
}

/// The 401 text for a bad token.
pub(crate) fn bad_token_message(switches: &Switches) -> &'static str {
    match switches.bad_token_wording {
        BadTokenWording::InvalidCredentials => crate::hub::INVALID_CREDENTIALS,
        BadTokenWording::InvalidUsernameOrPassword => crate::hub::INVALID_USER_PASS,
    }
}

/// What `/tree` masks for this caller on this repo: nothing unless the repo is gated and the
/// caller is refused its content.
pub(crate) fn mask_for(shared: &Shared, repo: &RepoState, caller: &Caller) -> MaskedHashes {
    let switches = &shared.cfg.hub2026;
    if switches.masked_hashes == MaskedHashes::Off || repo.gated == Gate::None {
        return MaskedHashes::Off;
    }
    match shared.check(repo, caller, true) {
        Err(Denial::Gate(_)) => switches.masked_hashes,
        _ => MaskedHashes::Off,
    }
}

/// Masks one `/tree` entry in place: 64 asterisks, as captured.
pub(crate) fn mask_entry(entry: &mut Value, mask: MaskedHashes) {
    let stars = Value::from("*".repeat(64));
    if mask == MaskedHashes::Off {
        return;
    }
    if entry.get("xetHash").is_some() {
        entry["xetHash"] = stars.clone();
    }
    if mask == MaskedHashes::XetAndLfs && entry.get("lfs").is_some() {
        entry["lfs"]["oid"] = stars;
    }
}

/// Whether a resolved path is one anyone may read on a gated repo (the root `README.md`).
pub(crate) fn readable_by_anyone(switches: &Switches, path: &str) -> bool {
    switches.public_readme_on_gated && path == "README.md"
}

/// Whether a regular file of this repo gets the relative 307 to `/api/resolve-cache/`.
pub(crate) fn resolve_cache_hop(switches: &Switches, repo: &RepoState) -> bool {
    !switches.resolve_cache_only_public || (repo.gated == Gate::None && !repo.private)
}

/// The 200 answer of `auth-check`.
pub(crate) fn auth_check_ok(switches: &Switches) -> Response {
    let body = if switches.auth_check_ok_body {
        "OK"
    } else {
        // GUESS (§3.5, §8): empty 200 body, the emulator's default.
        ""
    };
    let mut r = Response::new(axum::body::Body::from(body));
    if let Ok(v) = HeaderValue::from_str("text/plain; charset=utf-8") {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// Last touch on every hub answer: the `WWW-Authenticate` header of 401s.
pub(crate) fn finish(switches: &Switches, resp: &mut Response) {
    if switches.www_authenticate && resp.status() == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="Authentication required", charset="UTF-8""#),
        );
    }
}
