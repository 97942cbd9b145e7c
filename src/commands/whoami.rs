//! `hfget whoami [--json]`: who the token belongs to, what it may do, and where it came from.
//!
//! Python's `hf auth whoami` prints only the user and orgs; the questions people actually ask
//! (docs/design.md §4.3) are "which token is being sent, from where, and can it read
//! gated or org repos". So this shows the token's name, role, fine-grained scopes, expiry and
//! source, and when the Hub rejects the token it names the source that held it and checks
//! whether a lower-precedence login would have worked (the stale `HF_TOKEN` classic).

use clap::Args;
use serde_json::json;

use crate::auth::describe::{describe_token, role_label};
use crate::auth::{self, AuthError, KeyringHandle, ResolvedToken, Sources, TokenSource};
use crate::env::{DEFAULT_ENDPOINT, Environment, Settings};
use crate::error::{Error, exit};
use crate::hub::whoami::WhoAmI;
use crate::output::{self, print_stdout};

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Check this token instead of the one you are logged in with.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

pub async fn run(
    args: WhoamiArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    if settings.offline {
        return Err(AuthError::Offline {
            command: "whoami",
            purpose: "who the token belongs to",
        }
        .into());
    }
    let keyring = KeyringHandle::system(settings);
    let sources =
        auth::inspect_sources(settings, environment, args.token.as_deref(), &keyring).await?;
    let Some(first) = sources.first().cloned() else {
        if let Some(problem) = &sources.keyring_problem {
            output::warn(problem);
        }
        return Err(AuthError::NoToken {
            token_path: settings.token_path.clone(),
            endpoint: settings.endpoint.clone(),
        }
        .into());
    };
    if let (Some(problem), TokenSource::File { .. }) = (&sources.keyring_problem, &first.source) {
        output::warn(problem);
    }
    let (who, first) = check(settings, environment, &sources, &first).await?;
    if args.json {
        output::print_json_pretty(&to_json(&who, &first, settings))?;
    } else {
        print_stdout(&render(&who, &first, settings).join("\n"))?;
        for shadowed in sources
            .candidates
            .iter()
            .skip(1)
            .filter(|c| c.token != first.token)
        {
            if first.source.is_environment() && !shadowed.source.is_environment() {
                output::info(format!(
                    "note: {} overrides {}.",
                    short(&first.source),
                    shadowed.source
                ));
            }
        }
    }
    Ok(exit::SUCCESS)
}

fn short(source: &TokenSource) -> String {
    source
        .variable()
        .map(str::to_string)
        .unwrap_or_else(|| source.to_string())
}

/// Asks the Hub about `first` (a browser login the Hub stopped accepting is renewed on the way,
/// by the client); when it rejects the token, finds out whether a lower-precedence source holds
/// one it accepts, and says so.
async fn check(
    settings: &Settings,
    environment: &dyn Environment,
    sources: &Sources,
    first: &ResolvedToken,
) -> Result<(WhoAmI, ResolvedToken), Error> {
    let client = auth::hub_client(settings, environment, Some(first))?;
    match client.whoami().await {
        Ok(who) => {
            let used = ResolvedToken {
                token: client.token().unwrap_or_else(|| first.token.clone()),
                source: first.source.clone(),
            };
            Ok((who, used))
        }
        Err(error) if error.rejects_token() => {
            let mut alternative = None;
            for candidate in sources
                .candidates
                .iter()
                .skip(1)
                .filter(|c| c.token != first.token)
            {
                if client
                    .with_token(Some(candidate.token.clone()))
                    .whoami()
                    .await
                    .is_ok()
                {
                    alternative = Some(candidate.source.clone());
                    break;
                }
            }
            Err(AuthError::InvalidToken {
                origin: first.source.clone(),
                masked: first.token.masked(),
                alternative,
            }
            .into())
        }
        Err(error) => Err(error.into()),
    }
}

fn render(who: &WhoAmI, resolved: &ResolvedToken, settings: &Settings) -> Vec<String> {
    let mut lines = vec![format!("user: {}", who.name)];
    let orgs: Vec<String> = who
        .orgs
        .iter()
        .map(|org| {
            let mut text = format!(
                "{} ({}",
                org.name,
                org.role_in_org.as_deref().unwrap_or("member")
            );
            if !org.security_restrictions.is_empty() {
                text.push_str(&format!(
                    "; restricted: {}",
                    org.security_restrictions.join(", ")
                ));
            }
            text.push(')');
            text
        })
        .collect();
    lines.push(format!(
        "orgs: {}",
        if orgs.is_empty() {
            "none".to_string()
        } else {
            orgs.join(", ")
        }
    ));
    // A browser login says which login it is, its scopes, expiry and renewal.
    let browser_login =
        auth::oauth_store::browser_login(settings, &resolved.source, &resolved.token);
    let unnamed = match (&browser_login, &resolved.source) {
        (Some(_), _) => "browser login",
        (None, TokenSource::Oidc { .. }) => "OIDC exchange",
        _ => "(unnamed)",
    };
    lines.push(format!(
        "token: {} ({}) {}",
        who.token_name().unwrap_or(unnamed),
        role_label(who.role()),
        resolved.token.masked()
    ));
    lines.extend(describe_token(who));
    match &browser_login {
        Some(login) => lines.extend(auth::oauth_store::describe(
            login,
            auth::oauth_store::now_unix(),
        )),
        None => {
            if let Some(expires) = &who.auth.expires_at {
                lines.push(format!("expires: {expires}"));
            }
        }
    }
    lines.push(format!("source: {}", resolved.source));
    if settings.endpoint != DEFAULT_ENDPOINT {
        lines.push(format!("endpoint: {}", settings.endpoint));
    }
    lines
}

fn to_json(who: &WhoAmI, resolved: &ResolvedToken, settings: &Settings) -> serde_json::Value {
    let fine_grained = who.fine_grained().map(|fine| {
        json!({
            "can_read_gated_repos": fine.can_read_gated_repos,
            "global": fine.global,
            "scoped": fine.scoped.iter().map(|s| json!({
                "type": s.entity.kind,
                "name": s.entity.name,
                "permissions": s.permissions,
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "user": who.name,
        "fullname": who.fullname,
        "orgs": who.orgs.iter().map(|org| json!({
            "name": org.name,
            "role": org.role_in_org,
            "security_restrictions": org.security_restrictions,
        })).collect::<Vec<_>>(),
        "token": {
            "name": who.token_name(),
            "role": who.role(),
            "masked": resolved.token.masked(),
            "expires_at": who.auth.expires_at,
            "fine_grained": fine_grained,
        },
        "source": {
            "id": resolved.source.id(),
            "description": resolved.source.to_string(),
        },
        "browser_login": auth::oauth_store::browser_login(settings, &resolved.source, &resolved.token)
            .map(|login| json!({
                "name": login.name,
                "store": login.store,
                "scopes": login.facts.scope.as_deref().map(|s| s.split_whitespace().collect::<Vec<_>>()),
                "expires_at": login.facts.expires_at,
                "refreshable": login.facts.refreshable,
                "refresh_error": login.facts.refresh_error,
            })),
        "endpoint": settings.endpoint,
    })
}
