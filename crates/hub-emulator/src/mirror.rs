//! Mirror mode: the hub origin behaves like olah 0.5.4, a self-hosted pull-through mirror
//! (issue #9 item 7; real-hub-2026.md §5, read from olah 0.5.4's `proxy/files.py` and
//! `constants.py`).
//!
//! What olah does, and what this module reproduces:
//! - it serves LFS bytes from its own origin: the resolve answers `200`/`206` with the bytes,
//!   never a `302` to another host (ETag the LFS oid, `X-Linked-Size`, `X-Repo-Commit`);
//! - it fetches the upstream in fixed blocks (`LFS_FILE_BLOCK`, 64 MiB), always a whole block,
//!   whatever range the client asked for, and caches each finished block;
//! - one request leads the fetch of a block and receives its own window of the block as the
//!   upstream bytes pass it, but its last piece is held back until the whole block is cached;
//! - other requests touching a block still being filled wait for it and get no body before it
//!   is done;
//! - headers are held until the first body piece is ready, at most `HEADER_HOLD_TIMEOUT`
//!   (5 s); then they are sent and the body follows when it can;
//! - when the leading client disconnects, the upstream fetch of its block is abandoned, and a
//!   waiting request takes the lead;
//! - cached blocks are served at once.
//!
//! The "upstream" is the emulator's own blob store, read at `upstream_bytes_per_sec` per block
//! fetch (one upstream connection per block, as olah opens one per block). Body faults are not
//! applied to mirror bodies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::scenario::Scenario;
use crate::serve::{RangePlan, plan_range};
use crate::state::{Blob, Shared, lock};

/// olah's `LFS_FILE_BLOCK`.
pub const OLAH_BLOCK_SIZE: u64 = 64 * 1024 * 1024;
/// olah's `HEADER_HOLD_TIMEOUT`, in milliseconds.
pub const OLAH_HEADER_HOLD_MS: u64 = 5000;

/// JSON: `{"upstream_bytes_per_sec": 2000000, "block_size": 67108864, "header_hold_ms": 5000}`
/// (every field optional; `upstream_bytes_per_sec` absent = as fast as the emulator goes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MirrorMode {
    /// Speed of one upstream block fetch.
    pub upstream_bytes_per_sec: Option<u64>,
    pub block_size: u64,
    pub header_hold_ms: u64,
}

impl Default for MirrorMode {
    fn default() -> Self {
        MirrorMode {
            upstream_bytes_per_sec: None,
            block_size: OLAH_BLOCK_SIZE,
            header_hold_ms: OLAH_HEADER_HOLD_MS,
        }
    }
}

impl MirrorMode {
    /// olah's defaults: 64 MiB blocks, 5 s header hold, unthrottled upstream.
    pub fn new() -> Self {
        Self::default()
    }
    pub fn upstream_bytes_per_sec(mut self, bps: u64) -> Self {
        self.upstream_bytes_per_sec = Some(bps.max(1));
        self
    }
    pub fn block_size(mut self, bytes: u64) -> Self {
        self.block_size = bytes.max(1);
        self
    }
    pub fn header_hold_ms(mut self, ms: u64) -> Self {
        self.header_hold_ms = ms;
        self
    }
}

impl Scenario {
    /// Issue #9: the hub origin serves LFS bytes itself, like an olah mirror.
    pub fn mirror_mode(mut self, mode: MirrorMode) -> Self {
        self.mirror_mode = Some(mode);
        self
    }
}

enum BlockState {
    /// A leader is fetching it; the receiver errors once the leader finishes or gives up.
    Filling(watch::Receiver<()>),
    Cached,
}

pub(crate) struct MirrorState {
    cfg: MirrorMode,
    /// (sha256, block index) → state; absent = not cached, nobody fetching.
    blocks: Mutex<HashMap<(String, u64), BlockState>>,
}

enum Claim {
    Cached,
    Wait(watch::Receiver<()>),
    Lead(Leader),
}

