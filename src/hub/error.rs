//! Hub errors: what a failed request means, decoded from the status, `X-Error-Code`, and — only to
//! split cases the code does not — the `X-Error-Message` text (docs/protocol.md §4.1–4.2).
//!
//! The Hub's wording changes over time (docs/protocol.md §4.3 lists three generations of the gate message), so the
//! classification here never depends on a full sentence: a reworded message still lands in the
//! right family through its status and code.

use std::fmt;

use super::transport::{ProxyRoute, TransportError, TrustSource};
use crate::exit::Class;

/// The facts of one failed HTTP exchange, kept for diagnosis and for the "Request ID" line.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ErrorResponse {
    pub status: u16,
    /// The URL that failed, with any query string removed (signed CDN URLs carry secrets).
    pub url: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub request_id: Option<String>,
    /// Whether the response came from the configured endpoint (as opposed to a CDN host).
    pub from_endpoint: bool,
    /// Seconds to wait, from `RateLimit: …;t=` or `Retry-After` (docs/protocol.md §4.7).
    pub retry_after_secs: Option<u64>,
    /// Whether the failed request carried a token. A 401 to a sent token means the token is
    /// refused, whatever the wording (`Invalid username or password.` and
    /// `Invalid credentials in Authorization header` are both seen), never "log in".
    pub token_sent: bool,
}

/// The family a failure belongs to. Everything a user can act on has its own variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubErrorKind {
    /// 404 `RepoNotFound` (authenticated caller): missing, private, or not visible to this token.
    RepoNotFound,
    /// 401 without an error code on a repo route: anonymous caller, repo missing or private (docs/protocol.md §4.4).
    AuthenticationRequired,
    RevisionNotFound,
    EntryNotFound,
    /// 401/403 `GatedRepo`: the account has no (approved) access request.
    GatedRepo,
    /// 403 "Access to this resource is disabled." (docs/protocol.md §4.6).
    RepoDisabled,
    /// 401 "Invalid credentials in Authorization header": the token itself is rejected (docs/protocol.md §4.4).
    InvalidToken,
    /// Any other 403 from the Hub: fine-grained token permissions, org policies (docs/protocol.md §4.3, §4.4).
    Forbidden,
    /// A 403 from a CDN host: the signed URL expired or was minted for another range (docs/protocol.md §4.9).
    /// Never an auth problem; the cure is to resolve the file again.
    SignedUrlRejected,
    /// A 404 (or 410) with no Hub error code from a host the endpoint redirected to: the Hub
    /// lists the file, but its storage (the CDN, a mirror's blob host) does not serve it. Not
    /// the repository's absence: Python's client says "404 Client Error" for it, never
    /// "repository not found" (found at stop 19 with a CDN that lacked the blob).
    StorageNotFound,
    RateLimited,
    ServerError,
    UnexpectedStatus,
    Network(NetworkErrorKind),
    /// A proxy answered `407 Proxy Authentication Required`: to a CONNECT, or to a request it
    /// forwards. Never retried: proxies that check passwords against a directory lock the
    /// account after a few failures. The proxy is in [`HubError::via`].
    ProxyAuth,
    /// A proxy or certificate variable cannot be used: nothing was sent.
    Transport(Box<TransportError>),
    /// The answer did not look like the Hub's: missing headers, malformed JSON, HTML, etc.
    Protocol(String),
    /// The listing masked the file hashes (64 asterisks): the Hub's way of saying this caller
    /// may not read the content of a gated repo (docs/real-hub.md §2).
    ContentHidden {
        path: String,
    },
    /// The token holds a character an HTTP header cannot carry: nothing was sent. A token
    /// problem, not a Hub answer.
    TokenNotSendable,
    /// The HTTP client could not be set up (TLS backend, proxy settings): nothing was sent.
    ClientSetup(String),
    /// `HF_HUB_OFFLINE` forbids the request.
    Offline,
    /// `HF_ENDPOINT` is not an http(s) URL: nothing was sent.
    BadEndpoint(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkErrorKind {
    Dns,
    Connect,
    Tls(TlsProblem),
    /// The proxy refused or failed the tunnel (CONNECT answered with another error than 407).
    Proxy,
    /// The proxy itself could not be reached (refused, unknown host, no answer).
    ProxyUnreachable,
    Timeout,
    /// The connection broke while a body was streaming.
    Interrupted,
    Other,
}

impl NetworkErrorKind {
    pub fn describe(self) -> &'static str {
        match self {
            NetworkErrorKind::Dns => "the host name could not be resolved (DNS)",
            NetworkErrorKind::Connect => "the connection was refused or could not be opened",
            NetworkErrorKind::Tls(problem) => problem.describe(),
            NetworkErrorKind::Proxy => "the proxy refused or failed the connection",
            NetworkErrorKind::ProxyUnreachable => "the proxy could not be reached",
            NetworkErrorKind::Timeout => "the server did not answer in time",
            NetworkErrorKind::Interrupted => "the connection broke during the transfer",
            NetworkErrorKind::Other => "a network error occurred",
        }
    }
}

