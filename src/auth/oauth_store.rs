//! A browser login's tokens at rest, and their renewal.
//!
//! - **Keyring** (the default): one entry holds the access token and its refresh token
//!   ([`LoginSecret`]); the state file holds only facts (expiry, lifetime, scopes, whether a
//!   renewal was refused). Nothing secret touches a file.
//! - **`--store file`**: Python's format (docs/protocol.md §5.2, huggingface_hub 2.4
//!   `_save_token`): the `stored_tokens` section has `hf_token`, `refresh_token` and
//!   `expires_at` (unix seconds), and the token file holds the access token, so `hf auth whoami`
//!   accepts it and Python renews it too.
//!
//! Renewal happens before a command uses the token: when less than a quarter of its lifetime
//! (at most a day, Python's margin) is left; or when the Hub rejects the token, through the Hub
//! client's renewal hook ([`super::renewal`]), once `whoami-v2` confirms the 401 is about the
//! token ([`renew_rejected`]). It runs under a lock, as Python's `_refresh_oauth_token_if_needed`
//! does, because a server that rotates refresh tokens lets only one of two racing renewals
//! win; the loser adopts the winner's tokens. For file logins the lock is Python's own
//! (`stored_tokens.lock`, flock), so hfget and Python never race each other either.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keyring::{KeyringHandle, LoginSecret};
use super::oauth::{OAuthClient, OAuthError, TokenGrant};
use super::state::{OAuthFacts, State};
use super::stored_tokens::StoredTokens;
use super::{
    AuthError, KeyringError, ResolvedToken, Sources, Token, TokenSource, endpoint_host,
    keyring_account, token_file,
};
use crate::env::{Environment, Settings};
use crate::hub::HubClient;
use crate::output;

/// `stored_tokens` keys of a browser login (`_save_token`).
pub const REFRESH_KEY: &str = "refresh_token";
pub const EXPIRES_KEY: &str = "expires_at";
/// Python renews when less than a day is left (`_OAUTH_REFRESH_MARGIN`).
const MAX_MARGIN_SECS: u64 = 24 * 3600;
/// However short the lifetime, renew at least this early (a command may run for minutes).
const MIN_MARGIN_SECS: u64 = 60;
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Whether a token expiring at `expires_at` should be renewed now. The margin is a quarter of
/// the lifetime (so an hour-long token is renewed in its last 15 minutes, not on every
/// command), between [`MIN_MARGIN_SECS`] and Python's day; without a known lifetime, a day.
pub fn renewal_due(expires_at: u64, lifetime_secs: Option<u64>, now: u64) -> bool {
    let margin = lifetime_secs
        .map(|lifetime| (lifetime / 4).clamp(MIN_MARGIN_SECS, MAX_MARGIN_SECS))
        .unwrap_or(MAX_MARGIN_SECS);
    expires_at.saturating_sub(margin) <= now
}

/// The facts to keep about a fresh grant.
pub fn facts_of(
    grant: &TokenGrant,
    previous_scope: Option<String>,
    refreshable: bool,
) -> OAuthFacts {
    OAuthFacts {
        expires_at: grant.expires_in.map(|secs| now_unix() + secs),
        lifetime_secs: grant.expires_in,
        scope: grant.scope.clone().or(previous_scope),
        refreshable,
        refresh_error: None,
    }
}

/// The `stored_tokens` keys of a grant, as `_save_token` writes them.
pub fn file_fields(refresh: Option<&Token>, facts: &OAuthFacts) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    if let Some(refresh) = refresh {
        fields.push((REFRESH_KEY, refresh.secret().to_string()));
    }
    if let Some(expires_at) = facts.expires_at {
        fields.push((EXPIRES_KEY, expires_at.to_string()));
    }
    fields
}

/// Which login a token source is, when it may be a browser login.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LoginRef {
    Keyring(String),
    File(String),
}

/// A browser login as the stores describe it (no secret).
#[derive(Clone, Debug)]
pub struct BrowserLogin {
    pub name: String,
    pub store: &'static str,
    pub facts: OAuthFacts,
}

