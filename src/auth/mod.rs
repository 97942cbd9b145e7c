//! Where the Hub token comes from, and where logins are kept.
//!
//! Precedence (README): `--token` > the OIDC exchange (`HF_OIDC_RESOURCE`) >
//! `HF_TOKEN` > `HUGGING_FACE_HUB_TOKEN` > the active hfget login in the OS keyring > the HF token
//! file (`$HF_TOKEN_PATH`, else `$HF_HOME/token`). The OIDC, environment and file sources are in
//! `huggingface_hub` 2.4's order (`get_token`: OIDC, then the environment, then the file;
//! docs/protocol.md §5.1) so hfget sends the same token Python would; the keyring sits between
//! them because a user who ran `hfget login` expects that login to be used. A browser login
//! (keyring or file) is renewed before it is used when it is close to expiry ([`oauth_store`]),
//! and when the Hub rejects it, by the Hub client [`hub_client`] builds ([`renewal`]).
//! Every command resolves its token through [`resolve_token`].

pub mod describe;
pub mod keyring;
pub mod logins;
pub mod oauth;
pub mod oauth_store;
pub mod oidc;
pub mod renewal;
pub mod state;
pub mod stored_tokens;
// The token value is a leaf (`crate::secret`) that `hub` uses too; `auth::token` stays its name
// here (hub cannot import auth for it: auth imports hub).
pub(crate) use crate::secret as token;
pub mod token_file;

use std::fmt;
use std::path::PathBuf;

use crate::env::{self, Environment, Settings};
use crate::exit::{self, Class};
pub use keyring::{KeyringError, KeyringHandle, Unavailable};
pub use renewal::hub_client;
pub use token::Token;

/// Where a token was found. Shown (with the masked token) by `whoami`, `env` and `doctor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Flag,
    EnvHfToken,
    EnvHuggingFaceHubToken,
    Keyring {
        name: String,
    },
    File {
        path: PathBuf,
    },
    /// A token exchanged for a CI id token, for this run only.
    Oidc {
        resource: String,
        provider: &'static str,
    },
}

impl TokenSource {
    /// A stable identifier for `--json` output.
    pub fn id(&self) -> &'static str {
        match self {
            TokenSource::Flag => "flag",
            TokenSource::EnvHfToken => "env:HF_TOKEN",
            TokenSource::EnvHuggingFaceHubToken => "env:HUGGING_FACE_HUB_TOKEN",
            TokenSource::Keyring { .. } => "keyring",
            TokenSource::File { .. } => "file",
            TokenSource::Oidc { .. } => "oidc",
        }
    }

    pub fn is_environment(&self) -> bool {
        matches!(
            self,
            TokenSource::EnvHfToken | TokenSource::EnvHuggingFaceHubToken
        )
    }

    /// The environment variable that holds the token, for "unset X" advice.
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            TokenSource::EnvHfToken => Some(env::HF_TOKEN),
            TokenSource::EnvHuggingFaceHubToken => Some(env::HUGGING_FACE_HUB_TOKEN),
            _ => None,
        }
    }

    /// What to do when the Hub rejects the token this source holds.
    pub fn remedy(&self) -> String {
        match self {
            TokenSource::Flag => "pass a valid token to --token, or drop the flag to use your login".to_string(),
            TokenSource::EnvHfToken | TokenSource::EnvHuggingFaceHubToken => format!(
                "unset {} (or set it to a valid token); it takes precedence over any login",
                self.variable().unwrap_or(env::HF_TOKEN)
            ),
            // Browser logins are named `oauth-{user}` (as Python names them): they are renewed
            // by logging in with the browser again.
            TokenSource::Keyring { name } if name.starts_with("oauth-") => format!(
                "log in again with `hfget login --web`, or remove it with `hfget logout {name}`"
            ),
            TokenSource::Keyring { name } => format!(
                "log in again with `hfget login --name {name}`, or remove it with `hfget logout {name}`"
            ),
            TokenSource::File { .. } => "log in again with `hfget login` (or `hfget login --store file`), or remove the file with `hfget logout`".to_string(),
            TokenSource::Oidc { resource, .. } => format!(
                "check the Trusted Publisher settings of `{resource}` on the Hub, or unset {} to use another token",
                env::HF_OIDC_RESOURCE
            ),
        }
    }
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Flag => f.write_str("the --token flag"),
            TokenSource::EnvHfToken => write!(f, "the {} environment variable", env::HF_TOKEN),
            TokenSource::EnvHuggingFaceHubToken => {
                write!(
                    f,
                    "the {} environment variable",
                    env::HUGGING_FACE_HUB_TOKEN
                )
            }
            TokenSource::Keyring { name } => {
                write!(f, "the hfget login `{name}` in the OS keyring")
            }
            TokenSource::File { path } => write!(f, "the token file {}", path.display()),
            TokenSource::Oidc { resource, provider } => write!(
                f,
                "an OIDC exchange for {}={resource} (id token from {provider}; this run only, not stored)",
                env::HF_OIDC_RESOURCE
            ),
        }
    }
}

