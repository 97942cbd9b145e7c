//! The token a client sends, and its one renewal when the Hub rejects it.
//!
//! A browser login's access token can stop being accepted before the expiry it announced
//! (revoked, rotated elsewhere). Every command must then behave the same way: renew the login
//! once and carry on. So the renewal is a hook of the client, not of each command, in the shape
//! of an authentication middleware: when the Hub answers 401, for a request that carried the
//! token, and the answer decodes as an invalid token ([`HubErrorKind::InvalidToken`]), the
//! client asks its [`TokenRenewal`] for a new token and sends that request once more.
//!
//! - **Once per client.** The first rejected request asks; a renewal that gave nothing is not
//!   asked again (a dead refresh token stays dead). Clones share the state, so a download's
//!   workers all see one renewal.
//! - **Serialized.** Requests rejected at the same time wait for the one renewal under way, then
//!   retry with its token instead of renewing again (a server that rotates refresh tokens
//!   accepts each one once).
//! - **Later requests use the new token**: it replaces the client's own.
//!
//! What renewing means (which login, where it is stored, how it is refreshed) is `auth`'s: it
//! implements the trait. `hub` only knows that a token may be replaced, so data still flows one
//! way (auth → hub).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use reqwest::{Response, StatusCode};

use super::HubErrorKind;
use super::error::ErrorResponse;
use crate::secret::Token;

/// What [`TokenRenewal::renew`] returns: a new token, or `None` when there is none to be had.
pub type Renewed<'a> = Pin<Box<dyn Future<Output = Option<Token>> + Send + 'a>>;

/// Replaces a token the Hub rejected. `auth` implements it for browser logins.
pub trait TokenRenewal: Send + Sync {
    /// The Hub rejected `rejected`: a token to send instead, or `None`. Called at most once per
    /// client; any message about a failed renewal is the implementation's to give.
    fn renew<'a>(&'a self, rejected: &'a Token) -> Renewed<'a>;
}

/// The token of a client and its clones, and whether it was renewed.
pub(crate) struct Credential {
    current: Mutex<Option<Token>>,
    renewer: Option<Arc<dyn TokenRenewal>>,
    /// Held while a renewal runs; `true` once one was asked for.
    asked: tokio::sync::Mutex<bool>,
}

impl Credential {
    pub(crate) fn new(token: Option<Token>, renewer: Option<Arc<dyn TokenRenewal>>) -> Credential {
        Credential {
            current: Mutex::new(token),
            renewer,
            asked: tokio::sync::Mutex::new(false),
        }
    }

    /// The token requests carry now.
    pub(crate) fn current(&self) -> Option<Token> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub(crate) fn can_renew(&self) -> bool {
        self.renewer.is_some()
    }

    /// After the Hub rejected `rejected`: the token to send the request with once more, or
    /// `None` to let the rejection stand.
    pub(crate) async fn after_rejection(&self, rejected: &Token) -> Option<Token> {
        let renewer = self.renewer.as_ref()?;
        let mut asked = self.asked.lock().await;
        // Renewed while this request waited (or before it was answered): use that token.
        if let Some(current) = self.current()
            && current != *rejected
        {
            return Some(current);
        }
        if *asked {
            return None;
        }
        *asked = true;
        let renewed = renewer.renew(rejected).await?;
        *self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(renewed.clone());
        Some(renewed)
    }
}

/// Whether a response to a request that carried the token rejects the token itself: a 401 that
/// decodes as [`HubErrorKind::InvalidToken`] (not, say, a 401 `GatedRepo`). The headers decide;
/// the body, which only words the message, is left unread for the caller.
pub(crate) fn rejects_token(response: &Response) -> bool {
    if response.status() != StatusCode::UNAUTHORIZED {
        return false;
    }
    let details = ErrorResponse {
        token_sent: true,
        ..super::client::error_details(response, true)
    };
    super::error::classify(&details) == HubErrorKind::InvalidToken
}

#[cfg(test)]
mod tests;
