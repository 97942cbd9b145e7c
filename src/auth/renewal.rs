//! The Hub client every command uses, with its token and the hook that renews a browser login
//! the Hub stopped accepting ([`crate::hub::renewal`] describes when the client calls it).
//!
//! Only a login hfget can renew gets a renewer: a browser login in the keyring or the token
//! files. Which one it is, and whether it has a refresh token, is read only when the Hub has
//! rejected the token: a command whose token is accepted pays nothing.

use std::sync::Arc;

use super::{ResolvedToken, Token, TokenSource, oauth, oauth_store};
use crate::env::{Environment, Settings};
use crate::hub::renewal::{Renewed, TokenRenewal};
use crate::hub::{HubClient, HubError};

/// A Hub client that sends `resolved`'s token (none: anonymous), and renews it once when the
/// Hub rejects it and it is a browser login.
pub fn hub_client(
    settings: &Settings,
    environment: &dyn Environment,
    resolved: Option<&ResolvedToken>,
) -> Result<HubClient, HubError> {
    let client = HubClient::new(settings, resolved.map(|r| r.token.clone()))?;
    Ok(
        match resolved.and_then(|r| renewer(settings, environment, r)) {
            Some(renewer) => client.with_renewal(renewer),
            None => client,
        },
    )
}

/// The renewer for `resolved`, when its source may hold a browser login.
pub fn renewer(
    settings: &Settings,
    environment: &dyn Environment,
    resolved: &ResolvedToken,
) -> Option<Arc<dyn TokenRenewal>> {
    if !matches!(
        resolved.source,
        TokenSource::Keyring { .. } | TokenSource::File { .. }
    ) || settings.offline
    {
        return None;
    }
    Some(Arc::new(BrowserLoginRenewal {
        settings: settings.clone(),
        client_id: oauth::client_id(environment),
        source: resolved.source.clone(),
    }))
}

/// Renews the browser login behind a token source.
struct BrowserLoginRenewal {
    settings: Settings,
    /// The OAuth client id, read from the environment when the client was built.
    client_id: String,
    source: TokenSource,
}

impl TokenRenewal for BrowserLoginRenewal {
    fn renew<'a>(&'a self, rejected: &'a Token) -> Renewed<'a> {
        Box::pin(async move {
            let resolved = ResolvedToken {
                token: rejected.clone(),
                source: self.source.clone(),
            };
            oauth_store::renew_rejected(&self.settings, &self.client_id, &resolved).await
        })
    }
}
