//! The Hub's OAuth endpoints as the official client speaks to them (issue #14): the device
//! authorization grant (RFC 8628) behind `hf auth login`'s "Log in with your browser", the
//! refresh grant, and the RFC 8693 token exchange of CI OIDC id tokens ("Trusted Publishers").
//!
//! Source: huggingface_hub 2.4.0 `utils/_oauth_device.py`, `_oidc.py`, `constants.py`
//! (real-hub-2026.md §3). What the client sends is known from there; how the Hub answers is
//! mostly not, so every answer below that goes beyond "the client reads this field" is marked
//! `GUESS:`.
//!
//! Routes (on the hub origin):
//! - `POST /oauth/device` (form `client_id`) → `{device_code, user_code, verification_uri,
//!   verification_uri_complete, interval, expires_in}`.
//! - `POST /oauth/token` with `grant_type` = device code, `refresh_token`, or token exchange.
//! - `GET /oauth/device` (the verification page) and `GET /oauth/device/{approve,deny,expire,
//!   slow_down}?user_code=…[&user=…]`: the approval control for a person trying hfget by hand
//!   against the emulator binary (`curl` or a browser). Tests use the [`crate::Emulator`]
//!   methods at the end of this file instead.
//!
//! Tokens issued here are valid everywhere a scenario token is (whoami-v2, resolve, `/api`),
//! until they expire or a test revokes them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::content::{self, iso8601, now_unix, parse_query};
use crate::scenario::{FineGrained, ScopedPermission, Token, TokenRole};
use crate::state::lock;

/// The public client id of the device-code login (`constants.DEVICE_CODE_OAUTH_CLIENT_ID`).
pub const DEVICE_CODE_CLIENT_ID: &str = "26be6b09-91c5-47da-9861-d2d2bb7a7e36";

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const REFRESH_GRANT: &str = "refresh_token";
const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// How the emulated authorization server behaves (issue #14). Every field has a default, so a
/// scenario without an `oauth` block gets the Hub's documented client defaults.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthScenario {
    /// The polling interval `/oauth/device` announces (RFC 8628 default, and Python's: 5 s).
    pub interval_secs: u64,
    /// Lifetime of a device code (Python's default when the server omits it: 900 s).
    pub device_expires_secs: u64,
    /// Lifetime of an access token from the device or refresh grant.
    // GUESS: the Hub's real lifetime is not documented; Python refreshes when less than a day is
    // left, which suggests lifetimes of days. An hour keeps the arithmetic visible in tests.
    pub access_token_ttl_secs: u64,
    /// Whether the device grant also issues a refresh token.
    pub issue_refresh_tokens: bool,
    /// Whether a refresh returns a new refresh token and retires the old one.
    // GUESS: rotation on; Python keeps the old one when the answer has none, so both work.
    pub rotate_refresh_tokens: bool,
    /// Leave `verification_uri_complete` out of the device answer (it is optional, RFC 8628 §3.2).
    pub omit_verification_uri_complete: bool,
    /// Leave `interval` and `expires_in` out of the device answer (clients must default them).
    pub omit_interval_and_expiry: bool,
    /// The user the HTTP approval control approves as when `user=` is not given.
    pub default_user: Option<String>,
    /// The role of device-grant tokens in whoami-v2.
    // GUESS: the Hub's role for OAuth tokens is undocumented; `read` is the least it can be.
    pub role: TokenRole,
    /// The `scope` of device-grant tokens, as the token answer reports it.
    // GUESS: the scopes the official client's app is granted; space-separated as in RFC 6749.
    pub scope: String,
    /// OIDC id tokens the exchange accepts, and whose token it mints.
    pub oidc: Vec<OidcTrust>,
}

impl Default for OAuthScenario {
    fn default() -> Self {
        OAuthScenario {
            interval_secs: 5,
            device_expires_secs: 900,
            access_token_ttl_secs: 3600,
            issue_refresh_tokens: true,
            rotate_refresh_tokens: true,
            omit_verification_uri_complete: false,
            omit_interval_and_expiry: false,
            default_user: None,
            role: TokenRole::Read,
            scope: "openid profile read-repos gated-repos".to_string(),
            oidc: Vec::new(),
        }
    }
}

/// A CI id token the exchange trusts: the test's fake provider mints `subject_token`, and the
/// exchange answers with a token of `user` scoped to the requested resource.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OidcTrust {
    pub subject_token: String,
    pub user: String,
    /// `expires_in` of the exchanged token (Python's default when absent: 3600).
    #[serde(default = "default_exchange_ttl")]
    pub expires_in: u64,
}

