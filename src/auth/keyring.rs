//! hfget's logins in the operating system's keyring.
//!
//! Why a keyring: every other Hub client keeps the token in a plain-text file. hfget stores it in
//! the Secret Service (Linux) through `keyring-core` and the pure-Rust zbus store
//! (docs/design.md §1.1), and refuses, rather than silently falls back, when no keyring is
//! reachable (docs/design.md §1.4: the silent fallback of `gh` is the most complained-about behaviour).
//!
//! Layout of the entries:
//! - service `hfget`;
//! - account `{host}/{name}`: the endpoint's host (with its port when it has one) and the login's
//!   name, e.g. `huggingface.co/laptop`. Keying by host keeps logins of a staging or
//!   self-hosted endpoint apart from huggingface.co ones, and gives every test emulator (one port
//!   each) its own entries, so parallel tests never delete each other's items (docs/design.md §1.7).
//!
//! Which login is active, and the non-secret facts `auth list` shows (user, role, masked token),
//! live in the state file ([`super::state`]); the keyring holds only secrets.
//!
//! The keyring sits behind the small [`SecretStore`] trait: the real store wraps a
//! `keyring_core::CredentialStore` built for this handle only (never the process-global default
//! store), so unit tests inject `keyring_core::mock::Store` per test (docs/design.md §1.3). Every call to a store
//! runs on `spawn_blocking` under a timeout: the zbus store is blocking, and a keyring waiting
//! for an unlock prompt must not freeze the command (docs/design.md §1.7).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};
use tokio::sync::OnceCell;

use super::Token;
use crate::env::{self, Settings};

/// The keyring service every hfget entry uses.
pub const SERVICE: &str = "hfget";

/// How long one keyring operation may take before hfget gives up on the keyring. Opening the
/// Secret Service takes 45–65 ms and a round trip 10–15 ms (docs/design.md §1.6); a hang means a prompt nobody
/// will answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why the keyring cannot be used. Every variant reads as the end of "the OS keyring is not
/// available: …" and says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// `HFGET_KEYRING=none`.
    Disabled,
    /// `HFGET_KEYRING` names a backend hfget does not know.
    UnknownBackend(String),
    /// No D-Bus session bus: a headless machine, an SSH session, a container.
    NoSessionBus(String),
    /// A session bus, but nothing provides `org.freedesktop.secrets`.
    NoSecretService(String),
    /// The keyring exists but is locked, or has no default collection yet.
    Locked(String),
    /// The keyring did not answer in time (usually an unlock prompt nobody can see).
    Timeout,
    /// Anything else the platform reported.
    Failed(String),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::Disabled => write!(f, "it is disabled by {}=none", env::HFGET_KEYRING),
            Unavailable::UnknownBackend(name) => write!(
                f,
                "{}={name} is not a backend hfget knows (use `secret-service` or `none`)",
                env::HFGET_KEYRING
            ),
            Unavailable::NoSessionBus(detail) => write!(
                f,
                "there is no D-Bus session bus to reach the Secret Service (a headless or SSH session?) ({detail})"
            ),
            Unavailable::NoSecretService(detail) => write!(
                f,
                "no Secret Service (gnome-keyring, KeePassXC, KWallet) is running on the session bus ({detail})"
            ),
            Unavailable::Locked(detail) => write!(
                f,
                "the keyring is locked or has no default collection; unlock it (e.g. `gnome-keyring-daemon --unlock`) and retry ({detail})"
            ),
            Unavailable::Timeout => write!(
                f,
                "the keyring did not answer within {} s (it may be waiting for an unlock prompt)",
                TIMEOUT.as_secs()
            ),
            Unavailable::Failed(detail) => write!(f, "the keyring reported an error ({detail})"),
        }
    }
}

