//! `hfget auth list|switch|token` (plus `auth login|logout|whoami`, the spelling of Python's
//! `hf auth …`, as aliases of the top-level commands).
//!
//! `list` never opens the keyring and never prints a secret: names, users and roles come from
//! the state file and the masked tokens. `token` is the one place hfget prints a full token, on
//! stdout alone, for piping into another program.

use clap::Subcommand;

use crate::auth::logins::{self, StoreKind};
use crate::auth::{self, AuthError, KeyringHandle, Token};
use crate::commands::login::LoginArgs;
use crate::commands::logout::LogoutArgs;
use crate::commands::whoami::WhoamiArgs;
use crate::commands::whoami::role_label;
use crate::commands::{login, logout, print_stdout, whoami};
use crate::env::{self, Environment, Settings};
use crate::error::{Error, exit};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// List your logins: name, user, role, store and masked token; `*` marks the active one.
    #[command(visible_alias = "ls")]
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make another login the active one.
    Switch {
        /// The login's name (see `hfget auth list`).
        #[arg(value_name = "NAME")]
        name: String,
        /// Which store, when a keyring login and a file login share the name.
        #[arg(long, value_enum)]
        store: Option<StoreKind>,
    },
    /// Print the active token to stdout, and nothing else (for piping).
    #[command(
        after_help = "Example:\n  curl -H \"Authorization: Bearer $(hfget auth token)\" https://huggingface.co/api/whoami-v2"
    )]
    Token,
    /// Same as `hfget login`.
    Login(LoginArgs),
    /// Same as `hfget logout`.
    Logout(LogoutArgs),
    /// Same as `hfget whoami`.
    Whoami(WhoamiArgs),
}

pub async fn run(
    command: AuthCommand,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    match command {
        AuthCommand::List { json } => list(settings, environment, json),
        AuthCommand::Switch { name, store } => switch(settings, environment, &name, store).await,
        AuthCommand::Token => token(settings, environment).await,
        AuthCommand::Login(args) => login::run(args, settings, environment).await,
        AuthCommand::Logout(args) => logout::run(args, settings, environment).await,
        AuthCommand::Whoami(args) => whoami::run(args, settings, environment).await,
    }
}

/// The environment variable that overrides every login, if one is set.
fn overriding_variable(environment: &dyn Environment) -> Option<&'static str> {
    [env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN]
        .into_iter()
        .find(|variable| {
            environment
                .var(variable)
                .as_deref()
                .and_then(Token::parse)
                .is_some()
        })
}

fn list(settings: &Settings, environment: &dyn Environment, json: bool) -> Result<u8, Error> {
    let keyring = KeyringHandle::system(settings);
    let entries = logins::list(settings, keyring.enabled())?;
    if json {
        let text = serde_json::to_string_pretty(&entries).map_err(|e| Error::Output(e.into()))?;
        print_stdout(&text)?;
    } else if entries.is_empty() {
        output::info("No logins. Log in with `hfget login`.");
    } else {
        // An EXPIRES column only when a browser login is listed, as `hf auth list` 2.x does.
        let with_expiry = entries.iter().any(|e| e.expires_at.is_some());
        let now = crate::auth::oauth_store::now_unix();
        let header = ["NAME", "USER", "ROLE", "STORE", "TOKEN", "EXPIRES"].map(str::to_string);
        let rows: Vec<(bool, Vec<String>)> = std::iter::once((false, header.to_vec()))
            .chain(entries.iter().map(|e| {
                let expires = match e.expires_at {
                    Some(at) if at <= now => {
                        format!("{} (expired)", crate::auth::oauth_store::format_utc(at))
                    }
                    Some(at) => crate::auth::oauth_store::format_utc(at),
                    None => "-".into(),
                };
                (
                    e.active,
                    vec![
                        e.name.clone(),
                        e.user.clone().unwrap_or_else(|| "-".into()),
                        // The same words as `whoami` (issue #13.13: not `fineGrained`).
                        e.role
                            .as_deref()
                            .map(|role| role_label(Some(role)))
                            .unwrap_or_else(|| "-".into()),
                        e.store.to_string(),
                        e.token.clone().unwrap_or_else(|| "-".into()),
                        expires,
                    ],
                )
            }))
            .map(|(active, mut row)| {
                if !with_expiry {
                    row.pop();
                }
                (active, row)
            })
            .collect();
        let mut widths = vec![0usize; rows[0].1.len()];
        for (_, row) in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let lines: Vec<String> = rows
            .iter()
            .map(|(active, row)| {
                let cells: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .map(|(cell, width)| format!("{cell:<width$}"))
                    .collect();
                format!("{} {}", if *active { '*' } else { ' ' }, cells.join("  "))
                    .trim_end()
                    .to_string()
            })
            .collect();
        print_stdout(&lines.join("\n"))?;
    }
    if let Some(variable) = overriding_variable(environment) {
        output::info(format!(
            "note: {variable} is set and overrides these logins."
        ));
    }
    if !keyring.enabled() && entries.iter().any(|e| e.store == StoreKind::Keyring.id()) {
        output::info(format!(
            "note: keyring logins are ignored while {}={}.",
            env::HFGET_KEYRING,
            settings.keyring_backend.as_deref().unwrap_or_default()
        ));
    }
    Ok(exit::SUCCESS)
}

async fn switch(
    settings: &Settings,
    environment: &dyn Environment,
    name: &str,
    store: Option<StoreKind>,
) -> Result<u8, Error> {
    let keyring = KeyringHandle::system(settings);
    let kind = logins::switch(settings, &keyring, name, store).await?;
    let place = match kind {
        StoreKind::Keyring => "OS keyring".to_string(),
        StoreKind::File => format!("token file {}", settings.token_path.display()),
    };
    print_stdout(&format!("The active login is now `{name}` ({place})."))?;
    if let Some(variable) = overriding_variable(environment) {
        output::warn(format!(
            "{variable} is set and takes precedence over `{name}`; unset it to use this login."
        ));
    }
    Ok(exit::SUCCESS)
}

async fn token(settings: &Settings, environment: &dyn Environment) -> Result<u8, Error> {
    let keyring = KeyringHandle::system(settings);
    let sources = auth::first_source(settings, environment, None, &keyring).await?;
    if let Some(problem) = &sources.keyring_problem {
        output::warn(problem);
    }
    match sources.first() {
        Some(resolved) => {
            print_stdout(resolved.token.secret())?;
            Ok(exit::SUCCESS)
        }
        None => Err(AuthError::NoToken {
            token_path: settings.token_path.clone(),
            endpoint: settings.endpoint.clone(),
        }
        .into()),
    }
}
