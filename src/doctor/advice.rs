//! What each cause means in plain words, which layer is at fault, and the exact fix: real URLs
//! built from the endpoint and real commands.

use super::classify::Cause;
use super::evidence::{Evidence, UserCommand};
use crate::hub::{Gate, RepoType};

/// The words of a diagnosis.
pub struct Advice {
    pub summary: String,
    pub explanation: String,
    pub fix: Vec<String>,
}

pub fn advise(cause: Cause, evidence: &Evidence) -> Advice {
    let endpoint = evidence.endpoint.trim_end_matches('/');
    let label = evidence.repo_type.map(|t| t.label()).unwrap_or("model");
    let web_path = match evidence.repo_type.map(|t| t.url_prefix()) {
        Some(prefix) => format!("{prefix}{}", evidence.repo_id),
        None => evidence.repo_id.clone(),
    };
    let repo_page = format!("{endpoint}/{web_path}");
    let tokens_page = format!("{endpoint}/settings/tokens");
    let gated_page = format!("{endpoint}/settings/gated-repos");
    let id = &evidence.repo_id;
    let token = evidence.token.as_ref();
    let source = token
        .map(|t| t.source_description.clone())
        .unwrap_or_default();
    let token_name = token
        .and_then(|t| t.whoami.as_ref())
        .and_then(|w| w.token_name())
        .map(|n| format!(" `{n}`"))
        .unwrap_or_default();
    let user = evidence
        .whoami()
        .map(|w| w.name.clone())
        .unwrap_or_default();
    let rerun = format!(
        "Run `hfget doctor {}` again to confirm.",
        display_repo(evidence)
    );
    let manual = evidence
        .repo
        .as_ref()
        .is_some_and(|r| r.gated == Gate::Manual);

    let (summary, explanation, fix) = match cause {
        Cause::Ok => (
            format!("Access OK: a download of {id} would succeed."),
            match token {
                Some(_) => format!("The token from {source} is valid and can read this {label}'s files."),
                None => format!("This {label} is public; no token is needed."),
            },
            vec![format!("hfget download {}", display_repo(evidence))],
        ),
        Cause::NoToken => (
            format!("No token was sent, and {id} needs one."),
            format!(
                "The {label} is {}, so the Hub only serves its files to a logged-in account. \
                 This is the token layer: hfget found no token in --token, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, \
                 the keyring or the HF token file{}.",
                if evidence.is_gated() { "gated" } else { "private or gated" },
                if evidence.implicit_token_disabled { " that it may send (HF_HUB_DISABLE_IMPLICIT_TOKEN is set)" } else { "" }
            ),
            vec![
                format!("Create a token at {tokens_page} (a \"Read\" token is simplest)."),
                "Log in with it: `hfget login`".to_string(),
                rerun.clone(),
            ],
        ),
        Cause::InvalidToken => (
            format!("The Hub rejects the token from {source}."),
            "This is the token layer: the token was revoked, expired or mistyped, and the Hub refuses \
             every request that carries it — even for public repositories."
                .to_string(),
            vec![
                format!("Check your tokens at {tokens_page} and create a new one if this one is gone."),
                match token.map(|t| t.source.as_str()) {
                    Some(s) if s.starts_with("env:") => format!(
                        "Replace or unset the variable: `unset {}`",
                        s.trim_start_matches("env:")
                    ),
                    Some("flag") => "Pass a valid token to --token.".to_string(),
                    _ => "Log in again with the new token: `hfget login`".to_string(),
                },
                rerun.clone(),
            ],
        ),
        Cause::EnvTokenShadowsLogin => {
            let variable = token
                .map(|t| t.source.trim_start_matches("env:").to_string())
                .unwrap_or_else(|| "HF_TOKEN".to_string());
            let working = evidence
                .other_tokens
                .iter()
                .find(|t| t.is_valid() && t.can_access_repo != Some(false) && !t.source.starts_with("env:"))
                .map(|t| format!("{} ({})", t.source_description, t.masked))
                .unwrap_or_else(|| "your stored login".to_string());
            (
                format!("{variable} overrides a login that would work, and its own token fails here."),
                {
                    // What the variable's own token runs into, in the words of that cause.
                    let underlying = super::classify::classify_without_shadowing(evidence);
                    let reason = if underlying == Cause::InvalidToken || !token.is_some_and(|t| t.is_valid()) {
                        "is rejected by the Hub".to_string()
                    } else {
                        let inner = advise(underlying, evidence).summary;
                        let mut chars = inner.trim_end_matches('.').chars();
                        let inner: String = chars
                            .next()
                            .map(|first| first.to_lowercase().chain(chars).collect())
                            .unwrap_or_default();
                        format!("cannot access this repository: {inner}")
                    };
                    format!(
                        "This is the token layer: {variable} takes precedence over stored logins, and the token \
                         it holds {reason}. The token in {working} would work."
                    )
                },
                vec![
                    format!("Unset the variable in this shell: `unset {variable}`"),
                    format!("Remove it from your shell profile or CI secrets too, or put a working token in it ({tokens_page})."),
                    rerun.clone(),
                ],
            )
        }
        Cause::GatedAccessNotRequested => (
            format!("Your account{} has not been granted access to the gated {label} {id}.", account(&user)),
            format!(
                "This is the account layer, not the token: the {label}'s authors require each account to \
                 request access{}. Your token is fine; your account does not have access yet.",
                if manual { " and review requests by hand" } else { " (approval is automatic once you accept the conditions)" }
            ),
            vec![
                format!("Open {repo_page} while logged in as {}, read the conditions and request access.", if user.is_empty() { "your account".to_string() } else { user.clone() }),
                if manual {
                    format!("Wait for the authors' approval; follow its status at {gated_page}.")
                } else {
                    "Access is granted right after you accept.".to_string()
                },
                rerun.clone(),
            ],
        ),
        Cause::GatedAccessPending => (
            format!("Your request to access {id} is waiting for the authors' review."),
            "This is the account layer: you asked for access and the authors have not decided yet. \
             Your token is fine; nothing on your machine can speed this up."
                .to_string(),
            vec![
                format!("Check the status of your requests at {gated_page}."),
                "Wait for approval (an email arrives when it is granted).".to_string(),
                rerun.clone(),
            ],
        ),
        Cause::GatedAccessRejected => (
            format!("The authors of {id} rejected your access request."),
            "This is the account layer: the decision is the authors', and a rejected request cannot be \
             submitted again from the same account. Your token is not the problem."
                .to_string(),
            vec![
                format!("See the request at {gated_page}."),
                format!("Contact the authors through the {label} page ({repo_page}) if you believe this is a mistake."),
            ],
        ),
        Cause::TokenGatedScopeMissing => (
            format!("Your account has access to {id}, but the fine-grained token{token_name} is not allowed to read gated repositories."),
            format!(
                "This is the token layer: fine-grained tokens need the permission \"Read access to contents \
                 of all public gated repos you can access\", and the token{token_name} (from {source}) does not have it. \
                 Your account's access is fine."
            ),
            vec![
                format!("Open {tokens_page}, edit the token{token_name}, and tick \"Read access to contents of all public gated repos you can access\"."),
                "Or create a \"Read\" token there and log in with it: `hfget login`".to_string(),
                rerun.clone(),
            ],
        ),
        Cause::TokenRepoScopeMissing => {
            let owner = evidence.owner().unwrap_or("the owner").to_string();
            (
                format!("The fine-grained token{token_name} has no read permission on {owner}'s repositories."),
                format!(
                    "This is the token layer: your account belongs to {owner}, but this fine-grained token (from {source}) \
                     is not scoped to read {owner}'s repository contents, so {id} looks missing to it: the Hub answers \"not found\" \
                     rather than reveal a private repository."
                ),
                vec![
                    format!("Open {tokens_page}, edit the token{token_name}, and under \"Repositories permissions\" add {owner} with \"Read access to contents of selected repos\"."),
                    "Or log in with a \"Read\" token: `hfget login`".to_string(),
                    rerun.clone(),
                ],
            )
        }
        Cause::OrgRestriction => {
            let restrictions = evidence.owner_restrictions();
            let owner = evidence.owner().unwrap_or("the organization").to_string();
            (
                format!("{owner} blocks this token by organization policy."),
                format!(
                    "This is the account layer: {owner} requires {} for its data, and the current authentication does not meet it.",
                    if restrictions.is_empty() { "a security policy (SSO, MFA, IP allow-list or a token policy)".to_string() } else { restrictions.join(", ") }
                ),
                vec![
                    format!("Open {endpoint}/{owner} and complete what the policy asks (SSO login, MFA, or an approved fine-grained token)."),
                    format!("Manage your tokens at {tokens_page}; if the org requires admin approval of tokens, ask an admin of {owner}."),
                    rerun.clone(),
                ],
            )
        }
        Cause::RepoNotFound => (
            format!("The {label} {id} was not found."),
            {
                let mut text = format!(
                    "The Hub gives the same answer when a repository does not exist and when it is private and this {} cannot see it; it does not tell which.",
                    if token.is_some() { "account" } else { "anonymous request" }
                );
                if !evidence.endpoint_is_hub() && evidence.repo_info.says_repo_not_found() {
                    text.push_str(&format!(
                        " HF_ENDPOINT ({endpoint}) is not huggingface.co: if it is a mirror running offline, it gives this answer for every repository it has not cached."
                    ));
                }
                text
            },
            {
                let mut fix = vec![format!("Check the spelling and the type: the page would be {repo_page}.")];
                if token.is_none() {
                    fix.push("If it is private, log in first: `hfget login`".to_string());
                } else {
                    fix.push(format!("If it is private, ask its owner to give your account ({user}) access."));
                }
                fix
            },
        ),
        Cause::WrongRepoType => {
            let other = evidence.other_types.first().copied();
            // The user's own command with only the type corrected: files, --revision and
            // --local-dir stay.
            let corrected = suggested_command(evidence, other, None);
            (
                format!(
                    "{id} is not a {label}; it exists as a {}.",
                    evidence.other_types.iter().map(|t| t.label()).collect::<Vec<_>>().join(" and a ")
                ),
                "The Hub keeps models, datasets and spaces apart, and a request for the wrong type looks like a missing repository.".to_string(),
                vec![format!("Use the right type: `{corrected}`")],
            )
        }
        Cause::RevisionNotFound => (
            format!("{id} has no revision '{}'.", evidence.revision),
            match &evidence.refs_unreadable {
                Some(reason) => format!(
                    "Its branches and tags could not be listed ({reason}), so which exist is unknown."
                ),
                None => format!(
                    "Branches: {}. Tags: {}.",
                    list_or_none(&evidence.branches),
                    list_or_none(&evidence.tags)
                ),
            },
            vec![format!(
                "Use an existing branch, tag or commit, e.g. `--revision {}`.",
                evidence.branches.first().map(String::as_str).unwrap_or("main")
            )],
        ),
        Cause::FileNotFound => (
            format!(
                "{id} has no file '{}' at revision '{}'.",
                evidence.file.as_deref().unwrap_or("?"),
                evidence.revision
            ),
            if evidence.closest_files.is_empty() {
                "No file with a similar name exists.".to_string()
            } else {
                format!("Closest names: {}.", evidence.closest_files.join(", "))
            },
            match evidence.closest_files.first() {
                Some(best) => vec![format!("hfget download {} {best}", display_repo(evidence))],
                None => vec![format!("List the files at {repo_page}/tree/{}.", evidence.revision)],
            },
        ),
        Cause::RepoDisabled => (
            format!("The Hub has disabled {id}."),
            "The repository still exists but its files are blocked for everyone (usually a takedown or a policy decision). Neither your account nor your token can change that.".to_string(),
            vec![format!("See {repo_page} for a notice, or use another copy of the {label}.")],
        ),
        Cause::RateLimited => {
            let wait = all_probes(evidence).find_map(|p| p.retry_after_secs);
            (
                "The Hub is rate-limiting your requests.".to_string(),
                format!(
                    "Anonymous requests are limited per IP, logged-in ones per account (5-minute windows).{}",
                    wait.map(|s| format!(" The limit resets in {s} s.")).unwrap_or_default()
                ),
                vec![
                    format!("Wait{} and retry.", wait.map(|s| format!(" {s} s")).unwrap_or_default()),
                    if token.is_none() { "Log in (`hfget login`) for a higher limit.".to_string() } else { "PRO and Enterprise accounts have higher limits: https://hf.co/pricing".to_string() },
                ],
            )
        }
        Cause::EndpointUnreachable => {
            let detail = all_probes(evidence)
                .find_map(|p| p.network_error.clone())
                .unwrap_or_else(|| "no answer".to_string());
            (
                format!("Cannot reach the Hub at {endpoint}."),
                format!("The request failed before any answer: {detail}."),
                vec![
                    "Check your connection and DNS.".to_string(),
                    format!(
                        "If you need a proxy, set {} (and NO_PROXY for hosts that must bypass it).",
                        if endpoint.starts_with("http://") { "http_proxy" } else { "https_proxy" }
                    ),
                    format!(
                        "Behind a TLS-inspecting proxy, point {} to your organisation's CA bundle.",
                        crate::hub::transport::certificate_variables()
                    ),
                    format!("Check HF_ENDPOINT (now {endpoint}); unset it to use https://huggingface.co."),
                ],
            )
        }
        Cause::ProxyAuthFailed => {
            let proxy = proxy_of(evidence);
            match proxy {
                Some(proxy) if proxy.has_credentials => (
                    format!("The proxy at {} rejected its credentials (407 Proxy Authentication Required).", proxy.address),
                    format!(
                        "Requests to {endpoint} go through the proxy named by {}, which refused the user name and password it holds. Nothing reached the Hub, and nothing more was sent to the proxy: a proxy that checks passwords against a directory may lock the account after a few failures.",
                        proxy.variable
                    ),
                    vec![
                        format!("Correct the user name and password in {}.", proxy.variable),
                        "Percent-encode special characters in them: `@` as %40, `#` as %23, `:` as %3A, a space as %20.".to_string(),
                        rerun.clone(),
                    ],
                ),
                Some(proxy) => (
                    format!("The proxy at {} asks for credentials (407 Proxy Authentication Required).", proxy.address),
                    format!("{} names the proxy without a user name or password.", proxy.variable),
                    vec![format!("Set {} to http://USER:PASSWORD@{}.", proxy.variable, proxy.address), rerun.clone()],
                ),
                None => (
                    "A proxy asks for credentials (407 Proxy Authentication Required).".to_string(),
                    format!("Something between this machine and {endpoint} answers like an authenticating proxy, but no proxy variable is set."),
                    vec![
                        format!(
                            "Set {} to http://USER:PASSWORD@HOST:PORT.",
                            if endpoint.starts_with("http://") { "http_proxy" } else { "https_proxy" }
                        ),
                        rerun.clone(),
                    ],
                ),
            }
        }
        Cause::ProxyUnreachable => {
            let (address, variable) = proxy_of(evidence)
                .map(|p| (p.address.clone(), p.variable))
                .unwrap_or_else(|| ("?".to_string(), "https_proxy"));
            (
                format!("The proxy at {address} cannot be reached."),
                format!("Requests to {endpoint} go through the proxy named by {variable}, and the connection to the proxy itself failed (refused, unknown host, or no answer). Nothing reached the Hub."),
                vec![
                    format!("Check that the proxy runs at {address}, and that {variable} names it."),
                    format!("If this network needs no proxy, unset {variable} (or list the host in NO_PROXY)."),
                    rerun.clone(),
                ],
            )
        }
        Cause::ServerError => {
            let request_id = all_probes(evidence).find_map(|p| p.request_id.clone());
            (
                "The Hub is failing with server errors.".to_string(),
                format!(
                    "Its answers were 5xx errors even after retries. This is not a problem with your account or token.{}",
                    request_id.map(|id| format!(" Request ID: {id}.")).unwrap_or_default()
                ),
                vec!["Retry in a few minutes; check https://status.huggingface.co.".to_string()],
            )
        }
        Cause::OfflineMode => {
            let variables = &evidence.offline_variables;
            let names = variables.join(" and ");
            let unset: String = variables.iter().map(|v| format!("{v}= ")).collect();
            (
                format!("hfget doctor needs to ask the Hub, and {names} {} set.", if variables.len() > 1 { "are" } else { "is" }),
                format!(
                    "Offline mode ({names}) forbids every request, so nothing about {id} can be checked; downloads are served from the cache only."
                ),
                vec![format!("Turn offline mode off for this command: `{unset}hfget doctor {}`", display_repo(evidence))],
            )
        }
        Cause::EndpointInconsistent => {
            let probe = super::classify::inconsistent_probe(evidence);
            let route = probe.map(|p| p.route()).unwrap_or_else(|| "a route".to_string());
            let answer = probe.map(|p| p.short()).unwrap_or_default();
            let slash_revision = evidence.revision.contains('/');
            let mut explanation = format!(
                "The endpoint served the {label}'s information, then answered `{route}` with {answer}. The Hub never does that for a repository it serves, so neither the repository nor your token is the problem."
            );
            if !evidence.endpoint_is_hub() {
                explanation.push_str(&format!(
                    " HF_ENDPOINT ({endpoint}) is not huggingface.co: a mirror or proxy may not implement this route{}.",
                    if slash_revision { " for a revision containing '/' (some mirrors decode %2F before routing)" } else { "" }
                ));
            }
            let mut fix = Vec::new();
            match (&evidence.revision_commit, slash_revision) {
                (Some(commit), _) => fix.push(format!(
                    "Use the commit hash of {} instead: `{}`",
                    evidence.revision,
                    suggested_command(evidence, None, Some(commit))
                )),
                (None, true) => fix.push(format!(
                    "Use the commit hash of {} instead of its name (see {repo_page}/commits/{}).",
                    evidence.revision,
                    crate::hub::api::encode_component(&evidence.revision)
                )),
                (None, false) => {}
            }
            if !evidence.endpoint_is_hub() {
                fix.push(format!(
                    "Or ask the Hub directly: `HF_ENDPOINT=https://huggingface.co {}`",
                    suggested_command(evidence, None, None)
                ));
                fix.push("Tell the mirror's administrator which route failed.".to_string());
            }
            (
                format!("The endpoint answered {id} inconsistently: `{route}` says it does not exist."),
                explanation,
                fix,
            )
        }
        Cause::MirrorUpstreamUnreachable => {
            let answer = super::classify::all_probes(evidence)
                .find(|p| p.is_mirror_upstream_failure())
                .map(|p| format!("{} {}", p.status.unwrap_or_default(), p.code().unwrap_or_default()))
                .unwrap_or_else(|| "a gateway error".to_string());
            (
                format!("The mirror at {endpoint} cannot reach the Hub."),
                format!(
                    "It answered {answer}: the mirror lost the connection to its upstream. This is not a problem with your account, your token or the repository, and not a failure of the Hub itself."
                ),
                vec![
                    "Retry in a few minutes.".to_string(),
                    "Tell the mirror's administrator that it cannot reach its upstream.".to_string(),
                    format!("Or bypass the mirror: `HF_ENDPOINT=https://huggingface.co {}`", suggested_command(evidence, None, None)),
                ],
            )
        }
        Cause::NotCachedByMirror => {
            let probe = super::classify::inconsistent_probe(evidence);
            let route = probe.map(|p| p.route()).unwrap_or_else(|| "a route".to_string());
            let answer = probe.map(|p| p.short()).unwrap_or_default();
            (
                format!("The mirror at {endpoint} has not cached what was asked of {id}."),
                format!(
                    "It served the {label}'s information but answered `{route}` with {answer}: a mirror running offline (olah with `offline = true`) answers so for what it has not cached. The repository exists; the mirror just does not have this part of it."
                ),
                vec![
                    "Ask the mirror's administrator to cache it (run the same download once while the mirror is online).".to_string(),
                    format!("Or download from the Hub directly: `HF_ENDPOINT=https://huggingface.co {}`", suggested_command(evidence, None, None)),
                ],
            )
        }
    };
    Advice {
        summary,
        explanation,
        fix,
    }
}

