//! Saving, listing, switching and removing logins, wherever they are kept.
//!
//! A login is a named token in one of two stores:
//! - `keyring`: the OS keyring entry `hfget` / `{host}/{name}` plus its facts in the state file;
//!   the active one per endpoint host is recorded in the state file.
//! - `file`: a section of Python's `stored_tokens` plus, for the active one, the HF token file,
//!   exactly as `hf auth login` keeps them, so both tools see the same logins.
//!
//! The keyring comes before the token file in the precedence order, so making a file login
//! active (login `--store file`, `switch`) also clears the active keyring login of that host;
//! otherwise the switch would have no effect.

use super::keyring::{KeyringHandle, LoginSecret};
use super::state::{LoginInfo, State};
use super::stored_tokens::StoredTokens;
use super::{AuthError, KeyringError, Token, endpoint_host, keyring_account, token_file};
use crate::env::Settings;

/// Where a login is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// The OS keyring (Secret Service on Linux).
    Keyring,
    /// The plain-text HF token file and `stored_tokens`, shared with the Python tools.
    File,
}

impl StoreKind {
    pub fn id(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::File => "file",
        }
    }
}

/// The name shown for a token file whose token is in no `stored_tokens` section.
pub const UNNAMED_FILE_LOGIN: &str = "(token file)";

