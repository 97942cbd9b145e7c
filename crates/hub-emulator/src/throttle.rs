//! Shaping response bodies on their way out (issue #9 item 7): every body's bytes are counted
//! per origin, and CDN bodies are paced per TCP connection.
//!
//! - A per-connection rate cap ([`Scenario::cdn_connection_bytes_per_sec`]): the real CDN is
//!   reported at about 40 MB/s per connection (landscape.md §(b); issue #9 measured a 25 MB/s
//!   cap), so one stream cannot fill a fast link and a client must open several.
//! - One slow connection ([`Scenario::slow_cdn_connection`]): the Nth TCP connection to reach
//!   the CDN (1-based, counted since the start or the last reset) is paced at its own, lower
//!   rate, so the last range of a download can be the one that drags — the tail a work-stealing
//!   engine must cut.
//!
//! Pacing is per connection, not per response: keep-alive requests and HTTP/2 streams on one
//! connection share its budget. A connection is known by its peer address, numbered when its
//! first request arrives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody as _};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::Origin;
use crate::scenario::Scenario;
use crate::state::{Shared, lock};

/// JSON: `{"nth": 3, "bytes_per_sec": 1000000}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowConnection {
    /// Which CDN connection is slow: 1 is the first to send a request.
    pub nth: u64,
    pub bytes_per_sec: u64,
}

impl Scenario {
    /// Issue #9: caps every CDN connection at `bytes_per_sec`.
    pub fn cdn_connection_bytes_per_sec(mut self, bytes_per_sec: u64) -> Self {
        self.cdn_connection_bytes_per_sec = Some(bytes_per_sec.max(1));
        self
    }
    /// Issue #9: the `nth` CDN connection (1-based) runs at `bytes_per_sec` only.
    pub fn slow_cdn_connection(mut self, nth: u64, bytes_per_sec: u64) -> Self {
        self.slow_cdn_connection = Some(SlowConnection {
            nth: nth.max(1),
            bytes_per_sec: bytes_per_sec.max(1),
        });
        self
    }
}

struct Conn {
    rate: Option<u64>,
    /// When the bytes paced so far will have left at `rate`.
    next_free: Mutex<Instant>,
}

pub(crate) struct ThrottleState {
    cap: Option<u64>,
    slow: Option<SlowConnection>,
    conns: Mutex<(u64, HashMap<SocketAddr, Arc<Conn>>)>,
}

impl ThrottleState {
    pub fn new(cap: Option<u64>, slow: Option<SlowConnection>) -> Self {
        ThrottleState {
            cap,
            slow,
            conns: Mutex::new((0, HashMap::new())),
        }
    }

    /// The connection of `peer`, numbered on first sight (`true` when new).
    fn connection(&self, peer: SocketAddr) -> (Arc<Conn>, bool) {
        let mut g = lock(&self.conns);
        if let Some(c) = g.1.get(&peer) {
            return (c.clone(), false);
        }
        g.0 += 1;
        let ordinal = g.0;
        let slow = self
            .slow
            .filter(|s| s.nth == ordinal)
            .map(|s| s.bytes_per_sec);
        let rate = match (self.cap, slow) {
            (Some(c), Some(s)) => Some(c.min(s)),
            (c, s) => s.or(c),
        };
        let conn = Arc::new(Conn {
            rate,
            next_free: Mutex::new(Instant::now()),
        });
        g.1.insert(peer, conn.clone());
        (conn, true)
    }

    pub fn reset(&self) {
        *lock(&self.conns) = (0, HashMap::new());
    }
}

/// Wraps `resp`'s body so that its bytes are counted for `origin` and, on the CDN, paced at
/// the connection's rate.
pub(crate) fn shape(
    shared: &Arc<Shared>,
    origin: &Origin,
    peer: SocketAddr,
    resp: Response,
) -> Response {
    let conn = match origin {
        Origin::Cdn => {
            let (conn, new) = shared.conditions.throttle.connection(peer);
            if new {
                shared.conditions.counters.new_cdn_connection();
            }
            Some(conn)
        }
        Origin::Hub => None,
    };
    let exact = resp.body().size_hint().exact();
    if exact == Some(0) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // A stream has no size of its own: keep the length on the wire (no chunked encoding).
    if let (Some(n), false) = (exact, parts.headers.contains_key(header::CONTENT_LENGTH)) {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    let state = Paced {
        inner: body.into_data_stream(),
        pending: Bytes::new(),
        shared: shared.clone(),
        origin: origin.clone(),
        rate: conn.as_ref().and_then(|c| c.rate),
        conn,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if st.pending.is_empty() {
            match st.inner.next().await? {
                Ok(b) => st.pending = b,
                Err(e) => return Some((Err(std::io::Error::other(e)), st)),
            }
        }
        let piece = match st.rate {
            // About 20 pieces a second, so a slow rate does not turn into bursts.
            Some(rate) => {
                let n = st.pending.len().min(((rate / 20) as usize).max(4096));
                let piece = st.pending.split_to(n);
                if let Some(conn) = &st.conn {
                    pace(conn, rate, n).await;
                }
                piece
            }
            None => std::mem::take(&mut st.pending),
        };
        st.shared.conditions.counters.sent(&st.origin, piece.len());
        Some((Ok::<Bytes, std::io::Error>(piece), st))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

struct Paced {
    inner: axum::body::BodyDataStream,
    pending: Bytes,
    shared: Arc<Shared>,
    origin: Origin,
    rate: Option<u64>,
    conn: Option<Arc<Conn>>,
}

/// Waits until `n` more bytes fit the connection's budget.
async fn pace(conn: &Conn, rate: u64, n: usize) {
    let cost = Duration::from_secs_f64(n as f64 / rate as f64);
    let deadline = {
        let mut next = lock(&conn.next_free);
        let start = (*next).max(Instant::now());
        *next = start + cost;
        *next
    };
    tokio::time::sleep_until(deadline.into()).await;
}
