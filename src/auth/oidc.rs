//! CI tokens by OIDC exchange ("Trusted Publishers"), as huggingface_hub 2.4 does it
//! (`_oidc.py`, `utils/_auth.py::_get_token_from_oidc`):
//!
//! - it is on when `HF_OIDC_RESOURCE` names what the token is for (a repository, or a user
//!   name for a read-only `gated-repos` token);
//! - the id token is `HF_OIDC_ID_TOKEN` (any provider), else minted from GitHub Actions
//!   (`GITHUB_ACTIONS=true`; `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience={endpoint}` with
//!   `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answer `{"value": jwt}`);
//! - `POST {endpoint}/oauth/token` with a JSON body: the RFC 8693 token-exchange grant,
//!   `subject_token_type` id_token, the id token and the resource.
//!
//! The exchanged token lives in memory for this run only; nothing is stored. Opting in is
//! explicit, so a failure is an error, never a silent fallback to another token (as in Python).

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::Token;
use crate::env::{self, Environment, Settings};
use crate::exit::{self, Class};
use crate::hub::client::{Redirects, accept_json, read_json};
use crate::hub::{HubClient, HubError};

const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// Where the id token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// `HF_OIDC_ID_TOKEN`, minted by the job itself (GitLab and others).
    GivenIdToken,
    GithubActions,
}

impl Provider {
    pub fn describe(self) -> &'static str {
        match self {
            Provider::GivenIdToken => "HF_OIDC_ID_TOKEN",
            Provider::GithubActions => "GitHub Actions",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error(
        "HF_OIDC_RESOURCE is set but no OIDC id token is available: this is not GitHub Actions and HF_OIDC_ID_TOKEN is not set. Set HF_OIDC_ID_TOKEN to the id token your CI provider mints, or unset HF_OIDC_RESOURCE."
    )]
    NoProvider,
    #[error(
        "HF_OIDC_RESOURCE is set but GitHub Actions gave this job no way to mint an id token (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are missing). Add `permissions: id-token: write` to the job."
    )]
    GithubPermission,
    #[error("Could not get an OIDC id token from GitHub Actions: {0}")]
    Provider(Box<HubError>),
    #[error(
        "The Hub refused to exchange the CI id token for a token for `{resource}`: {source} Check the repository's Trusted Publisher settings and HF_OIDC_RESOURCE."
    )]
    Exchange {
        resource: String,
        #[source]
        source: Box<HubError>,
    },
}

impl OidcError {
    /// The family and the stable cause of this failure (docs/exit-codes.md). A refused exchange
    /// is a token problem unless the Hub could not be reached or was failing.
    pub fn classify(&self) -> Class {
        match self {
            OidcError::NoProvider | OidcError::GithubPermission => {
                Class::new(exit::TOKEN, "oidc_unavailable")
            }
            OidcError::Provider(error) => Class::new(error.classify().code, "oidc_provider_failed"),
            OidcError::Exchange { source, .. } => {
                let code = match source.classify().code {
                    code @ (exit::NETWORK | exit::HUB_UNAVAILABLE) => code,
                    _ => exit::TOKEN,
                };
                Class::new(code, "oidc_exchange_refused")
            }
        }
    }
}

/// A token obtained by exchange, for this run.
#[derive(Clone, Debug)]
pub struct Exchanged {
    pub token: Token,
    pub resource: String,
    pub provider: Provider,
}

/// The resource of `HF_OIDC_RESOURCE`, when the exchange is on.
pub fn resource(environment: &dyn Environment) -> Option<String> {
    environment
        .var(env::HF_OIDC_RESOURCE)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Mints (or takes) the id token and exchanges it. Only called when [`resource`] is `Some`.
pub async fn exchange(
    settings: &Settings,
    environment: &dyn Environment,
    resource: &str,
) -> Result<Exchanged, OidcError> {
    let hub = HubClient::new(settings, None).map_err(|e| OidcError::Provider(Box::new(e)))?;
    let (subject, provider) = match environment.var(env::HF_OIDC_ID_TOKEN) {
        Some(given) => (given.trim().to_string(), Provider::GivenIdToken),
        None if environment.var(env::GITHUB_ACTIONS).as_deref() == Some("true") => (
            github_id_token(&hub, environment, &settings.endpoint).await?,
            Provider::GithubActions,
        ),
        None => return Err(OidcError::NoProvider),
    };
    let exchange_error = |source: HubError| OidcError::Exchange {
        resource: resource.to_string(),
        source: Box::new(source.with_context("exchanging the CI id token".to_string())),
    };
    let url = hub.url("oauth/token").map_err(exchange_error)?;
    let body = serde_json::json!({
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token_type": ID_TOKEN_TYPE,
        "subject_token": subject,
        "resource": resource,
    })
    .to_string();
    let response = hub
        .send_ok(
            "exchanging the CI id token",
            Method::POST,
            url,
            accept_json(),
            Some(("application/json", body)),
            Redirects::EndpointOnly,
        )
        .await
        .map_err(exchange_error)?;
    let (answer, _) = read_json::<serde_json::Value>(response, hub.timeouts.idle)
        .await
        .map_err(exchange_error)?;
    let grant = super::oauth::TokenGrant::from_json(&answer).ok_or_else(|| {
        exchange_error(HubError::protocol(
            "the token-exchange answer has no access_token",
        ))
    })?;
    Ok(Exchanged {
        token: grant.access_token,
        resource: resource.to_string(),
        provider,
    })
}

/// `GET $ACTIONS_ID_TOKEN_REQUEST_URL` with `audience` = the endpoint (the `aud` the Hub checks).
async fn github_id_token(
    hub: &HubClient,
    environment: &dyn Environment,
    endpoint: &str,
) -> Result<String, OidcError> {
    let (Some(request_url), Some(request_token)) = (
        environment.var(env::ACTIONS_ID_TOKEN_REQUEST_URL),
        environment.var(env::ACTIONS_ID_TOKEN_REQUEST_TOKEN),
    ) else {
        return Err(OidcError::GithubPermission);
    };
    let provider_error = |e: HubError| OidcError::Provider(Box::new(e));
    let mut url = reqwest::Url::parse(&request_url).map_err(|e| {
        provider_error(HubError::protocol(format!(
            "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL ({e})"
        )))
    })?;
    url.query_pairs_mut().append_pair("audience", endpoint);
    let mut headers = accept_json();
    let bearer = HeaderValue::from_str(&format!("Bearer {request_token}")).map_err(|_| {
        provider_error(HubError::protocol(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN cannot be sent in an HTTP header",
        ))
    })?;
    headers.insert(AUTHORIZATION, bearer);
    // The hub client carries no token, so the only credential on this request is GitHub's own.
    let response = hub
        .send_once(Method::GET, url, &headers, None, Redirects::EndpointOnly)
        .await
        .map_err(provider_error)?;
    if !response.status().is_success() {
        return Err(provider_error(hub.decode_error(response).await));
    }
    let (answer, _) = read_json::<serde_json::Value>(response, hub.timeouts.idle)
        .await
        .map_err(provider_error)?;
    answer
        .get("value")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            provider_error(HubError::protocol(
                "the GitHub Actions answer has no `value`",
            ))
        })
}
