//! The HTTP client that talks to the Hub: redirects, authorization, retries, error decoding.
//!
//! Three rules from the reference shape this file:
//! - The token is attached per request, and only when the URL's origin (scheme, host, port) is the
//!   configured endpoint's. Never through `default_headers`: following a `Location` by hand with
//!   such a client leaks the token to the CDN (docs/design.md §2.1, the hf-hub bug).
//! - Redirects are followed by hand (`Policy::none()`), keeping the query string (the
//!   `/api/resolve-cache/…?etag=…` hop needs it, docs/protocol.md §1.2, §1.4) and the token on
//!   same-origin hops (renamed private repos need it, docs/protocol.md §1.4), dropping the token on any other hop.
//! - Only http(s) redirect targets, at most [`MAX_REDIRECTS`] hops.
//! - A token the Hub rejects is renewed once, when the client has a renewer, and the rejected
//!   request sent again ([`super::renewal`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, Response, StatusCode, Url};

use super::error::{
    ErrorResponse, HubError, HubErrorKind, NetworkErrorKind, TlsProblem, Via, retry_after_secs,
};
use super::renewal::{Credential, TokenRenewal, rejects_token};
use super::retry::{Attempts, Pacer, RequestClass, RetryPolicy};
use super::transport::{ProxyRoutes, TrustSource};
use crate::env::Settings;
use crate::output;
use crate::random::random_u64;
use crate::secret::Token;

pub const MAX_REDIRECTS: usize = 10;
/// Resolves kept back from optional connections: retries and the next files need them.
const OPTIONAL_RESOLVE_RESERVE: u64 = 8;
const USER_AGENT: &str = concat!("hfget/", env!("CARGO_PKG_VERSION"), "; rust");

/// How far to follow redirects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirects {
    /// Follow hops that stay on the endpoint's origin; return the first hop to another host as
    /// is. Metadata lives on that hop (`X-Linked-Etag`, `X-Linked-Size`, docs/protocol.md §1.2).
    EndpointOnly,
    /// Follow every hop (downloads); the token stays behind on other hosts.
    All,
}

/// The Hub client. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    /// HTTP/1.1 only, for the hops that carry file bytes from another host (the CDN). With
    /// HTTP/2 (ALPN on any TLS CDN), every range of a file would become a stream of *one* TCP
    /// connection, and a CDN that caps each connection (25 MB/s measured, about
    /// 40 MB/s reported for the real one) would cap the whole file, whatever the connection
    /// count: curl and aria2c fetch bulk ranges over HTTP/1.1 for the same reason. Hub API
    /// requests keep HTTP/2, where multiplexing helps (1000 small files).
    bytes_http: reqwest::Client,
    endpoint: Url,
    /// The token, shared by clones, and its renewal when the Hub rejects it
    /// ([`super::renewal`]).
    credential: Arc<Credential>,
    offline: bool,
    pub retry: RetryPolicy,
    /// Shared by every clone: the Hub's quotas are per caller, not per request.
    pacer: Arc<Pacer>,
    pub timeouts: Timeouts,
    /// Which proxy each request goes through (and which refused their credentials).
    proxies: ProxyRoutes,
    /// Where the trusted certificates come from, for TLS messages.
    trust: TrustSource,
}

