//! The observations the doctor collects, one per line of its report. Gathering (network) and
//! classification (pure) are separate so the classifier can be tested against any wording the
//! Hub might use.

use serde::Serialize;

use crate::hub::transport::ProxyRoute;
use crate::hub::whoami::WhoAmI;
use crate::hub::{Gate, RepoType};

/// One HTTP observation: what was asked, what came back.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Probe {
    /// Short label: `whoami`, `repo info`, `auth-check`, `HEAD config.json`.
    pub what: String,
    pub url: String,
    /// `None` when no answer arrived (see `network_error`).
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// For a resolve HEAD: the host a redirect points to (the CDN), without the signed query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_commit: Option<String>,
    /// The request failed at the proxy: it refused its credentials, or could not be reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_failure: Option<ProxyFailure>,
}

/// A probe that never got past the proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxyFailure {
    /// `407 Proxy Authentication Required`; otherwise the proxy could not be reached.
    pub refused_credentials: bool,
    /// The proxy, when a variable named it (a 407 can come from a proxy nobody configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyRoute>,
}

impl Probe {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..400).contains(&s))
    }

    pub fn is(&self, status: u16) -> bool {
        self.status == Some(status)
    }

    pub fn code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    pub fn message_lower(&self) -> String {
        self.error_message
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
    }

    pub fn is_rate_limited(&self) -> bool {
        self.is(429)
    }

    pub fn is_server_error(&self) -> bool {
        self.status.is_some_and(|s| s >= 500)
    }

    pub fn is_invalid_token(&self) -> bool {
        self.is(401) && {
            let message = self.message_lower();
            message.contains("invalid credentials") || message.contains("invalid user token")
        }
    }

    /// A code a mirror sends when it could not reach its upstream (olah 0.5.4: `504`
    /// `ProxyTimeout`, `ProxyInvalidData`; docs/real-hub.md §5). The Hub itself never sends them.
    pub fn is_mirror_upstream_failure(&self) -> bool {
        self.code().is_some_and(|code| {
            let code = code.to_ascii_lowercase();
            code.starts_with("proxy") || code.contains("upstream")
        })
    }

    /// `RepoNotFound` on a route: what a mirror's catch-all answers for routes it lacks
    /// (olah's 404), and what an offline mirror answers for what it has not cached (olah's 401).
    pub fn says_repo_not_found(&self) -> bool {
        self.code() == Some("RepoNotFound")
    }

    /// The route of the request, for a sentence: `GET /api/models/acme/tiny/auth-check`.
    pub fn route(&self) -> String {
        let path = reqwest::Url::parse(&self.url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| self.url.clone());
        let method = if self.what.starts_with("HEAD") {
            "HEAD"
        } else {
            "GET"
        };
        format!("{method} {path}")
    }

    pub fn is_disabled(&self) -> bool {
        self.is(403) && self.message_lower().contains("disabled")
    }

    /// Status and code only (`404 RepoNotFound`), for sentences: the evidence lines carry the
    /// message and the request id.
    pub fn short(&self) -> String {
        match (self.status, self.code()) {
            (Some(status), Some(code)) => format!("{status} {code}"),
            (Some(status), None) => status.to_string(),
            (None, _) => "no answer".to_string(),
        }
    }

    /// One line for the report: `403 GatedRepo "…" (request id …)`.
    pub fn summary(&self) -> String {
        let mut line = match (self.status, &self.network_error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("no answer: {error}"),
            (None, None) => "not asked".to_string(),
        };
        if let Some(code) = &self.error_code {
            line.push(' ');
            line.push_str(code);
        }
        if let Some(message) = &self.error_message {
            line.push_str(&format!(" \"{message}\""));
        }
        if let Some(target) = &self.redirect_to {
            line.push_str(&format!(" → redirect to {target}"));
        }
        if let Some(id) = &self.request_id {
            line.push_str(&format!(" (request id {id})"));
        }
        line
    }
}

/// A token the doctor looked at.
#[derive(Clone, Debug, Serialize)]
pub struct TokenEvidence {
    /// Stable id of the source (`env:HF_TOKEN`, `keyring`, `file`, `flag`).
    pub source: String,
    /// The source in words (`the HF_TOKEN environment variable`).
    pub source_description: String,
    pub masked: String,
    pub whoami_probe: Probe,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whoami: Option<WhoAmI>,
    /// Whether this token can read the repository's content, when it was checked (only for the
    /// other sources, to tell a shadowing `HF_TOKEN` from a token that is simply wrong).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_access_repo: Option<bool>,
}

impl TokenEvidence {
    /// Whether the Hub was asked about this token at all (other sources are only checked when
    /// the active token fails).
    pub fn was_checked(&self) -> bool {
        self.whoami_probe.status.is_some() || self.whoami_probe.network_error.is_some()
    }

    pub fn is_valid(&self) -> bool {
        self.whoami.is_some()
    }

