//! The OAuth protocol of the browser login: the device authorization grant
//! (RFC 8628) and the refresh grant, as huggingface_hub 2.4 speaks them
//! (`utils/_oauth_device.py`, `constants.py`; docs/real-hub.md §3).
//!
//! - `POST {endpoint}/oauth/device` with form `client_id` answers the device code, the user code
//!   and the page to open; `interval` defaults to 5 s and `expires_in` to 900 s when absent.
//! - `POST {endpoint}/oauth/token` with the device-code grant is polled until the user approves:
//!   `authorization_pending` keeps polling, `slow_down` adds 5 s to the interval,
//!   `expired_token` and `access_denied` are final, and 5xx answers, non-JSON pages and network
//!   errors are transient until the code's deadline (RFC 8628 §3.5).
//! - The refresh grant (`grant_type=refresh_token`) renews an access token; `invalid_grant`
//!   means the session expired or was revoked and only a new login helps.
//!
//! No printing and no storage here: [`super::oauth_store`] keeps the tokens and
//! `commands/login.rs` talks to the user.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;

use super::Token;
use crate::env::{self, Environment, Settings};
use crate::exit::{self, Class};
use crate::hub::client::{Redirects, accept_json, read_json};
use crate::hub::{HubClient, HubError};

/// The public client id of the official device-code login (`DEVICE_CODE_OAUTH_CLIENT_ID`).
/// hfget presents itself as that client, as every tool built on huggingface_hub does.
pub const DEVICE_CODE_CLIENT_ID: &str = "26be6b09-91c5-47da-9861-d2d2bb7a7e36";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const REFRESH_GRANT: &str = "refresh_token";
/// RFC 8628 §3.2 and Python's defaults when the server leaves them out.
const DEFAULT_INTERVAL_SECS: u64 = 5;
const DEFAULT_EXPIRES_SECS: u64 = 900;
/// `slow_down` adds this to the interval (RFC 8628 §3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
const FORM: &str = "application/x-www-form-urlencoded";

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("Could not start the browser login: {0}")]
    DeviceRequest(Box<HubError>),
    #[error(
        "The login was denied in the browser. Nothing was stored; run `hfget login --web` to try again."
    )]
    Denied,
    #[error(
        "The login code expired before it was approved ({minutes} min). Nothing was stored; run `hfget login --web` again and approve it in the browser."
    )]
    Expired { minutes: u64 },
    #[error(
        "The Hub refused the browser login ({code}{}). Nothing was stored; run `hfget login --web` to try again, or log in with a token from the website (`hfget login`).",
        describe(.description)
    )]
    Refused {
        code: String,
        description: Option<String>,
    },
    #[error(
        "The browser login `{name}` expired and could not be renewed ({code}{}). Run `hfget login --web` to log in again.",
        describe(.description)
    )]
    RefreshRefused {
        name: String,
        code: String,
        description: Option<String>,
    },
    #[error(
        "Could not renew the browser login `{name}`: {source} The login is kept; the next command tries again, or run `hfget login --web`."
    )]
    RefreshFailed {
        name: String,
        #[source]
        source: Box<HubError>,
    },
}

fn describe(description: &Option<String>) -> String {
    match description.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => format!(": {text}"),
        _ => String::new(),
    }
}

impl OAuthError {
    /// The family and the stable cause of this failure (docs/exit-codes.md).
    pub fn classify(&self) -> Class {
        match self {
            OAuthError::DeviceRequest(error) | OAuthError::RefreshFailed { source: error, .. } => {
                error.classify()
            }
            OAuthError::Denied => Class::new(exit::TOKEN, "browser_login_denied"),
            OAuthError::Expired { .. } => Class::new(exit::TOKEN, "browser_login_code_expired"),
            OAuthError::Refused { .. } => Class::new(exit::TOKEN, "browser_login_refused"),
            OAuthError::RefreshRefused { .. } => Class::new(exit::TOKEN, "browser_login_expired"),
        }
    }

    /// Whether only a new login can help (the refresh token is dead), as opposed to a failure
    /// that may pass (network, 5xx).
    pub fn needs_new_login(&self) -> bool {
        matches!(self, OAuthError::RefreshRefused { .. })
    }
}

/// The answer of `/oauth/device`, with the optional fields defaulted.
#[derive(Clone, Debug)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    /// The page with the code filled in, or [`DeviceCode::verification_uri`].
    pub verification_uri_complete: String,
    pub interval: Duration,
    pub expires_in: Duration,
}

