//! Scripted faults: the network and server misbehaviour a downloader must survive.
//!
//! A fault matches requests by origin, method and a substring of the raw path+query. Every
//! matching fault fires (so `Latency` can be combined with `CutAfter`), and a fault with
//! `times: Some(n)` disappears after firing `n` times. Status-like actions answer instead of the
//! handler; body actions (`CutAfter`, `Corrupt`, `Stall`, `Slow`, `ShortBody`, `IgnoreRange`)
//! only shape *file* bodies (resolve, resolve-cache, raw and CDN), never JSON.

use serde::{Deserialize, Serialize};

use crate::Origin;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(default)]
    pub origin: Option<Origin>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path_contains: Option<String>,
    #[serde(default)]
    pub times: Option<u32>,
    pub action: FaultAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer this status (texts of §4.8 where known; 429 like `RateLimited` with 1 s).
    Status { status: u16 },
    /// 429 with the verbatim rate-limit body (§4.7) and `RateLimit`/`Retry-After` headers.
    RateLimited { retry_after_secs: u64 },
    /// Send headers (full `Content-Length`) and `bytes` body bytes, then abort the connection.
    CutAfter { bytes: u64 },
    /// Flip the byte at this *file* offset if it is inside the served range.
    Corrupt { offset: u64 },
    /// Pause `millis` after `after_bytes` body bytes, then continue.
    Stall { after_bytes: u64, millis: u64 },
    /// Throttle the body to about `bytes_per_sec`.
    Slow { bytes_per_sec: u64 },
    /// Delay the whole response.
    Latency { millis: u64 },
    /// Answer `200` with the full body even when `Range` was sent.
    IgnoreRange,
    /// `Content-Length` promises the full length; the body ends `missing` bytes early.
    ShortBody { missing: u64 },
    /// An HTML error page where JSON was expected (like the whoami 429 of §3.4).
    HtmlError { status: u16 },
    /// An error answer with these `X-Error-Code`/`X-Error-Message` headers, as a mirror gives it
    /// (issue #10: olah 0.5.4's catch-all `404 RepoNotFound`, its offline `401 RepoNotFound`,
    /// its `504 ProxyTimeout`; real-hub-2026.md §5). Hub origin only.
    ErrorAnswer {
        status: u16,
        #[serde(default)]
        code: Option<String>,
        message: String,
    },
}

impl Fault {
    fn with_origin(origin: Option<Origin>) -> Self {
        Fault {
            origin,
            method: None,
            path_contains: None,
            times: None,
            action: FaultAction::Status { status: 500 },
        }
    }
    /// A fault on any origin (defaults to `Status { 500 }` until `.action(..)`).
    pub fn any() -> Self {
        Self::with_origin(None)
    }
    pub fn on_cdn() -> Self {
        Self::with_origin(Some(Origin::Cdn))
    }
    pub fn on_hub() -> Self {
        Self::with_origin(Some(Origin::Hub))
    }
    pub fn path(mut self, contains: &str) -> Self {
        self.path_contains = Some(contains.to_string());
        self
    }
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
    pub fn action(mut self, action: FaultAction) -> Self {
        self.action = action;
        self
    }

    pub(crate) fn matches(&self, origin: &Origin, method: &str, path_and_query: &str) -> bool {
        self.origin.as_ref().is_none_or(|o| o == origin)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path_and_query.contains(p))
            && self.times != Some(0)
    }
}

/// Takes the actions of every fault matching this request, consuming one use of each.
pub(crate) fn take_matching(
    faults: &mut Vec<Fault>,
    origin: &Origin,
    method: &str,
    path_and_query: &str,
) -> Vec<FaultAction> {
    let mut fired = Vec::new();
    for f in faults.iter_mut() {
        if f.matches(origin, method, path_and_query) {
            fired.push(f.action.clone());
            if let Some(n) = f.times.as_mut() {
                *n = n.saturating_sub(1);
            }
        }
    }
    faults.retain(|f| f.times != Some(0));
    fired
}

/// The body-shaping part of the fired faults.
#[derive(Clone, Debug, Default)]
pub(crate) struct BodyFaults {
    pub cut_after: Option<u64>,
    pub corrupt: Vec<u64>,
    pub stall: Option<(u64, u64)>,
    pub slow_bps: Option<u64>,
    pub ignore_range: bool,
    pub short_missing: Option<u64>,
}

impl BodyFaults {
    pub fn from_actions(actions: &[FaultAction]) -> Self {
        let mut b = BodyFaults::default();
        for a in actions {
            match a {
                FaultAction::CutAfter { bytes } => b.cut_after = Some(*bytes),
                FaultAction::Corrupt { offset } => b.corrupt.push(*offset),
                FaultAction::Stall {
                    after_bytes,
                    millis,
                } => b.stall = Some((*after_bytes, *millis)),
                FaultAction::Slow { bytes_per_sec } => b.slow_bps = Some((*bytes_per_sec).max(1)),
                FaultAction::IgnoreRange => b.ignore_range = true,
                FaultAction::ShortBody { missing } => b.short_missing = Some(*missing),
                _ => {}
            }
        }
        b
    }
}
