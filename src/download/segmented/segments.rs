//! One file's shared state: its segments, who works on which, how work is claimed and split,
//! and when a last range is raced.

use super::*;
use crate::download::in_flight::Token;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// One file's shared state: the open `.incomplete`, its segments, the hash state.
pub(super) struct Shared {
    pub(super) file: std::fs::File,
    pub(super) incomplete: PathBuf,
    pub(super) sidecar: PathBuf,
    pub(super) etag: String,
    pub(super) size: u64,
    /// Sorted by start; together they tile `[0, size)`.
    pub(super) segments: Mutex<Vec<Arc<Segment>>>,
    /// Bytes written in this attempt (any segment): "the file is progressing".
    pub(super) progress: AtomicU64,
    pub(super) cancelled: AtomicBool,
    /// Wakes the read-back hasher when a segment's written count grows (or on cancel).
    pub(super) signal: (Mutex<()>, Condvar),
    /// One sidecar write at a time.
    pub(super) persist_lock: Mutex<()>,
    /// The hash state, held by the hasher thread while it hashes ([`hasher`]).
    pub(super) hash: Mutex<hasher::HashState>,
    /// Chunks handed to the hasher thread, in file order ([`hasher`]).
    pub(super) handoff: hasher::Handoff,
    /// Requests started (claims: first segments, splits, races), for the debug summary.
    pub(super) connections_used: AtomicUsize,
    /// Connections fetching bytes now (a started connection that found no work never counts).
    pub(super) active_connections: AtomicUsize,
    /// The most that fetched at once.
    pub(super) peak_connections: AtomicUsize,
    /// [`now_ms`] when this attempt started.
    pub(super) started_ms: u64,
    /// A split or a race gave the file other bytes than the ones a connection handed to the
    /// hasher ([`writer`]): the digest is taken from the disk at the end instead.
    pub(super) rehash: AtomicBool,
    /// [`now_ms`] at the last sidecar write ([`RECORD_INTERVAL`]).
    pub(super) recorded_ms: AtomicU64,
    /// A fast link (see [`Split::BackEighth`]) whose probe has not paid (yet): new
    /// connections take the last eighth, finished ones no further work.
    pub(super) fast: AtomicBool,
    /// Dropped with the last holder of this state (the writer and hasher threads among them):
    /// then nothing of this transfer writes any more.
    pub(super) _in_flight: Token,
}

pub(super) struct Segment {
    pub(super) start: u64,
    /// Exclusive; shrinks when the segment is split.
    pub(super) end: AtomicU64,
    /// Bytes from `start` that are written (a prefix of the segment).
    pub(super) written: AtomicU64,
    /// `written` at the last sidecar write.
    pub(super) persisted: AtomicU64,
    /// Connections working on it (0: free; 2: a race).
    pub(super) workers: AtomicUsize,
    /// [`now_ms`] at the last new byte (or claim).
    pub(super) last_progress_ms: AtomicU64,
    /// [`now_ms`] and `written` when the current connection took it: its rate since.
    pub(super) claimed_at_ms: AtomicU64,
    pub(super) claimed_written: AtomicU64,
    /// Wakes a connection waiting on its body when a racing one finished the segment.
    pub(super) finished: tokio::sync::Notify,
    /// Held while a chunk is clipped, written and published, so that in a race every byte is
    /// written once, by whichever connection brought it first (`writer::place_chunk`).
    /// Uncontended outside races: one lock per chunk.
    pub(super) placing: Mutex<()>,
}

impl Segment {
    pub(super) fn new(start: u64, end: u64, written: u64) -> Segment {
        Segment {
            start,
            end: AtomicU64::new(end),
            written: AtomicU64::new(written),
            persisted: AtomicU64::new(written),
            workers: AtomicUsize::new(0),
            last_progress_ms: AtomicU64::new(0),
            claimed_at_ms: AtomicU64::new(0),
            claimed_written: AtomicU64::new(written),
            finished: tokio::sync::Notify::new(),
            placing: Mutex::new(()),
        }
    }