/// What was wrong with the server's certificate, from rustls' verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsProblem {
    /// Issued by an authority this machine does not trust: a TLS-inspecting proxy or a
    /// private mirror, whose CA is missing.
    UnknownIssuer,
    Expired,
    /// Valid, but for another host name.
    WrongName,
    /// Anything else: a protocol mismatch, a revoked or malformed certificate.
    Other,
}

impl TlsProblem {
    pub fn describe(self) -> &'static str {
        match self {
            TlsProblem::UnknownIssuer => {
                "the server's certificate was issued by an authority this machine does not trust (unknown issuer)"
            }
            TlsProblem::Expired => "the server's certificate has expired (or is not valid yet)",
            TlsProblem::WrongName => "the server's certificate is for another host name",
            TlsProblem::Other => "the TLS handshake failed (certificate or protocol problem)",
        }
    }

    fn is_certificate_trust(self) -> bool {
        matches!(self, TlsProblem::UnknownIssuer | TlsProblem::Other)
    }
}

/// How a failed request left this machine: the proxy it went through and the certificates it
/// trusted, so a message can name them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    pub proxy: Option<ProxyRoute>,
    pub trust: TrustSource,
}

/// A failed Hub request, with enough context to explain it and to diagnose it further.
#[derive(Debug, thiserror::Error)]
pub struct HubError {
    pub kind: HubErrorKind,
    pub response: Option<Box<ErrorResponse>>,
    /// A short note on what was being attempted ("listing files of acme/tiny").
    pub context: Option<String>,
    /// How the request was sent (set by the client on network and proxy failures).
    pub via: Option<Box<Via>>,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl HubError {
    pub fn new(kind: HubErrorKind) -> HubError {
        HubError {
            kind,
            response: None,
            context: None,
            via: None,
            source: None,
        }
    }

    pub fn from_response(response: ErrorResponse) -> HubError {
        HubError {
            kind: classify(&response),
            response: Some(Box::new(response)),
            ..HubError::new(HubErrorKind::UnexpectedStatus)
        }
    }

    pub fn protocol(detail: impl Into<String>) -> HubError {
        HubError::new(HubErrorKind::Protocol(detail.into()))
    }

    pub fn network(
        kind: NetworkErrorKind,
        url: &str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> HubError {
        HubError {
            kind: HubErrorKind::Network(kind),
            response: Some(Box::new(ErrorResponse {
                url: url.to_string(),
                ..ErrorResponse::default()
            })),
            source: Some(Box::new(source)),
            ..HubError::new(HubErrorKind::Network(kind))
        }
    }

    pub fn with_via(mut self, via: Via) -> HubError {
        self.via = Some(Box::new(via));
        self
    }

    /// The proxy the failed request went through, if any.
    pub fn proxy(&self) -> Option<&ProxyRoute> {
        self.via.as_ref()?.proxy.as_ref()
    }

    pub fn with_context(mut self, context: impl Into<String>) -> HubError {
        if self.context.is_none() {
            self.context = Some(context.into());
        }
        self
    }

    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status).filter(|s| *s != 0)
    }