    pub fn is_fine_grained(&self) -> bool {
        self.whoami
            .as_ref()
            .and_then(|w| w.role())
            .is_some_and(|role| role == "fineGrained")
    }

    pub fn can_read_gated(&self) -> Option<bool> {
        let who = self.whoami.as_ref()?;
        if !self.is_fine_grained() {
            return Some(true);
        }
        Some(who.fine_grained().is_some_and(|f| f.can_read_gated_repos))
    }
}

/// What the Hub says about the repository itself.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RepoFlags {
    pub private: bool,
    pub gated: Gate,
    pub disabled: bool,
    pub sha: Option<String>,
    /// The canonical id, when the Hub redirected a renamed or differently-cased id.
    pub canonical_id: Option<String>,
}

/// Everything gathered for one `doctor REPO [FILE]` run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Evidence {
    pub endpoint: String,
    pub repo_id: String,
    pub repo_type: Option<RepoType>,
    pub revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `HF_HUB_DISABLE_IMPLICIT_TOKEN` kept a stored token from being sent.
    pub implicit_token_disabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenEvidence>,
    /// Other sources holding a token different from the active one.
    pub other_tokens: Vec<TokenEvidence>,
    pub repo_info: Probe,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<RepoFlags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_probe: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_check: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_probe: Option<Probe>,
    /// Other repo types under which the same id exists.
    pub other_types: Vec<RepoType>,
    pub branches: Vec<String>,
    pub tags: Vec<String>,
    /// Why the branches and tags could not be listed, when that lookup failed: "none" would
    /// then be a guess, not a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refs_unreadable: Option<String>,
    pub closest_files: Vec<String>,
    /// Whether the root listing hid the file hashes (`xetHash`, maybe `lfs.oid`, as 64
    /// asterisks): the Hub does that for callers without content access on gated repos
    /// (docs/real-hub.md §2, huggingface_hub PR #4595). `None` when no listing was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_masked: Option<bool>,
    /// The commit a `refs/…` revision points to, read from `/refs` when the endpoint could not
    /// answer the revision itself (olah decodes `%2F` before routing, docs/real-hub.md §5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_commit: Option<String>,
    /// Whether the named file is among the repo info's `siblings` (`None`: no file named, or
    /// no siblings in the answer). A mirror's "entry not found" for a listed file means it has
    /// not cached it (olah 0.5.4 offline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_in_repo_info: Option<bool>,
    /// The variables that turned offline mode on (`HF_HUB_OFFLINE`, `TRANSFORMERS_OFFLINE`),
    /// when the doctor could not ask anything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offline_variables: Vec<String>,
    /// The user's own command, when the doctor runs inside it (`download`): fixes rewrite it
    /// instead of inventing a shorter one.
    #[serde(skip)]
    pub user_command: Option<UserCommand>,
}

impl Evidence {
    pub fn whoami(&self) -> Option<&WhoAmI> {
        self.token.as_ref()?.whoami.as_ref()
    }

    pub fn owner(&self) -> Option<&str> {
        self.repo_id.split_once('/').map(|(owner, _)| owner)
    }

    /// The owner's org restrictions for this account (`securityRestrictions`, docs/protocol.md §3.4).
    pub fn owner_restrictions(&self) -> Vec<String> {
        match (self.whoami(), self.owner()) {
            (Some(who), Some(owner)) => who
                .org(owner)
                .map(|org| org.security_restrictions.clone())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Whether the account belongs to the owner (itself or one of its orgs).
    pub fn account_owns_or_member(&self) -> bool {
        match (self.whoami(), self.owner()) {
            (Some(who), Some(owner)) => {
                who.name.eq_ignore_ascii_case(owner) || who.org(owner).is_some()
            }
            _ => false,
        }
    }

    pub fn is_gated(&self) -> bool {
        self.repo.as_ref().is_some_and(|r| r.gated != Gate::None)
    }

    /// Whether `HF_ENDPOINT` is the Hub itself rather than a mirror or proxy.
    pub fn endpoint_is_hub(&self) -> bool {
        endpoint_is_hub(&self.endpoint)
    }

    /// The content probes, most specific first.
    pub fn content_probes(&self) -> impl Iterator<Item = &Probe> {
        self.file_probe.iter().chain(self.auth_check.iter())
    }
}

/// The command line the user typed (without the program name), and which argument was the
/// repository, so a fix can repeat it with one thing corrected.
#[derive(Clone, Debug, Default)]
pub struct UserCommand {
    pub args: Vec<String>,
    pub repo_argument: String,
}

/// `https://huggingface.co` (or a subdomain, or `hf.co`): the Hub itself. Anything else is a
/// mirror, a proxy, or a test double, which may not implement every route.
pub fn endpoint_is_hub(endpoint: &str) -> bool {
    reqwest::Url::parse(endpoint)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|host| {
            host == "huggingface.co" || host.ends_with(".huggingface.co") || host == "hf.co"
        })
}
