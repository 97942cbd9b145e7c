//! `hfget doctor`: names the exact reason a download is refused and the exact fix (issue #3).
//!
//! Three steps, kept apart so each can be tested on its own: [`gather`] makes the requests and
//! records what came back ([`evidence`]), [`classify`] turns evidence into a [`Cause`] without
//! any I/O, and [`advice`] turns the cause into sentences, URLs and commands. `download` runs the
//! same pipeline when the Hub refuses it, so the user never sees a bare 403.

pub mod advice;
pub mod classify;
pub mod evidence;
pub mod gather;
pub mod render;
pub mod setup;

use serde::Serialize;

pub use classify::{Cause, Layer};
use evidence::Evidence;
pub use gather::Subject;

use crate::auth::ResolvedToken;
use crate::hub::HubClient;

/// The doctor's verdict: a cause, its layer, words for humans, and the evidence behind it.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub cause: Cause,
    pub layer: Layer,
    pub summary: String,
    pub explanation: String,
    pub fix: Vec<String>,
    pub evidence: Evidence,
}

impl Diagnosis {
    pub fn exit_code(&self) -> u8 {
        self.cause.exit_code()
    }
}

/// Gathers, classifies and explains. `candidates` are every token source holding a token, in
/// precedence order; `active` is the one hfget sends (None when there is none, or when
/// `HF_HUB_DISABLE_IMPLICIT_TOKEN` keeps stored tokens from being sent).
pub async fn diagnose(
    client: &HubClient,
    subject: &Subject,
    active: Option<&ResolvedToken>,
    candidates: &[ResolvedToken],
    implicit_token_disabled: bool,
) -> Diagnosis {
    let others: Vec<ResolvedToken> = candidates
        .iter()
        .filter(|c| active.is_none_or(|a| a.token != c.token))
        .cloned()
        .collect();
    let evidence = gather::gather(client, subject, active, &others, implicit_token_disabled).await;
    from_evidence(evidence)
}

pub fn from_evidence(evidence: Evidence) -> Diagnosis {
    let cause = classify::classify(&evidence);
    let words = advice::advise(cause, &evidence);
    Diagnosis {
        cause,
        layer: cause.layer(),
        summary: words.summary,
        explanation: words.explanation,
        fix: words.fix,
        evidence,
    }
}