/// The lead on one block's fetch; dropping it unfinished abandons the fetch.
struct Leader {
    shared: Arc<Shared>,
    key: (String, u64),
    /// Dropped when the lead ends, which wakes the waiters (they then look again).
    done: Option<watch::Sender<()>>,
}

impl Leader {
    /// The block is complete: cache it and wake the waiters.
    fn finish(&mut self) {
        if let Some(m) = &self.shared.conditions.mirror {
            lock(&m.blocks).insert(self.key.clone(), BlockState::Cached);
        }
        self.done = None;
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        if self.done.take().is_some()
            && let Some(m) = &self.shared.conditions.mirror
        {
            // Abandoned: the next request for the block fetches it again.
            lock(&m.blocks).remove(&self.key);
        }
    }
}

impl MirrorState {
    pub fn new(cfg: MirrorMode) -> Self {
        MirrorState {
            cfg,
            blocks: Mutex::new(HashMap::new()),
        }
    }

    fn claim(&self, shared: &Arc<Shared>, sha: &str, block: u64) -> Claim {
        let key = (sha.to_string(), block);
        let mut blocks = lock(&self.blocks);
        match blocks.get(&key) {
            Some(BlockState::Cached) => Claim::Cached,
            Some(BlockState::Filling(rx)) => Claim::Wait(rx.clone()),
            None => {
                let (tx, rx) = watch::channel(());
                blocks.insert(key.clone(), BlockState::Filling(rx));
                Claim::Lead(Leader {
                    shared: shared.clone(),
                    key,
                    done: Some(tx),
                })
            }
        }
    }

    /// Forgets every cached block (not blocks being fetched).
    pub fn clear(&self) {
        lock(&self.blocks).retain(|_, s| matches!(s, BlockState::Filling(_)));
    }
}

/// Replaces an LFS `302` to the CDN by the bytes, served the way olah serves them; any other
/// answer passes through.
pub(crate) async fn intercept(
    shared: &Arc<Shared>,
    method: &Method,
    range: Option<&str>,
    resp: Response,
) -> Response {
    let Some(mirror) = &shared.conditions.mirror else {
        return resp;
    };
    if resp.status() != StatusCode::FOUND {
        return resp;
    }
    let Some(sha) = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(blob_sha)
    else {
        return resp;
    };
    let Some(entry) = shared.cdn_blobs.get(&sha) else {
        return resp;
    };
    let blob = entry.blob.clone();
    let len = blob.len();
    let mut headers = HeaderMap::new();
    for name in ["x-repo-commit", "x-linked-size", "x-linked-etag"] {
        if let Some(v) = resp.headers().get(name) {
            headers.insert(HeaderName::from_static(name), v.clone());
        }
    }
    let quoted = format!("\"{sha}\"");
    for (k, v) in [
        ("etag", quoted.as_str()),
        ("accept-ranges", "bytes"),
        ("content-type", "application/octet-stream"),
    ] {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(HeaderName::from_static(k), v);
        }
    }
    let (status, start, end) = match plan_range(range, len) {
        RangePlan::Full => (StatusCode::OK, 0, len),
        RangePlan::Partial(s, e) => (StatusCode::PARTIAL_CONTENT, s, e + 1),
        RangePlan::Unsatisfiable => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            r.headers_mut().extend(headers);
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1))
    {
        headers.insert(header::CONTENT_RANGE, v);
    }
    let reply = |body: Body| {
        let mut r = Response::new(body);
        *r.status_mut() = status;
        r.headers_mut().extend(headers.clone());
        r
    };
    if *method == Method::HEAD || start == end {
        return reply(Body::empty());
    }
    let (tx, mut rx) = mpsc::channel::<Bytes>(2);
    tokio::spawn(produce(shared.clone(), sha, blob, start, end, tx));
    let hold = Duration::from_millis(mirror.cfg.header_hold_ms);
    let first = match tokio::time::timeout(hold, rx.recv()).await {
        Ok(Some(b)) => Some(b),
        // The producer ended without a byte (cannot happen for a non-empty range).
        Ok(None) => return reply(Body::empty()),
        // Hold expired: the headers go now, the body when the block is there.
        Err(_) => None,
    };
    let stream = futures_util::stream::unfold((first, rx), |(first, mut rx)| async move {
        let next = match first {
            Some(b) => Some(b),
            None => rx.recv().await,
        };
        next.map(|b| (Ok::<Bytes, std::io::Error>(b), (None, rx)))
    });
    reply(Body::from_stream(stream))
}