#[derive(Deserialize)]
struct DeviceAnswer {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    interval: Option<u64>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A successful token answer (RFC 6749 §5.1).
#[derive(Clone, Debug)]
pub struct TokenGrant {
    pub access_token: Token,
    pub refresh_token: Option<Token>,
    /// Seconds until the access token expires, as the server announced it.
    pub expires_in: Option<u64>,
    /// Space-separated scopes, when the server says.
    pub scope: Option<String>,
}

impl TokenGrant {
    /// Reads a token answer; `None` when it has no `access_token`.
    pub fn from_json(value: &serde_json::Value) -> Option<TokenGrant> {
        let text = |key: &str| value.get(key).and_then(|v| v.as_str());
        let access_token = Token::parse(text("access_token")?)?;
        let expires_in = value.get("expires_in").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        });
        Some(TokenGrant {
            access_token,
            refresh_token: text("refresh_token").and_then(Token::parse),
            expires_in,
            scope: text("scope")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        })
    }
}

/// What one poll of the token endpoint said.
#[derive(Debug)]
pub enum Poll {
    Granted(TokenGrant),
    Pending,
    SlowDown,
    /// Not an answer to act on (5xx, an HTML page, JSON without `error`, a network error).
    Transient(String),
    Final(OAuthError),
}

/// What the polling loop reports while it waits, for the spinner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waiting {
    Pending,
    /// The server asked for slower polling; the new interval.
    SlowedDown(Duration),
    /// A transient failure, and what it was.
    Retrying(String),
}

/// Talks to the endpoint's OAuth routes without a token.
pub struct OAuthClient {
    hub: HubClient,
    client_id: String,
}

/// The OAuth client id hfget presents: `HF_DEVICE_CODE_OAUTH_CLIENT_ID`, else the official one.
pub fn client_id(environment: &dyn Environment) -> String {
    environment
        .var(env::HF_DEVICE_CODE_OAUTH_CLIENT_ID)
        .unwrap_or_else(|| DEVICE_CODE_CLIENT_ID.to_string())
}

impl OAuthClient {
    pub fn new(
        settings: &Settings,
        environment: &dyn Environment,
    ) -> Result<OAuthClient, HubError> {
        OAuthClient::with_client_id(settings, client_id(environment))
    }

    pub fn with_client_id(settings: &Settings, client_id: String) -> Result<OAuthClient, HubError> {
        Ok(OAuthClient {
            hub: HubClient::new(settings, None)?,
            client_id,
        })
    }