/// A token and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedToken {
    pub token: Token,
    pub source: TokenSource,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Could not read the token file {path}: {source}. Fix its permissions or remove it.")]
    ReadTokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Could not write {path}: {source}.")]
    WriteTokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "Could not read hfget's login state {path}: {source}. Fix its permissions or remove it."
    )]
    ReadState {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "hfget's login state {path} is damaged ({detail}). Remove it and log in again with `hfget login`."
    )]
    CorruptState { path: PathBuf, detail: String },
    #[error(
        "{path} line {line}: {reason}, so it is not a valid stored_tokens file. Fix or remove it (Python's `hf auth logout` removes it too)."
    )]
    StoredTokensSyntax {
        path: PathBuf,
        line: usize,
        reason: &'static str,
    },
    #[error(
        "Not logged in: no token in --token, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, an hfget login or {token_path}. Log in with `hfget login` (a token from {endpoint}/settings/tokens), or set HF_TOKEN."
    )]
    NoToken {
        token_path: PathBuf,
        endpoint: String,
    },
    #[error("{}", invalid_token_message(.origin, .masked, .alternative.as_ref()))]
    InvalidToken {
        /// The source that held the rejected token.
        origin: TokenSource,
        masked: String,
        /// A lower-precedence source whose token the Hub accepts.
        alternative: Option<TokenSource>,
    },
    #[error(
        "The Hub rejected this token ({masked}): it is revoked, expired or mistyped. Nothing was stored. Create a token at {endpoint}/settings/tokens and run `hfget login` again."
    )]
    LoginRejected { masked: String, endpoint: String },
    #[error(
        "This is an organization token ({masked}); log in with a personal access token instead. Nothing was stored."
    )]
    OrgToken { masked: String },
    #[error("No token was given: paste one at the prompt, pipe it on stdin, or pass --token.")]
    EmptyToken,
    #[error("Could not read the token from {what}: {source}.")]
    ReadInput {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("`{name}` cannot be a login name: {reason}. Choose another with --name.")]
    InvalidLoginName { name: String, reason: &'static str },
    #[error("{}", unknown_login_message(.name, .known))]
    UnknownLogin { name: String, known: Vec<String> },
    #[error(
        "`{name}` names both a keyring login and a file login; say which with --store keyring or --store file."
    )]
    AmbiguousLogin { name: String },
    #[error(
        "The OS keyring is not available: {reason}. hfget does not fall back to a plain-text file on its own; to store the token in the HF token file ({token_path}, readable only by you, shared with the Python `hf` tools), run the same command with `--store file`."
    )]
    KeyringUnavailable {
        reason: Unavailable,
        token_path: PathBuf,
    },
    #[error(
        "The login `{name}` is in the OS keyring, which is not available: {reason}. Make the keyring reachable and retry; nothing was removed."
    )]
    KeyringNeeded { name: String, reason: Unavailable },
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error(transparent)]
    OAuth(#[from] oauth::OAuthError),
    #[error(transparent)]
    Oidc(#[from] oidc::OidcError),
    /// A command that must ask the Hub, in offline mode.
    #[error(
        "`hfget {command}` has to ask the Hub {purpose}, and offline mode is on (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE). Unset it for this command: `HF_HUB_OFFLINE= TRANSFORMERS_OFFLINE= hfget {command}`."
    )]
    Offline {
        command: &'static str,
        purpose: &'static str,
    },
    /// Ctrl-C during `hfget login`.
    #[error("Login cancelled; nothing was stored.")]
    LoginInterrupted,
    #[error("Could not reach the Hub to log in: {0}")]
    Hub(Box<crate::hub::HubError>),
}

impl From<crate::hub::HubError> for AuthError {
    fn from(error: crate::hub::HubError) -> AuthError {
        AuthError::Hub(Box::new(error))
    }
}