/// The browser login behind `source` (with the token it gave), if it is one.
pub fn browser_login(
    settings: &Settings,
    source: &TokenSource,
    token: &Token,
) -> Option<BrowserLogin> {
    match source {
        TokenSource::Keyring { name } => {
            let state = State::load(settings).ok()?;
            let info = state.host(&endpoint_host(settings))?.keyring.get(name)?;
            Some(BrowserLogin {
                name: name.clone(),
                store: "keyring",
                facts: info.oauth.clone()?,
            })
        }
        TokenSource::File { .. } => {
            let stored = StoredTokens::load(&settings.stored_tokens_path()).ok()?;
            let name = stored.name_of(token)?.to_string();
            let expires_at = stored
                .field(&name, EXPIRES_KEY)
                .and_then(|v| v.parse::<u64>().ok());
            let refreshable = stored.field(&name, REFRESH_KEY).is_some();
            if expires_at.is_none() && !refreshable {
                return None;
            }
            // Facts hfget recorded when it made this login (Python-made ones have none).
            let recorded = State::load(settings)
                .ok()
                .and_then(|state| state.file.get(&name).and_then(|info| info.oauth.clone()));
            let mut facts = recorded.unwrap_or_default();
            facts.expires_at = expires_at;
            facts.refreshable = refreshable;
            Some(BrowserLogin {
                name,
                store: "file",
                facts,
            })
        }
        _ => None,
    }
}

fn login_ref(settings: &Settings, resolved: &ResolvedToken) -> Option<(LoginRef, OAuthFacts)> {
    let login = browser_login(settings, &resolved.source, &resolved.token)?;
    let reference = match login.store {
        "keyring" => LoginRef::Keyring(login.name),
        _ => LoginRef::File(login.name),
    };
    Some((reference, login.facts))
}

/// Renews the winning token of `sources` when it is a browser login close to expiry. A refusal
/// is recorded (for `doctor`) and warned about; the command then goes on with the old token,
/// which the Hub may still accept or will reject with its own clear message.
pub(crate) async fn renew_if_due(
    settings: &Settings,
    environment: &dyn Environment,
    keyring: &KeyringHandle,
    sources: &mut Sources,
) {
    if settings.offline {
        return;
    }
    let Some(first) = sources.candidates.first() else {
        return;
    };
    let Some((login, facts)) = login_ref(settings, first) else {
        return;
    };
    let due = facts.refreshable
        && facts.refresh_error.is_none()
        && facts
            .expires_at
            .is_some_and(|at| renewal_due(at, facts.lifetime_secs, now_unix()));
    if !due {
        return;
    }
    let current = first.token.clone();
    let client_id = super::oauth::client_id(environment);
    match renew(settings, &client_id, keyring, &login, &current).await {
        Ok(Some(token)) => {
            output::debug(|| format!("renewed the browser login: now {}", token.masked()));
            sources.candidates[0].token = token;
        }
        Ok(None) => {}
        Err(error) => output::warn(format!("{error} Continuing with the current token.")),
    }
}

/// After the Hub answered 401 to `resolved`: if it is a browser login and `whoami-v2` also
/// rejects the token (so the 401 is about the token, not the repository), renews it now and
/// returns the new token. What the Hub client's renewal hook calls.
pub(crate) async fn renew_rejected(
    settings: &Settings,
    client_id: &str,
    resolved: &ResolvedToken,
) -> Option<Token> {
    if settings.offline {
        return None;
    }
    let (login, facts) = {
        let (settings, resolved) = (settings.clone(), resolved.clone());
        tokio::task::spawn_blocking(move || login_ref(&settings, &resolved))
            .await
            .ok()??
    };
    // A renewal already refused (invalid_grant) will be refused again: only a new login helps.
    if !facts.refreshable || facts.refresh_error.is_some() {
        return None;
    }
    // Without the hook: this client must not renew in turn.
    let client = HubClient::new(settings, Some(resolved.token.clone())).ok()?;
    match client.whoami().await {
        Err(error) if error.rejects_token() => {}
        _ => return None,
    }
    output::debug(|| "the Hub rejects the browser login's token; renewing it".to_string());
    let keyring = KeyringHandle::system(settings);
    match renew(settings, client_id, &keyring, &login, &resolved.token).await {
        Ok(token) => token,
        Err(error) => {
            output::warn(error.to_string());
            None
        }
    }
}

/// Renews a login whose current token is `current`. `Ok(None)`: nothing to renew with.
async fn renew(
    settings: &Settings,
    client_id: &str,
    keyring: &KeyringHandle,
    login: &LoginRef,
    current: &Token,
) -> Result<Option<Token>, AuthError> {
    match login {
        LoginRef::Keyring(name) => renew_keyring(settings, client_id, keyring, name, current).await,
        LoginRef::File(name) => renew_file(settings, client_id, name, current).await,
    }
}