    /// A connection takes it at `now`.
    pub(super) fn taken(&self, now: u64) {
        self.workers.fetch_add(1, Ordering::AcqRel);
        self.last_progress_ms.store(now, Ordering::Release);
        self.claimed_at_ms.store(now, Ordering::Release);
        self.claimed_written
            .store(self.written.load(Ordering::Acquire), Ordering::Release);
    }

    /// Whether its one connection is dragging: no new byte for [`RACE_AFTER`], or, after a
    /// second of measuring, a rate under a quarter of a typical connection's (`typical`, bytes
    /// per ms) that needs more than [`RACE_AFTER`] for what is left. A CDN that caps every
    /// connection alike makes no segment drag: a racer would be no faster.
    pub(super) fn is_dragging(&self, now: u64, typical: f64) -> bool {
        let race_after = RACE_AFTER.as_millis() as u64;
        if now.saturating_sub(self.last_progress_ms.load(Ordering::Acquire)) >= race_after {
            return true;
        }
        let measured = now.saturating_sub(self.claimed_at_ms.load(Ordering::Acquire));
        if measured < 1_000 {
            return false;
        }
        let done = self
            .written
            .load(Ordering::Acquire)
            .saturating_sub(self.claimed_written.load(Ordering::Acquire));
        let rate = done as f64 / measured as f64;
        done == 0
            || (rate * 4.0 < typical
                && self.remaining().saturating_mul(measured) / done > race_after)
    }

    pub(super) fn end(&self) -> u64 {
        self.end.load(Ordering::Acquire)
    }

    /// The first byte not yet written.
    pub(super) fn frontier(&self) -> u64 {
        self.start + self.written.load(Ordering::Acquire)
    }

    pub(super) fn remaining(&self) -> u64 {
        self.end().saturating_sub(self.frontier())
    }

    pub(super) fn is_done(&self) -> bool {
        self.remaining() == 0
    }
}

impl Shared {
    pub(super) fn new(
        opened: Opened,
        incomplete: PathBuf,
        etag: String,
        size: u64,
        hasher: ContentHasher,
        in_flight: Token,
    ) -> Shared {
        Shared {
            file: opened.file,
            sidecar: sidecar_path(&incomplete),
            incomplete,
            etag,
            size,
            segments: Mutex::new(
                opened
                    .layout
                    .iter()
                    .map(|&[start, end, written]| Arc::new(Segment::new(start, end, written)))
                    .collect(),
            ),
            progress: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            signal: (Mutex::new(()), Condvar::new()),
            persist_lock: Mutex::new(()),
            hash: Mutex::new(hasher::HashState::new(hasher)),
            handoff: hasher::Handoff::default(),
            connections_used: AtomicUsize::new(0),
            active_connections: AtomicUsize::new(0),
            peak_connections: AtomicUsize::new(0),
            started_ms: now_ms(),
            fast: AtomicBool::new(false),
            recorded_ms: AtomicU64::new(0),
            rehash: AtomicBool::new(false),
            _in_flight: in_flight,
        }
    }

    /// Whether [`RECORD_INTERVAL`] has passed since the last sidecar write.
    pub(super) fn record_is_due(&self) -> bool {
        now_ms().saturating_sub(self.recorded_ms.load(Ordering::Acquire))
            >= RECORD_INTERVAL.as_millis() as u64
    }

    /// How a connection may split work now: `fresh` when it has not fetched anything yet;
    /// `may_resolve` whether a split's resolve fits the quota
    /// ([`crate::hub::HubClient::may_resolve_optionally`]).
    pub(super) fn split_now(&self, fresh: bool, may_resolve: bool) -> Split {
        match (may_resolve, self.fast.load(Ordering::Acquire), fresh) {
            (false, _, _) => Split::Never,
            (true, false, _) => Split::Half,
            (true, true, true) => Split::BackEighth,
            (true, true, false) => Split::Never,
        }
    }