    /// Whether the request may succeed if made again (docs/protocol.md §4.8, §4.7).
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            HubErrorKind::RateLimited | HubErrorKind::ServerError => true,
            HubErrorKind::SignedUrlRejected => true,
            HubErrorKind::Network(kind) => {
                !matches!(kind, NetworkErrorKind::Dns | NetworkErrorKind::Tls(_))
            }
            HubErrorKind::UnexpectedStatus => self.status() == Some(408),
            _ => false,
        }
    }

    /// Whether this is one of the access failures the doctor explains (401/403/404 families).
    pub fn is_access_problem(&self) -> bool {
        matches!(
            self.kind,
            HubErrorKind::RepoNotFound
                | HubErrorKind::AuthenticationRequired
                | HubErrorKind::RevisionNotFound
                | HubErrorKind::EntryNotFound
                | HubErrorKind::GatedRepo
                | HubErrorKind::RepoDisabled
                | HubErrorKind::InvalidToken
                | HubErrorKind::Forbidden
                | HubErrorKind::ContentHidden { .. }
        )
    }

    /// Whether a `whoami-v2` that failed this way rejects the token itself (as opposed to the
    /// Hub being away): revoked, expired or mistyped.
    pub fn rejects_token(&self) -> bool {
        matches!(
            self.kind,
            HubErrorKind::InvalidToken | HubErrorKind::AuthenticationRequired
        )
    }

    /// A few words for the family, for notes that go on despite the error.
    pub fn kind_summary(&self) -> String {
        match (&self.kind, self.status()) {
            (HubErrorKind::ProxyAuth, _) => match self.proxy() {
                Some(proxy) => format!(
                    "the proxy at {} rejected the credentials in {} (407)",
                    proxy.address, proxy.variable
                ),
                None => "a proxy asked for credentials (407)".to_string(),
            },
            (HubErrorKind::Network(NetworkErrorKind::ProxyUnreachable), _) => match self.proxy() {
                Some(proxy) => format!(
                    "the proxy at {} (from {}) could not be reached",
                    proxy.address, proxy.variable
                ),
                None => NetworkErrorKind::ProxyUnreachable.describe().to_string(),
            },
            (HubErrorKind::Network(kind), _) => kind.describe().to_string(),
            (HubErrorKind::RateLimited, _) => "rate-limited".to_string(),
            (_, Some(status)) => format!("HTTP {status}"),
            _ => "request failed".to_string(),
        }
    }

    /// A mirror's own code for "my upstream is down" (olah 0.5.4: `504 ProxyTimeout`,
    /// docs/real-hub.md §5): not a Hub server error.
    pub fn is_mirror_upstream_failure(&self) -> bool {
        self.response
            .as_ref()
            .and_then(|r| r.error_code.as_deref())
            .is_some_and(|code| {
                let code = code.to_ascii_lowercase();
                code.starts_with("proxy") || code.contains("upstream")
            })
    }

    pub fn request_id(&self) -> Option<&str> {
        self.response.as_ref()?.request_id.as_deref()
    }

    pub fn server_message(&self) -> Option<&str> {
        self.response.as_ref()?.error_message.as_deref()
    }
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self
            .response
            .as_ref()
            .map(|r| r.url.as_str())
            .filter(|u| !u.is_empty())
            .unwrap_or("the Hub");
        let status = self
            .status()
            .map(|s| format!("HTTP {s}"))
            .unwrap_or_default();
        if let Some(context) = &self.context {
            write!(f, "Failed while {context}: ")?;
        }
        match &self.kind {
            HubErrorKind::RepoNotFound => write!(
                f,
                "the repository was not found ({status}). It does not exist, has another type (model/dataset/space), or is private and this token cannot see it. Run `hfget doctor` on it to find out which."
            )?,
            HubErrorKind::AuthenticationRequired => write!(
                f,
                "the Hub asked for authentication ({status}): the repository does not exist, or it is private or gated and no token was sent. Log in with `hfget login` or pass --token."
            )?,
            HubErrorKind::RevisionNotFound => write!(
                f,
                "the revision was not found ({status}). Check the branch, tag or commit name."
            )?,
            HubErrorKind::EntryNotFound => write!(
                f,
                "the file was not found in the repository at this revision ({status})."
            )?,
            HubErrorKind::GatedRepo => write!(
                f,
                "the repository is gated and this account does not have access ({status}). Run `hfget doctor` on it for the exact reason and fix."
            )?,
            HubErrorKind::RepoDisabled => write!(
                f,
                "the Hub has disabled this repository ({status}); its files cannot be downloaded by anyone."
            )?,
            HubErrorKind::InvalidToken => write!(
                f,
                "the Hub rejected the token as invalid ({status}): it was revoked, expired or mistyped. Log in again with `hfget login`, or unset the variable that holds the old token."
            )?,
            HubErrorKind::Forbidden => write!(
                f,
                "the Hub refused access ({status}). Run `hfget doctor` on the repository to learn which permission is missing."
            )?,
            HubErrorKind::SignedUrlRejected => write!(
                f,
                "the download host refused a signed URL ({status}); it expired or was minted for another byte range. This is not a permission problem; retrying resolves a fresh URL."
            )?,
            HubErrorKind::StorageNotFound => write!(
                f,
                "the download host {} has no file at the address the Hub sent this download to ({status}). The Hub lists the file but its storage does not serve it: retry later, and if it persists, tell the repository's owners.",
                super::client::host_of(url)
            )?,
            HubErrorKind::RateLimited => {
                write!(f, "the Hub is rate-limiting requests ({status})")?;
                if let Some(secs) = self.response.as_ref().and_then(|r| r.retry_after_secs) {
                    write!(f, "; the limit resets in {secs} s")?;
                }
                write!(f, ". Wait and retry; logged-in users get higher limits.")?
            }
            HubErrorKind::ServerError if self.is_mirror_upstream_failure() => write!(
                f,
                "the mirror at {url} cannot reach the Hub ({status} {}): it lost its upstream. This is not a failure of the Hub; retry later, or bypass the mirror with HF_ENDPOINT=https://huggingface.co.",
                self.response
                    .as_ref()
                    .and_then(|r| r.error_code.as_deref())
                    .unwrap_or_default()
            )?,
            HubErrorKind::ServerError => write!(
                f,
                "the Hub had a server error ({status}) and kept failing after retries. Try again later."
            )?,
            HubErrorKind::ContentHidden { path } => write!(
                f,
                "the Hub hides the file hashes of this repository from this caller (\"{path}\" has a masked hash), which means it may not read the files. Run `hfget doctor` on it for the exact reason and fix."
            )?,
            HubErrorKind::UnexpectedStatus => write!(f, "unexpected answer {status} from {url}.")?,
            HubErrorKind::Network(kind) => self.fmt_network(f, url, *kind)?,
            HubErrorKind::ProxyAuth => self.fmt_proxy_auth(f, url)?,
            HubErrorKind::Transport(error) => write!(f, "{error}.")?,
            HubErrorKind::Protocol(detail) => write!(
                f,
                "the answer from {url} does not look like the Hub's: {detail}. If HF_ENDPOINT is set, check that it points to a Hub-compatible server."
            )?,
            HubErrorKind::TokenNotSendable => write!(
                f,
                "the token cannot be sent: it contains a character an HTTP header cannot carry (a space, a control or a non-ASCII character, often a copy-paste accident). Copy the token again from the Hub's settings page, or log in again with `hfget login`."
            )?,
            HubErrorKind::ClientSetup(detail) => write!(
                f,
                "could not set up the HTTP client: {detail}. Check the proxy variables (https_proxy, http_proxy, all_proxy, in either case) and the certificate variables ({}).",
                super::transport::certificate_variables()
            )?,
            HubErrorKind::BadEndpoint(detail) => write!(
                f,
                "HF_ENDPOINT is not usable: {detail}. Set it to https://huggingface.co or your mirror's http(s) URL, or unset it."
            )?,
            HubErrorKind::Offline => write!(
                f,
                "offline mode is enabled (HF_HUB_OFFLINE) and the files are not all in the cache. Unset HF_HUB_OFFLINE to download them."
            )?,
        }
        if let Some(message) = self.server_message() {
            write!(f, "\n  Hub says: {message}")?;
        }
        if let Some(request_id) = self.request_id() {
            write!(f, "\n  Request ID: {request_id}")?;
        }
        Ok(())
    }
}

