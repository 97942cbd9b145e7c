//! hfget's own login state: `logins.json` under the config dir (`$HFGET_CONFIG_DIR`, else
//! `~/.config/hfget`).
//!
//! Why a file beside the keyring: the keyring cannot be listed portably (the mock store and some
//! platforms have no search), opening it costs a D-Bus connection, and it may prompt. The state
//! file answers "which login is active for this endpoint" and "what logins exist" without
//! touching the keyring, so a command that needs no keyring login never opens it.
//!
//! It never holds a secret: names, the user and role whoami reported when the login was saved,
//! and the masked token (`hf_…abcd`, the same form every command prints).

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::AuthError;
use super::token_file::write_private;
use crate::env::Settings;

pub const FILE_NAME: &str = "logins.json";

/// What hfget remembers about a login (nothing secret).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginInfo {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub role: String,
    /// The masked token, to tell logins apart and to match a file login to its facts.
    #[serde(default)]
    pub masked: String,
    /// Set for a browser (OAuth) login: when it expires, what it may do, how its renewal went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthFacts>,
}

/// The non-secret facts of a browser login. The tokens themselves are in the
/// keyring (or, with `--store file`, in Python's `stored_tokens`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthFacts {
    /// Unix time at which the access token expires, if the Hub said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The access token's lifetime as issued (`expires_in`), to decide when to renew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_secs: Option<u64>,
    /// The scopes the Hub granted (space-separated, RFC 6749 §3.3), if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Whether a refresh token is stored with it.
    #[serde(default)]
    pub refreshable: bool,
    /// Why the last renewal was refused (the session expired or was revoked): `doctor` shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_error: Option<String>,
}

/// The logins of one endpoint host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLogins {
    /// The name of the active keyring login, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    /// Keyring logins, by name.
    #[serde(default)]
    pub keyring: BTreeMap<String, LoginInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// By endpoint host (`huggingface.co`, `127.0.0.1:8080`).
    #[serde(default)]
    pub hosts: BTreeMap<String, HostLogins>,
    /// Facts about logins hfget wrote to the plain-text `stored_tokens` file, by name (the file
    /// format has no room for them).
    #[serde(default)]
    pub file: BTreeMap<String, LoginInfo>,
}

impl Default for State {
    fn default() -> State {
        State {
            version: 1,
            hosts: BTreeMap::new(),
            file: BTreeMap::new(),
        }
    }
}

pub fn path(settings: &Settings) -> PathBuf {
    settings.config_dir.join(FILE_NAME)
}

impl State {
    /// Reads the state; a missing file is an empty state.
    pub fn load(settings: &Settings) -> Result<State, AuthError> {
        let path = path(settings);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                return Ok(State::default());
            }
            Err(source) => return Err(AuthError::ReadState { path, source }),
        };
        serde_json::from_str(&text).map_err(|e| AuthError::CorruptState {
            path,
            detail: e.to_string(),
        })
    }

    pub fn save(&self, settings: &Settings) -> Result<(), AuthError> {
        let path = path(settings);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| AuthError::CorruptState {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        text.push('\n');
        write_private(&path, text.as_bytes())
    }

    pub fn host(&self, host: &str) -> Option<&HostLogins> {
        self.hosts.get(host)
    }

    pub fn host_mut(&mut self, host: &str) -> &mut HostLogins {
        self.hosts.entry(host.to_string()).or_default()
    }

    /// The active keyring login of `host`, if it is still recorded.
    pub fn active_keyring_login(&self, host: &str) -> Option<&str> {
        let logins = self.host(host)?;
        let name = logins.active.as_deref()?;
        logins.keyring.contains_key(name).then_some(name)
    }

    /// Removes empty host records so the file does not grow with every test port.
    pub fn prune(&mut self) {
        self.hosts
            .retain(|_, logins| !logins.keyring.is_empty() || logins.active.is_some());
    }
}

#[cfg(test)]
mod tests;
