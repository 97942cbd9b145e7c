//! Gathering evidence: the requests the doctor makes, each recorded as a [`Probe`].
//!
//! The procedure follows docs/protocol.md §4.10: token source and whoami, repo info (with the
//! token; other repo types when it is not found), the revision, `auth-check`, and a `HEAD` of the
//! file (or of the smallest file in the listing) without following the CDN redirect. Other token
//! sources are probed only when the active one fails, to spot a stale `HF_TOKEN`.

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};

use super::classify::{Cause, Layer, classify};
use super::evidence::{Evidence, Probe, ProxyFailure, RepoFlags, TokenEvidence, UserCommand};
use crate::auth::ResolvedToken;
use crate::hub::api::{RepoInfo, encode_component};
use crate::hub::client::{Redirects, accept_json, error_details, strip_query};
use crate::hub::error::NetworkErrorKind;
use crate::hub::retry::{Attempts, RetryPolicy};
use crate::hub::whoami::WhoAmI;
use crate::hub::{HubClient, HubError, HubErrorKind, RepoId, RepoType};
use crate::text::closest_names;

/// What the user asked the doctor about.
#[derive(Clone, Debug)]
pub struct Subject {
    pub repo: RepoId,
    /// `None`: the default branch.
    pub revision: Option<String>,
    pub file: Option<String>,
    /// The user's command, when the doctor runs inside `download`.
    pub user_command: Option<UserCommand>,
}

/// Runs every probe and returns the evidence. Never fails: a failed request is evidence too.
/// `client` sends the active token (none when there is none); it may renew it, so the evidence
/// is about the token a download would really send. The other sources are probed with clients
/// of their own, which never renew.
pub async fn gather(
    client: &HubClient,
    subject: &Subject,
    active: Option<&ResolvedToken>,
    others: &[ResolvedToken],
    implicit_token_disabled: bool,
) -> Evidence {
    let mut evidence = Evidence {
        // Every URL of the report is built from this: never show a password in it.
        endpoint: super::shown_endpoint(client.endpoint_str()),
        repo_id: subject.repo.id.clone(),
        repo_type: Some(subject.repo.repo_type),
        revision: subject
            .revision
            .clone()
            .unwrap_or_else(|| "main".to_string()),
        file: subject.file.clone(),
        implicit_token_disabled,
        user_command: subject.user_command.clone(),
        ..Evidence::default()
    };
    if let Some(active) = active {
        evidence.token = Some(token_evidence(client, active).await);
    }
    gather_repo(client, subject, &mut evidence).await;

    let preliminary = classify(&evidence);
    let token_or_account_failure = matches!(preliminary.layer(), Layer::Token | Layer::Account)
        || matches!(preliminary, Cause::RepoNotFound);
    for other in others {
        if active.is_some_and(|a| a.token == other.token) {
            continue;
        }
        if !token_or_account_failure {
            // The active token works: just say another source holds a different one.
            evidence.other_tokens.push(TokenEvidence {
                source: other.source.id().to_string(),
                source_description: other.source.to_string(),
                masked: other.token.masked(),
                whoami_probe: Probe {
                    what: "whoami".to_string(),
                    ..Probe::default()
                },
                whoami: None,
                can_access_repo: None,
            });
            continue;
        }
        let mut token = token_evidence(&client.with_token(Some(other.token.clone())), other).await;
        if token.is_valid() {
            let other_client = client.with_token(Some(other.token.clone()));
            let mut probe_evidence = Evidence {
                repo_id: evidence.repo_id.clone(),
                file: evidence.file.clone(),
                ..Evidence::default()
            };
            gather_repo(&other_client, subject, &mut probe_evidence).await;
            probe_evidence.token = Some(token.clone());
            token.can_access_repo = Some(classify(&probe_evidence) == Cause::Ok);
        }
        evidence.other_tokens.push(token);
    }
    evidence
}

/// Asks `whoami-v2` about `resolved`, with `client`, which sends its token.
async fn token_evidence(client: &HubClient, resolved: &ResolvedToken) -> TokenEvidence {
    let (whoami_probe, body) = match client.url("api/whoami-v2") {
        Ok(url) => probe(client, "whoami", Method::GET, url).await,
        Err(error) => (failed_probe("whoami", &error.to_string()), None),
    };
    let whoami = body
        .filter(|_| whoami_probe.succeeded())
        .and_then(|bytes| serde_json::from_slice::<WhoAmI>(&bytes).ok());
    TokenEvidence {
        source: resolved.source.id().to_string(),
        source_description: resolved.source.to_string(),
        // A token renewed by the probe is the one the evidence is about.
        masked: client
            .token()
            .map_or_else(|| resolved.token.masked(), |t| t.masked()),
        whoami_probe,
        whoami,
        can_access_repo: None,
    }
}