fn default_exchange_ttl() -> u64 {
    3600
}

impl OidcTrust {
    pub fn new(subject_token: &str, user: &str) -> Self {
        OidcTrust {
            subject_token: subject_token.to_string(),
            user: user.to_string(),
            expires_in: default_exchange_ttl(),
        }
    }
}

/// Where a device code stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved {
        user: String,
    },
    Denied,
    Expired,
    /// The token was handed out; the code cannot be used again.
    Consumed,
}

struct Device {
    device_code: String,
    user_code: String,
    created: Instant,
    expires: Instant,
    status: DeviceStatus,
    /// Polls still to be answered `slow_down`.
    slow_downs: u32,
    /// When each poll arrived, for tests of the client's pacing.
    polls: Vec<Duration>,
}

struct Issued {
    token: Token,
    revoked: bool,
}

struct RefreshGrant {
    user: String,
    scope: String,
    valid: bool,
}

#[derive(Default)]
struct Inner {
    counter: u64,
    devices: Vec<Device>,
    access: HashMap<String, Issued>,
    refresh: HashMap<String, RefreshGrant>,
    /// Every `grant_type` `/oauth/token` received, in order.
    grants: Vec<String>,
}

/// The authorization server's state, one per emulator.
pub(crate) struct OAuthState {
    cfg: OAuthScenario,
    inner: Mutex<Inner>,
}

impl OAuthState {
    pub fn new(cfg: OAuthScenario) -> OAuthState {
        OAuthState {
            cfg,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The token behind an `Authorization` value, if this server issued it and it still holds.
    /// Expiry is checked by the caller like any scenario token's `expires_at`.
    pub fn lookup(&self, value: &str) -> Option<Token> {
        let inner = lock(&self.inner);
        let issued = inner.access.get(value)?;
        (!issued.revoked).then(|| issued.token.clone())
    }

    fn next_secret(inner: &mut Inner, kind: &str) -> String {
        inner.counter += 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        content::sha1_hex(format!("{kind}:{}:{nanos}", inner.counter).as_bytes())
    }

    fn issue(&self, inner: &mut Inner, user: &str, with_refresh: bool, scope: &str) -> Value {
        // GUESS: access tokens look like `hf_oauth_…` (the stored_tokens example of §5.2).
        let access = format!("hf_oauth_{}", Self::next_secret(inner, "access"));
        let ttl = self.cfg.access_token_ttl_secs;
        let token = Token {
            value: access.clone(),
            user: user.to_string(),
            // OAuth tokens have no display name (§3.4; Python names them `oauth-{user}`).
            display_name: String::new(),
            role: self.cfg.role.clone(),
            valid: true,
            expires_at: Some(iso8601(now_unix() + ttl)),
        };
        inner.access.insert(
            access.clone(),
            Issued {
                token,
                revoked: false,
            },
        );
        let mut answer = json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ttl,
            "scope": scope,
        });
        if with_refresh {
            let refresh = format!("hf_oauth_refresh_{}", Self::next_secret(inner, "refresh"));
            inner.refresh.insert(
                refresh.clone(),
                RefreshGrant {
                    user: user.to_string(),
                    scope: scope.to_string(),
                    valid: true,
                },
            );
            answer["refresh_token"] = Value::from(refresh);
        }
        answer
    }
}

/// A JSON answer with a status.
fn json_status(status: StatusCode, value: Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    if let Ok(v) = "application/json; charset=utf-8".parse() {
        response.headers_mut().insert("content-type", v);
    }
    // RFC 6749 §5.1: token answers must not be cached.
    if let Ok(v) = "no-store".parse() {
        response.headers_mut().insert("cache-control", v);
    }
    response
}

/// An OAuth error answer (RFC 6749 §5.2).
// GUESS: the Hub answers OAuth errors with 400 and `{error, error_description}`, as the RFC says.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_status(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

fn text(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Ok(v) = "text/plain; charset=utf-8".parse() {
        response.headers_mut().insert("content-type", v);
    }
    response
}

