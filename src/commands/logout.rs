//! `hfget logout [NAME | --all]`: remove logins from wherever they are kept (keyring entries,
//! `stored_tokens` sections, the HF token file).
//!
//! Without arguments it removes the active login, which is what "log out" means to most people;
//! `--all` removes every login of every endpoint, as Python's `hf auth logout` does. Tokens in
//! environment variables cannot be removed by a program, so a set `HF_TOKEN` is reported rather
//! than silently left in charge.

use clap::Args;

use crate::auth::logins::{self, LogoutTarget};
use crate::auth::{KeyringHandle, Token};
use crate::env::{self, Environment, Settings};
use crate::error::{Error, exit};
use crate::output::{self, print_stdout};

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The login to remove (see `hfget auth list`) [default: the active login].
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Remove every login: all keyring logins, the stored_tokens file and the HF token file.
    #[arg(long, conflicts_with = "name")]
    pub all: bool,
}

pub async fn run(
    args: LogoutArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    let target = match (args.all, args.name) {
        (true, _) => LogoutTarget::All,
        (false, Some(name)) => LogoutTarget::Name(name),
        (false, None) => LogoutTarget::Active,
    };
    let keyring = KeyringHandle::system(settings);
    let removed = logins::logout(settings, &keyring, target).await?;
    let mut lines = Vec::new();
    for name in &removed.keyring {
        lines.push(format!("Removed the login `{name}` from the OS keyring."));
    }
    for name in &removed.file {
        lines.push(format!(
            "Removed the login `{name}` from {}.",
            settings.stored_tokens_path().display()
        ));
    }
    if removed.token_file {
        lines.push(format!(
            "Removed the token file {}.",
            settings.token_path.display()
        ));
    }
    if removed.is_empty() {
        output::info("Not logged in: there was no stored login to remove.");
    } else {
        print_stdout(&lines.join("\n"))?;
    }
    let still_set: Vec<&str> = [env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN]
        .into_iter()
        .filter(|variable| {
            environment
                .var(variable)
                .as_deref()
                .and_then(Token::parse)
                .is_some()
        })
        .collect();
    if !still_set.is_empty() {
        output::warn(format!(
            "{} still set, so you are still logged in through it. To log out completely, unset {}.",
            match still_set.as_slice() {
                [one] => format!("{one} is"),
                _ => format!("{} are", still_set.join(" and ")),
            },
            still_set.join(" and ")
        ));
    }
    Ok(exit::SUCCESS)
}