/// Checks that `name` works as a keyring account suffix and as an INI section name that
/// Python's `configparser` reads back unchanged.
pub fn validate_name(name: &str) -> Result<(), AuthError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.trim() != name {
        Some("it starts or ends with a space")
    } else if name.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if name.contains('[') || name.contains(']') {
        Some("it contains `[` or `]`, which the stored_tokens file cannot hold")
    } else if name == "DEFAULT" {
        Some("`DEFAULT` is reserved by the stored_tokens file format")
    } else if name.chars().count() > 100 {
        Some("it is longer than 100 characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(AuthError::InvalidLoginName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

pub fn keyring_unavailable(settings: &Settings, reason: super::Unavailable) -> AuthError {
    AuthError::KeyringUnavailable {
        reason,
        token_path: settings.token_path.clone(),
    }
}

/// Stores `token` in the keyring as `name` and makes it the active login of this endpoint.
/// Refuses (never falls back to a file) when the keyring cannot be used.
#[cfg(test)]
pub async fn save_keyring(
    settings: &Settings,
    keyring: &KeyringHandle,
    name: &str,
    token: &Token,
    info: LoginInfo,
) -> Result<(), AuthError> {
    let secret = LoginSecret {
        access: token.clone(),
        refresh: None,
    };
    save_keyring_login(settings, keyring, name, &secret, info).await
}

/// [`save_keyring`] for a login that may carry a refresh token (a browser login).
pub async fn save_keyring_login(
    settings: &Settings,
    keyring: &KeyringHandle,
    name: &str,
    secret: &LoginSecret,
    info: LoginInfo,
) -> Result<(), AuthError> {
    validate_name(name)?;
    let host = endpoint_host(settings);
    let mut state = State::load(settings)?;
    let opened = keyring
        .get()
        .await
        .map_err(|reason| keyring_unavailable(settings, reason))?;
    let label = format!("hfget: {name} ({host})");
    match opened
        .set_login(&keyring_account(&host, name), secret, &label)
        .await
    {
        Ok(()) => {}
        Err(KeyringError::Unavailable(reason)) => {
            return Err(keyring_unavailable(settings, reason));
        }
        Err(other) => return Err(other.into()),
    }
    let logins = state.host_mut(&host);
    logins.keyring.insert(name.to_string(), info);
    logins.active = Some(name.to_string());
    state.save(settings)
}

/// Stores `token` as `name` in `stored_tokens` and as the active token in the HF token file.
/// Returns the keyring login that was active for this endpoint and no longer is, if any.
#[cfg(test)]
pub fn save_file(
    settings: &Settings,
    name: &str,
    token: &Token,
    info: LoginInfo,
) -> Result<Option<String>, AuthError> {
    save_file_login(settings, name, token, &[], info)
}

/// [`save_file`] with extra keys in the login's `stored_tokens` section: a browser login's
/// `refresh_token` and `expires_at`, exactly as huggingface_hub's `_save_token` writes them.
pub fn save_file_login(
    settings: &Settings,
    name: &str,
    token: &Token,
    extra: &[(&str, String)],
    info: LoginInfo,
) -> Result<Option<String>, AuthError> {
    validate_name(name)?;
    let stored_path = settings.stored_tokens_path();
    let mut stored = StoredTokens::load(&stored_path)?;
    let mut state = State::load(settings)?;
    stored.set_with(name, token, extra);
    stored.save(&stored_path)?;
    token_file::write_token(&settings.token_path, token)?;
    state.file.insert(name.to_string(), info);
    let deactivated = deactivate_keyring(&mut state, &endpoint_host(settings));
    state.save(settings)?;
    Ok(deactivated)
}

fn deactivate_keyring(state: &mut State, host: &str) -> Option<String> {
    let previous = state.host_mut(host).active.take();
    state.prune();
    previous
}

/// One row of `hfget auth list`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LoginEntry {
    pub name: String,
    pub store: &'static str,
    pub user: Option<String>,
    pub role: Option<String>,
    /// The masked token (`hf_…abcd`); never the secret.
    pub token: Option<String>,
    /// The login hfget uses when neither --token nor an environment variable gives a token.
    pub active: bool,
    /// When a browser login's access token expires (unix seconds), as Python's `auth list`
    /// shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// Every login of this endpoint, without opening the keyring. `keyring_enabled` says whether
/// keyring logins take part in resolution (with `HFGET_KEYRING=none` they do not).
pub fn list(settings: &Settings, keyring_enabled: bool) -> Result<Vec<LoginEntry>, AuthError> {
    let state = State::load(settings)?;
    let host = endpoint_host(settings);
    let active_keyring = if keyring_enabled {
        state.active_keyring_login(&host).map(str::to_string)
    } else {
        None
    };
    let mut entries = Vec::new();
    if let Some(logins) = state.host(&host) {
        for (name, info) in &logins.keyring {
            entries.push(LoginEntry {
                name: name.clone(),
                store: StoreKind::Keyring.id(),
                user: non_empty(&info.user),
                role: non_empty(&info.role),
                token: non_empty(&info.masked),
                active: active_keyring.as_deref() == Some(name.as_str()),
                expires_at: info.oauth.as_ref().and_then(|facts| facts.expires_at),
            });
        }
    }
    let stored = StoredTokens::load(&settings.stored_tokens_path())?;
    let file_token = token_file::read_token(&settings.token_path)?;
    let file_active = active_keyring.is_none();
    for name in stored.names() {
        let token = stored.token(name);
        let masked = token.as_ref().map(Token::masked);
        let info = state
            .file
            .get(name)
            .filter(|info| Some(&info.masked) == masked.as_ref());
        entries.push(LoginEntry {
            name: name.to_string(),
            store: StoreKind::File.id(),
            user: info.and_then(|i| non_empty(&i.user)),
            role: info.and_then(|i| non_empty(&i.role)),
            token: masked,
            active: file_active && token.is_some() && token == file_token,
            expires_at: stored
                .field(name, super::oauth_store::EXPIRES_KEY)
                .and_then(|v| v.parse().ok()),
        });
    }
    if let Some(token) = &file_token
        && stored.name_of(token).is_none()
    {
        entries.push(LoginEntry {
            name: UNNAMED_FILE_LOGIN.to_string(),
            store: StoreKind::File.id(),
            user: None,
            role: None,
            token: Some(token.masked()),
            active: file_active,
            expires_at: None,
        });
    }
    Ok(entries)
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// Which store holds `name`, asking the user to choose when both do.
fn locate(
    settings: &Settings,
    name: &str,
    store: Option<StoreKind>,
) -> Result<StoreKind, AuthError> {
    let state = State::load(settings)?;
    let host = endpoint_host(settings);
    let in_keyring = state
        .host(&host)
        .is_some_and(|l| l.keyring.contains_key(name));
    let in_file = StoredTokens::load(&settings.stored_tokens_path())?.contains(name);
    match (store, in_keyring, in_file) {
        (Some(StoreKind::Keyring), true, _) => Ok(StoreKind::Keyring),
        (Some(StoreKind::File), _, true) => Ok(StoreKind::File),
        (None, true, true) => Err(AuthError::AmbiguousLogin {
            name: name.to_string(),
        }),
        (None, true, false) => Ok(StoreKind::Keyring),
        (None, false, true) => Ok(StoreKind::File),
        _ => Err(AuthError::UnknownLogin {
            name: name.to_string(),
            known: list(settings, true)?
                .into_iter()
                .map(|entry| entry.name)
                .filter(|n| n != UNNAMED_FILE_LOGIN)
                .collect(),
        }),
    }
}

/// Makes `name` the active login. Returns the store it lives in.
pub async fn switch(
    settings: &Settings,
    keyring: &KeyringHandle,
    name: &str,
    store: Option<StoreKind>,
) -> Result<StoreKind, AuthError> {
    let kind = locate(settings, name, store)?;
    let host = endpoint_host(settings);
    let mut state = State::load(settings)?;
    match kind {
        StoreKind::Keyring => {
            let opened = keyring
                .get()
                .await
                .map_err(|reason| AuthError::KeyringNeeded {
                    name: name.to_string(),
                    reason,
                })?;
            if opened.get(&keyring_account(&host, name)).await?.is_none() {
                return Err(KeyringError::BadEntry {
                    account: keyring_account(&host, name),
                    detail: format!(
                        "the entry is gone; log in again with `hfget login --name {name}`"
                    ),
                }
                .into());
            }
            state.host_mut(&host).active = Some(name.to_string());
        }
        StoreKind::File => {
            let stored = StoredTokens::load(&settings.stored_tokens_path())?;
            let token = stored.token(name).ok_or_else(|| AuthError::UnknownLogin {
                name: name.to_string(),
                known: stored.names().map(str::to_string).collect(),
            })?;
            token_file::write_token(&settings.token_path, &token)?;
            deactivate_keyring(&mut state, &host);
        }
    }
    state.save(settings)?;
    Ok(kind)
}

/// What `logout` should remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoutTarget {
    /// The active login (keyring, else the token file).
    Active,
    Name(String),
    /// Every login: all keyring logins of every endpoint, `stored_tokens` and the token file.
    All,
}

/// What `logout` removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Keyring logins, as `name` (or `name@host` for other endpoints with `--all`).
    pub keyring: Vec<String>,
    /// `stored_tokens` sections.
    pub file: Vec<String>,
    /// Whether the HF token file was deleted.
    pub token_file: bool,
}

impl Removed {
    pub fn is_empty(&self) -> bool {
        self.keyring.is_empty() && self.file.is_empty() && !self.token_file
    }
}

/// Removes logins. The keyring is opened only when a keyring login is to be removed; if it
/// cannot be, nothing at all is removed (a half-done logout is worse than a clear error).
pub async fn logout(
    settings: &Settings,
    keyring: &KeyringHandle,
    target: LogoutTarget,
) -> Result<Removed, AuthError> {
    let host = endpoint_host(settings);
    let mut state = State::load(settings)?;
    let stored_path = settings.stored_tokens_path();
    let mut stored = StoredTokens::load(&stored_path)?;
    let file_token = token_file::read_token(&settings.token_path)?;

    // (host, name) of keyring logins to delete; file sections to delete; whether to delete the file.
    let mut keyring_targets: Vec<(String, String)> = Vec::new();
    let mut sections: Vec<String> = Vec::new();
    let mut remove_token_file = false;
    match &target {
        LogoutTarget::All => {
            for (login_host, logins) in &state.hosts {
                for name in logins.keyring.keys() {
                    keyring_targets.push((login_host.clone(), name.clone()));
                }
            }
            sections = stored.names().map(str::to_string).collect();
            remove_token_file = file_token.is_some();
        }
        LogoutTarget::Name(name) => {
            if state
                .host(&host)
                .is_some_and(|l| l.keyring.contains_key(name))
            {
                keyring_targets.push((host.clone(), name.clone()));
            }
            if stored.contains(name) {
                sections.push(name.clone());
                remove_token_file = file_token.is_some() && stored.token(name) == file_token;
            }
            if name == UNNAMED_FILE_LOGIN && file_token.is_some() {
                remove_token_file = true;
            }
            if keyring_targets.is_empty() && sections.is_empty() && !remove_token_file {
                return Err(AuthError::UnknownLogin {
                    name: name.clone(),
                    known: list(settings, true)?
                        .into_iter()
                        .map(|entry| entry.name)
                        .filter(|n| n != UNNAMED_FILE_LOGIN)
                        .collect(),
                });
            }
        }
        LogoutTarget::Active => {
            let active = keyring
                .enabled()
                .then(|| state.active_keyring_login(&host))
                .flatten();
            if let Some(name) = active {
                keyring_targets.push((host.clone(), name.to_string()));
            } else if let Some(token) = &file_token {
                remove_token_file = true;
                if let Some(name) = stored.name_of(token) {
                    sections.push(name.to_string());
                }
            }
        }
    }

    let mut removed = Removed::default();
    if !keyring_targets.is_empty() {
        let opened = keyring
            .get()
            .await
            .map_err(|reason| AuthError::KeyringNeeded {
                name: keyring_targets[0].1.clone(),
                reason,
            })?;
        for (login_host, name) in &keyring_targets {
            opened.delete(&keyring_account(login_host, name)).await?;
            let logins = state.host_mut(login_host);
            logins.keyring.remove(name);
            if logins.active.as_deref() == Some(name.as_str()) {
                logins.active = None;
            }
            removed.keyring.push(if *login_host == host {
                name.clone()
            } else {
                format!("{name}@{login_host}")
            });
        }
    }
    for name in &sections {
        if stored.remove(name) {
            state.file.remove(name);
            removed.file.push(name.clone());
        }
    }
    if !sections.is_empty() {
        stored.save(&stored_path)?;
    }
    if remove_token_file {
        removed.token_file = token_file::remove(&settings.token_path)?;
    }
    if target == LogoutTarget::All {
        state.file.clear();
    }
    state.prune();
    state.save(settings)?;
    Ok(removed)
}

#[cfg(test)]
mod tests;
