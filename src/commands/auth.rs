//! `hfget auth list|switch|token`. (`auth login|logout|whoami`, the spelling of Python's
//! `hf auth …`, are the top-level commands under another name: `cli` declares them and the
//! dispatch at the root runs those commands.)
//!
//! `list` never opens the keyring and never prints a secret: names, users and roles come from
//! the state file and the masked tokens. `token` is the one place hfget prints a full token, on
//! stdout alone, for piping into another program.

use crate::auth::describe::role_label;
use crate::auth::logins::{self, StoreKind};
use crate::auth::{self, AuthError, KeyringHandle, Token};
use crate::env::{self, Environment, Settings};
use crate::error::{Error, exit};
use crate::output::{self, print_stdout};

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

pub fn list(settings: &Settings, environment: &dyn Environment, json: bool) -> Result<u8, Error> {
    let keyring = KeyringHandle::system(settings);
    let entries = logins::list(settings, keyring.enabled())?;
    if json {
        output::print_json_pretty(&entries)?;
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
                        // The same words as `whoami` (not the API's `fineGrained`).
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

pub async fn switch(
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

pub async fn token(settings: &Settings, environment: &dyn Environment) -> Result<u8, Error> {
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
