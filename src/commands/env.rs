//! `hfget env [--json]`: the facts to paste into a bug report. Version, endpoint, paths, which
//! token would be sent and from where (masked), whether the keyring can be used, the HF_*
//! variables in effect and the proxy settings, with secrets masked (tokens, proxy passwords).

use clap::Args;
use serde_json::{Map, Value, json};

use crate::auth::keyring::Backend;
use crate::auth::token::redact_url_password;
use crate::auth::{self, KeyringHandle, Token};
use crate::env::{self, Environment, Settings};
use crate::error::{Error, exit};
use crate::hub::transport::{self, TransportError, TrustSource};
use crate::output::print_stdout;

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

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
        .filter_map(|name| environment.var(name).map(|value| (name.to_string(), value)))
        .map(|(name, value)| {
            let shown = if TOKEN_VARIABLES.contains(&name.as_str()) {
                Token::parse(&value).map(|t| t.masked()).unwrap_or_default()
            } else {
                // HF_ENDPOINT (or any URL-valued variable) may carry `user:password@`.
                redact_url_password(&value)
            };
            (name, shown)
        })
        .collect();
    let network = NetworkReport::of(settings);
    let proxies = network.proxies();
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
            "proxy_problems": network.proxy_problems,
            "certificates": match &network.trust {
                Ok(source) => json!(source),
                Err(problem) => json!({"problem": problem.to_string()}),
            },
            "shadowed": network.shadowed(),
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
    lines.extend(
        network
            .proxy_problems
            .iter()
            .map(|problem| format!("  problem: {problem}")),
    );
    lines.extend(
        network
            .shadowed()
            .into_iter()
            .map(|note| format!("  {note}")),
    );
    lines.push(match &network.trust {
        Ok(source) => format!("certificates: {source}"),
        Err(problem) => format!("certificates: {problem}"),
    });
    print_stdout(&lines.join("\n"))?;
    Ok(exit::SUCCESS)
}

/// The proxy and certificate variables as `env` shows them: masked, each checked on its own.
struct NetworkReport<'a> {
    variables: &'a env::NetworkVariables,
    proxy_problems: Vec<String>,
    trust: Result<TrustSource, TransportError>,
}

impl<'a> NetworkReport<'a> {
    fn of(settings: &'a Settings) -> NetworkReport<'a> {
        let variables = &settings.network;
        let proxy_problems = variables
            .proxies()
            .filter_map(|variable| transport::check_proxy(variable).err())
            .map(|problem| problem.to_string())
            .collect();
        NetworkReport {
            variables,
            proxy_problems,
            trust: transport::trust(variables).map(|trust| trust.source),
        }
    }

    /// `name=value` of each proxy variable in effect, the password masked; a value that does not
    /// parse is never shown (masking needs a URL that parses).
    fn proxies(&self) -> Vec<(String, String)> {
        let mut shown: Vec<(String, String)> = self
            .variables
            .proxies()
            .map(|variable| {
                let value = match transport::check_proxy(variable) {
                    Ok(route) => route.masked,
                    Err(_) => "(hidden: not a valid URL)".to_string(),
                };
                (variable.name.to_string(), value)
            })
            .collect();
        if let Some(no_proxy) = &self.variables.no_proxy {
            shown.push((no_proxy.name.to_string(), no_proxy.value.clone()));
        }
        shown
    }

    /// The variables that are set but lose to another.
    fn shadowed(&self) -> Vec<String> {
        self.variables
            .shadowed
            .iter()
            .map(|(name, winner)| match winner {
                Some(winner) => format!("{name} is set but not used: {winner} wins"),
                None => format!("{name} is set but not used: its lower-case spelling is set empty"),
            })
            .collect()
    }
}
