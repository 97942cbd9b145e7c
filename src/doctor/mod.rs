//! `hfget doctor`: names the exact reason a download is refused and the exact fix.
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

use crate::auth::{ResolvedToken, TokenSource};
use crate::env::Settings;
use crate::hub::HubClient;

/// The doctor's verdict: a cause, its layer, words for humans, and the evidence behind it.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub cause: Cause,
    pub layer: Layer,
    pub summary: String,
    pub explanation: String,
    pub fix: Vec<String>,
    /// What the evidence shows besides the cause: routes the endpoint did not answer like the
    /// Hub, a listing with masked hashes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub evidence: Evidence,
}

impl Diagnosis {
    pub fn exit_code(&self) -> u8 {
        self.cause.exit_code()
    }
}

/// Gathers, classifies and explains. `candidates` are every token source holding a token, in
/// precedence order; `active` is the one hfget sends (None when there is none, or when
/// `HF_HUB_DISABLE_IMPLICIT_TOKEN` keeps stored tokens from being sent), and `client` sends it.
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

/// The token hfget would send: the first candidate, unless HF_HUB_DISABLE_IMPLICIT_TOKEN allows
/// only an explicit --token (docs/protocol.md §5.1).
pub fn active_token(settings: &Settings, candidates: &[ResolvedToken]) -> Option<ResolvedToken> {
    candidates
        .first()
        .filter(|c| !settings.disable_implicit_token || c.source == TokenSource::Flag)
        .cloned()
}

/// Diagnoses `subject` with the token hfget would send (`client` sends it, see [`active_token`]),
/// and every other source for comparison. `doctor` and a refused `download` both come here, so
/// both print the same verdict.
pub async fn diagnose_with_sources(
    settings: &Settings,
    client: &HubClient,
    candidates: &[ResolvedToken],
    subject: &Subject,
) -> Diagnosis {
    let active = active_token(settings, candidates);
    let implicit_token_withheld =
        settings.disable_implicit_token && active.is_none() && !candidates.is_empty();
    diagnose(
        client,
        subject,
        active.as_ref(),
        candidates,
        implicit_token_withheld,
    )
    .await
}

/// The endpoint as the doctor prints it: a password in `HF_ENDPOINT`
/// (`http://user:secret@mirror`) is masked, and no trailing slash.
pub fn shown_endpoint(endpoint: &str) -> String {
    crate::auth::token::redact_url_password(endpoint)
        .trim_end_matches('/')
        .to_string()
}

/// The diagnosis when offline mode forbids every request.
pub fn offline(settings: &Settings, subject: &Subject, variables: Vec<String>) -> Diagnosis {
    from_evidence(Evidence {
        endpoint: shown_endpoint(&settings.endpoint),
        repo_id: subject.repo.id.clone(),
        repo_type: Some(subject.repo.repo_type),
        revision: subject
            .revision
            .clone()
            .unwrap_or_else(|| "main".to_string()),
        file: subject.file.clone(),
        // Never empty here: offline mode comes from one of the two variables.
        offline_variables: if variables.is_empty() {
            vec![crate::env::HF_HUB_OFFLINE.to_string()]
        } else {
            variables
        },
        ..Evidence::default()
    })
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
        notes: advice::notes(cause, &evidence),
        evidence,
    }
}