/// Observations that do not change the cause but that a user (or a mirror's administrator)
/// should see: routes answered unlike the Hub while the verdict came from elsewhere, and a
/// listing whose hashes were masked.
pub fn notes(cause: Cause, evidence: &Evidence) -> Vec<String> {
    let mut notes = Vec::new();
    let decided_by_route = matches!(
        cause,
        Cause::EndpointInconsistent | Cause::NotCachedByMirror
    );
    for probe in evidence
        .revision_probe
        .iter()
        .chain(evidence.auth_check.iter())
        .chain(evidence.file_probe.iter())
    {
        if !super::classify::is_route_failure(evidence, probe) {
            continue;
        }
        if decided_by_route
            && super::classify::inconsistent_probe(evidence).is_some_and(|p| std::ptr::eq(p, probe))
        {
            continue;
        }
        notes.push(format!(
            "the endpoint did not answer `{}` like the Hub ({}){}",
            probe.route(),
            probe.short(),
            if evidence.endpoint_is_hub() {
                ""
            } else {
                "; a mirror or proxy may not implement this route"
            }
        ));
    }
    if evidence.listing_masked == Some(true) {
        notes.push(
            "the file listing masks its hashes (64 asterisks): the Hub's sign that this caller may not read the files"
                .to_string(),
        );
    }
    notes
}