impl HubError {
    fn fmt_network(
        &self,
        f: &mut fmt::Formatter<'_>,
        url: &str,
        kind: NetworkErrorKind,
    ) -> fmt::Result {
        let proxy = self.proxy();
        match (kind, proxy) {
            (NetworkErrorKind::ProxyUnreachable, Some(proxy)) => {
                return write!(
                    f,
                    "could not reach the proxy at {} (from {}) on the way to {url}: it refused the connection, its name did not resolve, or it did not answer. Check that the proxy runs and that {} names it, or unset {} to connect directly.",
                    proxy.address, proxy.variable, proxy.variable, proxy.variable
                );
            }
            (NetworkErrorKind::Proxy, Some(proxy)) => {
                return write!(
                    f,
                    "the proxy at {} (from {}) refused or failed the connection to {url}. Its own error page or log says why (a blocked host, an upstream failure).",
                    proxy.address, proxy.variable
                );
            }
            _ => {}
        }
        write!(f, "could not reach {url}")?;
        if let Some(proxy) = proxy {
            write!(
                f,
                " through the proxy at {} (from {})",
                proxy.address, proxy.variable
            )?;
        }
        write!(f, ": {}.", kind.describe())?;
        if let NetworkErrorKind::Tls(problem) = kind {
            let trust = self.via.as_ref().map(|via| &via.trust);
            if problem.is_certificate_trust() {
                return match trust {
                    Some(source @ TrustSource::Variable { variable, .. }) => write!(
                        f,
                        " The trusted certificates come from {source}: add the CA that signed the server's certificate to it (behind a TLS-inspecting proxy, your organisation's CA), or unset {variable} to trust the system's store."
                    ),
                    _ => write!(
                        f,
                        " Behind a TLS-inspecting proxy, or with a mirror that uses a private CA, point {} to a PEM file with that CA.",
                        super::transport::certificate_variables()
                    ),
                };
            }
            return write!(f, " Check the system clock and HF_ENDPOINT.");
        }
        let scheme_variable = if url.starts_with("http://") {
            "http_proxy/HTTP_PROXY"
        } else {
            "https_proxy/HTTPS_PROXY"
        };
        write!(
            f,
            " Check your connection, the proxy settings ({scheme_variable}, NO_PROXY) and HF_ENDPOINT."
        )
    }