/// The three waits of a request, each with its own bound.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Connect, and the headers of each hop (`HF_HUB_ETAG_TIMEOUT`, 10 s as in Python).
    pub metadata: Duration,
    /// The first body byte of a file: a pull-through mirror answers headers at once and may
    /// send nothing while it fills its own cache (docs/real-hub.md §5), so this is longer and
    /// announced once it exceeds `idle`.
    pub first_byte: Duration,
    /// No byte for this long in the middle of a body drops the connection
    /// (`HF_HUB_DOWNLOAD_TIMEOUT`).
    pub idle: Duration,
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
        let transport_error = |e| HubError::new(HubErrorKind::Transport(Box::new(e)));
        let proxies = ProxyRoutes::from_variables(&settings.network).map_err(transport_error)?;
        let trust = super::transport::trust(&settings.network).map_err(transport_error)?;
        let timeouts = Timeouts {
            metadata: settings.etag_timeout,
            first_byte: settings.first_byte_timeout.max(settings.download_timeout),
            idle: settings.download_timeout,
        };
        let builder = || {
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(USER_AGENT)
                .connect_timeout(timeouts.metadata)
                // A backstop for bodies read outside `hub` (the doctor's probes); file bodies
                // and JSON have their own, shorter idle bounds ([`Timeouts`]).
                .read_timeout(timeouts.first_byte)
                .tcp_nodelay(true)
                .pool_max_idle_per_host(64);
            if !proxies.system_default {
                // The variables decide alone: reqwest's own reading of them (upper case
                // first) and of the OS settings is off.
                builder = builder.no_proxy().proxy(proxies.hook());
            }
            if !trust.certificates.is_empty() {
                builder = builder.tls_certs_only(trust.certificates.iter().cloned());
            }
            builder
        };
        let setup_error =
            |e: reqwest::Error| HubError::new(HubErrorKind::ClientSetup(e.to_string()));
        let http = builder()
            .http2_adaptive_window(true)
            .build()
            .map_err(setup_error)?;
        let bytes_http = builder().http1_only().build().map_err(setup_error)?;
        warn_on_plain_http_token(&endpoint, token.as_ref());
        Ok(HubClient {
            http,
            bytes_http,
            endpoint,
            credential: Arc::new(Credential::new(token, None)),
            offline: settings.offline,
            retry: RetryPolicy::default(),
            pacer: Arc::new(Pacer::default()),
            timeouts,
            proxies,
            trust: trust.source,
        })
    }

    /// The same client without a token (the doctor compares anonymous and authenticated answers).
    pub fn anonymous(&self) -> HubClient {
        self.with_token(None)
    }

    /// The same client with another token, which is never renewed.
    pub fn with_token(&self, token: Option<Token>) -> HubClient {
        HubClient {
            credential: Arc::new(Credential::new(token, None)),
            ..self.clone()
        }
    }

    /// The same client and token, renewed by `renewer` when the Hub rejects it: each request
    /// answered 401 as an invalid token is sent once more with the renewed token.
    pub fn with_renewal(&self, renewer: Arc<dyn TokenRenewal>) -> HubClient {
        HubClient {
            credential: Arc::new(Credential::new(self.token(), Some(renewer))),
            ..self.clone()
        }
    }

    /// The token requests carry now (a renewed one once the Hub rejected the first).
    pub fn token(&self) -> Option<Token> {
        self.credential.current()
    }

    /// The proxies in effect (for the setup doctor).
    pub fn proxies(&self) -> &ProxyRoutes {
        &self.proxies
    }

    /// Where the trusted certificates come from.
    pub fn trust(&self) -> &TrustSource {
        &self.trust
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

    /// Whether an optional resolve (one more connection for a file already flowing) fits the
    /// resolver quota: only while the pacer would let it through now with
    /// [`OPTIONAL_RESOLVE_RESERVE`] to spare. A resolve held for the window's reset would
    /// strand the bytes its split took from a connection that was fetching them (measured:
    /// two 1 GB files under 40 resolves / 300 s sat for 300 s behind such holds).
    pub(crate) fn may_resolve_optionally(&self) -> bool {
        self.pacer
            .headroom(RequestClass::Resolve)
            .is_none_or(|left| left > OPTIONAL_RESOLVE_RESERVE)
    }

    pub(crate) fn is_endpoint_origin(&self, url: &Url) -> bool {
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
        self.send_chain(method, url, headers, body, redirects, false)
            .await
    }

    /// [`Self::send_once`] for a file's bytes: hops to another host than the endpoint go over
    /// HTTP/1.1 ([`HubClient::bytes_http`]).
    pub(crate) async fn send_for_bytes(
        &self,
        url: Url,
        headers: &HeaderMap,
    ) -> Result<Response, HubError> {
        self.send_chain(Method::GET, url, headers, None, Redirects::All, true)
            .await
    }

    /// Follows the chain with the current token; when the Hub rejects that token and the
    /// client has a renewer, follows it once more with the renewed one ([`super::renewal`]).
    async fn send_chain(
        &self,
        method: Method,
        url: Url,
        headers: &HeaderMap,
        body: Option<(&'static str, String)>,
        redirects: Redirects,
        bytes: bool,
    ) -> Result<Response, HubError> {
        let token = self.credential.current();
        if !self.credential.can_renew() {
            let sent = self
                .follow(method, url, headers, body, redirects, bytes, token.as_ref())
                .await?;
            return Ok(sent.response);
        }
        let sent = self
            .follow(
                method.clone(),
                url.clone(),
                headers,
                body.clone(),
                redirects,
                bytes,
                token.as_ref(),
            )
            .await?;
        let Some(rejected) = token.filter(|_| sent.authorized && rejects_token(&sent.response))
        else {
            return Ok(sent.response);
        };
        let Some(renewed) = self.credential.after_rejection(&rejected).await else {
            return Ok(sent.response);
        };
        output::debug(|| {
            format!(
                "the Hub rejected {}; sending again with {}",
                rejected.masked(),
                renewed.masked()
            )
        });
        let sent = self
            .follow(method, url, headers, body, redirects, bytes, Some(&renewed))
            .await?;
        Ok(sent.response)
    }

    /// One pass along the redirect chain with `token` (sent to the endpoint's origin only).
    #[allow(clippy::too_many_arguments)]
    async fn follow(
        &self,
        method: Method,
        url: Url,
        headers: &HeaderMap,
        body: Option<(&'static str, String)>,
        redirects: Redirects,
        bytes: bool,
        token: Option<&Token>,
    ) -> Result<Sent, HubError> {
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
        // request through the Hub to learn what it carries.
        let mut may_authorize = true;
        // A request counts in the bucket of its first URL; later hops of the same chain (the
        // `/api/resolve-cache/` hop of a resolve) report on that bucket but are not counted.
        let class = RequestClass::of(url.path());
        for hop in 0..=MAX_REDIRECTS {
            let on_endpoint = self.is_endpoint_origin(&url);
            may_authorize &= on_endpoint;
            let http = if bytes && !on_endpoint {
                &self.bytes_http
            } else {
                &self.http
            };
            let mut request = http.request(method.clone(), url.clone());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request = request.header(HeaderName::from_static("x-amzn-trace-id"), trace_id());
            let authorized = token.is_some() && may_authorize;
            if let Some(token) = token
                && may_authorize
            {
                let value = HeaderValue::from_str(&format!("Bearer {}", token.secret()))
                    .map_err(|_| HubError::new(HubErrorKind::TokenNotSendable))?;
                request = request.header(AUTHORIZATION, value);
            }
            if let Some((content_type, text)) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .body(text.clone());
            }
            output::debug(|| format!("{method} {}", strip_query(&url)));
            let proxy = self.proxies.route(&url);
            if let Some(proxy) = proxy
                && self.proxies.was_refused(proxy)
            {
                return Err(self.proxy_auth_error(&url));
            }
            let response = self.send_paced(request, &url, class, hop == 0).await?;
            let status = response.status();
            if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                return Err(self.proxy_auth_error(&url));
            }
            let sent = |response| Sent {
                response,
                authorized,
            };
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                return Ok(sent(response));
            }
            let Some(location) = response.headers().get(LOCATION) else {
                return Ok(sent(response));
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
                return Ok(sent(response));
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

    /// Sends one hop: requests to the endpoint wait for the pacer ([`Pacer`]) and report their
    /// `RateLimit` headers back to it; the headers must arrive within the metadata timeout.
    async fn send_paced(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
        class: RequestClass,
        first_hop: bool,
    ) -> Result<Response, HubError> {
        let paced = self.is_endpoint_origin(url);
        let admitted = paced && first_hop;
        if admitted {
            self.pacer.admit(class).await;
        }
        let sent = tokio::time::timeout(self.timeouts.metadata, request.send()).await;
        let result = match sent {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(self.transport_error(url, error)),
            Err(_) => Err(HubError::network(
                NetworkErrorKind::Timeout,
                &strip_query(url),
                HeaderTimeout(self.timeouts.metadata),
            )
            .with_via(self.via(url))),
        };
        if paced {
            match &result {
                Ok(response) => {
                    let header =
                        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
                    let (limit, policy) = (header("ratelimit"), header("ratelimit-policy"));
                    if admitted {
                        self.pacer.observe(class, limit, policy);
                    } else {
                        self.pacer.observe_hop(class, limit, policy);
                    }
                }
                Err(_) if admitted => self.pacer.abandon(class),
                Err(_) => {}
            }
        }
        result
    }

    /// How a request to `url` leaves this machine, for error messages.
    fn via(&self, url: &Url) -> Via {
        Via {
            proxy: self.proxies.route(url).cloned(),
            trust: self.trust.clone(),
        }
    }

    /// A proxy's 407, to a CONNECT or to a forwarded request. The proxy is remembered as
    /// refused, so no later request of this process sends it the same password again.
    fn proxy_auth_error(&self, url: &Url) -> HubError {
        let via = self.via(url);
        if let Some(proxy) = &via.proxy {
            self.proxies.mark_refused(proxy);
        }
        HubError {
            response: Some(Box::new(ErrorResponse {
                status: 407,
                url: strip_query(url),
                from_endpoint: self.is_endpoint_origin(url),
                ..ErrorResponse::default()
            })),
            ..HubError::new(HubErrorKind::ProxyAuth)
        }
        .with_via(via)
    }

    /// A transport failure, with the proxy it went through: a connection that could not be
    /// opened through a proxy is the proxy's (the request never left for the Hub).
    fn transport_error(&self, url: &Url, error: reqwest::Error) -> HubError {
        if tunnel_failure(&error) == Some(Tunnel::AuthRequired) {
            return self.proxy_auth_error(url);
        }
        let via = self.via(url);
        let mut failure = network_error(url, error);
        if via.proxy.is_some()
            && let HubErrorKind::Network(kind) = &mut failure.kind
            && matches!(kind, NetworkErrorKind::Connect | NetworkErrorKind::Dns)
        {
            *kind = NetworkErrorKind::ProxyUnreachable;
        }
        failure.with_via(via)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry budget is spent
    /// ([`RetryPolicy`]). Waits are announced on stderr so a long pause never looks like a hang.
    pub async fn with_retries<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, HubError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, HubError>>,
    {
        let mut attempts = Attempts::new(self.retry);
        loop {
            let error = match attempt(attempts.failures()).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let Some(wait) = attempts.failed(&error) else {
                return Err(error);
            };
            output::warn(format!(
                "{what}: {}; retrying in {:.1} s (attempt {} of {}).",
                error.kind_summary(),
                wait.as_secs_f64(),
                attempts.failures() + 1,
                attempts.max_attempts()
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
        read_json(response, self.timeouts.idle)
            .await
            .map_err(|e| e.with_context(what.to_string()))
    }

    /// Turns a non-2xx response into a [`HubError`], reading the JSON `{"error": …}` body when
    /// `X-Error-Message` is absent (docs/protocol.md §4.1).
    pub async fn decode_error(&self, response: Response) -> HubError {
        let mut details = error_details(&response, self.is_endpoint_origin(response.url()));
        // The token goes only to the endpoint's origin, so that is where it was sent.
        details.token_sent = self.credential.current().is_some() && details.from_endpoint;
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

/// The last response of a redirect chain, and whether its request carried the token.
struct Sent {
    response: Response,
    authorized: bool,
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
        // Only the caller knows; `HubClient::decode_error` fills it in.
        token_sent: false,
    }
}

/// The server's message from a JSON error body (`error` as string or list, `error_description`,
/// `errors[].message`), or the raw text when it is short and not HTML (docs/protocol.md §4.2 `_format`).
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
/// docs/protocol.md §3.4) apart from "JSON of the wrong shape".
pub async fn read_json<T: serde::de::DeserializeOwned>(
    response: Response,
    idle: Duration,
) -> Result<(T, HeaderMap), HubError> {
    let headers = response.headers().clone();
    let url = strip_query(response.url());
    let bytes = read_body(response, idle).await?;
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

/// A whole (small) body, with no more than `idle` between two pieces of it.
async fn read_body(mut response: Response, idle: Duration) -> Result<Vec<u8>, HubError> {
    let url = strip_query(response.url());
    let mut bytes = Vec::new();
    loop {
        match tokio::time::timeout(idle, response.chunk()).await {
            Ok(Ok(Some(chunk))) => bytes.extend_from_slice(&chunk),
            Ok(Ok(None)) => return Ok(bytes),
            Ok(Err(error)) => return Err(network_error_from(&url, error)),
            Err(_) => {
                return Err(HubError::network(
                    NetworkErrorKind::Timeout,
                    &url,
                    HeaderTimeout(idle),
                ));
            }
        }
    }
}

/// The source of a timeout hfget enforced itself (rather than reqwest).
#[derive(Debug, thiserror::Error)]
#[error("no answer within {:.0} s", .0.as_secs_f64())]
pub struct HeaderTimeout(pub Duration);

pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A URL for messages: the query string can hold a CDN signature, so it is dropped.
/// `host[:port]` of `url`, as a user knows a server (`huggingface.co`, `127.0.0.1:8080`),
/// and as logins are keyed; `url` itself if it has no host.
pub fn host_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

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
/// path.
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
            crate::secret::redact_url_password(endpoint.as_str())
        ));
    }
}

/// Classifies a transport error from what the errors in its chain *are*: reqwest's
/// own kinds (`is_timeout`, `is_dns`, `is_connect`), a `rustls::Error` anywhere underneath, the
/// `std::io::ErrorKind` of an I/O error, and hyper-util's proxy tunnel error. Never from the text
/// of the outermost error, which contains the request URL: a repository named `tls-proxy` must
/// not turn a refused connection into a "TLS handshake" or "proxy" problem. Mid-stream cuts
/// surface as `is_body`/`is_decode` (docs/design.md §2.4).
pub fn network_error(url: &Url, error: reqwest::Error) -> HubError {
    network_error_from(&strip_query(url), error)
}

pub fn network_error_from(url: &str, error: reqwest::Error) -> HubError {
    let kind = classify_transport(&error);
    HubError::network(kind, url, error)
}

/// The causes under the outermost error. `io::Error::source` skips the error it wraps, so
/// wrapped errors are reached through `get_ref` too (rustls errors sit two `io::Error`s deep).
fn causes(error: &reqwest::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut causes: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut pending = std::error::Error::source(error);
    while let Some(cause) = pending {
        causes.push(cause);
        pending = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    causes
}

/// How a CONNECT through a proxy failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tunnel {
    /// The proxy answered 407.
    AuthRequired,
    /// The connection to the proxy itself could not be opened.
    ProxyUnreachable,
    /// Any other refusal (a blocked host, the proxy's upstream failing).
    Refused,
}

/// hyper-util's `TunnelError` is not exported; its Display is a fixed "tunnel error: …" with
/// one fixed phrase per variant (it never contains a URL), so that is how a failed CONNECT
/// through a proxy, and why it failed, are recognised.
fn tunnel_failure(error: &reqwest::Error) -> Option<Tunnel> {
    causes(error).iter().find_map(|cause| {
        let text = cause.to_string();
        let reason = text.strip_prefix("tunnel error: ")?;
        Some(match reason {
            "proxy authorization required" => Tunnel::AuthRequired,
            "failed to create underlying connection" => Tunnel::ProxyUnreachable,
            _ => Tunnel::Refused,
        })
    })
}

/// What rustls said about the server's certificate.
fn tls_problem(error: &rustls::Error) -> TlsProblem {
    use rustls::CertificateError as Certificate;
    match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            Certificate::UnknownIssuer => TlsProblem::UnknownIssuer,
            Certificate::Expired
            | Certificate::ExpiredContext { .. }
            | Certificate::NotValidYet
            | Certificate::NotValidYetContext { .. } => TlsProblem::Expired,
            Certificate::NotValidForName | Certificate::NotValidForNameContext { .. } => {
                TlsProblem::WrongName
            }
            _ => TlsProblem::Other,
        },
        _ => TlsProblem::Other,
    }
}

fn classify_transport(error: &reqwest::Error) -> NetworkErrorKind {
    let causes = causes(error);
    let io_kind = |kinds: &[std::io::ErrorKind]| {
        causes.iter().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| kinds.contains(&io.kind()))
        })
    };
    let tls = causes
        .iter()
        .find_map(|c| c.downcast_ref::<rustls::Error>())
        .map(tls_problem);
    let tunnel = tunnel_failure(error);
    if error.is_timeout() {
        NetworkErrorKind::Timeout
    } else if tunnel == Some(Tunnel::ProxyUnreachable) {
        NetworkErrorKind::ProxyUnreachable
    } else if error.is_dns() {
        NetworkErrorKind::Dns
    } else if tunnel.is_some() {
        NetworkErrorKind::Proxy
    } else if let Some(problem) = tls {
        NetworkErrorKind::Tls(problem)
    } else if error.is_connect() {
        NetworkErrorKind::Connect
    } else if error.is_body()
        || error.is_decode()
        || error.is_request()
        || io_kind(&[
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::ConnectionAborted,
            std::io::ErrorKind::BrokenPipe,
            std::io::ErrorKind::UnexpectedEof,
        ])
    {
        NetworkErrorKind::Interrupted
    } else {
        NetworkErrorKind::Other
    }
}

#[cfg(test)]
mod tests;