/// Repo info, other types, revision, auth-check and the file HEAD, with `client`'s token.
async fn gather_repo(client: &HubClient, subject: &Subject, evidence: &mut Evidence) {
    let repo = &subject.repo;
    let api = |suffix: &str| {
        client.url(&format!(
            "api/{}/{}{suffix}",
            repo.repo_type.plural(),
            repo.id
        ))
    };
    let Ok(info_url) = api("") else { return };
    let (mut info_probe, mut body) = probe(client, "repo info", Method::GET, info_url).await;
    // A mirror answers per route: olah 0.5.4 offline serves `/revision/main` (what a download
    // asked) but not the bare info route it never cached, and without its upstream it says
    // `401 RepoNotFound` on the bare route but `504 ProxyTimeout` on the revision route
    // (docs/real-hub.md §5). Ask the route the download uses before calling the repo missing.
    // `401` with `RepoNotFound` is a pair the Hub never sends (anonymous: 401 without a code;
    // with a token: 404), so this costs nothing against a Hub-like endpoint.
    if info_probe.is(401)
        && info_probe.says_repo_not_found()
        && !evidence.endpoint_is_hub()
        && let Ok(url) = api(&format!(
            "/revision/{}",
            encode_component(subject.revision.as_deref().unwrap_or("main"))
        ))
    {
        let (fallback, fallback_body) = probe(client, "repo info", Method::GET, url).await;
        if fallback.succeeded() || fallback.is_server_error() {
            info_probe = fallback;
            body = fallback_body;
        }
    }
    evidence.repo_info = info_probe;
    if !evidence.repo_info.succeeded() {
        if matches!(evidence.repo_info.status, Some(401 | 404))
            && !evidence.repo_info.is_invalid_token()
        {
            evidence.other_types = other_types(client, repo).await;
        }
        return;
    }
    if let Some(info) = body.and_then(|b| serde_json::from_slice::<RepoInfo>(&b).ok()) {
        if let Some(file) = &subject.file
            && !info.siblings.is_empty()
        {
            evidence.file_in_repo_info = Some(info.siblings.iter().any(|s| &s.rfilename == file));
        }
        evidence.repo = Some(RepoFlags {
            private: info.private,
            gated: info.gated,
            disabled: info.disabled,
            sha: info.sha,
            canonical_id: Some(info.id).filter(|id| id != &repo.id),
        });
    }
    if let Some(revision) = &subject.revision
        && revision != "main"
        && let Ok(url) = api(&format!("/revision/{}", encode_component(revision)))
    {
        let (revision_probe, _) = probe(client, "revision", Method::GET, url).await;
        let missing = revision_probe.code() == Some("RevisionNotFound");
        // The repo info answered, the revision route did not: a mirror that cannot route this
        // revision (olah decodes `%2F`, docs/real-hub.md §5). The commit it names makes a
        // command that works.
        let unroutable =
            !revision_probe.succeeded() && !missing && revision_probe.says_repo_not_found();
        evidence.revision_probe = Some(revision_probe);
        if missing || unroutable {
            match client.refs(repo).await {
                Err(error) => evidence.refs_unreadable = Some(error.kind_summary()),
                Ok(refs) => {
                    if unroutable {
                        evidence.revision_commit = refs
                            .branches
                            .iter()
                            .chain(&refs.tags)
                            .chain(&refs.pull_requests)
                            .find(|r| &r.name == revision || &r.reference == revision)
                            .map(|r| r.target_commit.clone())
                            .filter(|sha| !sha.is_empty());
                    }
                    evidence.branches = refs.branches.into_iter().map(|b| b.name).collect();
                    evidence.tags = refs.tags.into_iter().map(|t| t.name).collect();
                }
            }
            return;
        }
    }
    if let Ok(url) = api("/auth-check") {
        evidence.auth_check = Some(probe(client, "auth-check", Method::GET, url).await.0);
    }
    let revision = subject.revision.as_deref().unwrap_or("main");
    let file = match &subject.file {
        Some(file) => Some(file.clone()),
        None => {
            let (file, masked) = content_file(client, repo, revision).await;
            evidence.listing_masked = masked;
            file
        }
    };
    if let Some(file) = file
        && let Ok(url) = client.resolve_url(repo, revision, &file)
    {
        let what = format!("HEAD {file}");
        let file_probe = probe(client, &what, Method::HEAD, url).await.0;
        if file_probe.code() == Some("EntryNotFound")
            && let Ok(entries) = client.list_tree(repo, revision).await
        {
            evidence.closest_files = closest_names(&file, entries.iter().map(|e| e.path.as_str()));
        }
        evidence.file_probe = Some(file_probe);
    }
}

