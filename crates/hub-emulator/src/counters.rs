//! Request-log counters for tests and benchmarks (issue #9): resolves, 429s sent, body bytes
//! sent per origin and CDN connections seen. They are cheap atomics, always on; the emulator
//! binary serves them at `GET /_emulator/counters` (JSON) and resets them, with the quota
//! windows and the CDN connection numbering, at `POST /_emulator/reset`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::Origin;
use crate::state::Shared;

/// A snapshot of the counters since the start (or the last reset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Hub requests whose URL contains `/resolve/` (the "resolvers" bucket), HEAD or GET.
    pub resolves: u64,
    /// `429` answers sent, by either origin.
    pub rate_limited: u64,
    /// Response body bytes handed to the hub origin's connections.
    pub hub_bytes: u64,
    /// Response body bytes handed to the CDN origin's connections.
    pub cdn_bytes: u64,
    /// Distinct TCP connections that sent the CDN at least one request.
    pub cdn_connections: u64,
}

#[derive(Default)]
pub(crate) struct CounterState {
    resolves: AtomicU64,
    rate_limited: AtomicU64,
    hub_bytes: AtomicU64,
    cdn_bytes: AtomicU64,
    cdn_connections: AtomicU64,
}

impl CounterState {
    pub fn request(&self, origin: &Origin, path: &str) {
        if *origin == Origin::Hub && crate::quota::is_resolve(path) {
            self.resolves.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn answered(&self, status: StatusCode) {
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn sent(&self, origin: &Origin, bytes: usize) {
        let c = match origin {
            Origin::Hub => &self.hub_bytes,
            Origin::Cdn => &self.cdn_bytes,
        };
        c.fetch_add(bytes as u64, Ordering::Relaxed);
    }
    pub fn new_cdn_connection(&self) {
        self.cdn_connections.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> Counters {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counters {
            resolves: g(&self.resolves),
            rate_limited: g(&self.rate_limited),
            hub_bytes: g(&self.hub_bytes),
            cdn_bytes: g(&self.cdn_bytes),
            cdn_connections: g(&self.cdn_connections),
        }
    }
    pub fn reset(&self) {
        for a in [
            &self.resolves,
            &self.rate_limited,
            &self.hub_bytes,
            &self.cdn_bytes,
            &self.cdn_connections,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

/// Forgets counters, quota windows (enforced and reported-only) and CDN connection numbers
/// (not the mirror's cache).
pub(crate) fn reset_all(shared: &Shared) {
    let c = &shared.conditions;
    c.counters.reset();
    c.throttle.reset();
    if let Some(q) = &c.quota {
        q.reset();
    }
    // The reported-only windows too (server::hub_headers).
    crate::state::lock(&shared.ratelimit).clear();
}

/// The binary's control routes on the hub origin; `None` for every other request. They are
/// not logged or counted. GUESS-free: the real Hub has no `/_emulator/` paths.
pub(crate) fn control_route(shared: &Shared, method: &Method, path: &str) -> Option<Response> {
    let body = match (method.as_str(), path) {
        ("GET", "/_emulator/counters") => {
            serde_json::to_string(&shared.conditions.counters.snapshot()).unwrap_or_default()
        }
        ("POST", "/_emulator/reset") => {
            reset_all(shared);
            "{}".to_string()
        }
        _ => return None,
    };
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Some(r)
}