    fn form(fields: &[(&str, &str)]) -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in fields {
            serializer.append_pair(key, value);
        }
        serializer.finish()
    }

    /// Asks for a device code (with the one retry policy: a 5xx here is worth retrying).
    pub async fn request_device_code(&self) -> Result<DeviceCode, OAuthError> {
        let what = "starting the browser login";
        let wrap = |e: HubError| OAuthError::DeviceRequest(Box::new(e));
        let url = self.hub.url("oauth/device").map_err(wrap)?;
        let body = Self::form(&[("client_id", &self.client_id)]);
        let response = self
            .hub
            .send_ok(
                what,
                Method::POST,
                url,
                accept_json(),
                Some((FORM, body)),
                Redirects::EndpointOnly,
            )
            .await
            .map_err(wrap)?;
        let (answer, _) = read_json::<DeviceAnswer>(response, self.hub.timeouts.idle)
            .await
            .map_err(|e| wrap(e.with_context(what.to_string())))?;
        Ok(DeviceCode {
            verification_uri_complete: answer
                .verification_uri_complete
                .filter(|uri| !uri.trim().is_empty())
                .unwrap_or_else(|| answer.verification_uri.clone()),
            device_code: answer.device_code,
            user_code: answer.user_code,
            verification_uri: answer.verification_uri,
            interval: Duration::from_secs(
                answer
                    .interval
                    .filter(|s| *s > 0)
                    .unwrap_or(DEFAULT_INTERVAL_SECS),
            ),
            expires_in: Duration::from_secs(
                answer
                    .expires_in
                    .filter(|s| *s > 0)
                    .unwrap_or(DEFAULT_EXPIRES_SECS),
            ),
        })
    }

    /// POSTs a form to `/oauth/token` once: the status and the body as JSON, if it is JSON.
    async fn token_request(
        &self,
        fields: &[(&str, &str)],
    ) -> Result<(u16, Option<serde_json::Value>), HubError> {
        let url = self.hub.url("oauth/token")?;
        let response = self
            .hub
            .send_once(
                Method::POST,
                url,
                &accept_json(),
                Some((FORM, Self::form(fields))),
                Redirects::EndpointOnly,
            )
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| {
            crate::hub::client::network_error_from(
                &format!("{}/oauth/token", self.hub.endpoint_str()),
                e,
            )
        })?;
        Ok((status, serde_json::from_slice(&bytes).ok()))
    }

    /// One poll of the device-code grant, classified as `_oauth_device.py` does.
    pub async fn poll_once(&self, device: &DeviceCode) -> Poll {
        let answer = self
            .token_request(&[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", &device.device_code),
                ("client_id", &self.client_id),
            ])
            .await;
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(error) if error.is_retryable() => return Poll::Transient(error.kind_summary()),
            Err(error) => return Poll::Final(OAuthError::DeviceRequest(Box::new(error))),
        };
        if status >= 500 {
            return Poll::Transient(format!("the Hub answered {status}"));
        }
        let Some(body) = body else {
            return Poll::Transient(format!(
                "the Hub answered {status} with a page that is not JSON"
            ));
        };
        if let Some(grant) = TokenGrant::from_json(&body) {
            return Poll::Granted(grant);
        }
        let description = body
            .get("error_description")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        match body.get("error").and_then(|v| v.as_str()) {
            // JSON without an OAuth error (a proxy's error page as JSON): transient.
            None => Poll::Transient(format!("the Hub answered {status} without a token")),
            Some("authorization_pending") => Poll::Pending,
            Some("slow_down") => Poll::SlowDown,
            Some("expired_token") => Poll::Final(OAuthError::Expired {
                minutes: device.expires_in.as_secs().div_ceil(60),
            }),
            Some("access_denied") => Poll::Final(OAuthError::Denied),
            Some(code) => Poll::Final(OAuthError::Refused {
                code: code.to_string(),
                description,
            }),
        }
    }

    /// Polls until the user approves, a final answer, or the code's deadline. `on_wait` hears
    /// about every answer that means "keep waiting".
    pub async fn wait_for_approval(
        &self,
        device: &DeviceCode,
        mut on_wait: impl FnMut(Waiting),
    ) -> Result<TokenGrant, OAuthError> {
        let deadline = Instant::now() + device.expires_in;
        let mut interval = device.interval;
        while Instant::now() < deadline {
            match self.poll_once(device).await {
                Poll::Granted(grant) => return Ok(grant),
                Poll::Final(error) => return Err(error),
                Poll::Pending => on_wait(Waiting::Pending),
                Poll::SlowDown => {
                    interval += SLOW_DOWN_STEP;
                    on_wait(Waiting::SlowedDown(interval));
                }
                Poll::Transient(why) => on_wait(Waiting::Retrying(why)),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(interval.min(left)).await;
        }
        Err(OAuthError::Expired {
            minutes: device.expires_in.as_secs().div_ceil(60),
        })
    }

    /// Exchanges a refresh token for a new access token (and maybe a new refresh token).
    /// `name` is the login's, for the messages.
    pub async fn refresh(
        &self,
        name: &str,
        refresh_token: &Token,
    ) -> Result<TokenGrant, OAuthError> {
        let fields = [
            ("grant_type", REFRESH_GRANT),
            ("refresh_token", refresh_token.secret()),
            ("client_id", self.client_id.as_str()),
        ];
        let failed = |source: HubError| OAuthError::RefreshFailed {
            name: name.to_string(),
            source: Box::new(source),
        };
        // Transient failures get the one retry policy; an OAuth error answer is final.
        let (status, body) = self
            .hub
            .with_retries("renewing the browser login", |_| async {
                let (status, body) = self.token_request(&fields).await?;
                if status >= 500 {
                    return Err(HubError::from_response(crate::hub::error::ErrorResponse {
                        status,
                        url: format!("{}/oauth/token", self.hub.endpoint_str()),
                        from_endpoint: true,
                        ..Default::default()
                    }));
                }
                Ok((status, body))
            })
            .await
            .map_err(failed)?;
        if let Some(grant) = body.as_ref().and_then(TokenGrant::from_json) {
            return Ok(grant);
        }
        let code = body
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let description = body
            .as_ref()
            .and_then(|b| b.get("error_description"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        match code {
            Some(code) => Err(OAuthError::RefreshRefused {
                name: name.to_string(),
                code,
                description,
            }),
            None => Err(failed(HubError::protocol(format!(
                "the Hub answered {status} to a refresh without a token or an OAuth error"
            )))),
        }
    }
}

#[cfg(test)]
mod tests;
