//! `hfget login [--web | --token T] [--name N] [--store keyring|file]`: log in with the browser
//! (OAuth device code) or with a token, validate it with the Hub, then keep it in the
//! OS keyring (default) or, on request, in the HF token files.
//!
//! Which way: `--web` always uses the browser; `--token` or a token piped on stdin is a token
//! login; on a terminal with neither, hfget asks (browser first, as `hf auth login` 2.4 does).
//! The token is checked with `whoami-v2` before anything is written, so a typo never replaces a
//! working login. Without a reachable keyring the command refuses and offers `--store file`
//! instead of quietly writing plain text (docs/design.md §1.4).
//!
//! Ctrl-C at a prompt: the terminal's echo is switched off by a guard owned by
//! this command's future, so when the top-level Ctrl-C handler drops the future the guard puts
//! echo back before anything is printed, and the one message is [`AuthError::LoginInterrupted`].

mod browser;
mod prompt;
mod spinner;
mod terminal;

use clap::Args;

use crate::auth::describe::{describe_token, role_label};
use crate::auth::keyring::LoginSecret;
use crate::auth::logins::{self, StoreKind};
use crate::auth::oauth::{DeviceCode, OAuthClient, TokenGrant};
use crate::auth::oauth_store;
use crate::auth::state::LoginInfo;
use crate::auth::{self, AuthError, KeyringHandle, Token};
use crate::env::{self, Environment, Settings};
use crate::error::{Error, exit};
use crate::hub::HubClient;
use crate::hub::whoami::WhoAmI;
use crate::output::{self, print_stdout};
use prompt::{choose_browser, read_token};
use spinner::Spinner;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The token. Prefer the hidden prompt, or piping it on stdin: a token on the command line
    /// lands in your shell history.
    #[arg(long, value_name = "TOKEN", conflicts_with = "web")]
    pub token: Option<String>,
    /// Log in with your browser: hfget shows a page and a code to approve there (on any
    /// device), then waits. Works without a terminal; on a terminal it is the default choice.
    #[arg(long)]
    pub web: bool,
    /// With --web: do not try to open a browser, only print the page and the code.
    #[arg(long, requires = "web")]
    pub no_browser: bool,
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
    if settings.offline {
        return Err(AuthError::Offline {
            command: "login",
            purpose: "whether the token is valid",
        }
        .into());
    }
    // Check the keyring before asking for the token: a user should not paste a secret, or
    // approve a login in the browser, only to learn it cannot be stored.
    let keyring = KeyringHandle::system(settings);
    if args.store == StoreKind::Keyring
        && let Err(reason) = keyring.get().await
    {
        return Err(logins::keyring_unavailable(settings, reason).into());
    }
    let web = args.web || (args.token.is_none() && choose_browser().await?);
    let (token, grant) = if web {
        let grant = browser_login(settings, environment, !args.no_browser).await?;
        (grant.access_token.clone(), Some(grant))
    } else {
        (
            read_token(args.token.as_deref(), &settings.endpoint).await?,
            None,
        )
    };
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
    let facts = grant
        .as_ref()
        .map(|grant| oauth_store::facts_of(grant, None, grant.refresh_token.is_some()));
    let info = LoginInfo {
        user: who.name.clone(),
        role: who.role().unwrap_or_default().to_string(),
        masked: token.masked(),
        oauth: facts.clone(),
    };
    let refresh = grant.as_ref().and_then(|g| g.refresh_token.clone());
    let host = auth::endpoint_host(settings);
    let saved = match args.store {
        StoreKind::Keyring => {
            let secret = LoginSecret {
                access: token.clone(),
                refresh: refresh.clone(),
            };
            logins::save_keyring_login(settings, &keyring, &name, &secret, info).await?;
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
            let extra = facts
                .as_ref()
                .map(|facts| oauth_store::file_fields(refresh.as_ref(), facts))
                .unwrap_or_default();
            let deactivated = logins::save_file_login(settings, &name, &token, &extra, info)?;
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
    let mut lines = vec![if web {
        format!(
            "Logged in with your browser: user {}, token {} ({}).",
            who.name,
            token.masked(),
            role_label(who.role())
        )
    } else {
        format!(
            "Token is valid: user {}, token `{}` ({}) {}.",
            who.name,
            who.token_name().unwrap_or("(unnamed)"),
            role_label(who.role()),
            token.masked()
        )
    }];
    lines.extend(describe_token(&who));
    if let Some(facts) = &facts {
        let login = oauth_store::BrowserLogin {
            name: name.clone(),
            store: args.store.id(),
            facts: facts.clone(),
        };
        lines.extend(
            oauth_store::describe(&login, oauth_store::now_unix())
                .into_iter()
                .skip(1),
        );
    }
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

/// The device-code login: ask for a code, show it, open the browser if there is one, and poll
/// until the user approves (or denies, or the code expires).
async fn browser_login(
    settings: &Settings,
    environment: &dyn Environment,
    open_browser: bool,
) -> Result<TokenGrant, Error> {
    let client = OAuthClient::new(settings, environment)?;
    let device = client
        .request_device_code()
        .await
        .map_err(AuthError::from)?;
    show_code(&device);
    if open_browser {
        match browser::open(environment, &device.verification_uri_complete) {
            Some(program) => output::info(format!("Opened the page with {program}.")),
            None => output::info("No browser here: open the page on any device."),
        }
    }
    let spinner = Spinner::start(device.expires_in);
    let grant = client
        .wait_for_approval(&device, |waiting| spinner.update(&waiting))
        .await;
    spinner.finish();
    Ok(grant.map_err(AuthError::from)?)
}

fn show_code(device: &DeviceCode) {
    // stderr: stdout carries only the result. Printed at once, so an agent or a script that
    // relays the page and the code can do so while hfget waits.
    let mut text = format!(
        "To log in, open this page in a browser and approve the code:\n\n    {}\n\n    code: {}\n",
        device.verification_uri_complete, device.user_code
    );
    if device.verification_uri_complete != device.verification_uri {
        text.push_str(&format!(
            "\n(or open {} and type the code)\n",
            device.verification_uri
        ));
    }
    output::info(text);
}

/// Asks the Hub who the token belongs to; a rejected token stops the login before any write.
async fn validate(settings: &Settings, token: &Token) -> Result<WhoAmI, Error> {
    let client = HubClient::new(settings, Some(token.clone()))?;
    match client.whoami().await {
        Ok(who) => Ok(who),
        Err(error) if error.rejects_token() => Err(AuthError::LoginRejected {
            masked: token.masked(),
            endpoint: settings.endpoint.clone(),
        }
        .into()),
        Err(error) => Err(error.into()),
    }
}

/// The token's name on the Hub; OAuth tokens have none, and Python names them `oauth-{user}`
/// (docs/protocol.md §3.4).
fn default_name(who: &WhoAmI) -> String {
    match who.token_name().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => format!("oauth-{}", who.name),
    }
}
