//! From evidence to a cause. Pure: no I/O, so every branch is unit-tested, including wordings
//! the Hub has used in the past and wordings it has not used yet.
//!
//! Order of trust (the brief, docs/protocol.md §4.10): status and `X-Error-Code` first, then
//! whoami data (role, `canReadGatedRepos`, scopes, org `securityRestrictions`) and repo flags
//! (`private`, `gated`, `disabled`), and message wording last — only to split the gated
//! sub-cases, with a fallback when the wording is unknown.

use serde::Serialize;

use super::evidence::{Evidence, Probe};
use crate::exit::{self, Class};

/// A stable diagnosis identifier (the `cause` field of `--json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Ok,
    NoToken,
    InvalidToken,
    EnvTokenShadowsLogin,
    GatedAccessNotRequested,
    GatedAccessPending,
    GatedAccessRejected,
    TokenGatedScopeMissing,
    TokenRepoScopeMissing,
    OrgRestriction,
    RepoNotFound,
    WrongRepoType,
    RevisionNotFound,
    FileNotFound,
    RepoDisabled,
    RateLimited,
    EndpointUnreachable,
    /// A proxy answered `407 Proxy Authentication Required`.
    ProxyAuthFailed,
    /// The proxy a variable names could not be reached.
    ProxyUnreachable,
    ServerError,
    /// `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is set: the doctor may not ask anything.
    OfflineMode,
    /// The endpoint served the repository's information but answered a route of it with
    /// "repository not found": a mirror or proxy that lacks the route.
    EndpointInconsistent,
    /// A mirror answered that it lost its upstream (olah's `504 ProxyTimeout`).
    MirrorUpstreamUnreachable,
    /// An offline mirror has not cached what was asked (olah's `401 RepoNotFound`).
    NotCachedByMirror,
}

/// Which layer is at fault: the heart of the diagnosis (account vs token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Account,
    Token,
    Repo,
    /// A mirror or proxy at `HF_ENDPOINT` that does not answer like the Hub.
    Endpoint,
    Network,
    /// This machine's settings (offline mode).
    Local,
    None,
}

impl Layer {
    /// The serde name, for the human report (so text and `--json` agree).
    pub fn id(self) -> &'static str {
        match self {
            Layer::Account => "account",
            Layer::Token => "token",
            Layer::Repo => "repo",
            Layer::Endpoint => "endpoint",
            Layer::Network => "network",
            Layer::Local => "local",
            Layer::None => "none",
        }
    }
}

impl Cause {
    /// The stable name (`--json`'s `cause`) and the exit code of this cause, from one match:
    /// the same exit codes `download` uses for the same family (docs/exit-codes.md). Answers
    /// that contradict each other are not a Hub answer (8); a mirror's cache that lacks the
    /// file is "offline and not in the cache" (10).
    pub fn classify(self) -> Class {
        let (code, name) = match self {
            Cause::Ok => (exit::SUCCESS, "ok"),
            Cause::NoToken => (exit::TOKEN, "no_token"),
            Cause::InvalidToken => (exit::TOKEN, "invalid_token"),
            Cause::EnvTokenShadowsLogin => (exit::TOKEN, "env_token_shadows_login"),
            Cause::GatedAccessNotRequested => (exit::ACCESS, "gated_access_not_requested"),
            Cause::GatedAccessPending => (exit::ACCESS, "gated_access_pending"),
            Cause::GatedAccessRejected => (exit::ACCESS, "gated_access_rejected"),
            Cause::TokenGatedScopeMissing => (exit::TOKEN, "token_gated_scope_missing"),
            Cause::TokenRepoScopeMissing => (exit::TOKEN, "token_repo_scope_missing"),
            Cause::OrgRestriction => (exit::ACCESS, "org_restriction"),
            Cause::RepoNotFound => (exit::NOT_FOUND, "repo_not_found"),
            Cause::WrongRepoType => (exit::NOT_FOUND, "wrong_repo_type"),
            Cause::RevisionNotFound => (exit::NOT_FOUND, "revision_not_found"),
            Cause::FileNotFound => (exit::NOT_FOUND, "file_not_found"),
            Cause::RepoDisabled => (exit::ACCESS, "repo_disabled"),
            Cause::RateLimited => (exit::HUB_UNAVAILABLE, "rate_limited"),
            Cause::EndpointUnreachable => (exit::NETWORK, "endpoint_unreachable"),
            Cause::ProxyAuthFailed => (exit::NETWORK, "proxy_auth_failed"),
            Cause::ProxyUnreachable => (exit::NETWORK, "proxy_unreachable"),
            Cause::ServerError => (exit::HUB_UNAVAILABLE, "server_error"),
            Cause::OfflineMode => (exit::OFFLINE, "offline_mode"),
            Cause::EndpointInconsistent => (exit::INTEGRITY, "endpoint_inconsistent"),
            Cause::MirrorUpstreamUnreachable => {
                (exit::HUB_UNAVAILABLE, "mirror_upstream_unreachable")
            }
            Cause::NotCachedByMirror => (exit::OFFLINE, "not_cached_by_mirror"),
        };
        Class::new(code, name)
    }