/// A keyring operation that failed on an entry.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("The OS keyring is not available: {0}.")]
    Unavailable(Unavailable),
    #[error(
        "The OS keyring holds several entries for {account} (service `{SERVICE}`); remove the duplicates with your keyring manager (e.g. `secret-tool clear service {SERVICE} username {account}`)."
    )]
    Ambiguous { account: String },
    #[error("The keyring entry {account} does not hold a usable token: {detail}.")]
    BadEntry { account: String, detail: String },
    #[error("The keyring task failed: {0}.")]
    Task(String),
}

impl KeyringError {
    #[cfg(test)]
    /// The reason the keyring as a whole cannot be used, when that is what went wrong.
    pub fn unavailable(&self) -> Option<&Unavailable> {
        match self {
            KeyringError::Unavailable(reason) => Some(reason),
            _ => None,
        }
    }
}

/// Maps a `keyring_core` error to hfget's, following the classification of docs/design.md §1.2.
fn map_error(account: &str, error: keyring_core::Error) -> KeyringError {
    use keyring_core::Error as E;
    match error {
        E::NoStorageAccess(detail) => {
            KeyringError::Unavailable(Unavailable::Locked(detail.to_string()))
        }
        E::PlatformFailure(detail) => {
            KeyringError::Unavailable(classify_platform_failure(&detail.to_string()))
        }
        E::NoDefaultStore => {
            KeyringError::Unavailable(Unavailable::Failed("no credential store".into()))
        }
        E::Ambiguous(_) => KeyringError::Ambiguous {
            account: account.to_string(),
        },
        E::BadEncoding(_) => KeyringError::BadEntry {
            account: account.to_string(),
            detail: "the secret is not UTF-8".into(),
        },
        other => KeyringError::BadEntry {
            account: account.to_string(),
            detail: other.to_string(),
        },
    }
}

/// Tells "no bus" from "no Secret Service on the bus" from anything else (docs/design.md §1.2).
fn classify_platform_failure(detail: &str) -> Unavailable {
    let short = first_line(detail);
    if detail.contains("ServiceUnknown") || detail.contains("org.freedesktop.secrets") {
        Unavailable::NoSecretService(short)
    } else if detail.contains("DBUS_SESSION_BUS_ADDRESS")
        || detail.contains("/run/user/")
        || detail.contains("No such file")
        || detail.contains("NotFound")
        || detail.contains("Connection refused")
        || detail.contains("autolaunch")
    {
        Unavailable::NoSessionBus(short)
    } else {
        Unavailable::Failed(short)
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

/// The secret storage hfget needs: three blocking calls on one account of service [`SERVICE`].
pub trait SecretStore: Send + Sync {
    /// What `env` and error messages call it ("Secret Service").
    fn name(&self) -> &str;
    fn get(&self, account: &str) -> Result<Option<String>, KeyringError>;
    fn set(&self, account: &str, secret: &str, label: &str) -> Result<(), KeyringError>;
    /// `Ok(false)` when there was nothing to delete.
    fn delete(&self, account: &str) -> Result<bool, KeyringError>;
}

/// A [`SecretStore`] over any `keyring_core` credential store (the Secret Service, or the mock
/// store in tests).
pub struct CoreStore {
    store: Arc<CredentialStore>,
    name: String,
    /// Whether the store accepts the `label` modifier (the Secret Service does, the mock does not).
    labels: bool,
}

impl CoreStore {
    pub fn new(store: Arc<CredentialStore>, name: &str, labels: bool) -> CoreStore {
        CoreStore {
            store,
            name: name.to_string(),
            labels,
        }
    }

    fn entry(&self, account: &str, label: Option<&str>) -> Result<Entry, KeyringError> {
        let result = match label.filter(|_| self.labels) {
            Some(label) => {
                let modifiers = HashMap::from([("label", label)]);
                Entry::new_in_store_with_modifiers(&self.store, SERVICE, account, &modifiers)
            }
            None => Entry::new_in_store(&self.store, SERVICE, account),
        };
        result.map_err(|e| map_error(account, e))
    }
}

impl SecretStore for CoreStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn get(&self, account: &str) -> Result<Option<String>, KeyringError> {
        match self.entry(account, None)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(error) => Err(map_error(account, error)),
        }
    }

    fn set(&self, account: &str, secret: &str, label: &str) -> Result<(), KeyringError> {
        self.entry(account, Some(label))?
            .set_password(secret)
            .map_err(|e| map_error(account, e))
    }

    fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        match self.entry(account, None)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(error) => Err(map_error(account, error)),
        }
    }
}