fn account(user: &str) -> String {
    if user.is_empty() {
        String::new()
    } else {
        format!(" ({user})")
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// `acme/x` for models, `datasets/acme/x` otherwise, with the revision when it is not main.
pub fn display_repo(evidence: &Evidence) -> String {
    let prefix = evidence
        .repo_type
        .map(|t| t.url_prefix())
        .unwrap_or_default();
    let mut text = format!("{prefix}{}", evidence.repo_id);
    if evidence.revision != "main" {
        text.push_str(&format!(" --revision {}", evidence.revision));
    }
    text
}

/// The command to suggest: the user's own when the doctor runs inside `download` (so every
/// argument they gave stays), else a download of the subject; with the repo type
/// and/or the revision replaced.
pub fn suggested_command(
    evidence: &Evidence,
    repo_type: Option<RepoType>,
    revision: Option<&str>,
) -> String {
    let mut words = vec!["hfget".to_string()];
    match &evidence.user_command {
        Some(command) => words.extend(rewrite_args(command, repo_type, revision)),
        None => {
            words.push("download".to_string());
            words.push(match repo_type {
                Some(_) => evidence.repo_id.clone(),
                None => {
                    let prefix = evidence
                        .repo_type
                        .map(|t| t.url_prefix())
                        .unwrap_or_default();
                    format!("{prefix}{}", evidence.repo_id)
                }
            });
            words.extend(evidence.file.iter().cloned());
            if let Some(repo_type) = repo_type {
                words.extend(["--repo-type".to_string(), repo_type.label().to_string()]);
            }
            let revision = revision.unwrap_or(&evidence.revision);
            if revision != "main" {
                words.extend(["--revision".to_string(), revision.to_string()]);
            }
        }
    }
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The user's arguments with `--repo-type`/`--type` and/or `--revision` replaced.
fn rewrite_args(
    command: &UserCommand,
    repo_type: Option<RepoType>,
    revision: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = command.args.iter();
    let mut repo_seen = false;
    let mut revision_done = false;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (arg.as_str(), None),
        };
        let is_type = matches!(flag, "--repo-type" | "--type");
        if is_type && repo_type.is_some() {
            if inline.is_none() {
                args.next();
            }
            continue;
        }
        if flag == "--revision"
            && let Some(revision) = revision
        {
            if inline.is_none() {
                args.next();
            }
            out.extend(["--revision".to_string(), revision.to_string()]);
            revision_done = true;
            continue;
        }
        if !repo_seen && *arg == command.repo_argument {
            repo_seen = true;
            match repo_type {
                Some(repo_type) => {
                    // `datasets/acme/x` names the type too: keep only the id.
                    let bare = ["models/", "datasets/", "spaces/"]
                        .iter()
                        .find_map(|prefix| arg.strip_prefix(prefix))
                        .filter(|rest| rest.contains('/'))
                        .unwrap_or(arg.as_str());
                    out.push(bare.to_string());
                    out.extend(["--repo-type".to_string(), repo_type.label().to_string()]);
                }
                None => out.push(arg.clone()),
            }
            continue;
        }
        out.push(arg.clone());
    }
    if let (Some(revision), false) = (revision, revision_done) {
        out.extend(["--revision".to_string(), revision.to_string()]);
    }
    out
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=+,%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The proxy a failed probe went through.
fn proxy_of(evidence: &Evidence) -> Option<&crate::hub::transport::ProxyRoute> {
    all_probes(evidence)
        .find_map(|p| p.proxy_failure.as_ref())
        .and_then(|f| f.proxy.as_ref())
}

fn all_probes(evidence: &Evidence) -> impl Iterator<Item = &super::evidence::Probe> {
    super::classify::all_probes(evidence)
}
