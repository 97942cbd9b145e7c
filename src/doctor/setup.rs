//! `hfget doctor` without a repository: checks the setup instead — every token source (valid?
//! which one wins?), the keyring, the endpoint through the configured proxy, the cache folder,
//! and offline mode — each as a pass/fail line with its fix.

use serde::Serialize;

use crate::auth::ResolvedToken;
use crate::env::{self, Environment, Settings};
use crate::exit;
use crate::hub::error::NetworkErrorKind;
use crate::hub::transport::TransportError;
use crate::hub::{HubClient, HubError, HubErrorKind};

/// How a check came out. `warn` is not a failure (the exit code ignores it), but it is not a
/// tick either: an unusable keyring gets `!`, not `✓`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    /// False only for `fail`; kept for scripts written against the first `--json` shape.
    pub ok: bool,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The exit code this check's failure maps to.
    #[serde(skip)]
    pub failure_code: u8,
}

impl Check {
    fn pass(name: &str, detail: String) -> Check {
        Check {
            name: name.to_string(),
            ok: true,
            status: Status::Pass,
            detail,
            fix: None,
            failure_code: exit::SUCCESS,
        }
    }

    fn warn(name: &str, detail: String, fix: String) -> Check {
        Check {
            status: Status::Warn,
            fix: Some(fix),
            ..Check::pass(name, detail)
        }
    }

    fn fail(name: &str, detail: String, fix: String, failure_code: u8) -> Check {
        Check {
            name: name.to_string(),
            ok: false,
            status: Status::Fail,
            detail,
            fix: Some(fix),
            failure_code,
        }
    }
}