/// The backend `HFGET_KEYRING` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    SecretService,
    Disabled,
    Unknown(String),
}

impl Backend {
    pub fn from_settings(settings: &Settings) -> Backend {
        match settings
            .keyring_backend
            .as_deref()
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None
            | Some("")
            | Some("auto")
            | Some("default")
            | Some("secret-service")
            | Some("secret_service") => Backend::SecretService,
            Some("none") | Some("off") | Some("disabled") | Some("0") | Some("false") => {
                Backend::Disabled
            }
            Some(other) => Backend::Unknown(other.to_string()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Backend::SecretService => "Secret Service (D-Bus)".to_string(),
            Backend::Disabled => "none".to_string(),
            Backend::Unknown(name) => format!("unknown ({name})"),
        }
    }
}

/// An opened keyring. Cheap to clone.
#[derive(Clone)]
pub struct Keyring {
    store: Arc<dyn SecretStore>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyring({})", self.store.name())
    }
}

/// Runs a blocking keyring call off the async workers, bounded by [`TIMEOUT`].
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    match tokio::time::timeout(TIMEOUT, tokio::task::spawn_blocking(call)).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(KeyringError::Task(join.to_string())),
        Err(_) => Err(KeyringError::Unavailable(Unavailable::Timeout)),
    }
}

impl Keyring {
    pub fn from_store(store: Arc<dyn SecretStore>) -> Keyring {
        Keyring { store }
    }

    /// Opens the backend `HFGET_KEYRING` selects (the Secret Service by default).
    pub async fn open(backend: &Backend) -> Result<Keyring, Unavailable> {
        match backend {
            Backend::Disabled => Err(Unavailable::Disabled),
            Backend::Unknown(name) => Err(Unavailable::UnknownBackend(name.clone())),
            Backend::SecretService => {
                let opened = blocking(|| {
                    zbus_secret_service_keyring_store::Store::new()
                        .map(|store| store as Arc<CredentialStore>)
                        .map_err(|e| map_error("", e))
                })
                .await;
                match opened {
                    Ok(store) => Ok(Keyring::from_store(Arc::new(CoreStore::new(
                        store,
                        "Secret Service",
                        true,
                    )))),
                    Err(KeyringError::Unavailable(reason)) => Err(reason),
                    Err(other) => Err(Unavailable::Failed(other.to_string())),
                }
            }
        }
    }

    pub fn name(&self) -> &str {
        self.store.name()
    }

    /// The (access) token stored for `account`, if any.
    pub async fn get(&self, account: &str) -> Result<Option<Token>, KeyringError> {
        Ok(self.get_login(account).await?.map(|secret| secret.access))
    }

    /// Everything stored for `account`: the token, and a browser login's refresh token.
    pub async fn get_login(&self, account: &str) -> Result<Option<LoginSecret>, KeyringError> {
        let store = self.store.clone();
        let key = account.to_string();
        let secret = blocking(move || store.get(&key)).await?;
        match secret {
            None => Ok(None),
            Some(secret) => {
                LoginSecret::decode(&secret)
                    .map(Some)
                    .ok_or_else(|| KeyringError::BadEntry {
                        account: account.to_string(),
                        detail: "the stored token is empty".into(),
                    })
            }
        }
    }

    #[cfg(test)]
    pub async fn set(&self, account: &str, token: &Token, label: &str) -> Result<(), KeyringError> {
        let secret = LoginSecret {
            access: token.clone(),
            refresh: None,
        };
        self.set_login(account, &secret, label).await
    }