    pub fn id(self) -> &'static str {
        self.classify().cause
    }

    pub fn layer(self) -> Layer {
        match self {
            Cause::Ok => Layer::None,
            Cause::NoToken
            | Cause::InvalidToken
            | Cause::EnvTokenShadowsLogin
            | Cause::TokenGatedScopeMissing
            | Cause::TokenRepoScopeMissing => Layer::Token,
            Cause::GatedAccessNotRequested
            | Cause::GatedAccessPending
            | Cause::GatedAccessRejected
            | Cause::OrgRestriction => Layer::Account,
            Cause::RepoNotFound
            | Cause::WrongRepoType
            | Cause::RevisionNotFound
            | Cause::FileNotFound
            | Cause::RepoDisabled => Layer::Repo,
            Cause::RateLimited
            | Cause::EndpointUnreachable
            | Cause::ProxyAuthFailed
            | Cause::ProxyUnreachable
            | Cause::ServerError => Layer::Network,
            Cause::EndpointInconsistent
            | Cause::MirrorUpstreamUnreachable
            | Cause::NotCachedByMirror => Layer::Endpoint,
            Cause::OfflineMode => Layer::Local,
        }
    }

    pub fn exit_code(self) -> u8 {
        self.classify().code
    }
}

/// The cause that explains the evidence.
pub fn classify(evidence: &Evidence) -> Cause {
    let cause = classify_without_shadowing(evidence);
    // A failure of the token or account layer while the token came from HF_TOKEN (or the legacy
    // variable), and another stored login that would work: the variable is the problem.
    let failed_for_token = !matches!(
        cause.layer(),
        Layer::None | Layer::Network | Layer::Endpoint | Layer::Local
    ) && !matches!(
        cause,
        Cause::RevisionNotFound | Cause::FileNotFound | Cause::RepoDisabled
    );
    let from_environment = evidence
        .token
        .as_ref()
        .is_some_and(|t| t.source.starts_with("env:"));
    let another_works = evidence.other_tokens.iter().any(|t| {
        t.is_valid()
            && !t.source.starts_with("env:")
            && t.can_access_repo.unwrap_or(cause == Cause::InvalidToken)
    });
    if failed_for_token && from_environment && another_works {
        return Cause::EnvTokenShadowsLogin;
    }
    cause
}

/// The cause for the active token alone, ignoring other sources (what a shadowing `HF_TOKEN`
/// itself runs into).
///
/// Evidence is made consistent before it is classified: a content probe that
/// succeeded wins over one that failed, and a route answering "repository not found" for a
/// repository whose information the endpoint just served is the endpoint's inconsistency (a
/// mirror lacking the route, olah 0.5.4), never a missing repository or a token scope.
pub fn classify_without_shadowing(evidence: &Evidence) -> Cause {
    if !evidence.offline_variables.is_empty() {
        return Cause::OfflineMode;
    }
    // 1. Could we talk to the endpoint at all, and does the Hub accept the token?
    if let Some(token) = &evidence.token {
        if let Some(cause) = transport_cause(evidence, &token.whoami_probe) {
            return cause;
        }
        // whoami-v2 refusing a token that was sent is the verdict on the token, whatever the
        // wording (`Invalid credentials in Authorization header` or `Invalid username or
        // password.`, docs/real-hub.md §3). A `RepoNotFound` code is a mirror's, not the Hub's.
        if token.whoami_probe.is_invalid_token()
            || (token.whoami_probe.is(401)
                && token.whoami.is_none()
                && !token.whoami_probe.says_repo_not_found())
        {
            return Cause::InvalidToken;
        }
    }
    let info = &evidence.repo_info;
    if let Some(cause) = transport_cause(evidence, info) {
        return cause;
    }
    // 2. The repository.
    if info.is_invalid_token() {
        return Cause::InvalidToken;
    }
    if info.is_disabled() || evidence.repo.as_ref().is_some_and(|r| r.disabled) {
        return Cause::RepoDisabled;
    }
    if !info.succeeded() {
        return repo_refused(evidence, info);
    }
    // 3. The revision.
    if let Some(probe) = &evidence.revision_probe {
        if let Some(cause) = transport_cause(evidence, probe) {
            return cause;
        }
        if probe.code() == Some("RevisionNotFound") || (probe.is(404) && probe.code().is_none()) {
            return Cause::RevisionNotFound;
        }
        if is_route_failure(evidence, probe) {
            return route_failure_cause(evidence, probe);
        }
    }
    // 4. The content: a real content file (never one anyone may read), and auth-check.
    if evidence.file_probe.as_ref().is_some_and(Probe::succeeded) {
        return Cause::Ok;
    }
    let mut route_failure = None;
    for probe in evidence.content_probes() {
        if probe.succeeded() {
            continue;
        }
        if let Some(cause) = transport_cause(evidence, probe) {
            return cause;
        }
        if is_route_failure(evidence, probe) {
            // Decides only when no other probe says something more specific (olah has no
            // auth-check route, but relays the Hub's gate answer on the file).
            route_failure.get_or_insert(probe);
            continue;
        }
        return content_refused(evidence, probe);
    }
    let content_granted = evidence.auth_check.as_ref().is_some_and(Probe::succeeded);
    if evidence.listing_masked == Some(true) && !content_granted {
        // The listing hid its hashes: the Hub's sign that this caller cannot read the content
        // (docs/real-hub.md §2), even when no probe said why.
        return hidden_content_cause(evidence);
    }
    if let Some(probe) = route_failure {
        return route_failure_cause(evidence, probe);
    }
    Cause::Ok
}