/// Holds an exclusive flock until dropped.
struct RenewalLock(#[allow(dead_code)] std::fs::File);

async fn lock(path: PathBuf) -> Result<RenewalLock, AuthError> {
    let error = |source| AuthError::WriteTokenFile {
        path: path.clone(),
        source,
    };
    // Filesystem work, off the async workers (as the keyring's).
    let opened = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        })
        .await
    };
    let file = opened
        .map_err(std::io::Error::other)
        .and_then(|opened| opened)
        .map_err(error)?;
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(RenewalLock(file)),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_TIMEOUT => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // No working flock (some network filesystems), or a holder that never lets go:
            // renew anyway; the worst case is one wasted refresh token.
            Err(_) => return Ok(RenewalLock(file)),
        }
    }
}

async fn renew_keyring(
    settings: &Settings,
    client_id: &str,
    keyring: &KeyringHandle,
    name: &str,
    current: &Token,
) -> Result<Option<Token>, AuthError> {
    let _lock = lock(settings.config_dir.join(".oauth-renewal.lock")).await?;
    let host = endpoint_host(settings);
    let account = keyring_account(&host, name);
    let opened = keyring
        .get()
        .await
        .map_err(|reason| AuthError::KeyringNeeded {
            name: name.to_string(),
            reason,
        })?;
    let Some(stored) = opened.get_login(&account).await? else {
        return Ok(None);
    };
    if stored.access != *current {
        // Another process renewed it while we waited for the lock.
        return Ok(Some(stored.access));
    }
    let Some(refresh) = stored.refresh.clone() else {
        return Ok(None);
    };
    let client = OAuthClient::with_client_id(settings, client_id.to_string())?;
    let result = client.refresh(name, &refresh).await;
    let mut state = State::load(settings)?;
    let previous = state
        .host(&host)
        .and_then(|logins| logins.keyring.get(name))
        .cloned()
        .unwrap_or_default();
    let grant = match result {
        Ok(grant) => grant,
        Err(error) => {
            record_refusal(&mut state, settings, &error, |state| {
                state
                    .host_mut(&host)
                    .keyring
                    .get_mut(name)
                    .map(|info| &mut info.oauth)
            })?;
            return Err(error.into());
        }
    };
    let secret = LoginSecret {
        access: grant.access_token.clone(),
        // A server that does not rotate keeps the old refresh token valid (`_auth.py`).
        refresh: grant.refresh_token.clone().or(Some(refresh)),
    };
    let label = format!("hfget: {name} ({host})");
    match opened.set_login(&account, &secret, &label).await {
        Ok(()) => {}
        Err(KeyringError::Unavailable(reason)) => {
            return Err(AuthError::KeyringNeeded {
                name: name.to_string(),
                reason,
            });
        }
        Err(other) => return Err(other.into()),
    }
    let previous_scope = previous.oauth.as_ref().and_then(|f| f.scope.clone());
    if let Some(info) = state.host_mut(&host).keyring.get_mut(name) {
        info.masked = grant.access_token.masked();
        info.oauth = Some(facts_of(&grant, previous_scope, true));
    }
    state.save(settings)?;
    Ok(Some(grant.access_token))
}

/// Records a refused renewal (not a transient failure) in the login's facts, for `doctor`.
fn record_refusal(
    state: &mut State,
    settings: &Settings,
    error: &OAuthError,
    facts: impl FnOnce(&mut State) -> Option<&mut Option<OAuthFacts>>,
) -> Result<(), AuthError> {
    if !error.needs_new_login() {
        return Ok(());
    }
    if let Some(slot) = facts(state) {
        slot.get_or_insert_with(OAuthFacts::default).refresh_error = Some(error.to_string());
        state.save(settings)?;
    }
    Ok(())
}

async fn renew_file(
    settings: &Settings,
    client_id: &str,
    name: &str,
    current: &Token,
) -> Result<Option<Token>, AuthError> {
    let stored_path = settings.stored_tokens_path();
    // Python's lock (`HF_STORED_TOKENS_PATH + ".lock"`, filelock = flock on Unix).
    let _lock = lock(lock_path_beside(&stored_path)).await?;
    let mut stored = StoredTokens::load(&stored_path)?;
    let Some(token) = stored.token(name) else {
        return Ok(None);
    };
    if token != *current {
        return Ok(Some(token));
    }
    let Some(refresh) = stored.field(name, REFRESH_KEY).and_then(Token::parse) else {
        return Ok(None);
    };
    let client = OAuthClient::with_client_id(settings, client_id.to_string())?;
    let result = client.refresh(name, &refresh).await;
    let mut state = State::load(settings)?;
    let grant = match result {
        Ok(grant) => grant,
        Err(error) => {
            let user = state.file.get(name).cloned().unwrap_or_default();
            state.file.entry(name.to_string()).or_insert(user);
            record_refusal(&mut state, settings, &error, |state| {
                state.file.get_mut(name).map(|info| &mut info.oauth)
            })?;
            return Err(error.into());
        }
    };
    let previous_scope = state
        .file
        .get(name)
        .and_then(|info| info.oauth.as_ref())
        .and_then(|f| f.scope.clone());
    let facts = facts_of(&grant, previous_scope, true);
    let new_refresh = grant.refresh_token.clone().unwrap_or(refresh);
    stored.set_with(
        name,
        &grant.access_token,
        &file_fields(Some(&new_refresh), &facts),
    );
    stored.save(&stored_path)?;
    if token_file::read_token(&settings.token_path)?.as_ref() == Some(current) {
        token_file::write_token(&settings.token_path, &grant.access_token)?;
    }
    let info = state.file.entry(name.to_string()).or_default();
    info.masked = grant.access_token.masked();
    info.oauth = Some(facts);
    state.save(settings)?;
    Ok(Some(grant.access_token))
}