/// A real content file to probe, from the root listing (listings stay readable on gated repos,
/// docs/protocol.md §3.1), and whether that listing masked its hashes. Never `README.md`: on a gated repo anyone
/// may read it, so a 200 on it proves nothing (docs/real-hub.md §2). `.gitattributes` is gated
/// for certain (the official live test downloads it) and tiny; otherwise the smallest other
/// file, so the probe costs nothing even on a 100 GB repo.
async fn content_file(
    client: &HubClient,
    repo: &RepoId,
    revision: &str,
) -> (Option<String>, Option<bool>) {
    let Ok(entries) = client.list_root_for_diagnosis(repo, revision).await else {
        return (None, None);
    };
    let masked = entries.iter().any(crate::hub::TreeEntry::has_masked_hash);
    let files = || {
        entries
            .iter()
            .filter(|e| e.is_file() && !e.path.eq_ignore_ascii_case("README.md"))
    };
    let chosen = files()
        .find(|e| e.path == ".gitattributes")
        .or_else(|| files().min_by_key(|e| e.size))
        .map(|e| e.path.clone());
    (chosen, Some(masked))
}

/// Where else the id exists: a dataset fetched as a model is the classic 404 (docs/protocol.md §4.4).
async fn other_types(client: &HubClient, repo: &RepoId) -> Vec<RepoType> {
    let mut found = Vec::new();
    for repo_type in RepoType::ALL {
        if repo_type == repo.repo_type {
            continue;
        }
        let Ok(url) = client.url(&format!("api/{}/{}", repo_type.plural(), repo.id)) else {
            continue;
        };
        if probe(client, "repo info", Method::GET, url)
            .await
            .0
            .succeeded()
        {
            found.push(repo_type);
        }
    }
    found
}

fn failed_probe(what: &str, error: &str) -> Probe {
    Probe {
        what: what.to_string(),
        network_error: Some(error.to_string()),
        ..Probe::default()
    }
}

/// One request, recorded. Retries follow the one retry policy's probe budget
/// ([`RetryPolicy::probe`]: three attempts, short pauses; a rate limit is reported at once, not
/// waited out), so the cause `server_error` means "after retries".
async fn probe(
    client: &HubClient,
    what: &str,
    method: Method,
    url: Url,
) -> (Probe, Option<Vec<u8>>) {
    let headers: HeaderMap = accept_json();
    let mut attempts = Attempts::new(RetryPolicy::probe());
    loop {
        let result = client
            .send_once(
                method.clone(),
                url.clone(),
                &headers,
                None,
                Redirects::EndpointOnly,
            )
            .await;
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(wait) = attempts.failed(&error) {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let detail = match (&error.kind, error.proxy()) {
                    (HubErrorKind::Network(kind), Some(proxy)) => format!(
                        "{} ({}, through the proxy at {} from {})",
                        kind.describe(),
                        strip_query(&url),
                        proxy.address,
                        proxy.variable
                    ),
                    (HubErrorKind::Network(kind), None) => {
                        format!("{} ({})", kind.describe(), strip_query(&url))
                    }
                    _ => error.to_string(),
                };
                let proxy_failure = match &error.kind {
                    HubErrorKind::ProxyAuth => Some(true),
                    HubErrorKind::Network(NetworkErrorKind::ProxyUnreachable) => Some(false),
                    _ => None,
                }
                .map(|refused_credentials| ProxyFailure {
                    refused_credentials,
                    proxy: error.proxy().cloned(),
                });
                return (
                    Probe {
                        url: strip_query(&url),
                        proxy_failure,
                        ..failed_probe(what, &detail)
                    },
                    None,
                );
            }
        };
        let mut details = error_details(&response, true);
        if response.status().as_u16() >= 500
            && let Some(wait) = attempts.failed(&HubError::from_response(details.clone()))
        {
            tokio::time::sleep(wait).await;
            continue;
        }
        let status = response.status().as_u16();
        let redirect_to = response
            .status()
            .is_redirection()
            .then(|| response.headers().get(reqwest::header::LOCATION))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|location| response.url().join(location).ok())
            .map(|target| strip_query(&target));
        let repo_commit = response
            .headers()
            .get("x-repo-commit")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = if method == Method::HEAD {
            None
        } else {
            response.bytes().await.ok().map(|b| b.to_vec())
        };
        if status >= 400 && details.error_message.is_none() {
            details.error_message = body
                .as_deref()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
        }
        let probe = Probe {
            what: what.to_string(),
            url: strip_query(&url),
            status: Some(status),
            error_code: details.error_code,
            error_message: details.error_message,
            request_id: details.request_id.filter(|_| status >= 400),
            network_error: None,
            retry_after_secs: details.retry_after_secs,
            redirect_to,
            repo_commit,
            proxy_failure: None,
        };
        return (probe, body);
    }
}