/// A route that answered as if the repository did not exist, although its information was
/// just served: `RepoNotFound` (olah's catch-all 404 and its offline 401), or a bare 404 on an
/// API route. A bare 404 on a file the user named is just a missing file.
pub fn is_route_failure(evidence: &Evidence, probe: &Probe) -> bool {
    if !evidence.repo_info.succeeded() || probe.succeeded() {
        return false;
    }
    probe.says_repo_not_found()
        || (probe.is(404)
            && probe.code().is_none()
            && !(evidence.file.is_some() && probe.what.starts_with("HEAD")))
}

/// The probe the endpoint answered inconsistently, in the order the classifier reads them.
pub fn inconsistent_probe(evidence: &Evidence) -> Option<&Probe> {
    evidence
        .revision_probe
        .iter()
        .chain(evidence.file_probe.iter())
        .chain(evidence.auth_check.iter())
        .find(|probe| is_route_failure(evidence, probe))
        .or_else(|| {
            evidence.file_probe.as_ref().filter(|probe| {
                probe.code() == Some("EntryNotFound") && evidence.file_in_repo_info == Some(true)
            })
        })
}

/// An offline mirror answers `401 RepoNotFound` for what it has not cached (olah 0.5.4, docs/real-hub.md §5);
/// any other "not found" from a route of a repository that exists is an inconsistency.
fn route_failure_cause(evidence: &Evidence, probe: &Probe) -> Cause {
    if probe.is(401) && probe.says_repo_not_found() && !evidence.endpoint_is_hub() {
        Cause::NotCachedByMirror
    } else {
        Cause::EndpointInconsistent
    }
}

/// No content access, known only from a masked listing: name the likeliest layer.
fn hidden_content_cause(evidence: &Evidence) -> Cause {
    match &evidence.token {
        None => Cause::NoToken,
        Some(token) if token.can_read_gated() == Some(false) => Cause::TokenGatedScopeMissing,
        Some(_) => Cause::GatedAccessNotRequested,
    }
}

/// Rate limits, server errors and missing answers: nothing to do with permissions. A mirror
/// that lost its upstream says so with its own code; that wins over a bare 5xx elsewhere.
fn transport_cause(evidence: &Evidence, probe: &Probe) -> Option<Cause> {
    if let Some(failure) = &probe.proxy_failure {
        return Some(if failure.refused_credentials {
            Cause::ProxyAuthFailed
        } else {
            Cause::ProxyUnreachable
        });
    }
    if probe.status.is_none() && probe.network_error.is_some() {
        return Some(Cause::EndpointUnreachable);
    }
    if probe.is_mirror_upstream_failure()
        || (probe.is_server_error() && all_probes(evidence).any(Probe::is_mirror_upstream_failure))
    {
        return Some(Cause::MirrorUpstreamUnreachable);
    }
    if probe.is_rate_limited() {
        return Some(Cause::RateLimited);
    }
    if probe.is_server_error() {
        return Some(Cause::ServerError);
    }
    None
}

/// Every probe of the active token's run.
pub fn all_probes(evidence: &Evidence) -> impl Iterator<Item = &Probe> {
    evidence
        .token
        .iter()
        .map(|t| &t.whoami_probe)
        .chain(std::iter::once(&evidence.repo_info))
        .chain(evidence.revision_probe.iter())
        .chain(evidence.auth_check.iter())
        .chain(evidence.file_probe.iter())
}