fn lock_path_beside(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

/// `2026-12-01 10:00 UTC (in 3 h)`: an expiry for people.
pub fn describe_expiry(expires_at: u64, now: u64) -> String {
    let when = format_utc(expires_at);
    if expires_at <= now {
        return format!("{when} (expired)");
    }
    let left = expires_at - now;
    let relative = match left {
        0..120 => format!("{left} s"),
        120..7200 => format!("{} min", left / 60),
        7200..172_800 => format!("{} h", left / 3600),
        _ => format!("{} days", left / 86_400),
    };
    format!("{when} (in {relative})")
}

/// `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's civil-from-days).
pub fn format_utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (year, month, day) = crate::time::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs / 60) % 60
    )
}

/// What `whoami` and `doctor` say about a browser login: which login, how long it lasts,
/// what it may do, and whether it renews itself.
pub fn describe(login: &BrowserLogin, now: u64) -> Vec<String> {
    let mut lines = vec![format!(
        "login: browser login `{}` ({})",
        login.name,
        if login.store == "keyring" {
            "OS keyring"
        } else {
            "HF token file"
        }
    )];
    if let Some(scope) = &login.facts.scope {
        lines.push(format!(
            "  scopes: {}",
            scope.split_whitespace().collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(expires_at) = login.facts.expires_at {
        lines.push(format!(
            "  access token expires: {}",
            describe_expiry(expires_at, now)
        ));
    }
    lines.push(
        match (&login.facts.refresh_error, login.facts.refreshable) {
            (Some(_), _) => {
                "  renewal: refused; the browser login expired, run `hfget login --web`".to_string()
            }
            (None, true) => "  renewal: automatic, before it expires".to_string(),
            (None, false) => {
                "  renewal: none (no refresh token); log in again when it expires".to_string()
            }
        },
    );
    lines
}

/// One line of `hfget doctor`'s setup checks about a browser login.
pub struct DoctorNote {
    pub detail: String,
    /// The fix, when something is wrong.
    pub fix: Option<String>,
}

/// The doctor's view of every browser login among `candidates`: which one, when it expires,
/// and, when its renewal was refused or it expired without a refresh token, the fix.
pub fn doctor_notes(settings: &Settings, candidates: &[ResolvedToken]) -> Vec<DoctorNote> {
    let now = now_unix();
    candidates
        .iter()
        .filter_map(|candidate| {
            let login = browser_login(settings, &candidate.source, &candidate.token)?;
            let expiry = login
                .facts
                .expires_at
                .map(|at| format!(", access token expires {}", describe_expiry(at, now)))
                .unwrap_or_default();
            let scopes = login
                .facts
                .scope
                .as_ref()
                .map(|s| {
                    format!(
                        ", scopes {}",
                        s.split_whitespace().collect::<Vec<_>>().join(", ")
                    )
                })
                .unwrap_or_default();
            let mut detail = format!(
                "browser login `{}` ({}){expiry}{scopes}",
                login.name, login.store
            );
            let expired = login.facts.expires_at.is_some_and(|at| at <= now);
            let fix = if let Some(error) = &login.facts.refresh_error {
                detail.push_str(&format!(": renewal refused ({error})"));
                Some("The browser login expired; run `hfget login --web`.".to_string())
            } else if expired && !login.facts.refreshable {
                detail.push_str(": expired, and it has no refresh token");
                Some("The browser login expired; run `hfget login --web`.".to_string())
            } else {
                detail.push_str(if login.facts.refreshable {
                    ": renews itself before it expires"
                } else {
                    ": no refresh token; log in again when it expires"
                });
                None
            };
            Some(DoctorNote { detail, fix })
        })
        .collect()
}

#[cfg(test)]
mod tests;