/// Routes `/oauth/…`.
pub(crate) async fn handle(
    shared: &crate::state::Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    req: Request,
) -> Response {
    let oauth = &shared.oauth;
    let query = query.map(parse_query).unwrap_or_default();
    let param = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    match (method.as_str(), path) {
        ("POST", "/oauth/device") => {
            let form = read_params(req).await;
            oauth.device_authorization(&shared.hub_url, &form)
        }
        ("POST", "/oauth/token") => {
            let form = read_params(req).await;
            oauth.token(&form)
        }
        ("GET", "/oauth/device") => verification_page(&param("user_code").unwrap_or_default()),
        ("GET", control) if control.starts_with("/oauth/device/") => {
            let action = control.trim_start_matches("/oauth/device/");
            let user_code = param("user_code").unwrap_or_default();
            let user = param("user")
                .or_else(|| oauth.cfg.default_user.clone())
                .or_else(|| shared.users.keys().min().cloned())
                .unwrap_or_else(|| "alice".to_string());
            let done = match action {
                "approve" => oauth.set_status(&user_code, DeviceStatus::Approved { user }),
                "deny" => oauth.set_status(&user_code, DeviceStatus::Denied),
                "expire" => oauth.set_status(&user_code, DeviceStatus::Expired),
                "slow_down" => oauth.slow_down(&user_code, 1),
                _ => return text(StatusCode::NOT_FOUND, "Not Found".into()),
            };
            if done {
                text(StatusCode::OK, format!("{action}: {user_code}\n"))
            } else {
                text(
                    StatusCode::NOT_FOUND,
                    format!("no pending device code with user code {user_code}\n"),
                )
            }
        }
        _ => text(StatusCode::NOT_FOUND, "Not Found".into()),
    }
}

/// The parameters of a form or JSON body (`_oidc.py` posts JSON; the device and refresh grants
/// post forms).
// GUESS: the Hub accepts both encodings on both endpoints.
async fn read_params(req: Request) -> Vec<(String, String)> {
    let json_body = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), 1 << 20).await else {
        return Vec::new();
    };
    if json_body {
        match serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes) {
            Ok(map) => map
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    } else {
        parse_query(&String::from_utf8_lossy(&bytes))
    }
}

fn get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A page a person can open from hfget's output when trying the emulator by hand.
// GUESS: the real page asks for the code and a login; this one only says how to approve.
fn verification_page(user_code: &str) -> Response {
    text(
        StatusCode::OK,
        format!(
            "hub-emulator device login\n\nuser code: {user_code}\napprove: GET /oauth/device/approve?user_code={user_code}&user=NAME\ndeny:    GET /oauth/device/deny?user_code={user_code}\n"
        ),
    )
}

