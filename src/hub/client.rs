//! The HTTP client that talks to the Hub: redirects, authorization, retries, error decoding.
//!
//! Three rules from the reference shape this file:
//! - The token is attached per request, and only when the URL's origin (scheme, host, port) is the
//!   configured endpoint's. Never through `default_headers`: following a `Location` by hand with
//!   such a client leaks the token to the CDN (rust-stack.md §2.1, the hf-hub bug).
//! - Redirects are followed by hand (`Policy::none()`), keeping the query string (the
//!   `/api/resolve-cache/…?etag=…` hop needs it, hub-protocol.md §1.2, §1.4) and the token on
//!   same-origin hops (renamed private repos need it, §1.4), dropping the token on any other hop.
//! - Only http(s) redirect targets, at most [`MAX_REDIRECTS`] hops (issue #6).

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, Response, StatusCode, Url};

use super::error::{ErrorResponse, HubError, HubErrorKind, NetworkErrorKind, retry_after_secs};
use crate::auth::Token;
use crate::env::Settings;
use crate::output;

pub const MAX_REDIRECTS: usize = 10;
const USER_AGENT: &str = concat!("hfget/", env!("CARGO_PKG_VERSION"), "; rust");

/// How far to follow redirects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirects {
    /// Follow hops that stay on the endpoint's origin; return the first hop to another host as
    /// is. Metadata lives on that hop (`X-Linked-Etag`, `X-Linked-Size`, §1.2).
    EndpointOnly,
    /// Follow every hop (downloads); the token stays behind on other hosts.
    All,
}

/// Retry budget for requests that failed in a way that may pass (issue #6: exponential backoff
/// with jitter, `Retry-After`/`RateLimit` honoured, a bounded total).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest single wait hfget accepts from a `Retry-After`; beyond it the error is
    /// reported with the reset time instead of sleeping for minutes.
    pub max_server_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_server_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter exponential backoff: a random delay in [0, min(cap, base·2^attempt)].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX));
        let ceiling = exponential.min(self.max_delay);
        let fraction = (random_u64() % 1000) as f64 / 1000.0;
        // Never less than a tenth of the ceiling, so a retry storm still spreads out.
        ceiling.mul_f64(0.1 + 0.9 * fraction)
    }
}

/// A random number without a dependency: std's `RandomState` is seeded per process from the OS.
pub fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default(),
    );
    hasher.finish()
}

/// The Hub client. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    endpoint: Url,
    token: Option<Token>,
    offline: bool,
    pub retry: RetryPolicy,
}