impl AuthError {
    /// The family and the stable cause of this failure (docs/exit-codes.md).
    pub fn classify(&self) -> Class {
        match self {
            AuthError::NoToken { .. } | AuthError::OrgToken { .. } => {
                Class::new(exit::TOKEN, "no_token")
            }
            AuthError::InvalidToken { .. } | AuthError::LoginRejected { .. } => {
                Class::new(exit::TOKEN, "invalid_token")
            }
            // No token given at all: a usage error, of the "no token" kind.
            AuthError::EmptyToken => Class::new(exit::USAGE, "no_token"),
            AuthError::InvalidLoginName { .. }
            | AuthError::UnknownLogin { .. }
            | AuthError::AmbiguousLogin { .. } => Class::new(exit::USAGE, "usage"),
            AuthError::OAuth(error) => error.classify(),
            AuthError::Oidc(error) => error.classify(),
            AuthError::Hub(error) => error.classify(),
            AuthError::LoginInterrupted => Class::new(exit::INTERRUPTED, "interrupted"),
            AuthError::Offline { .. } => Class::new(exit::OFFLINE, "offline"),
            AuthError::ReadTokenFile { .. }
            | AuthError::WriteTokenFile { .. }
            | AuthError::ReadState { .. }
            | AuthError::CorruptState { .. }
            | AuthError::StoredTokensSyntax { .. }
            | AuthError::ReadInput { .. }
            | AuthError::KeyringUnavailable { .. }
            | AuthError::KeyringNeeded { .. }
            | AuthError::Keyring(_) => Class::new(exit::LOCAL, "local_filesystem"),
        }
    }
}

fn invalid_token_message(
    source: &TokenSource,
    masked: &str,
    alternative: Option<&TokenSource>,
) -> String {
    let mut message = match source.variable() {
        Some(variable) => format!(
            "{variable} holds a token the Hub rejects ({masked}): it is revoked, expired or mistyped."
        ),
        None => format!(
            "The Hub rejects the token from {source} ({masked}): it is revoked, expired or mistyped."
        ),
    };
    match (alternative, source.variable()) {
        (Some(alternative), Some(variable)) => message.push_str(&format!(
            " {} would work: unset {variable}.",
            capitalize_source(alternative)
        )),
        (Some(alternative), None) => message.push_str(&format!(
            " {} would work; {}.",
            capitalize_source(alternative),
            source.remedy()
        )),
        (None, _) => {
            message.push(' ');
            let mut remedy = source.remedy();
            if let Some(first) = remedy.get(..1) {
                remedy.replace_range(..1, &first.to_uppercase());
            }
            message.push_str(&remedy);
            message.push('.');
        }
    }
    message
}

/// "your keyring login `laptop`", "your token file …": how a working alternative is named.
fn capitalize_source(source: &TokenSource) -> String {
    match source {
        TokenSource::Keyring { name } => format!("Your keyring login `{name}`"),
        TokenSource::File { path } => format!("Your token file {}", path.display()),
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
                None => text,
            }
        }
    }
}

fn unknown_login_message(name: &str, known: &[String]) -> String {
    if known.is_empty() {
        format!(
            "There is no login named `{name}` (there are no logins). Log in with `hfget login`."
        )
    } else {
        format!(
            "There is no login named `{name}`. Known logins: {}. See `hfget auth list`.",
            known.join(", ")
        )
    }
}

/// The endpoint's host as logins are keyed: `huggingface.co`, `127.0.0.1:8080`.
pub fn endpoint_host(settings: &Settings) -> String {
    crate::hub::client::host_of(&settings.endpoint)
}

/// The keyring account of a login (see [`keyring`]).
pub fn keyring_account(host: &str, name: &str) -> String {
    format!("{host}/{name}")
}

/// Every token source, as `doctor` and `whoami` need them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// The sources that hold a token, in precedence order; the first is the one hfget uses.
    pub candidates: Vec<ResolvedToken>,
    /// The active hfget keyring login for this endpoint, if one is recorded.
    pub keyring_login: Option<String>,
    /// Why that login could not be read (keyring unreachable or locked, entry gone), as a sentence.
    pub keyring_problem: Option<String>,
}

impl Sources {
    pub fn first(&self) -> Option<&ResolvedToken> {
        self.candidates.first()
    }
}

/// Collects the token sources in precedence order. With `stop_at_first`, the later sources are
/// not read at all (the keyring is not opened when `HF_TOKEN` wins).
async fn collect(
    settings: &Settings,
    environment: &dyn Environment,
    flag: Option<&str>,
    keyring: &KeyringHandle,
    stop_at_first: bool,
) -> Result<Sources, AuthError> {
    let mut sources = Sources::default();
    let push = |sources: &mut Sources, token: Option<Token>, source: TokenSource| {
        if let Some(token) = token {
            sources.candidates.push(ResolvedToken { token, source });
        }
    };
    push(&mut sources, flag.and_then(Token::parse), TokenSource::Flag);
    // OIDC comes before the environment, as in huggingface_hub 2.4. It costs two requests, so
    // it is skipped when --token already won, and offline (nothing is sent anyway).
    if (!stop_at_first || sources.candidates.is_empty())
        && !settings.offline
        && let Some(resource) = oidc::resource(environment)
    {
        let exchanged = oidc::exchange(settings, environment, &resource).await?;
        push(
            &mut sources,
            Some(exchanged.token),
            TokenSource::Oidc {
                resource: exchanged.resource,
                provider: exchanged.provider.describe(),
            },
        );
    }
    push(
        &mut sources,
        environment
            .var(env::HF_TOKEN)
            .as_deref()
            .and_then(Token::parse),
        TokenSource::EnvHfToken,
    );
    push(
        &mut sources,
        environment
            .var(env::HUGGING_FACE_HUB_TOKEN)
            .as_deref()
            .and_then(Token::parse),
        TokenSource::EnvHuggingFaceHubToken,
    );
    let done = |sources: &Sources| stop_at_first && !sources.candidates.is_empty();
    if done(&sources) {
        return Ok(sources);
    }
    read_keyring_login(settings, keyring, &mut sources).await;
    if !done(&sources) {
        push(
            &mut sources,
            token_file::read_token(&settings.token_path)?,
            TokenSource::File {
                path: settings.token_path.clone(),
            },
        );
    }
    oauth_store::renew_if_due(settings, environment, keyring, &mut sources).await;
    Ok(sources)
}