    fn fmt_proxy_auth(&self, f: &mut fmt::Formatter<'_>, url: &str) -> fmt::Result {
        match self.proxy() {
            Some(proxy) if proxy.has_credentials => write!(
                f,
                "the proxy at {} rejected its credentials (407 Proxy Authentication Required). Check the user name and password in {}: percent-encode special characters in them (`@` as %40, `#` as %23, `:` as %3A).",
                proxy.address, proxy.variable
            ),
            Some(proxy) => write!(
                f,
                "the proxy at {} asks for credentials (407 Proxy Authentication Required), and {} holds none. Set {} to http://USER:PASSWORD@{}.",
                proxy.address, proxy.variable, proxy.variable, proxy.address
            ),
            None => write!(
                f,
                "a proxy on the way to {url} asks for credentials (407 Proxy Authentication Required), but no proxy variable is set. Set https_proxy (http_proxy for an http:// endpoint) to http://USER:PASSWORD@HOST:PORT."
            ),
        }
    }
}

/// Maps a failed response to its family, in `hf_raise_for_status`' order (docs/protocol.md §4.2): error code
/// first, then the disabled-repo message, then status. Message wording is used only where the
/// Hub sends no code (invalid token, disabled repo).
pub fn classify(response: &ErrorResponse) -> HubErrorKind {
    let message = response.error_message.as_deref().unwrap_or_default();
    if !response.from_endpoint && response.status == 403 {
        return HubErrorKind::SignedUrlRejected;
    }
    match response.error_code.as_deref() {
        Some("RevisionNotFound") => return HubErrorKind::RevisionNotFound,
        Some("EntryNotFound") => return HubErrorKind::EntryNotFound,
        Some("GatedRepo") => return HubErrorKind::GatedRepo,
        Some("RepoNotFound") => return HubErrorKind::RepoNotFound,
        Some(_) => {}
        None if !response.from_endpoint && matches!(response.status, 404 | 410) => {
            return HubErrorKind::StorageNotFound;
        }
        None => {}
    }
    let lower = message.to_ascii_lowercase();
    if response.status == 403 && lower.contains("disabled") {
        return HubErrorKind::RepoDisabled;
    }
    match response.status {
        407 => HubErrorKind::ProxyAuth,
        401 if response.token_sent
            || lower.contains("invalid credentials")
            || lower.contains("invalid user token") =>
        {
            HubErrorKind::InvalidToken
        }
        401 => HubErrorKind::AuthenticationRequired,
        403 => HubErrorKind::Forbidden,
        404 => HubErrorKind::RepoNotFound,
        429 => HubErrorKind::RateLimited,
        500..=599 => HubErrorKind::ServerError,
        _ => HubErrorKind::UnexpectedStatus,
    }
}