impl HubClient {
    pub fn new(settings: &Settings, token: Option<Token>) -> Result<HubClient, HubError> {
        // reqwest is built without a default crypto provider (ring instead of aws-lc-rs, see
        // Cargo.toml); install it once. A second install attempt fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bad_endpoint = |detail: String| HubError::new(HubErrorKind::BadEndpoint(detail));
        let endpoint = Url::parse(&format!("{}/", settings.endpoint))
            .map_err(|e| bad_endpoint(format!("`{}` is not a URL ({e})", settings.endpoint)))?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err(bad_endpoint(format!(
                "`{}` is not an http(s) URL",
                settings.endpoint
            )));
        }
        let timeout = Duration::from_secs(settings.read_timeout_secs.max(1));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(64)
            .http2_adaptive_window(true)
            .build()
            .map_err(|e| HubError::protocol(format!("could not build the HTTP client: {e}")))?;
        warn_on_plain_http_token(&endpoint, token.as_ref());
        Ok(HubClient {
            http,
            endpoint,
            token,
            offline: settings.offline,
            retry: RetryPolicy::default(),
        })
    }

    /// The same client without a token (the doctor compares anonymous and authenticated answers).
    pub fn anonymous(&self) -> HubClient {
        HubClient {
            token: None,
            ..self.clone()
        }
    }

    /// The same client with another token.
    pub fn with_token(&self, token: Option<Token>) -> HubClient {
        HubClient {
            token,
            ..self.clone()
        }
    }

    /// The endpoint without a trailing slash, as users write it.
    pub fn endpoint_str(&self) -> &str {
        self.endpoint.as_str().trim_end_matches('/')
    }

    /// `{endpoint}/{path}`; `path` must already be percent-encoded.
    pub fn url(&self, path: &str) -> Result<Url, HubError> {
        self.endpoint
            .join(path.trim_start_matches('/'))
            .map_err(|e| HubError::protocol(format!("could not build a URL for `{path}`: {e}")))
    }

    fn is_endpoint_origin(&self, url: &Url) -> bool {
        same_origin(&self.endpoint, url)
    }

    /// One request (no retries), following redirects by hand. Returns the final response
    /// whatever its status; network failures become [`HubError`]s.
    pub async fn send_once(
        &self,
        method: Method,
        url: Url,
        headers: &HeaderMap,
        body: Option<(&'static str, String)>,
        redirects: Redirects,
    ) -> Result<Response, HubError> {
        if self.offline {
            return Err(HubError {
                response: Some(Box::new(ErrorResponse {
                    url: strip_query(&url),
                    ..ErrorResponse::default()
                })),
                ..HubError::new(HubErrorKind::Offline)
            });
        }
        let mut url = url;
        let mut method = method;
        let mut body = body;
        // Once a hop leaves the endpoint's origin the token stays behind for the rest of the
        // chain, even if a later hop comes back: a foreign host must not be able to bounce a
        // request through the Hub to learn what it carries (issue #6).
        let mut may_authorize = true;
        for _hop in 0..=MAX_REDIRECTS {
            may_authorize &= self.is_endpoint_origin(&url);
            let mut request = self.http.request(method.clone(), url.clone());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request = request.header(HeaderName::from_static("x-amzn-trace-id"), trace_id());
            if let Some(token) = &self.token
                && may_authorize
            {
                let value =
                    HeaderValue::from_str(&format!("Bearer {}", token.secret())).map_err(|_| {
                        HubError::protocol(
                            "the token contains characters that cannot be sent in an HTTP header",
                        )
                    })?;
                request = request.header(AUTHORIZATION, value);
            }
            if let Some((content_type, text)) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .body(text.clone());
            }
            output::debug(|| format!("{method} {}", strip_query(&url)));
            let response = request.send().await.map_err(|e| network_error(&url, e))?;
            let status = response.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                return Ok(response);
            }
            let Some(location) = response.headers().get(LOCATION) else {
                return Ok(response);
            };
            let location = location.to_str().map_err(|_| {
                HubError::protocol("a redirect carried a Location header that is not text")
            })?;
            let next = url.join(location).map_err(|e| {
                HubError::protocol(format!("a redirect pointed to an invalid URL ({e})"))
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(HubError::protocol(format!(
                    "a redirect pointed to a `{}:` URL; only http(s) is followed",
                    next.scheme()
                )));
            }
            if redirects == Redirects::EndpointOnly && !self.is_endpoint_origin(&next) {
                return Ok(response);
            }
            if matches!(status.as_u16(), 301..=303) && method != Method::HEAD {
                method = Method::GET;
                body = None;
            }
            url = next;
        }
        Err(HubError::protocol(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry budget is spent. Waits are
    /// announced on stderr so a long pause never looks like a hang.
    pub async fn with_retries<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, HubError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, HubError>>,
    {
        let mut number = 0;
        loop {
            let error = match attempt(number).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            number += 1;
            if !error.is_retryable() || number >= self.retry.max_attempts {
                return Err(error);
            }
            let server_wait = error
                .response
                .as_ref()
                .and_then(|r| r.retry_after_secs)
                .map(Duration::from_secs);
            let wait = match server_wait {
                Some(wait) if wait > self.retry.max_server_wait => return Err(error),
                // A second of margin, as huggingface_hub does (`t + 1`, §4.7).
                Some(wait) => wait + Duration::from_millis(200 + random_u64() % 800),
                None => self.retry.backoff(number - 1),
            };
            output::warn(format!(
                "{what}: {}; retrying in {:.1} s (attempt {} of {}).",
                error.kind_summary(),
                wait.as_secs_f64(),
                number + 1,
                self.retry.max_attempts
            ));
            tokio::time::sleep(wait).await;
        }
    }

    /// A request with retries that must answer 2xx; any other answer becomes a decoded error.
    pub async fn send_ok(
        &self,
        what: &str,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Option<(&'static str, String)>,
        redirects: Redirects,
    ) -> Result<Response, HubError> {
        self.with_retries(what, |_| {
            let (method, url, headers, body) =
                (method.clone(), url.clone(), &headers, body.clone());
            async move {
                let response = self
                    .send_once(method, url, headers, body, redirects)
                    .await?;
                if response.status().is_success() {
                    Ok(response)
                } else {
                    Err(self.decode_error(response).await)
                }
            }
        })
        .await
        .map_err(|e| e.with_context(what.to_string()))
    }

    /// GETs JSON with retries and decodes it into `T`.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        url: Url,
    ) -> Result<(T, HeaderMap), HubError> {
        let response = self
            .send_ok(
                what,
                Method::GET,
                url,
                accept_json(),
                None,
                Redirects::EndpointOnly,
            )
            .await?;
        read_json(response)
            .await
            .map_err(|e| e.with_context(what.to_string()))
    }

    /// Turns a non-2xx response into a [`HubError`], reading the JSON `{"error": …}` body when
    /// `X-Error-Message` is absent (§4.1).
    pub async fn decode_error(&self, response: Response) -> HubError {
        let mut details = error_details(&response, self.is_endpoint_origin(response.url()));
        let is_html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("html"));
        if details.error_message.is_none()
            && !is_html
            && let Ok(text) = response.text().await
        {
            details.error_message = message_from_body(&text);
        }
        HubError::from_response(details)
    }
}

/// The facts of a response that matter for errors, read from its headers.
pub fn error_details(response: &Response, from_endpoint: bool) -> ErrorResponse {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    ErrorResponse {
        status: response.status().as_u16(),
        url: strip_query(response.url()),
        error_code: header("x-error-code"),
        error_message: header("x-error-message"),
        request_id: header("x-request-id")
            .or_else(|| header("x-amzn-trace-id"))
            .or_else(|| header("x-amz-cf-id")),
        from_endpoint,
        retry_after_secs: retry_after_secs(
            header("ratelimit").as_deref(),
            header("retry-after").as_deref(),
        ),
    }
}

/// The server's message from a JSON error body (`error` as string or list, `error_description`,
/// `errors[].message`), or the raw text when it is short and not HTML (§4.2 `_format`).
fn message_from_body(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let from_json = match value.get("error") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => None,
        }
        .or_else(|| {
            value
                .get("error_description")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
        return from_json;
    }
    if trimmed.starts_with('<') || trimmed.len() > 500 {
        return None;
    }
    Some(trimmed.to_string())
}

pub fn accept_json() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    headers
}