impl OAuthState {
    fn check_client(&self, params: &[(String, String)]) -> Option<Response> {
        match get(params, "client_id") {
            None => Some(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing client_id",
            )),
            // GUESS: an unknown client is `invalid_client` with 401 (RFC 6749 §5.2).
            Some(id) if id != DEVICE_CODE_CLIENT_ID => Some(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unknown client_id",
            )),
            Some(_) => None,
        }
    }

    fn device_authorization(&self, hub_url: &str, params: &[(String, String)]) -> Response {
        if let Some(refusal) = self.check_client(params) {
            return refusal;
        }
        let mut inner = lock(&self.inner);
        let device_code = Self::next_secret(&mut inner, "device");
        // GUESS: user codes in the RFC 8628 §6.1 style, 8 letters without vowels, `XXXX-XXXX`.
        const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
        let seed = Self::next_secret(&mut inner, "user");
        let letters: String = seed
            .bytes()
            .take(8)
            .map(|b| LETTERS[b as usize % LETTERS.len()] as char)
            .collect();
        let user_code = format!("{}-{}", &letters[..4], &letters[4..]);
        let now = Instant::now();
        inner.devices.push(Device {
            device_code: device_code.clone(),
            user_code: user_code.clone(),
            created: now,
            expires: now + Duration::from_secs(self.cfg.device_expires_secs),
            status: DeviceStatus::Pending,
            slow_downs: 0,
            polls: Vec::new(),
        });
        // GUESS: the verification page is `{endpoint}/oauth/device` (the real one may differ).
        let verification_uri = format!("{hub_url}/oauth/device");
        let mut answer = json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
        });
        if !self.cfg.omit_verification_uri_complete {
            answer["verification_uri_complete"] =
                Value::from(format!("{verification_uri}?user_code={user_code}"));
        }
        if !self.cfg.omit_interval_and_expiry {
            answer["interval"] = Value::from(self.cfg.interval_secs);
            answer["expires_in"] = Value::from(self.cfg.device_expires_secs);
        }
        json_status(StatusCode::OK, answer)
    }

    fn token(&self, params: &[(String, String)]) -> Response {
        let grant = get(params, "grant_type").unwrap_or_default().to_string();
        lock(&self.inner).grants.push(grant.clone());
        match grant.as_str() {
            DEVICE_CODE_GRANT => self.device_grant(params),
            REFRESH_GRANT => self.refresh_grant(params),
            TOKEN_EXCHANGE_GRANT => self.exchange_grant(params),
            "" => oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing grant_type",
            ),
            _ => oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant_type",
            ),
        }
    }

    fn device_grant(&self, params: &[(String, String)]) -> Response {
        if let Some(refusal) = self.check_client(params) {
            return refusal;
        }
        let code = get(params, "device_code").unwrap_or_default();
        let mut inner = lock(&self.inner);
        let Some(index) = inner.devices.iter().position(|d| d.device_code == code) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Unknown device code",
            );
        };
        let now = Instant::now();
        let device = &mut inner.devices[index];
        device.polls.push(now - device.created);
        if now >= device.expires && device.status == DeviceStatus::Pending {
            device.status = DeviceStatus::Expired;
        }
        if device.slow_downs > 0 {
            device.slow_downs -= 1;
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "slow_down",
                "Polling too fast; add 5 seconds to the interval",
            );
        }
        match device.status.clone() {
            DeviceStatus::Pending => oauth_error(
                StatusCode::BAD_REQUEST,
                "authorization_pending",
                "The user has not yet approved this device",
            ),
            DeviceStatus::Denied => oauth_error(
                StatusCode::BAD_REQUEST,
                "access_denied",
                "The user denied the request",
            ),
            DeviceStatus::Expired => oauth_error(
                StatusCode::BAD_REQUEST,
                "expired_token",
                "The device code has expired",
            ),
            // GUESS: a code already exchanged is `invalid_grant` (RFC 6749 §5.2).
            DeviceStatus::Consumed => oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The device code was already used",
            ),
            DeviceStatus::Approved { user } => {
                device.status = DeviceStatus::Consumed;
                let with_refresh = self.cfg.issue_refresh_tokens;
                let answer = self.issue(&mut inner, &user, with_refresh, &self.cfg.scope);
                json_status(StatusCode::OK, answer)
            }
        }
    }

    fn refresh_grant(&self, params: &[(String, String)]) -> Response {
        if let Some(refusal) = self.check_client(params) {
            return refusal;
        }
        let presented = get(params, "refresh_token").unwrap_or_default();
        let mut inner = lock(&self.inner);
        let grant = match inner.refresh.get_mut(presented) {
            Some(grant) if grant.valid => grant,
            // Python treats `invalid_grant` as "the session expired or was revoked".
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token is invalid, expired or revoked",
                );
            }
        };
        let (user, scope) = (grant.user.clone(), grant.scope.clone());
        if self.cfg.rotate_refresh_tokens {
            grant.valid = false;
        }
        let answer = self.issue(&mut inner, &user, self.cfg.rotate_refresh_tokens, &scope);
        json_status(StatusCode::OK, answer)
    }

    fn exchange_grant(&self, params: &[(String, String)]) -> Response {
        if get(params, "subject_token_type") != Some(ID_TOKEN_TYPE) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "subject_token_type must be an id_token",
            );
        }
        let Some(resource) = get(params, "resource") else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "Missing resource",
            );
        };
        let subject = get(params, "subject_token").unwrap_or_default();
        let Some(trust) = self.cfg.oidc.iter().find(|t| t.subject_token == subject) else {
            // GUESS: an id token from an untrusted or unconfigured publisher.
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "No trusted publisher matches this id token",
            );
        };
        // `_oidc.py`: a repo (`ns/name`, `datasets/ns/name`, …) for a write token, a bare
        // user name for a read-only `gated-repos` token.
        let parts: Vec<&str> = resource.split('/').collect();
        let (kind, name, write) = match parts.as_slice() {
            [user] => ("user", user.to_string(), false),
            [ns, repo] => ("model", format!("{ns}/{repo}"), true),
            ["datasets", ns, repo] => ("dataset", format!("{ns}/{repo}"), true),
            ["spaces", ns, repo] => ("space", format!("{ns}/{repo}"), true),
            ["kernels", ns, repo] => ("kernel", format!("{ns}/{repo}"), true),
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_target",
                    "resource must be a repository or a user name",
                );
            }
        };
        let permissions = if write {
            vec!["repo.content.read".to_string(), "repo.write".to_string()]
        } else {
            vec!["repo.content.read".to_string()]
        };
        let mut inner = lock(&self.inner);
        // GUESS: exchanged tokens look like `hf_jwt_…` (the example in `_oidc.py`'s docstring).
        let value = format!("hf_jwt_{}", Self::next_secret(&mut inner, "oidc"));
        let token = Token {
            value: value.clone(),
            user: trust.user.clone(),
            display_name: String::new(),
            role: TokenRole::FineGrained(FineGrained {
                can_read_gated_repos: !write,
                global: Vec::new(),
                scoped: vec![ScopedPermission {
                    entity_type: kind.to_string(),
                    entity_name: name,
                    permissions,
                }],
            }),
            valid: true,
            expires_at: Some(iso8601(now_unix() + trust.expires_in)),
        };
        inner.access.insert(
            value.clone(),
            Issued {
                token,
                revoked: false,
            },
        );
        json_status(
            StatusCode::OK,
            json!({
                "access_token": value,
                "token_type": "bearer",
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "expires_in": trust.expires_in,
            }),
        )
    }

    fn set_status(&self, user_code: &str, status: DeviceStatus) -> bool {
        let mut inner = lock(&self.inner);
        match inner.devices.iter_mut().find(|d| {
            d.user_code.eq_ignore_ascii_case(user_code) && d.status == DeviceStatus::Pending
        }) {
            Some(device) => {
                device.status = status;
                true
            }
            None => false,
        }
    }

    fn slow_down(&self, user_code: &str, times: u32) -> bool {
        let mut inner = lock(&self.inner);
        match inner
            .devices
            .iter_mut()
            .find(|d| d.user_code.eq_ignore_ascii_case(user_code))
        {
            Some(device) => {
                device.slow_downs += times;
                true
            }
            None => false,
        }
    }
}

