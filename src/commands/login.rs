//! `hfget login [--token T] [--name N] [--store keyring|file]`: validate a token with the Hub,
//! then keep it in the OS keyring (default) or, on request, in the HF token files.
//!
//! The token is checked with `whoami-v2` before anything is written, so a typo never replaces a
//! working login. Without a reachable keyring the command refuses and offers `--store file`
//! instead of quietly writing plain text (rust-stack.md §1.4).

use std::io::{IsTerminal, Read};

use clap::Args;

use crate::auth::logins::{self, StoreKind};
use crate::auth::state::LoginInfo;
use crate::auth::{self, AuthError, KeyringHandle, Token};
use crate::commands::print_stdout;
use crate::commands::whoami::{describe_token, is_rejection, role_label};
use crate::env::{self, Environment, Settings};
use crate::error::{Error, exit};
use crate::hub::HubClient;
use crate::hub::whoami::WhoAmI;
use crate::output;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The token. Prefer the hidden prompt, or piping it on stdin: a token on the command line
    /// lands in your shell history.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The login's name [default: the token's name on the Hub].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Where to keep the token: the OS keyring, or the plain-text HF token file shared with the
    /// Python `hf` tools (readable only by you).
    #[arg(long, value_enum, default_value_t = StoreKind::Keyring)]
    pub store: StoreKind,
}

pub async fn run(
    args: LoginArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    // Check the keyring before asking for the token: a user should not paste a secret only to
    // learn it cannot be stored.
    let keyring = KeyringHandle::system(settings);
    if args.store == StoreKind::Keyring
        && let Err(reason) = keyring.get().await
    {
        return Err(logins::keyring_unavailable(settings, reason).into());
    }
    let token = read_token(args.token.as_deref(), &settings.endpoint).await?;
    if token.secret().starts_with("api_org_") {
        return Err(AuthError::OrgToken {
            masked: token.masked(),
        }
        .into());
    }
    let who = validate(settings, &token).await?;
    let name = match &args.name {
        Some(name) => name.trim().to_string(),
        None => default_name(&who),
    };
    let info = LoginInfo {
        user: who.name.clone(),
        role: who.role().unwrap_or_default().to_string(),
        masked: token.masked(),
    };
    let host = auth::endpoint_host(settings);
    let saved = match args.store {
        StoreKind::Keyring => {
            logins::save_keyring(settings, &keyring, &name, &token, info).await?;
            let backend = keyring
                .get()
                .await
                .map(|k| k.name().to_string())
                .unwrap_or_default();
            format!(
                "Saved as `{name}` in the OS keyring ({backend}); it is now the active login for {host}."
            )
        }
        StoreKind::File => {
            let deactivated = logins::save_file(settings, &name, &token, info)?;
            if let Some(previous) = deactivated {
                output::info(format!(
                    "note: the keyring login `{previous}` is no longer the active one (it is kept; `hfget auth switch {previous}` brings it back)."
                ));
            }
            format!(
                "Saved as `{name}` in {} and made active in {} (plain text, readable only by you; the Python `hf` tools use it too).",
                settings.stored_tokens_path().display(),
                settings.token_path.display()
            )
        }
    };
    let mut lines = vec![format!(
        "Token is valid: user {}, token `{}` ({}) {}.",
        who.name,
        who.token_name().unwrap_or("(unnamed)"),
        role_label(who.role()),
        token.masked()
    )];
    lines.extend(describe_token(&who));
    lines.push(saved);
    print_stdout(&lines.join("\n"))?;
    for variable in [env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN] {
        if environment
            .var(variable)
            .as_deref()
            .and_then(Token::parse)
            .is_some()
        {
            output::warn(format!(
                "{variable} is set and takes precedence over this login: hfget keeps sending the token from {variable} until you unset it."
            ));
            break;
        }
    }
    Ok(exit::SUCCESS)
}

/// The token from `--token`, the hidden prompt on a terminal, or stdin otherwise.
async fn read_token(flag: Option<&str>, endpoint: &str) -> Result<Token, AuthError> {
    if let Some(raw) = flag {
        output::warn(
            "a token passed with --token lands in your shell history; next time paste it at the prompt or pipe it on stdin.",
        );
        return Token::parse(raw).ok_or(AuthError::EmptyToken);
    }
    let prompt = format!("Paste your Hub token ({endpoint}/settings/tokens; input is hidden): ");
    let read = tokio::task::spawn_blocking(move || {
        if std::io::stdin().is_terminal() {
            rpassword::prompt_password(prompt).map_err(|source| AuthError::ReadInput {
                what: "the terminal",
                source,
            })
        } else {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map(|_| text)
                .map_err(|source| AuthError::ReadInput {
                    what: "stdin",
                    source,
                })
        }
    })
    .await
    .map_err(|e| AuthError::ReadInput {
        what: "the input",
        source: std::io::Error::other(e.to_string()),
    })??;
    // Only the first line: `echo $T | hfget login` and a pasted token followed by Enter agree.
    let first = read
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    Token::parse(first).ok_or(AuthError::EmptyToken)
}

/// Asks the Hub who the token belongs to; a rejected token stops the login before any write.
async fn validate(settings: &Settings, token: &Token) -> Result<WhoAmI, Error> {
    let client = HubClient::new(settings, Some(token.clone()))?;
    match client.whoami().await {
        Ok(who) => Ok(who),
        Err(error) if is_rejection(&error.kind) => Err(AuthError::LoginRejected {
            masked: token.masked(),
            endpoint: settings.endpoint.clone(),
        }
        .into()),
        Err(error) => Err(error.into()),
    }
}

/// The token's name on the Hub; OAuth tokens have none, and Python names them `oauth-{user}`
/// (hub-protocol.md §3.4).
fn default_name(who: &WhoAmI) -> String {
    match who.token_name().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => format!("oauth-{}", who.name),
    }
}
