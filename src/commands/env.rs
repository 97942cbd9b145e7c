//! `hfget env [--json]`: the facts to paste into a bug report. Version, endpoint, paths, which
//! token would be sent and from where (masked), whether the keyring can be used, the HF_*
//! variables in effect and the proxy settings, with secrets masked (tokens, proxy passwords).

use clap::Args;
use serde_json::{Map, Value, json};

use crate::auth::keyring::Backend;
use crate::auth::token::redact_url_password;
use crate::auth::{self, KeyringHandle, Token};
use crate::commands::print_stdout;
use crate::env::{self, Environment, Settings};
use crate::error::{Error, exit};

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

const PROXY_VARIABLES: &[&str] = &[
    env::HTTPS_PROXY,
    env::HTTP_PROXY,
    env::ALL_PROXY,
    env::NO_PROXY,
];
const TOKEN_VARIABLES: &[&str] = &[env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN];

pub async fn run(
    args: EnvArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    let keyring = KeyringHandle::system(settings);
    let sources = auth::first_source(settings, environment, None, &keyring).await?;
    let (usable, problem) = match keyring.backend() {
        Backend::Disabled | Backend::Unknown(_) => {
            (false, keyring.get().await.err().map(|r| r.to_string()))
        }
        Backend::SecretService => match keyring.get().await {
            Ok(opened) => match opened.probe().await {
                Ok(()) => (true, None),
                Err(error) => (false, Some(error.to_string())),
            },
            Err(reason) => (false, Some(reason.to_string())),
        },
    };
    let variables: Vec<(String, String)> = env::REPORTED_VARIABLES
        .iter()
        .chain(TOKEN_VARIABLES)
        .filter(|name| !PROXY_VARIABLES.contains(name))
        .filter_map(|name| environment.var(name).map(|value| (name.to_string(), value)))
        .map(|(name, value)| {
            let shown = if TOKEN_VARIABLES.contains(&name.as_str()) {
                Token::parse(&value).map(|t| t.masked()).unwrap_or_default()
            } else {
                // HF_ENDPOINT (or any URL-valued variable) may carry `user:password@` (#13.3).
                redact_url_password(&value)
            };
            (name, shown)
        })
        .collect();
    // reqwest's system proxy support reads both spellings.
    let proxies: Vec<(String, String)> = PROXY_VARIABLES
        .iter()
        .flat_map(|name| [name.to_string(), name.to_ascii_lowercase()])
        .filter_map(|name| {
            environment
                .var(&name)
                .map(|value| (name, redact_url_password(&value)))
        })
        .collect();
    let endpoint = redact_url_password(&settings.endpoint);
    let token = sources.first();
    let active_login = sources.keyring_login.clone();
    if args.json {
        let to_map = |pairs: &[(String, String)]| {
            Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect::<Map<_, _>>(),
            )
        };
        let value = json!({
            "version": env!("CARGO_PKG_VERSION"),
            "endpoint": endpoint,
            "cache_dir": settings.hub_cache,
            "token_path": settings.token_path,
            "stored_tokens_path": settings.stored_tokens_path(),
            "config_dir": settings.config_dir,
            "token": token.map(|t| json!({
                "masked": t.token.masked(),
                "source": t.source.id(),
                "description": t.source.to_string(),
            })),
            "keyring": {
                "backend": keyring.backend().describe(),
                "usable": usable,
                "problem": problem,
                "active_login": active_login,
                "login_problem": sources.keyring_problem,
            },
            "offline": settings.offline,
            "implicit_token_disabled": settings.disable_implicit_token,
            "variables": to_map(&variables),
            "proxy": to_map(&proxies),
        });
        let text = serde_json::to_string_pretty(&value).map_err(|e| Error::Output(e.into()))?;
        print_stdout(&text)?;
        return Ok(exit::SUCCESS);
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut lines = vec![
        format!("hfget version: {}", env!("CARGO_PKG_VERSION")),
        format!("endpoint: {endpoint}"),
        format!("cache dir: {}", settings.hub_cache.display()),
        format!("token path: {}", settings.token_path.display()),
        format!("stored tokens: {}", settings.stored_tokens_path().display()),
        format!("config dir: {}", settings.config_dir.display()),
        match token {
            Some(t) => format!("token: {} from {}", t.token.masked(), t.source),
            None => "token: none (requests are anonymous)".to_string(),
        },
        match (&problem, usable) {
            (_, true) => format!("keyring: {}, usable", keyring.backend().describe()),
            (Some(problem), false) => format!(
                "keyring: {}, not usable: {problem}",
                keyring.backend().describe()
            ),
            (None, false) => format!("keyring: {}, not usable", keyring.backend().describe()),
        },
    ];
    if let Some(name) = &active_login {
        lines.push(format!("active keyring login: {name}"));
    }
    if let Some(login_problem) = &sources.keyring_problem {
        lines.push(format!("keyring login problem: {login_problem}"));
    }
    lines.push(format!("offline: {}", yes_no(settings.offline)));
    lines.push(format!(
        "implicit token disabled: {}",
        yes_no(settings.disable_implicit_token)
    ));
    if variables.is_empty() {
        lines.push("variables: none set".to_string());
    } else {
        lines.push("variables:".to_string());
        lines.extend(variables.iter().map(|(k, v)| format!("  {k}={v}")));
    }
    if proxies.is_empty() {
        lines.push("proxy: none".to_string());
    } else {
        lines.push("proxy:".to_string());
        lines.extend(proxies.iter().map(|(k, v)| format!("  {k}={v}")));
    }
    print_stdout(&lines.join("\n"))?;
    Ok(exit::SUCCESS)
}