/// The approval control for tests: what a person does in the browser, and what the server does
/// to tokens over time.
impl crate::Emulator {
    fn oauth(&self) -> &OAuthState {
        &self.shared().oauth
    }

    /// User codes of device logins waiting for approval, oldest first.
    pub fn oauth_pending(&self) -> Vec<String> {
        lock(&self.oauth().inner)
            .devices
            .iter()
            .filter(|d| d.status == DeviceStatus::Pending)
            .map(|d| d.user_code.clone())
            .collect()
    }

    /// Waits until a device login is pending and returns its user code.
    pub fn oauth_wait_pending(&self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(code) = self.oauth_pending().into_iter().next() {
                return Some(code);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The user approves the login in the browser. `false` if no such code is pending.
    pub fn oauth_approve(&self, user_code: &str, user: &str) -> bool {
        self.oauth().set_status(
            user_code,
            DeviceStatus::Approved {
                user: user.to_string(),
            },
        )
    }

    /// The user clicks "deny".
    pub fn oauth_deny(&self, user_code: &str) -> bool {
        self.oauth().set_status(user_code, DeviceStatus::Denied)
    }

    /// The device code expires now.
    pub fn oauth_expire(&self, user_code: &str) -> bool {
        self.oauth().set_status(user_code, DeviceStatus::Expired)
    }

    /// The next `times` polls of this code are answered `slow_down`.
    pub fn oauth_slow_down(&self, user_code: &str, times: u32) -> bool {
        self.oauth().slow_down(user_code, times)
    }

    /// When each poll of this code arrived, measured from the device authorization.
    pub fn oauth_polls(&self, user_code: &str) -> Vec<Duration> {
        lock(&self.oauth().inner)
            .devices
            .iter()
            .find(|d| d.user_code == user_code)
            .map(|d| d.polls.clone())
            .unwrap_or_default()
    }

    /// Every `grant_type` `/oauth/token` received, in order.
    pub fn oauth_grants(&self) -> Vec<String> {
        lock(&self.oauth().inner).grants.clone()
    }

    /// The server stops accepting this access token before its announced expiry (what an
    /// expired token looks like to a client whose clock or bookkeeping is off).
    pub fn oauth_expire_access_token(&self, access_token: &str) -> bool {
        match lock(&self.oauth().inner).access.get_mut(access_token) {
            Some(issued) => {
                issued.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Every refresh token stops working (the session expired or was revoked on the website).
    pub fn oauth_revoke_refresh_tokens(&self) {
        for grant in lock(&self.oauth().inner).refresh.values_mut() {
            grant.valid = false;
        }
    }

    /// Every access token this server issued, oldest first is not guaranteed.
    pub fn oauth_access_tokens(&self) -> Vec<String> {
        lock(&self.oauth().inner).access.keys().cloned().collect()
    }

    /// Refresh tokens the server still accepts.
    pub fn oauth_live_refresh_tokens(&self) -> Vec<String> {
        lock(&self.oauth().inner)
            .refresh
            .iter()
            .filter(|(_, g)| g.valid)
            .map(|(k, _)| k.clone())
            .collect()
    }
}