    /// Stores a login's secrets in one entry, so a renewed pair replaces the old one at once.
    pub async fn set_login(
        &self,
        account: &str,
        secret: &LoginSecret,
        label: &str,
    ) -> Result<(), KeyringError> {
        let store = self.store.clone();
        let key = account.to_string();
        let secret = secret.encode();
        let label = label.to_string();
        blocking(move || store.set(&key, &secret, &label)).await
    }

    pub async fn delete(&self, account: &str) -> Result<bool, KeyringError> {
        let store = self.store.clone();
        let key = account.to_string();
        blocking(move || store.delete(&key)).await
    }

    /// Whether the keyring answers a lookup. A lookup of an account that does not exist does not
    /// unlock anything, so a locked keyring may still pass; storing is the real test.
    pub async fn probe(&self) -> Result<(), KeyringError> {
        self.get("probe/hfget-env-probe").await.map(|_| ())
    }
}

/// What one keyring entry holds. A token login's entry is the bare token (what earlier hfget
/// versions wrote, and what `secret-tool lookup` shows); a browser login's entry is
/// `{"hf_token": …, "refresh_token": …}`, so the access token and the refresh token it was
/// issued with are always replaced together (a half-renewed pair would pair a new access token with a spent refresh token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginSecret {
    pub access: Token,
    pub refresh: Option<Token>,
}

impl LoginSecret {
    pub fn decode(raw: &str) -> Option<LoginSecret> {
        let trimmed = raw.trim();
        if trimmed.starts_with('{')
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed)
        {
            let field = |key: &str| {
                value
                    .get(key)
                    .and_then(|v| v.as_str())
                    .and_then(Token::parse)
            };
            return Some(LoginSecret {
                access: field("hf_token")?,
                refresh: field("refresh_token"),
            });
        }
        Token::parse(raw).map(|access| LoginSecret {
            access,
            refresh: None,
        })
    }

    pub fn encode(&self) -> String {
        match &self.refresh {
            None => self.access.secret().to_string(),
            Some(refresh) => serde_json::json!({
                "hf_token": self.access.secret(),
                "refresh_token": refresh.secret(),
            })
            .to_string(),
        }
    }
}

/// The keyring as a command sees it: opened on first use, at most once per command, and never
/// opened at all when nothing needs it (a download with `HF_TOKEN` set never touches D-Bus).
pub struct KeyringHandle {
    backend: Backend,
    injected: Option<Keyring>,
    opened: OnceCell<Result<Keyring, Unavailable>>,
}

impl KeyringHandle {
    /// The keyring `HFGET_KEYRING` selects.
    pub fn system(settings: &Settings) -> KeyringHandle {
        KeyringHandle {
            backend: Backend::from_settings(settings),
            injected: None,
            opened: OnceCell::new(),
        }
    }

    #[cfg(test)]
    /// A given store (tests).
    pub fn with_store(store: Arc<dyn SecretStore>) -> KeyringHandle {
        KeyringHandle {
            backend: Backend::SecretService,
            injected: Some(Keyring::from_store(store)),
            opened: OnceCell::new(),
        }
    }

    #[cfg(test)]
    /// No keyring at all.
    pub fn disabled() -> KeyringHandle {
        KeyringHandle {
            backend: Backend::Disabled,
            injected: None,
            opened: OnceCell::new(),
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Whether hfget may use a keyring at all (without opening it).
    pub fn enabled(&self) -> bool {
        self.injected.is_some() || self.backend == Backend::SecretService
    }

    /// The opened keyring, or why there is none.
    pub async fn get(&self) -> Result<Keyring, Unavailable> {
        if let Some(keyring) = &self.injected {
            return Ok(keyring.clone());
        }
        self.opened
            .get_or_init(|| Keyring::open(&self.backend))
            .await
            .clone()
    }
}

#[cfg(test)]
pub(crate) mod tests;