/// The sha256 of a CDN location `…/repos/aa/bb/<sha256>?…`.
fn blob_sha(location: &str) -> Option<String> {
    let path = location.split('?').next()?;
    let tail = &path[path.find("/repos/")? + "/repos/".len()..];
    let sha = tail.rsplit('/').next()?;
    (sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then(|| sha.to_string())
}

/// Sends `[start, end)` of the blob to `tx`, block by block, as olah would.
async fn produce(
    shared: Arc<Shared>,
    sha: String,
    blob: Blob,
    start: u64,
    end: u64,
    tx: mpsc::Sender<Bytes>,
) {
    let Some(mirror) = &shared.conditions.mirror else {
        return;
    };
    let bs = mirror.cfg.block_size;
    let len = blob.len();
    let mut pos = start;
    while pos < end {
        let block = pos / bs;
        let (block_start, block_end) = (block * bs, ((block + 1) * bs).min(len));
        let hi = end.min(block_end);
        loop {
            match mirror.claim(&shared, &sha, block) {
                Claim::Cached => {
                    if !send_cached(&blob, pos, hi, &tx).await {
                        return;
                    }
                    break;
                }
                Claim::Wait(mut rx) => {
                    // Wakes when the leader finishes or gives up; then look again.
                    let _ = rx.changed().await;
                }
                Claim::Lead(mut leader) => {
                    let ok = lead(
                        &mirror.cfg,
                        &blob,
                        (block_start, block_end),
                        (pos, hi),
                        &tx,
                        &mut leader,
                    )
                    .await;
                    if !ok {
                        return;
                    }
                    break;
                }
            }
        }
        pos = hi;
    }
}

async fn send_cached(blob: &Blob, from: u64, to: u64, tx: &mpsc::Sender<Bytes>) -> bool {
    let mut pos = from;
    while pos < to {
        let n = ((to - pos) as usize).min(256 * 1024);
        if tx.send(blob.chunk(pos, n)).await.is_err() {
            return false;
        }
        pos += n as u64;
    }
    true
}

/// Fetches a whole block "upstream" at the configured rate, streaming the client's window as
/// the fill passes it and holding its last piece until the block is cached. `false` when the
/// client went away (the fetch is then abandoned by dropping the lead).
async fn lead(
    cfg: &MirrorMode,
    blob: &Blob,
    (block_start, block_end): (u64, u64),
    (lo, hi): (u64, u64),
    tx: &mpsc::Sender<Bytes>,
    leader: &mut Leader,
) -> bool {
    let rate = cfg.upstream_bytes_per_sec;
    let step = rate.map_or(1 << 20, |r| (r / 10).clamp(4096, 1 << 20));
    let began = Instant::now();
    let mut filled = block_start;
    let mut sent = lo;
    let mut pending: Option<Bytes> = None;
    while filled < block_end {
        if tx.is_closed() {
            // The client hung up (its body was dropped): olah abandons the upstream fetch.
            return false;
        }
        let n = step.min(block_end - filled);
        match rate {
            Some(r) => {
                let due = Duration::from_secs_f64((filled + n - block_start) as f64 / r as f64);
                tokio::time::sleep_until((began + due).into()).await;
            }
            None => tokio::task::yield_now().await,
        }
        filled += n;
        let avail = filled.min(hi);
        if avail > sent {
            if let Some(p) = pending.take()
                && tx.send(p).await.is_err()
            {
                return false;
            }
            pending = Some(blob.chunk(sent, (avail - sent) as usize));
            sent = avail;
        }
    }
    leader.finish();
    match pending {
        Some(p) => tx.send(p).await.is_ok(),
        None => true,
    }
}