    pub(super) fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(super) fn segment_count(&self) -> usize {
        self.segments.lock().map(|s| s.len()).unwrap_or(0)
    }

    pub(super) fn written_bytes(&self) -> u64 {
        self.segments()
            .iter()
            .map(|s| s.written.load(Ordering::Acquire).min(s.end() - s.start))
            .sum()
    }

    pub(super) fn is_complete(&self) -> bool {
        self.segments().iter().all(|s| s.is_done())
    }

    /// Whether every segment being fetched has received bytes since its connection took it.
    pub(super) fn all_flowing(&self) -> bool {
        self.segments().iter().all(|s| {
            s.workers.load(Ordering::Acquire) == 0
                || s.is_done()
                || s.written.load(Ordering::Acquire) > s.claimed_written.load(Ordering::Acquire)
        })
    }

    /// Whether a new connection would find work: a free segment, or one it may split.
    pub(super) fn has_work(&self, unit: u64, split: Split) -> bool {
        self.segments().iter().any(|s| {
            let remaining = s.remaining();
            remaining > 0
                && (s.workers.load(Ordering::Acquire) == 0 || split_point(s, unit, split).is_some())
        })
    }

    /// Work for a connection: a free segment first (lowest offset), else a split of the
    /// lowest segment with at least half the most bytes left, as `split` allows. `None`:
    /// nothing left to take.
    pub(super) fn claim(&self, unit: u64, now_ms: u64, split: Split) -> Option<Claim> {
        let mut segments = self.segments.lock().ok()?;
        if let Some(free) = segments
            .iter()
            .find(|s| s.remaining() > 0 && s.workers.load(Ordering::Acquire) == 0)
        {
            free.taken(now_ms);
            return Some(Claim {
                segment: free.clone(),
                split: false,
            });
        }
        let candidates: Vec<(usize, u64, u64)> = segments
            .iter()
            .enumerate()
            .filter_map(|(i, s)| split_point(s, unit, split).map(|p| (i, p, s.end() - p)))
            .collect();
        // The lowest segment with at least half the largest remainder, not the largest: the
        // splits then finish the file roughly in order, so the read-back hasher keeps up
        // during the download instead of hashing nearly all of it after the last byte (SHA-256
        // is sequential). With 32 capped connections: 2.37 s against 2.64 s,
        // the hash done 0.03 s after the last byte instead of 0.50 s, for 53 segment requests
        // instead of 33.
        let largest = candidates.iter().map(|c| c.2).max()?;
        let (index, point) = candidates
            .iter()
            .find(|c| c.2.saturating_mul(2) >= largest)
            .map(|c| (c.0, c.1))?;
        let old = &segments[index];
        let end = old.end.swap(point, Ordering::AcqRel);
        let new = Arc::new(Segment::new(point, end, 0));
        new.taken(now_ms);
        segments.insert(index + 1, new.clone());
        Some(Claim {
            segment: new,
            split: true,
        })
    }

    /// A last range worth racing: no segment is free or splittable, and this one has one
    /// connection and is dragging ([`Segment::is_dragging`]).
    /// The segment itself, not its index: a split may insert before it until the racer joins.
    pub(super) fn stalled_segment(
        &self,
        unit: u64,
        now: u64,
        split: Split,
    ) -> Option<Arc<Segment>> {
        if self.has_work(unit, split) {
            return None;
        }
        let segments = self.segments();
        let elapsed = now.saturating_sub(self.started_ms).max(1) as f64;
        let connections = self.peak_connections.load(Ordering::Relaxed).max(1) as f64;
        let typical = self.progress.load(Ordering::Acquire) as f64 / elapsed / connections;
        segments.into_iter().find(|s| {
            s.remaining() > 0
                && s.workers.load(Ordering::Acquire) == 1
                && s.is_dragging(now, typical)
        })
    }

