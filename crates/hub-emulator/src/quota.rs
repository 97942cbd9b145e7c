//! The resolver quota, enforced (issue #9 item 7; real-hub-2026.md §1).
//!
//! hub-docs `docs/hub/rate-limits.md` (commit 242f4a1, 2026-08): every URL containing
//! `/resolve/` counts in the "resolvers" bucket, in fixed windows of 5 minutes (anonymous 3000,
//! free 5000, PRO 12000 per window); the "api" bucket is separate. huggingface_hub#3553 shows
//! the header shape on every answer: `RateLimit: "api";r=489;t=189` (requests left, seconds
//! until the window resets) and `RateLimit-Policy: "fixed window";"api";q=500;w=300`.
//!
//! With [`Scenario::resolver_quota`] set, resolves are counted per caller (user, or IP when
//! anonymous, as the Hub does) in a fixed window that starts with the caller's first resolve;
//! each resolve answer carries the bucket's real `RateLimit`/`RateLimit-Policy`, and once the
//! window is used up the Hub answers `429` with `Retry-After` until the window resets. The
//! `/api/resolve-cache/` hop does not contain `/resolve/`, so it is not counted (it shows the
//! bucket as it stands). Without the switch, quotas stay reported-only (`server::hub_headers`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::hub::{Flavor, error};
use crate::scenario::Scenario;
use crate::state::lock;

/// JSON: `{"quota": 40, "window_secs": 300}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolverQuota {
    /// Resolves allowed per window and caller.
    pub quota: u64,
    /// Length of the fixed window (the Hub's is 300 s).
    pub window_secs: u64,
}

impl Scenario {
    /// Issue #9: enforce `quota` resolves per `window_secs` fixed window and caller.
    pub fn resolver_quota(mut self, quota: u64, window_secs: u64) -> Self {
        self.resolver_quota = Some(ResolverQuota {
            quota,
            window_secs: window_secs.max(1),
        });
        self
    }
}

/// Whether a hub path counts in the "resolvers" bucket (the documented rule, verbatim).
pub(crate) fn is_resolve(path: &str) -> bool {
    path.contains("/resolve/")
}

pub(crate) struct QuotaState {
    cfg: ResolverQuota,
    /// Caller → (window start, resolves counted in it).
    windows: Mutex<HashMap<String, (Instant, u64)>>,
}

/// Where a caller's bucket stands after (or without) counting one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Verdict {
    left: u64,
    reset_secs: u64,
    quota: u64,
    window_secs: u64,
    refused: bool,
}

impl QuotaState {
    pub fn new(cfg: ResolverQuota) -> Self {
        QuotaState {
            cfg,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a resolve of `caller` (a `/resolve/` path) or just looks at the bucket (the
    /// resolve-cache hop); `None` for paths outside the bucket.
    pub fn check(&self, path: &str, caller: &str) -> Option<Verdict> {
        let counts = is_resolve(path);
        if !counts && !path.starts_with("/api/resolve-cache/") {
            return None;
        }
        let window = Duration::from_secs(self.cfg.window_secs);
        let now = Instant::now();
        let mut windows = lock(&self.windows);
        let slot = windows.entry(caller.to_string()).or_insert((now, 0));
        if now.duration_since(slot.0) >= window {
            *slot = (now, 0);
        }
        let refused = counts && slot.1 >= self.cfg.quota;
        if counts && !refused {
            slot.1 += 1;
        }
        let remaining = window.saturating_sub(now.duration_since(slot.0));
        Some(Verdict {
            left: self.cfg.quota.saturating_sub(slot.1),
            // Whole seconds, rounded up: `t=0` would invite a retry inside the window.
            reset_secs: remaining.as_millis().div_ceil(1000).max(1) as u64,
            quota: self.cfg.quota,
            window_secs: self.cfg.window_secs,
            refused,
        })
    }

    /// Starts every caller's window afresh (benchmarks between tools).
    pub fn reset(&self) {
        lock(&self.windows).clear();
    }
}

impl Verdict {
    /// The `429` of an exhausted bucket, with the §4.7 texts of the existing 429 fault.
    pub fn refusal(&self, anonymous: bool, peer: SocketAddr) -> Option<Response> {
        if !self.refused {
            return None;
        }
        let msg = if anonymous {
            format!(
                "We had to rate limit your IP ({}). To continue using our service, create a HF account or login to your existing account, and make sure you pass a HF_TOKEN if you're using the API.",
                peer.ip()
            )
        } else {
            // GUESS: the text names the configured quota; it always says "5 minutes".
            format!(
                "We had to rate limit you, you hit the quota of {} resolvers requests per 5 minutes period. Upgrade to a PRO user or Team/Enterprise organization account (https://hf.co/pricing) to get higher limits. See https://huggingface.co/docs/hub/rate-limits",
                self.quota
            )
        };
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, None, &msg, Flavor::Text);
        put(&mut r, "retry-after", self.reset_secs.to_string());
        Some(r)
    }

    /// The bucket's real headers, replacing the reported-only ones.
    pub fn stamp(&self, resp: &mut Response) {
        put(
            resp,
            "ratelimit",
            format!("\"resolvers\";r={};t={}", self.left, self.reset_secs),
        );
        put(
            resp,
            "ratelimit-policy",
            format!(
                "\"fixed window\";\"resolvers\";q={};w={}",
                self.quota, self.window_secs
            ),
        );
    }
}

fn put(resp: &mut Response, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(HeaderName::from_static(name), v);
    }
}