/// Runs every setup check. `candidates` are the token sources in precedence order;
/// `keyring` is the keyring probe's verdict (usable?, description).
pub async fn check_setup(
    settings: &Settings,
    environment: &dyn Environment,
    client: Result<&HubClient, &HubError>,
    candidates: &[ResolvedToken],
    keyring: (bool, String),
) -> Vec<Check> {
    let mut checks = Vec::new();
    // A password in HF_ENDPOINT (`http://user:secret@mirror`) is never printed.
    let endpoint = super::shown_endpoint(&settings.endpoint);
    let tokens_page = format!("{endpoint}/settings/tokens");

    // How requests leave this machine, then the endpoint: nothing else can be checked online
    // without them.
    let client = match client {
        Ok(client) => {
            checks.push(network_check(client));
            Some(client)
        }
        Err(error) => {
            checks.push(Check::fail(
                "network",
                first_line(&error.to_string()),
                transport_fix(error),
                error.classify().code,
            ));
            None
        }
    };
    let anonymous = client.map(HubClient::anonymous);
    let proxy = anonymous
        .as_ref()
        .and_then(|c| Some((c, c.url("").ok()?)))
        .and_then(|(c, url)| c.proxies().route(&url).cloned())
        .map(|p| format!(" through the proxy {} ({})", p.masked, p.variable))
        .unwrap_or_default();
    let reachable = if settings.offline {
        // Name the variable that is set: TRANSFORMERS_OFFLINE is not HF_HUB_OFFLINE.
        let names = crate::env::offline_variables(environment);
        let names = if names.is_empty() {
            env::HF_HUB_OFFLINE.to_string()
        } else {
            names.join(" and ")
        };
        checks.push(Check::fail(
            "offline",
            format!("{names} is set: downloads are served from the cache only and nothing is checked online"),
            format!("Unset {names} to reach the Hub."),
            exit::OFFLINE,
        ));
        false
    } else if let Some(anonymous) = &anonymous {
        match anonymous.whoami().await {
            Ok(_) => true,
            Err(error)
                if matches!(
                    error.kind,
                    HubErrorKind::Network(_) | HubErrorKind::Protocol(_) | HubErrorKind::ProxyAuth
                ) =>
            {
                checks.push(Check::fail(
                    "endpoint",
                    format!(
                        "{endpoint}{proxy} cannot be reached: {}",
                        first_line(&error.to_string())
                    ),
                    endpoint_fix(&error),
                    exit::NETWORK,
                ));
                false
            }
            Err(_) => true,
        }
    } else {
        false
    };
    let (Some(client), Some(anonymous)) = (client, anonymous) else {
        checks.push(cache_check(settings));
        return checks;
    };
    if reachable {
        let kind = endpoint_kind(settings, &anonymous).await;
        checks.push(Check::pass(
            "endpoint",
            format!("{endpoint}{proxy} answers; {kind}"),
        ));
    }

    // Token sources, in precedence order.
    if candidates.is_empty() {
        checks.push(Check::pass(
            "token",
            "none found (anonymous: public repositories only)".to_string(),
        ));
    }
    let mut winner_seen = false;
    // The tokens the browser-login notes are about: a renewed one replaces the one it renewed.
    let mut noted = candidates.to_vec();
    for (index, candidate) in candidates.iter().enumerate() {
        let used = !winner_seen
            && (!settings.disable_implicit_token
                || candidate.source == crate::auth::TokenSource::Flag);
        winner_seen |= used;
        let role = if used { "used" } else { "shadowed" };
        let mut label = format!(
            "{} from {} ({role})",
            candidate.token.masked(),
            candidate.source
        );
        if !reachable {
            checks.push(Check::pass(
                "token",
                format!("{label}: not checked (endpoint unreachable)"),
            ));
            continue;
        }
        // The token commands send is checked as they send it: a browser login the Hub stopped
        // accepting is renewed by the client on the way.
        let checking = client.with_token(Some(candidate.token.clone()));
        let checking = match crate::auth::renewal::renewer(settings, environment, candidate) {
            Some(renewer) if used => checking.with_renewal(renewer),
            _ => checking,
        };
        let answer = checking.whoami().await;
        if let Some(renewed) = checking.token().filter(|t| *t != candidate.token) {
            label = format!(
                "{} from {} ({role}, renewed)",
                renewed.masked(),
                candidate.source
            );
            noted[index].token = renewed;
        }
        match answer {
            Ok(who) => checks.push(Check::pass(
                "token",
                format!(
                    "{label}: valid, user {}{}",
                    who.name,
                    who.token_name().map(|n| format!(", token `{n}`")).unwrap_or_default()
                ),
            )),
            // whoami-v2 answering 401 to a token that was sent rejects the token, whatever the
            // wording ("Invalid username or password." too, docs/real-hub.md §3).
            Err(error)
                if error.kind == HubErrorKind::InvalidToken
                    || (error.status() == Some(401)
                        && error.kind == HubErrorKind::AuthenticationRequired) =>
            {
                checks.push(Check::fail(
                "token",
                format!("{label}: rejected by the Hub (revoked, expired or mistyped)"),
                if candidate.source.is_environment() {
                    format!("Unset or replace it; create a new token at {tokens_page}.")
                } else {
                    format!("Log in again with a token from {tokens_page}: `hfget login`, or remove it with `hfget logout`.")
                },
                exit::TOKEN,
            ))
            }
            Err(error) => checks.push(Check::pass("token", format!("{label}: not checked ({})", first_line(&error.to_string())))),
        }
    }
    if settings.disable_implicit_token && !candidates.is_empty() {
        checks.push(Check::pass(
            "token",
            "HF_HUB_DISABLE_IMPLICIT_TOKEN is set: stored tokens are not sent unless passed with --token".to_string(),
        ));
    }

    // Browser logins: expiry, scopes, a refused renewal.
    for note in crate::auth::oauth_store::doctor_notes(settings, &noted) {
        checks.push(match note.fix {
            Some(fix) => Check::fail("oauth", note.detail, fix, exit::TOKEN),
            None => Check::pass("oauth", note.detail),
        });
    }

    // Keyring.
    let (usable, description) = keyring;
    checks.push(if usable {
        Check::pass("keyring", description)
    } else {
        // Not a failure (the token file works without it), but not a tick either.
        Check::warn(
            "keyring",
            description,
            "`hfget login --store file` works without a keyring.".to_string(),
        )
    });

    // Cache folder.
    checks.push(cache_check(settings));
    checks
}

/// Whether the endpoint looks like the Hub or like a mirror. The host says it for
/// huggingface.co; otherwise one anonymous request to the `auth-check` route of a repository
/// that does not exist tells: the Hub answers 401 (anonymous, not found), a mirror without
/// the route answers 404 (olah 0.5.4's catch-all carries `X-Error-Code: RepoNotFound`, docs/real-hub.md §5).
async fn endpoint_kind(settings: &Settings, anonymous: &HubClient) -> String {
    if super::evidence::endpoint_is_hub(&settings.endpoint) {
        return "this is the Hugging Face Hub".to_string();
    }
    let route = "api/models/hfget-doctor/endpoint-check/auth-check";
    let answer = match anonymous.url(route) {
        Ok(url) => {
            anonymous
                .get_json::<serde_json::Value>("checking the endpoint", url)
                .await
        }
        Err(error) => Err(error),
    };
    match answer {
        Err(error) if matches!(error.status(), Some(404 | 405 | 501)) => format!(
            "looks like a mirror or proxy (no `auth-check` route: {})",
            error.kind_summary()
        ),
        Err(error) if matches!(error.status(), Some(401 | 403)) => {
            "answers like the Hub (not huggingface.co: a mirror, proxy or Hub-compatible server)"
                .to_string()
        }
        _ => "not huggingface.co: a mirror, proxy or Hub-compatible server".to_string(),
    }
}