    /// Joins a race on `segment` (see [`Shared::stalled_segment`]).
    pub(super) fn join_race(&self, segment: &Arc<Segment>, now_ms: u64) -> Option<Claim> {
        // Under the lock, as claims and splits are.
        let _segments = self.segments.lock().ok()?;
        if segment.remaining() == 0 || segment.workers.load(Ordering::Acquire) != 1 {
            return None;
        }
        segment.taken(now_ms);
        Some(Claim {
            segment: segment.clone(),
            split: true,
        })
    }

    pub(super) fn notify(&self) {
        let (lock, condvar) = &self.signal;
        let _guard = lock.lock();
        condvar.notify_all();
    }

    pub(super) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.notify();
    }

    /// The end of the contiguous written prefix that starts at `position`.
    pub(super) fn written_from(&self, position: u64) -> u64 {
        let Ok(segments) = self.segments.lock() else {
            return position;
        };
        let mut at = position;
        for segment in segments.iter() {
            let end = segment.end();
            if end <= at {
                continue;
            }
            if segment.start > at {
                break;
            }
            let frontier = segment.frontier().min(end);
            if frontier <= at {
                break;
            }
            at = frontier;
            if frontier < end {
                break;
            }
        }
        at
    }

    pub(super) fn sidecar_json(&self) -> Result<String, DownloadError> {
        let record = Sidecar {
            version: SIDECAR_VERSION,
            etag: self.etag.clone(),
            size: self.size,
            chunks: self.layout(),
        };
        serde_json::to_string(&record).map_err(|e| DownloadError::Task(e.to_string()))
    }

    pub(super) fn layout(&self) -> Vec<[u64; 3]> {
        self.segments()
            .iter()
            .map(|s| {
                let end = s.end();
                [
                    s.start,
                    end,
                    s.written.load(Ordering::Acquire).min(end - s.start),
                ]
            })
            .collect()
    }
}

/// Milliseconds on a monotonic clock shared by every thread of the process.
pub(super) fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Where a split of `segment` may go: half-way through what is left (rounded up to `unit`),
/// or where its last eighth starts (rounded down), leaving at least `unit` on both sides (and
/// never inside the bytes the connection is writing).
pub(super) fn split_point(segment: &Segment, unit: u64, split: Split) -> Option<u64> {
    if segment.workers.load(Ordering::Acquire) == 0 {
        return None;
    }
    let frontier = segment.frontier() + SPLIT_MARGIN;
    let end = segment.end();
    if end <= frontier {
        return None;
    }
    let left = end - frontier;
    let point = match split {
        Split::Never => return None,
        Split::Half => (frontier + left / 2).div_ceil(unit) * unit,
        Split::BackEighth => (end - left / 8) / unit * unit,
    };
    (point >= frontier + unit && point + unit <= end).then_some(point)
}

/// Whether, and how, a claim may split a segment that already has a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Split {
    /// Only free segments (no room in the resolver quota, or a fast link's connection that
    /// finished its work).
    Never,
    /// Half of what is left: the usual split, for growth and for the tail.
    Half,
    /// The last eighth of what is left: a fast link's *probe*. When one connection alone
    /// brings hundreds of MB/s, the machine, not the link, is usually the limit (a 2-core
    /// machine hashing two 1 GB files is CPU-bound with one connection each, docs/engine.md).
    /// More connections then bring nothing, and every byte they fetch ahead of the hash
    /// position is hashed after the last one arrives, read back cold from the page cache
    /// (measured: 16 connections 1.66 s against one's 1.58 s, median of 9). A probe that does
    /// not pay costs an eighth of that; one that pays turns the file back to normal growth.
    BackEighth,
}

/// Work a connection took.
pub(super) struct Claim {
    pub(super) segment: Arc<Segment>,
    /// It cost a split (or a race), not just a free segment.
    pub(super) split: bool,
}

/// Stops the hasher if the transfer future is dropped (another file failed, Ctrl-C).
pub(super) struct CancelOnDrop(pub(super) Arc<Shared>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