/// Adds the active keyring login to `sources`, or records why it cannot be read. Never fails:
/// a broken keyring must not stop a download that the token file or no token at all can serve.
async fn read_keyring_login(settings: &Settings, keyring: &KeyringHandle, sources: &mut Sources) {
    let host = endpoint_host(settings);
    let state = match state::State::load(settings) {
        Ok(state) => state,
        Err(error) => {
            sources.keyring_problem = Some(error.to_string());
            return;
        }
    };
    let Some(name) = state.active_keyring_login(&host).map(str::to_string) else {
        return;
    };
    sources.keyring_login = Some(name.clone());
    let opened = match keyring.get().await {
        Ok(opened) => opened,
        Err(reason) => {
            sources.keyring_problem = Some(format!(
                "Your active login `{name}` is in the OS keyring, which is not available: {reason}."
            ));
            return;
        }
    };
    match opened.get(&keyring_account(&host, &name)).await {
        Ok(Some(token)) => sources.candidates.push(ResolvedToken {
            token,
            source: TokenSource::Keyring { name },
        }),
        Ok(None) => {
            sources.keyring_problem = Some(format!(
                "Your active login `{name}` has no entry in the OS keyring any more (removed outside hfget?). Log in again with `hfget login --name {name}`."
            ))
        }
        Err(error) => {
            sources.keyring_problem = Some(format!(
                "Could not read your active login `{name}`: {error}"
            ))
        }
    }
}

/// Every token source that currently holds a token, in precedence order, with the state of the
/// keyring login. The first candidate is the one hfget uses; the rest matter to `doctor` (a stale
/// `HF_TOKEN` shadowing a good login).
pub async fn inspect_sources(
    settings: &Settings,
    environment: &dyn Environment,
    flag: Option<&str>,
    keyring: &KeyringHandle,
) -> Result<Sources, AuthError> {
    collect(settings, environment, flag, keyring, false).await
}

/// Like [`inspect_sources`], but stops at the first source that holds a token (the keyring is not
/// opened when an earlier source wins). Ignores `HF_HUB_DISABLE_IMPLICIT_TOKEN`: this is "the
/// token you are logged in with", as `auth token`, `whoami` and `env` report it.
pub async fn first_source(
    settings: &Settings,
    environment: &dyn Environment,
    flag: Option<&str>,
    keyring: &KeyringHandle,
) -> Result<Sources, AuthError> {
    collect(settings, environment, flag, keyring, true).await
}

/// The token every request of this run carries, or `None` to go anonymous. Reads only as far as
/// the first source that has a token; a keyring login that cannot be read is a warning, and
/// resolution goes on with the token file.
///
/// With `HF_HUB_DISABLE_IMPLICIT_TOKEN` set, only an explicit `--token` is sent (docs/protocol.md §5.1).
pub async fn resolve_token(
    settings: &Settings,
    environment: &dyn Environment,
    flag: Option<&str>,
) -> Result<Option<ResolvedToken>, AuthError> {
    let keyring = KeyringHandle::system(settings);
    resolve_token_with(settings, environment, flag, &keyring).await
}

/// [`resolve_token`] with a given keyring (tests, or a command that already opened one).
pub async fn resolve_token_with(
    settings: &Settings,
    environment: &dyn Environment,
    flag: Option<&str>,
    keyring: &KeyringHandle,
) -> Result<Option<ResolvedToken>, AuthError> {
    if settings.disable_implicit_token {
        return Ok(flag.and_then(Token::parse).map(|token| ResolvedToken {
            token,
            source: TokenSource::Flag,
        }));
    }
    let sources = first_source(settings, environment, flag, keyring).await?;
    if let Some(problem) = &sources.keyring_problem {
        crate::output::warn(format!("{problem} Continuing without it."));
    }
    Ok(sources.candidates.into_iter().next())
}

#[cfg(test)]
mod tests;