fn cache_check(settings: &Settings) -> Check {
    let cache = &settings.hub_cache;
    if let Err(error) = std::fs::create_dir_all(cache) {
        return Check::fail(
            "cache",
            format!("{} cannot be created: {error}", cache.display()),
            "Set HF_HUB_CACHE (or HF_HOME) to a writable folder.".to_string(),
            exit::LOCAL,
        );
    }
    let probe = cache.join(format!(".hfget-write-test-{}", std::process::id()));
    if let Err(error) = std::fs::write(&probe, b"") {
        return Check::fail(
            "cache",
            format!("{} is not writable: {error}", cache.display()),
            "Fix its permissions, or set HF_HUB_CACHE (or HF_HOME) to a writable folder."
                .to_string(),
            exit::LOCAL,
        );
    }
    let _ = std::fs::remove_file(&probe);
    let free = fs4::available_space(cache)
        .map(crate::text::human_bytes)
        .unwrap_or_else(|_| "unknown".to_string());
    Check::pass(
        "cache",
        format!("{} is writable, {free} free", cache.display()),
    )
}

/// The proxy and the certificates in effect: a pass, since the client could be built with them.
fn network_check(client: &HubClient) -> Check {
    let proxy = match client
        .url("")
        .ok()
        .and_then(|url| client.proxies().route(&url).cloned())
    {
        Some(proxy) => format!(
            "proxy {} from {}{}",
            proxy.masked,
            proxy.variable,
            if proxy.has_credentials {
                ", with credentials"
            } else {
                ""
            }
        ),
        None if client.proxies().system_default => {
            "no proxy variable (the system's proxy settings apply)".to_string()
        }
        None => "no proxy for the endpoint".to_string(),
    };
    Check::pass(
        "network",
        format!("{proxy}; certificates: {}", client.trust()),
    )
}

/// The fix for a proxy or certificate variable hfget refused.
fn transport_fix(error: &HubError) -> String {
    let HubErrorKind::Transport(problem) = &error.kind else {
        return "Check the proxy and certificate variables (`hfget env` shows them).".to_string();
    };
    match &**problem {
        TransportError::UnparseableProxy { variable } => format!(
            "Percent-encode the password in {variable}, for example with `python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=\"\"))' 'PASSWORD'`."
        ),
        TransportError::UnsupportedProxyScheme { variable, .. } => {
            format!("Set {variable} to an http:// proxy, or unset it.")
        }
        TransportError::UnreadableCertificates { variable, .. }
        | TransportError::NoCertificates { variable, .. }
        | TransportError::DamagedCertificate { variable, .. } => {
            format!("Point {variable} to a readable PEM file with your CA, or unset it.")
        }
    }
}

/// The fix for an endpoint that cannot be reached, from why.
fn endpoint_fix(error: &HubError) -> String {
    match (&error.kind, error.proxy()) {
        (HubErrorKind::ProxyAuth, Some(proxy)) => format!(
            "Correct the user name and password in {} (percent-encoded); nothing more is sent to the proxy in this run.",
            proxy.variable
        ),
        (HubErrorKind::Network(NetworkErrorKind::ProxyUnreachable), Some(proxy)) => format!(
            "Start the proxy at {}, correct {}, or unset {} to connect directly.",
            proxy.address, proxy.variable, proxy.variable
        ),
        (HubErrorKind::Network(NetworkErrorKind::Tls(_)), _) => format!(
            "Point {} to your organisation's CA bundle if a proxy inspects TLS; check HF_ENDPOINT.",
            crate::hub::transport::certificate_variables()
        ),
        _ => "Check your connection, the proxy variables (https_proxy, NO_PROXY) and HF_ENDPOINT."
            .to_string(),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        out.push_str(&format!(
            "{} {:<9} {}\n",
            match check.status {
                Status::Pass => "✓",
                Status::Warn => "!",
                Status::Fail => "✗",
            },
            check.name,
            check.detail
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("  {:<9} fix: {fix}\n", ""));
        }
    }
    out
}

/// Exit code of the run: the first failing check's family, or success.
pub fn exit_code(checks: &[Check]) -> u8 {
    checks
        .iter()
        .find(|c| !c.ok)
        .map(|c| c.failure_code)
        .unwrap_or(exit::SUCCESS)
}