/// Reads a JSON body, telling "not JSON at all" (an HTML page from a proxy or a rate limiter,
/// §3.4) apart from "JSON of the wrong shape".
pub async fn read_json<T: serde::de::DeserializeOwned>(
    response: Response,
) -> Result<(T, HeaderMap), HubError> {
    let headers = response.headers().clone();
    let url = strip_query(response.url());
    let bytes = response
        .bytes()
        .await
        .map_err(|e| network_error_from(&url, e))?;
    let value = serde_json::from_slice::<T>(&bytes).map_err(|e| {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).to_string();
        let detail = if head.trim_start().starts_with('<') {
            "it sent an HTML page where JSON was expected".to_string()
        } else {
            format!("its JSON could not be read ({e})")
        };
        HubError {
            response: Some(Box::new(ErrorResponse {
                url: url.clone(),
                ..ErrorResponse::default()
            })),
            ..HubError::protocol(detail)
        }
    })?;
    Ok((value, headers))
}

pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A URL for messages: the query string can hold a CDN signature, so it is dropped.
pub fn strip_query(url: &Url) -> String {
    let mut clean = url.clone();
    clean.set_query(None);
    clean.set_fragment(None);
    let _ = clean.set_password(None);
    clean.to_string()
}

fn trace_id() -> HeaderValue {
    let id = format!("{:016x}{:016x}", random_u64(), random_u64());
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("hfget"))
}

/// A token sent in clear text to a host other than this machine can be read by anyone on the
/// path (issue #6).
fn warn_on_plain_http_token(endpoint: &Url, token: Option<&Token>) {
    if token.is_none() || endpoint.scheme() != "http" {
        return;
    }
    let loopback = match endpoint.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    if !loopback {
        output::warn(format!(
            "HF_ENDPOINT {} uses plain http://: your token will cross the network unencrypted. Use https:// if the server supports it.",
            crate::auth::token::redact_url_password(endpoint.as_str())
        ));
    }
}

/// Classifies a transport error by walking its source chain (rust-stack.md §2.4: mid-stream cuts
/// surface as `is_decode`, so the io::Error kind underneath is what tells).
pub fn network_error(url: &Url, error: reqwest::Error) -> HubError {
    network_error_from(&strip_query(url), error)
}

pub fn network_error_from(url: &str, error: reqwest::Error) -> HubError {
    let kind = classify_transport(&error);
    HubError::network(kind, url, error)
}

fn classify_transport(error: &reqwest::Error) -> NetworkErrorKind {
    let chain = {
        let mut text = String::new();
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = current {
            text.push_str(&e.to_string().to_ascii_lowercase());
            text.push('\n');
            current = e.source();
        }
        text
    };
    if error.is_timeout() || chain.contains("timed out") {
        NetworkErrorKind::Timeout
    } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
        NetworkErrorKind::Dns
    } else if chain.contains("proxy") || chain.contains("tunnel") {
        NetworkErrorKind::Proxy
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake")
    {
        NetworkErrorKind::Tls
    } else if error.is_connect() {
        NetworkErrorKind::Connect
    } else if error.is_body() || error.is_decode() || error.is_request() {
        NetworkErrorKind::Interrupted
    } else {
        NetworkErrorKind::Other
    }
}

#[cfg(test)]
mod tests;