/// The repo metadata itself was refused: 401 (anonymous), 404 (authenticated), 403.
fn repo_refused(evidence: &Evidence, info: &Probe) -> Cause {
    if !evidence.other_types.is_empty() {
        return Cause::WrongRepoType;
    }
    if info.is(403) {
        return forbidden_without_code(evidence, info);
    }
    // 401 without a token, 404 RepoNotFound with one: missing, private, or hidden from this
    // token. The Hub does not tell which (docs/protocol.md §4.1); a fine-grained token that is not scoped to an
    // owner the account belongs to is the one case the evidence can single out.
    if token_lacks_scope_on_owner(evidence) {
        return Cause::TokenRepoScopeMissing;
    }
    Cause::RepoNotFound
}

/// The metadata was readable but the content was refused.
fn content_refused(evidence: &Evidence, probe: &Probe) -> Cause {
    match probe.code() {
        Some("GatedRepo") => return gated_cause(evidence, probe),
        // The repo info lists the file, the file route says it does not exist: an offline
        // mirror that has not cached it (olah 0.5.4), or an inconsistent endpoint.
        Some("EntryNotFound") if evidence.file_in_repo_info == Some(true) => {
            return if evidence.endpoint_is_hub() {
                Cause::EndpointInconsistent
            } else {
                Cause::NotCachedByMirror
            };
        }
        Some("EntryNotFound") => return Cause::FileNotFound,
        Some("RevisionNotFound") => return Cause::RevisionNotFound,
        _ => {}
    }
    if probe.is_invalid_token() {
        return Cause::InvalidToken;
    }
    if probe.is_disabled() {
        return Cause::RepoDisabled;
    }
    match probe.status {
        Some(401) if evidence.token.is_none() => Cause::NoToken,
        Some(401) => Cause::InvalidToken,
        Some(403) => forbidden_without_code(evidence, probe),
        Some(404) if evidence.file.is_some() && probe.what.starts_with("HEAD") => {
            Cause::FileNotFound
        }
        Some(404) => Cause::RepoNotFound,
        _ => Cause::ServerError,
    }
}

/// A 403 without `X-Error-Code`: the fine-grained gated permission (docs/protocol.md §4.3), an org policy (docs/protocol.md §4.4),
/// or a fine-grained scope. whoami data decides; the message is only a tie-breaker.
fn forbidden_without_code(evidence: &Evidence, probe: &Probe) -> Cause {
    let token = evidence.token.as_ref();
    let message = probe.message_lower();
    if evidence.is_gated() && token.and_then(|t| t.can_read_gated()) == Some(false) {
        return Cause::TokenGatedScopeMissing;
    }
    if message.contains("fine-grained") && message.contains("gated") {
        return Cause::TokenGatedScopeMissing;
    }
    if !evidence.owner_restrictions().is_empty()
        || message.contains("sso")
        || message.contains("organization")
        || message.contains("revoked")
    {
        return Cause::OrgRestriction;
    }
    if token.is_some_and(|t| t.is_fine_grained()) {
        return if evidence.is_gated() {
            Cause::TokenGatedScopeMissing
        } else {
            Cause::TokenRepoScopeMissing
        };
    }
    if token.is_none() {
        return Cause::NoToken;
    }
    Cause::OrgRestriction
}

/// `GatedRepo`: 401 means no token was sent; 403 means the account is not (yet) approved. The
/// wording splits not-requested / pending / rejected (docs/protocol.md §4.3, three generations of wording); an
/// unknown wording falls back to "not requested", whose fix (visit the repo page) is right in
/// every case.
fn gated_cause(evidence: &Evidence, probe: &Probe) -> Cause {
    if probe.is(401) || evidence.token.is_none() {
        return Cause::NoToken;
    }
    let message = probe.message_lower();
    if message.contains("awaiting") || message.contains("pending") || message.contains("review") {
        Cause::GatedAccessPending
    } else if message.contains("rejected")
        || message.contains("denied")
        || message.contains("declined")
    {
        Cause::GatedAccessRejected
    } else {
        Cause::GatedAccessNotRequested
    }
}

/// A fine-grained token with no `repo.content.read` on an owner the account belongs to.
fn token_lacks_scope_on_owner(evidence: &Evidence) -> bool {
    let (Some(who), Some(owner)) = (evidence.whoami(), evidence.owner()) else {
        return false;
    };
    evidence.account_owns_or_member()
        && who.can_read_contents_of(owner, &evidence.repo_id) == Some(false)
}

#[cfg(test)]
mod tests;