/// The Retry-After and RateLimit rules live with the one retry policy.
pub use super::retry::retry_after_secs;

impl HubError {
    /// The family and the stable cause of this failure (docs/exit-codes.md). The cause is the
    /// doctor's name where it has one, so scripts see one vocabulary.
    pub fn classify(&self) -> Class {
        use crate::exit::*;
        let (code, cause) = match &self.kind {
            HubErrorKind::RepoNotFound => (NOT_FOUND, "repo_not_found"),
            // Anonymous: the repository is missing, or needs a token the caller did not send.
            HubErrorKind::AuthenticationRequired => (TOKEN, "repo_not_found"),
            HubErrorKind::RevisionNotFound => (NOT_FOUND, "revision_not_found"),
            HubErrorKind::EntryNotFound => (NOT_FOUND, "file_not_found"),
            HubErrorKind::InvalidToken => (TOKEN, "invalid_token"),
            HubErrorKind::Forbidden => (TOKEN, "forbidden"),
            HubErrorKind::TokenNotSendable => (TOKEN, "invalid_token"),
            HubErrorKind::GatedRepo => (ACCESS, "gated"),
            HubErrorKind::ContentHidden { .. } => (ACCESS, "content_hidden"),
            HubErrorKind::RepoDisabled => (ACCESS, "repo_disabled"),
            HubErrorKind::Network(NetworkErrorKind::ProxyUnreachable) => {
                (NETWORK, "proxy_unreachable")
            }
            HubErrorKind::Network(_) => (NETWORK, "endpoint_unreachable"),
            HubErrorKind::ProxyAuth => (NETWORK, "proxy_auth_failed"),
            HubErrorKind::Transport(error) => match **error {
                TransportError::UnparseableProxy { .. }
                | TransportError::UnsupportedProxyScheme { .. } => (USAGE, "bad_proxy"),
                TransportError::UnreadableCertificates { .. }
                | TransportError::NoCertificates { .. }
                | TransportError::DamagedCertificate { .. } => (USAGE, "bad_ca_bundle"),
            },
            HubErrorKind::RateLimited => (HUB_UNAVAILABLE, "rate_limited"),
            HubErrorKind::ServerError
            | HubErrorKind::SignedUrlRejected
            | HubErrorKind::StorageNotFound => (HUB_UNAVAILABLE, "server_error"),
            HubErrorKind::Protocol(_) => (INTEGRITY, "protocol"),
            HubErrorKind::Offline => (OFFLINE, "offline_not_cached"),
            HubErrorKind::BadEndpoint(_) => (USAGE, "bad_endpoint"),
            HubErrorKind::ClientSetup(_) => (FAILURE, "client_setup"),
            HubErrorKind::UnexpectedStatus => (FAILURE, "unexpected_status"),
        };
        Class::new(code, cause)
    }
}

#[cfg(test)]
mod tests;
