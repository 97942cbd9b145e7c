//! Large files over several connections (issues #5, #9): one *segment* per connection, each
//! fetched with one resolve and one request, written with positional writes into one
//! preallocated `.incomplete`, hashed in order, verified and placed by [`super::verify::settle`].
//!
//! Why it is built this way:
//! - **One resolve per segment, not per fixed chunk.** The Hub counts every `/resolve/` URL
//!   against a quota (docs/real-hub.md §1; 5000 per 5 minutes for a free account), and a
//!   mirror makes one upstream call per client request. So the file starts as one segment on
//!   one connection; every further connection *splits* the largest remaining segment (a fresh
//!   resolve for the new range), and a connection re-resolves only after a failure. A file
//!   costs at most one resolve per connection, plus one per failure or split. Each signed URL
//!   is used once, for exactly the `Range` it was minted for (Xet-era URLs are bound to it,
//!   docs/protocol.md §4): a segment that was cut simply stops reading its body at the new end.
//! - **Adaptive connections.** In default mode a file starts with [`INITIAL_CONNECTIONS`] and
//!   doubles them while the total throughput keeps growing (by [`GROWTH_FACTOR`] per step), up
//!   to [`MAX_CONNECTIONS`]; a step that paid in proportion (capped connections) is followed by
//!   a ×4 one; it stops at the first step that does not pay. A CDN that caps
//!   each connection (issue #9 measured 25 MB/s) thus gets as many as it takes, an uncapped
//!   link stays at a few. A *fast link*, where the first connection alone writes
//!   [`FAST_BYTES`] within [`FAST_WITHIN`] of its answer, keeps the file on that connection:
//!   there the CPU (hashing, copying) is the limit, and more connections only move hashing to
//!   the end; one probe connection takes the last eighth, and growth resumes only if it pays
//!   ([`Split::BackEighth`]). `--connections N` pins the number.
//! - **No tail.** A connection that finishes takes work from the others: it splits the lowest
//!   segment whose remainder is at least half the largest (so the file completes roughly in
//!   order and the hasher keeps up), down to [`min_segment`]. A last range that is too small to split but
//!   slow (no new byte for [`RACE_AFTER`], or a rate that needs longer than that for the rest)
//!   gets a second request racing it; every byte is written once, by the first of the two to
//!   bring it ([`writer`]), and the segment is done when either reaches its end.
//! - **Mirrors.** When an LFS file's bytes come from the endpoint's own origin instead of a
//!   redirect to another host, the endpoint is a pull-through mirror such as olah
//!   (docs/real-hub.md §5): it fetches upstream in 64 MiB blocks and holds requests for a block
//!   it is still filling. Then a file uses at most [`MIRROR_CONNECTIONS`] and splits only at
//!   64 MiB boundaries, so every connection leads its own block. The first connection of a
//!   file opens alone, and the others start only once its answer told which case this is.
//! - **Positional writes, bounded buffers, no copy.** Each connection hands the body's chunks
//!   as they arrive (reference-counted `Bytes`; hyper hands out about 300 KiB at a time on a
//!   fast link) to its own writer thread ([`writer`]), which `write_at`s them while the
//!   connection keeps receiving: the bytes are copied once, into the page cache, never into a
//!   buffer of ours first (that copy cost 2 GB of `memcpy` per two 1 GB files, on a CPU-bound
//!   2-core machine, issue #9 docs/protocol.md §6). Memory is a few chunks per connection, whatever the file
//!   size. The file is preallocated so that a full disk fails at the start.
//! - **Hashing from memory when bytes arrive in order.** sha256 and the git sha1 are
//!   sequential. Each file has one hasher thread ([`hasher`]): the connection whose chunk is
//!   next in line hands it over, and the hash runs beside the receiving and the writing; with
//!   as many fast-link files as cores the connection hashes the chunk itself instead, on
//!   arrival. Bytes that arrived ahead of the hash position are read back later by the
//!   hasher thread, from the page cache. The debug log (`-v`) says how many bytes took each
//!   path.
//! - **Resume, within and across runs.** Progress is persisted in `<incomplete>.chunks` (JSON:
//!   each segment's range and how many of its bytes are written), rewritten atomically after
//!   every 4 MiB of a segment (or `--chunk-size`, if smaller; at most every
//!   [`RECORD_INTERVAL`] per file), on every split and on failures. A killed
//!   run's successor reads it and fetches only what is missing; without a record, the
//!   `.incomplete` of the single-stream path counts as a written prefix. The final hash covers
//!   every byte; a file that does not match is discarded and fetched once more, never placed.
//! - **A server that ignores `Range`** (answers 200) cannot be split; the caller falls back to
//!   the single-stream path, which handles that case.
//! - **Failures.** Each connection retries its segment through the one retry policy
//!   ([`crate::hub::retry`]); a failure counts against the no-progress limit only if the whole
//!   file made no progress since the previous one, so a file still flowing on other connections
//!   is never given up.
//!
//! Writes are not `fsync`ed: a SIGKILL leaves every written byte in the page cache, and after a
//! power loss the final hash check catches any segment the record claims but the disk lost.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use super::error::DownloadError;
use super::transfer::{Tally, Transfer, describe_interruption, file_len};
use super::verify::{Settled, after_mismatch, settle};
use crate::cache::CacheError;
use crate::hash::{ContentHasher, HashKind, hash_file_prefix};
use crate::hub::HubError;
use crate::hub::error::{HubErrorKind, NetworkErrorKind};
use crate::hub::fetch::FetchError;
use crate::hub::retry::{Attempts, RetryPolicy};
use crate::output;
use crate::output::progress::FileProgress;
pub use hasher::FastFiles;
use writer::Writer;

mod hasher;
mod writer;

/// What a split leaves the running connection past its written frontier: about what it has
/// received but not written yet (its writer's queue), so that little of it is dropped.
const SPLIT_MARGIN: u64 = 512 << 10;
const SIDECAR_VERSION: u32 = 1;
/// The most bytes a segment writes between two updates of the progress record (fewer with a
/// smaller `--chunk-size`): what a killed run's successor may fetch again, per connection
/// (issue #12).
const RECORD_EVERY: u64 = 4 << 20;
/// ... and at most this often per file. A record is a write and a rename; on a fast link
/// every 4 MiB meant 250 of them per GB, which cost about 5 % of a CPU-bound download's wall
/// time (issue #9 docs/protocol.md §6: two 1 GB files, 1.70 s against 1.61 s, medians of 7). A killed run's
/// successor then fetches again at most this long's worth of bytes per connection.
const RECORD_INTERVAL: Duration = Duration::from_millis(100);
/// Connections a large file starts with in adaptive mode.
pub const INITIAL_CONNECTIONS: usize = 8;
/// The most connections one file (and, together, all files) may use in adaptive mode.
pub const MAX_CONNECTIONS: usize = 32;
/// Connections per file behind a pull-through mirror.
pub const MIRROR_CONNECTIONS: usize = 2;
/// A pull-through mirror's block (olah's `LFS_FILE_BLOCK`, docs/real-hub.md §5).
pub const MIRROR_BLOCK: u64 = 64 << 20;
/// How often the throughput is sampled, and how long new connections get to ramp up.
const GROWTH_WINDOW: Duration = Duration::from_millis(250);
/// A step of growth must raise the throughput by this factor to be followed by another.
const GROWTH_FACTOR: f64 = 1.3;
/// A first connection that writes this many bytes within [`FAST_WITHIN`] of its answer
/// (about 200 MB/s) marks a *fast link*: see [`Split::BackEighth`].
const FAST_BYTES: u64 = 8 << 20;
const FAST_WITHIN: Duration = Duration::from_millis(40);
/// A last range without a new byte for this long gets a second request racing it.
pub const RACE_AFTER: Duration = Duration::from_secs(2);

/// How large files are split; from `--connections` and `--chunk-size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// `--connections N`: that many per file; `None` adapts ([`INITIAL_CONNECTIONS`] up to
    /// [`MAX_CONNECTIONS`]).
    pub connections: Option<usize>,
    /// Files of at least twice this size are split; a segment's progress is saved after every
    /// this many bytes.
    pub chunk_size: u64,
}

/// The command's defaults: adaptive connections, 16 MiB (`--chunk-size`).
impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            connections: None,
            chunk_size: 16 << 20,
        }
    }
}

impl Tuning {
    /// Files at least this large are split; smaller ones stream on one connection, where a
    /// second request would cost a resolve round trip for little gain.
    pub fn parallel_threshold(&self) -> u64 {
        self.chunk_size.saturating_mul(2)
    }

    pub fn splits(&self, size: u64) -> bool {
        self.connections != Some(1) && size >= self.parallel_threshold()
    }

    /// The connections all large files share: two files at full width when pinned; the
    /// adaptive limit otherwise.
    pub fn budget(&self) -> usize {
        match self.connections {
            Some(n) => n.max(1) * 2,
            None => MAX_CONNECTIONS,
        }
    }
}

/// The smallest segment a split may leave (either side), outside mirror mode.
pub fn min_segment(tuning: &Tuning) -> u64 {
    tuning.chunk_size.clamp(SPLIT_MARGIN * 2, 4 << 20)
}

/// A large file's transfer: the same source and destination as the single-stream path, plus
/// how to split it and what all large files share.
pub struct ParallelTransfer<'a> {
    pub transfer: &'a Transfer<'a>,
    pub tuning: Tuning,
    /// The connection budget all large files share.
    pub budget: Arc<Semaphore>,
    /// Set once any LFS file was served by the endpoint itself (a pull-through mirror).
    pub mirror: Arc<AtomicBool>,
    /// The files on a fast link now: where hashing runs ([`hasher`]).
    pub fast_files: Arc<FastFiles>,
}

/// How a parallel transfer ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum ParallelEnd {
    /// Verified and renamed into place.
    Placed,
    /// The server ignores `Range`; the partial state was removed and the caller should stream
    /// the file on one connection instead.
    RangesUnsupported,
}

enum AttemptEnd {
    Verified,
    Corrupt { actual: String },
    RangesIgnored,
}

impl ParallelTransfer<'_> {
    pub async fn run(&self) -> Result<ParallelEnd, DownloadError> {
        let mut corrupt_attempts = 0;
        let mut first = true;
        loop {
            let end = self.attempt(first).await?;
            first = false;
            match end {
                AttemptEnd::Verified => {
                    self.transfer.progress.finish();
                    return Ok(ParallelEnd::Placed);
                }
                AttemptEnd::RangesIgnored => {
                    output::debug(|| {
                        format!(
                            "{}: the server ignores Range; using one connection",
                            self.transfer.file.path
                        )
                    });
                    return Ok(ParallelEnd::RangesUnsupported);
                }
                AttemptEnd::Corrupt { actual } => {
                    after_mismatch(self.transfer.file, &mut corrupt_attempts, actual)?;
                }
            }
        }
    }

    async fn attempt(&self, first: bool) -> Result<AttemptEnd, DownloadError> {
        let (incomplete, size, etag) = (
            self.transfer.incomplete.clone(),
            self.transfer.file.size,
            self.transfer.file.etag.clone(),
        );
        let opened = tokio::task::spawn_blocking(move || open_state(&incomplete, &etag, size))
            .await
            .map_err(task_error)??;
        let lfs = self.transfer.file.kind == HashKind::Sha256;
        let shared = Arc::new(Shared::new(
            opened,
            self.transfer.incomplete.clone(),
            self.transfer.file.etag.clone(),
            size,
            ContentHasher::new(self.transfer.file.kind, size),
        ));
        let credited = shared.written_bytes();
        if credited > 0 {
            output::debug(|| {
                format!(
                    "{}: resuming with {credited} of {size} bytes on disk",
                    self.transfer.file.path
                )
            });
        }
        self.transfer.progress.advance_resumed(credited);
        if first {
            self.transfer.tally.resumed(credited);
        }
        let _cancel = CancelOnDrop(shared.clone());
        let hasher = {
            let shared = shared.clone();
            tokio::task::spawn_blocking(move || shared.hash_in_order())
        };
        let (opened_tx, opened_rx) = watch::channel(None);
        let context = Arc::new(WorkerContext {
            transfer: TransferRef::of(self.transfer),
            retry: self.transfer.retry_policy(),
            tuning: self.tuning,
            lfs,
            mirror: self.mirror.clone(),
            fast_files: self.fast_files.clone(),
            shared: shared.clone(),
            opened: opened_tx,
        });
        let started = Instant::now();
        let outcome = self.connections(&context, opened_rx).await;
        let bytes_in = started.elapsed();
        if let Err(failure) = outcome {
            shared.cancel();
            let _ = hasher.await;
            return match failure {
                WorkerError::Fatal(error) => {
                    // Keep what was written for the next run.
                    let _ = persist(&shared).await;
                    Err(error)
                }
                WorkerError::RangesIgnored => {
                    self.transfer.progress.rewind(shared.written_bytes());
                    self.transfer.tally.take_back(
                        shared.progress.load(Ordering::Acquire),
                        if first { credited } else { 0 },
                    );
                    let (incomplete, sidecar) = (shared.incomplete.clone(), shared.sidecar.clone());
                    tokio::task::spawn_blocking(move || discard(&incomplete, &sidecar))
                        .await
                        .map_err(task_error)??;
                    Ok(AttemptEnd::RangesIgnored)
                }
            };
        }
        let mut digest = hasher.await.map_err(task_error)?.map_err(|e| {
            DownloadError::from(CacheError::io("read", &self.transfer.incomplete, e))
        })?;
        if shared.rehash.load(Ordering::Acquire) {
            output::debug(|| {
                format!(
                    "{}: bytes hashed on arrival came from another request (a split or a race); hashing the file again from disk",
                    self.transfer.file.path
                )
            });
            let (incomplete, kind) = (self.transfer.incomplete.clone(), self.transfer.file.kind);
            digest = tokio::task::spawn_blocking(move || {
                let mut hasher = ContentHasher::new(kind, size);
                hash_file_prefix(&incomplete, size, &mut hasher).map(|()| hasher.finish())
            })
            .await
            .map_err(task_error)?
            .map_err(|e| CacheError::io("read", &self.transfer.incomplete, e))?;
        }
        let (from_memory, read_back) = shared.hash_paths();
        let hashed = started.elapsed();
        output::debug(|| {
            format!(
                "{}: every byte in after {:.2} s, hashed {:.2} s later; {from_memory} bytes hashed from memory, {read_back} read back from the page cache; {} segment requests, {} segments, at most {} connections at once",
                self.transfer.file.path,
                bytes_in.as_secs_f64(),
                (hashed - bytes_in).as_secs_f64(),
                shared.connections_used.load(Ordering::Relaxed),
                shared.segment_count(),
                shared.peak_connections.load(Ordering::Relaxed),
            )
        });
        let file = self.transfer.file.clone();
        let destination = self.transfer.destination.clone();
        let settled = {
            let shared = shared.clone();
            tokio::task::spawn_blocking(move || {
                settle(
                    &file,
                    digest,
                    &shared.incomplete,
                    Some(&shared.sidecar),
                    &destination,
                )
            })
            .await
            .map_err(task_error)??
        };
        match settled {
            Settled::Placed => Ok(AttemptEnd::Verified),
            Settled::Corrupt { actual } => {
                self.transfer.progress.rewind(size);
                Ok(AttemptEnd::Corrupt { actual })
            }
        }
    }

    /// Runs the connections of one attempt until every segment is written: the first alone
    /// until its answer arrives (mirror or not), then the initial set, then growth and races.
    async fn connections(
        &self,
        context: &Arc<WorkerContext>,
        mut opened: watch::Receiver<Option<bool>>,
    ) -> Result<(), WorkerError> {
        let shared = &context.shared;
        let mut workers = JoinSet::new();
        let mut running = 0usize;
        let spawn = |workers: &mut JoinSet<_>, permit: OwnedSemaphorePermit| {
            workers.spawn(connection(context.clone(), permit, None));
        };
        let permit = self
            .budget
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| DownloadError::Task(e.to_string()))?;
        spawn(&mut workers, permit);
        running += 1;
        // Wait for the first answer (or the first connection's end).
        loop {
            tokio::select! {
                changed = opened.changed() => {
                    if changed.is_err() || opened.borrow().is_some() {
                        break;
                    }
                }
                joined = workers.join_next() => {
                    match joined {
                        Some(result) => {
                            running -= 1;
                            flatten(result)?;
                        }
                        None => break,
                    }
                    break;
                }
            }
        }
        let mirror = context.mirror_now();
        let limit = context.connection_limit(mirror);
        let adaptive = self.tuning.connections.is_none() && !mirror;
        let fast = adaptive && running > 0 && {
            let first = first_connection(shared, &mut workers).await?;
            running -= usize::from(first.ended);
            first.fast
        };
        let _fast_file = fast.then(|| context.fast_files.enter());
        if fast {
            shared.fast.store(true, Ordering::Release);
            output::debug(|| {
                format!(
                    "{}: one connection brought {} MiB within {} ms: a fast link, so it stays alone unless a probe connection (the last eighth) pays",
                    context.transfer.path,
                    FAST_BYTES >> 20,
                    FAST_WITHIN.as_millis()
                )
            });
        }
        let initial = if mirror {
            limit
        } else if fast {
            1
        } else {
            self.tuning.connections.unwrap_or(INITIAL_CONNECTIONS)
        }
        .min(limit);
        while running < initial && shared.has_work(context.split_unit(mirror), Split::Half) {
            let Ok(permit) = self.budget.clone().acquire_owned().await else {
                break;
            };
            spawn(&mut workers, permit);
            running += 1;
        }
        let mut growth = Growth::new(adaptive, fast);
        // A fast link's probe is pointless on a machine with no idle CPU: the probe's bytes
        // would only be hashed later, read back.
        let mut cpu_before = if fast { cpu_times().await } else { None };
        let mut ticker = tokio::time::interval(GROWTH_WINDOW);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                joined = workers.join_next() => {
                    match joined {
                        Some(result) => {
                            running -= 1;
                            flatten(result)?;
                        }
                        None => {
                            if shared.is_complete() {
                                return Ok(());
                            }
                            // Every connection ended but bytes are missing (a segment freed
                            // by a connection that stopped early): start another.
                            let permit = self
                                .budget
                                .clone()
                                .acquire_owned()
                                .await
                                .map_err(|e| DownloadError::Task(e.to_string()))?;
                            spawn(&mut workers, permit);
                            running += 1;
                        }
                    }
                }
                _ = ticker.tick() => {
                    let mirror = context.mirror_now();
                    let limit = context.connection_limit(mirror);
                    let unit = context.split_unit(mirror);
                    if growth.may_probe() {
                        let now = cpu_times().await;
                        if let (Some(before), Some(now)) = (cpu_before, now) {
                            growth.machine_idle(now.idle_share_since(before));
                        }
                        cpu_before = now;
                    }
                    let wanted = growth.sample(
                        shared.written_bytes(),
                        shared.all_flowing(),
                        running,
                        limit,
                    );
                    shared.fast.store(growth.is_fast(), Ordering::Release);
                    let fresh = shared.split_now(true, true);
                    let mut added = 0;
                    while running < limit && added < wanted && shared.has_work(unit, fresh) {
                        let Ok(permit) = self.budget.clone().try_acquire_owned() else {
                            break;
                        };
                        spawn(&mut workers, permit);
                        running += 1;
                        added += 1;
                    }
                    // Never behind a mirror: a second request for a block it is still
                    // filling is only held back, and costs it an upstream resolve.
                    if running < limit
                        && !mirror
                        && context.transfer.client.may_resolve_optionally()
                        && let Some(stalled) =
                            shared.stalled_segment(unit, now_ms(), shared.split_now(false, true))
                        && let Ok(permit) = self.budget.clone().try_acquire_owned()
                    {
                        workers.spawn(connection(context.clone(), permit, Some(stalled)));
                        running += 1;
                    }
                }
            }
        }
    }
}

/// What the first connection's start says about the link.
struct FirstConnection {
    /// It alone wrote [`FAST_BYTES`] within [`FAST_WITHIN`] of its answer. A slow start (a
    /// real network's first round trips) says no, which only means the usual growth.
    fast: bool,
    /// It ended meanwhile (a small file done).
    ended: bool,
}

/// Watches the first connection for up to [`FAST_WITHIN`] ([`FirstConnection`]).
async fn first_connection(
    shared: &Shared,
    workers: &mut JoinSet<Result<(), WorkerError>>,
) -> Result<FirstConnection, WorkerError> {
    let answered = shared.progress.load(Ordering::Acquire);
    let deadline = tokio::time::Instant::now() + FAST_WITHIN;
    loop {
        if shared.progress.load(Ordering::Acquire) - answered >= FAST_BYTES {
            return Ok(FirstConnection {
                fast: true,
                ended: false,
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(FirstConnection {
                fast: false,
                ended: false,
            });
        }
        tokio::select! {
            joined = workers.join_next() => {
                let ended = joined.map(flatten).transpose()?.is_some();
                return Ok(FirstConnection { fast: false, ended });
            }
            () = tokio::time::sleep(Duration::from_millis(2)) => {}
        }
    }
}

fn flatten(
    result: Result<Result<(), WorkerError>, tokio::task::JoinError>,
) -> Result<(), WorkerError> {
    result.unwrap_or_else(|e| Err(WorkerError::Fatal(task_error(e))))
}

/// The adaptive controller: grows the connections while a step raises the throughput by
/// [`GROWTH_FACTOR`], and stops at the first step that does not. A step that paid almost in
/// proportion (twice the connections, nearly twice the bytes: each connection is capped, as a
/// CDN that limits every connection does) is followed by a bigger one, ×4 instead of ×2:
/// issue #9 measured a 25 MB/s cap per connection, where the doubling alone took 1.4 s of a
/// 3.2 s download to reach 32 connections.
struct Growth {
    enabled: bool,
    /// A fast link ([`Split::BackEighth`]): steps add one probe connection until one pays.
    fast: bool,
    last_bytes: Option<u64>,
    last_rate: f64,
    /// Samples to skip while new connections ramp up.
    settling: u32,
    /// The connections before and after the last step (0 before the first).
    before_step: usize,
    after_step: usize,
}

/// The idle share of the machine's CPU below which a fast link gets no probe connection.
const PROBE_IDLE_CPU: f64 = 0.10;

/// Cumulative CPU time of the whole machine (`/proc/stat`, in clock ticks), to tell whether
/// it has CPU to spare. `None` where this cannot be read (other systems): then a fast link
/// probes as if the CPU were free.
#[derive(Clone, Copy, Debug)]
struct CpuTimes {
    idle: u64,
    total: u64,
}

impl CpuTimes {
    /// The `cpu` line of `/proc/stat` (proc(5)): user nice system idle iowait irq softirq
    /// steal; idle counts idle and iowait.
    fn parse(stat: &str) -> Option<CpuTimes> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        Some(CpuTimes {
            idle,
            total: fields.iter().sum(),
        })
    }

    fn idle_share_since(self, before: CpuTimes) -> f64 {
        let total = self.total.saturating_sub(before.total);
        if total == 0 {
            return 1.0;
        }
        self.idle.saturating_sub(before.idle) as f64 / total as f64
    }
}

async fn cpu_times() -> Option<CpuTimes> {
    tokio::task::spawn_blocking(|| {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|stat| CpuTimes::parse(&stat))
    })
    .await
    .ok()
    .flatten()
}

/// A step "paid in proportion" when the throughput grew by at least this share of the factor
/// the connections grew by.
const PROPORTIONAL_SHARE: f64 = 0.8;

impl Growth {
    fn new(enabled: bool, fast: bool) -> Growth {
        Growth {
            enabled,
            fast: fast && enabled,
            last_bytes: None,
            last_rate: 0.0,
            // The first connections started just before the first sample: the first window
            // measures them.
            settling: 0,
            before_step: 0,
            after_step: 0,
        }
    }

    /// Whether steps are still probes (a fast link whose probe has not paid).
    fn is_fast(&self) -> bool {
        self.fast
    }

    /// Whether a fast link's probe is still to be decided.
    fn may_probe(&self) -> bool {
        self.fast && self.enabled && self.after_step == 0
    }

    /// Told the share of the machine's CPU that was idle in the last window: with less than
    /// [`PROBE_IDLE_CPU`] idle, a fast link is CPU-bound and the probe is skipped (issue #9
    /// docs/protocol.md §6: two 1 GB files on 2 cores leave 3 % idle with one connection each).
    fn machine_idle(&mut self, idle: f64) {
        if self.may_probe() && idle < PROBE_IDLE_CPU {
            output::debug(|| {
                format!(
                    "{:.0} % of the CPU idle: a fast link on a busy machine; no probe connection",
                    idle * 100.0
                )
            });
            self.enabled = false;
        }
    }

    /// Called every [`GROWTH_WINDOW`] with the file's written bytes and whether every
    /// connection has received bytes yet; returns how many connections to add.
    fn sample(&mut self, bytes: u64, flowing: bool, running: usize, limit: usize) -> usize {
        let previous = self.last_bytes.replace(bytes);
        if !self.enabled {
            return 0;
        }
        let Some(previous) = previous else {
            return 0;
        };
        if self.settling > 0 {
            self.settling -= 1;
            return 0;
        }
        if !flowing {
            // A window in which some connections still wait for their resolve or first byte
            // (hundreds of ms from the real Hub) would understate what they bring: no verdict.
            return 0;
        }
        let rate = bytes.saturating_sub(previous) as f64 / GROWTH_WINDOW.as_secs_f64();
        if rate <= 0.0 {
            // Nothing arrived at all in this window (waiting on a mirror, a stall): no verdict.
            return 0;
        }
        let mut factor = 2;
        if self.after_step > 0 {
            let gain = rate / self.last_rate;
            if gain < GROWTH_FACTOR {
                let verdict = if self.fast {
                    "of one; the probe did not pay"
                } else {
                    "before; no more connections"
                };
                output::debug(|| {
                    format!(
                        "{}: {:.1} MB/s, not {GROWTH_FACTOR}× the {:.1} MB/s {verdict}",
                        output::counted(running as u64, "connection"),
                        rate / 1e6,
                        self.last_rate / 1e6
                    )
                });
                self.enabled = false;
                return 0;
            }
            let grown = self.after_step as f64 / self.before_step.max(1) as f64;
            if gain >= grown * PROPORTIONAL_SHARE {
                factor = 4;
            }
            // A probe that paid: the link was the limit after all; grow as usual.
            self.fast = false;
        }
        if running >= limit {
            self.enabled = false;
            return 0;
        }
        let target = if self.fast {
            running + 1
        } else {
            running * factor
        }
        .min(limit);
        output::debug(|| {
            format!(
                "{}: {:.1} MB/s; trying {target}",
                output::counted(running as u64, "connection"),
                rate / 1e6,
            )
        });
        self.last_rate = rate;
        self.before_step = running;
        self.after_step = target;
        self.settling = 1;
        target - running
    }
}

/// One file's shared state: the open `.incomplete`, its segments, the hash state.
struct Shared {
    file: std::fs::File,
    incomplete: PathBuf,
    sidecar: PathBuf,
    etag: String,
    size: u64,
    /// Sorted by start; together they tile `[0, size)`.
    segments: Mutex<Vec<Arc<Segment>>>,
    /// Bytes written in this attempt (any segment): "the file is progressing".
    progress: AtomicU64,
    cancelled: AtomicBool,
    /// Wakes the read-back hasher when a segment's written count grows (or on cancel).
    signal: (Mutex<()>, Condvar),
    /// One sidecar write at a time.
    persist_lock: Mutex<()>,
    /// The hash state, held by the hasher thread while it hashes ([`hasher`]).
    hash: Mutex<hasher::HashState>,
    /// Chunks handed to the hasher thread, in file order ([`hasher`]).
    handoff: hasher::Handoff,
    /// Requests started (claims: first segments, splits, races), for the debug summary.
    connections_used: AtomicUsize,
    /// Connections fetching bytes now (a started connection that found no work never counts).
    active_connections: AtomicUsize,
    /// The most that fetched at once.
    peak_connections: AtomicUsize,
    /// [`now_ms`] when this attempt started.
    started_ms: u64,
    /// A split or a race gave the file other bytes than the ones a connection handed to the
    /// hasher ([`writer`]): the digest is taken from the disk at the end instead.
    rehash: AtomicBool,
    /// [`now_ms`] at the last sidecar write ([`RECORD_INTERVAL`]).
    recorded_ms: AtomicU64,
    /// A fast link (see [`Split::BackEighth`]) whose probe has not paid (yet): new
    /// connections take the last eighth, finished ones no further work.
    fast: AtomicBool,
}

struct Segment {
    start: u64,
    /// Exclusive; shrinks when the segment is split.
    end: AtomicU64,
    /// Bytes from `start` that are written (a prefix of the segment).
    written: AtomicU64,
    /// `written` at the last sidecar write.
    persisted: AtomicU64,
    /// Connections working on it (0: free; 2: a race).
    workers: AtomicUsize,
    /// [`now_ms`] at the last new byte (or claim).
    last_progress_ms: AtomicU64,
    /// [`now_ms`] and `written` when the current connection took it: its rate since.
    claimed_at_ms: AtomicU64,
    claimed_written: AtomicU64,
    /// Wakes a connection waiting on its body when a racing one finished the segment.
    finished: tokio::sync::Notify,
    /// Held while a chunk is clipped, written and published, so that in a race every byte is
    /// written once, by whichever connection brought it first (`writer::place_chunk`).
    /// Uncontended outside races: one lock per chunk.
    placing: Mutex<()>,
}

impl Segment {
    fn new(start: u64, end: u64, written: u64) -> Segment {
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
    fn taken(&self, now: u64) {
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
    fn is_dragging(&self, now: u64, typical: f64) -> bool {
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

    fn end(&self) -> u64 {
        self.end.load(Ordering::Acquire)
    }

    /// The first byte not yet written.
    fn frontier(&self) -> u64 {
        self.start + self.written.load(Ordering::Acquire)
    }

    fn remaining(&self) -> u64 {
        self.end().saturating_sub(self.frontier())
    }

    fn is_done(&self) -> bool {
        self.remaining() == 0
    }
}

impl Shared {
    fn new(
        opened: Opened,
        incomplete: PathBuf,
        etag: String,
        size: u64,
        hasher: ContentHasher,
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
        }
    }

    /// Whether [`RECORD_INTERVAL`] has passed since the last sidecar write.
    fn record_is_due(&self) -> bool {
        now_ms().saturating_sub(self.recorded_ms.load(Ordering::Acquire))
            >= RECORD_INTERVAL.as_millis() as u64
    }

    /// How a connection may split work now: `fresh` when it has not fetched anything yet;
    /// `may_resolve` whether a split's resolve fits the quota
    /// ([`crate::hub::HubClient::may_resolve_optionally`]).
    fn split_now(&self, fresh: bool, may_resolve: bool) -> Split {
        match (may_resolve, self.fast.load(Ordering::Acquire), fresh) {
            (false, _, _) => Split::Never,
            (true, false, _) => Split::Half,
            (true, true, true) => Split::BackEighth,
            (true, true, false) => Split::Never,
        }
    }

    fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn segment_count(&self) -> usize {
        self.segments.lock().map(|s| s.len()).unwrap_or(0)
    }

    fn written_bytes(&self) -> u64 {
        self.segments()
            .iter()
            .map(|s| s.written.load(Ordering::Acquire).min(s.end() - s.start))
            .sum()
    }

    fn is_complete(&self) -> bool {
        self.segments().iter().all(|s| s.is_done())
    }

    /// Whether every segment being fetched has received bytes since its connection took it.
    fn all_flowing(&self) -> bool {
        self.segments().iter().all(|s| {
            s.workers.load(Ordering::Acquire) == 0
                || s.is_done()
                || s.written.load(Ordering::Acquire) > s.claimed_written.load(Ordering::Acquire)
        })
    }

    /// Whether a new connection would find work: a free segment, or one it may split.
    fn has_work(&self, unit: u64, split: Split) -> bool {
        self.segments().iter().any(|s| {
            let remaining = s.remaining();
            remaining > 0
                && (s.workers.load(Ordering::Acquire) == 0 || split_point(s, unit, split).is_some())
        })
    }

    /// Work for a connection: a free segment first (lowest offset), else a split of the
    /// lowest segment with at least half the most bytes left, as `split` allows. `None`:
    /// nothing left to take.
    fn claim(&self, unit: u64, now_ms: u64, split: Split) -> Option<Claim> {
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
        // is sequential). Issue #9 case (7), 32 capped connections: 2.37 s against 2.64 s,
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
    fn stalled_segment(&self, unit: u64, now: u64, split: Split) -> Option<Arc<Segment>> {
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
    fn join_race(&self, segment: &Arc<Segment>, now_ms: u64) -> Option<Claim> {
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

    fn notify(&self) {
        let (lock, condvar) = &self.signal;
        let _guard = lock.lock();
        condvar.notify_all();
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.notify();
    }

    /// The end of the contiguous written prefix that starts at `position`.
    fn written_from(&self, position: u64) -> u64 {
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

    fn sidecar_json(&self) -> Result<String, DownloadError> {
        let record = Sidecar {
            version: SIDECAR_VERSION,
            etag: self.etag.clone(),
            size: self.size,
            chunks: self.layout(),
        };
        serde_json::to_string(&record).map_err(|e| DownloadError::Task(e.to_string()))
    }

    fn layout(&self) -> Vec<[u64; 3]> {
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
fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Where a split of `segment` may go: half-way through what is left (rounded up to `unit`),
/// or where its last eighth starts (rounded down), leaving at least `unit` on both sides (and
/// never inside the bytes the connection is writing).
fn split_point(segment: &Segment, unit: u64, split: Split) -> Option<u64> {
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
enum Split {
    /// Only free segments (no room in the resolver quota, or a fast link's connection that
    /// finished its work).
    Never,
    /// Half of what is left: the usual split, for growth and for the tail.
    Half,
    /// The last eighth of what is left: a fast link's *probe*. When one connection alone
    /// brings hundreds of MB/s, the machine, not the link, is usually the limit (a 2-core
    /// machine hashing two 1 GB files is CPU-bound with one connection each, issue #9 docs/protocol.md §6).
    /// More connections then bring nothing, and every byte they fetch ahead of the hash
    /// position is hashed after the last one arrives, read back cold from the page cache
    /// (measured: 16 connections 1.66 s against one's 1.58 s, median of 9). A probe that does
    /// not pay costs an eighth of that; one that pays turns the file back to normal growth.
    BackEighth,
}

/// Work a connection took.
struct Claim {
    segment: Arc<Segment>,
    /// It cost a split (or a race), not just a free segment.
    split: bool,
}

/// Stops the hasher if the transfer future is dropped (another file failed, Ctrl-C).
struct CancelOnDrop(Arc<Shared>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// What the sidecar holds.
#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    version: u32,
    etag: String,
    size: u64,
    /// `[start, end (exclusive), bytes written from start]`, one per segment.
    chunks: Vec<[u64; 3]>,
}

pub fn sidecar_path(incomplete: &Path) -> PathBuf {
    let mut name = incomplete.as_os_str().to_os_string();
    name.push(".chunks");
    PathBuf::from(name)
}

/// Bytes a partial download already holds, for the free-space check: the sidecar's count when
/// there is one (the `.incomplete` itself is preallocated to full size), else its length.
pub fn bytes_on_disk(incomplete: &Path, etag: &str, size: u64) -> u64 {
    match read_sidecar(&sidecar_path(incomplete), etag, size) {
        Some(chunks) => chunks.iter().map(|c| c[2]).sum(),
        None => file_len(incomplete).min(size),
    }
}

fn read_sidecar(path: &Path, etag: &str, size: u64) -> Option<Vec<[u64; 3]>> {
    let text = std::fs::read_to_string(path).ok()?;
    let record: Sidecar = serde_json::from_str(&text).ok()?;
    let valid = record.version == SIDECAR_VERSION
        && record.etag == etag
        && record.size == size
        && layout_is_valid(&record.chunks, size);
    valid.then_some(record.chunks)
}

/// Segments must tile `[0, size)` in order, each with `written <= len`.
fn layout_is_valid(chunks: &[[u64; 3]], size: u64) -> bool {
    let mut expected_start = 0;
    for &[start, end, written] in chunks {
        if start != expected_start || end <= start || written > end - start {
            return false;
        }
        expected_start = end;
    }
    expected_start == size && !chunks.is_empty()
}

/// The layout of a file with a written prefix of `prefix` bytes and no record: one segment, or
/// a finished prefix and the rest.
fn layout_with_prefix(size: u64, prefix: u64) -> Vec<[u64; 3]> {
    let prefix = prefix.min(size);
    if prefix == 0 || prefix == size {
        return vec![[0, size, prefix]];
    }
    vec![[0, prefix, prefix], [prefix, size, 0]]
}

struct Opened {
    file: std::fs::File,
    layout: Vec<[u64; 3]>,
}

/// Opens (or creates) the `.incomplete` and decides which bytes are already there: the
/// sidecar's record if it is valid for this blob and the file has full size, else the file's
/// length as a written prefix. Then writes the sidecar and preallocates. Blocking.
fn open_state(incomplete: &Path, etag: &str, size: u64) -> Result<Opened, DownloadError> {
    let sidecar = sidecar_path(incomplete);
    // A run killed between writing the sidecar's temporary and renaming it left
    // `.<sidecar>.<random>.tmp`; whoever resumes the download (holding its lock, or using a
    // name private to this process) clears them.
    crate::cache::sweep_temporaries(&sidecar);
    let existing = file_len(incomplete);
    let layout = match read_sidecar(&sidecar, etag, size) {
        Some(chunks) if existing == size => chunks,
        _ if existing > size => {
            crate::cache::remove_file(incomplete)?;
            layout_with_prefix(size, 0)
        }
        _ => layout_with_prefix(size, existing),
    };
    if let Some(parent) = incomplete.parent() {
        crate::cache::create_dir_all(parent)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(incomplete)
        .map_err(|e| CacheError::io("open", incomplete, e))?;
    // The sidecar first, then the full length: a preallocated file always has a record of which
    // of its bytes are real.
    let record = Sidecar {
        version: SIDECAR_VERSION,
        etag: etag.to_string(),
        size,
        chunks: layout.clone(),
    };
    let text = serde_json::to_string(&record).map_err(|e| DownloadError::Task(e.to_string()))?;
    write_atomically(&sidecar, &text)?;
    preallocate(&file, size).map_err(|e| CacheError::io("allocate space for", incomplete, e))?;
    Ok(Opened { file, layout })
}

/// Reserves the blocks (so a full disk fails now) where the filesystem can, else just sets the
/// length.
fn preallocate(file: &std::fs::File, size: u64) -> std::io::Result<()> {
    match fs4::FileExt::allocate(file, size) {
        Ok(()) => Ok(()),
        Err(e) if crate::cache::is_disk_full(&e) => Err(e),
        Err(_) => file.set_len(size),
    }
}

fn write_atomically(path: &Path, text: &str) -> Result<(), DownloadError> {
    let temporary = crate::cache::temporary_sibling(path);
    std::fs::write(&temporary, text).map_err(|e| CacheError::io("write", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| CacheError::io("write", path, e).into())
}

async fn persist(shared: &Arc<Shared>) -> Result<(), DownloadError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || persist_now(&shared))
        .await
        .map_err(task_error)?
}

/// Writes the sidecar. Blocking.
fn persist_now(shared: &Shared) -> Result<(), DownloadError> {
    let _guard = shared.persist_lock.lock();
    if !shared.incomplete.exists() {
        return Ok(());
    }
    for segment in shared.segments() {
        segment
            .persisted
            .store(segment.written.load(Ordering::Acquire), Ordering::Release);
    }
    let text = shared.sidecar_json()?;
    shared.recorded_ms.store(now_ms(), Ordering::Release);
    write_atomically(&shared.sidecar, &text)
}

fn discard(incomplete: &Path, sidecar: &Path) -> Result<(), DownloadError> {
    crate::cache::remove_file(sidecar)?;
    Ok(crate::cache::remove_file(incomplete)?)
}

fn task_error(error: tokio::task::JoinError) -> DownloadError {
    DownloadError::Task(error.to_string())
}

/// The parts of a [`Transfer`] a connection task needs, owned.
struct TransferRef {
    client: crate::hub::HubClient,
    repo: crate::hub::RepoId,
    commit: String,
    path: String,
    size: u64,
    progress: FileProgress,
    tally: Arc<Tally>,
}

impl TransferRef {
    fn of(transfer: &Transfer<'_>) -> TransferRef {
        TransferRef {
            client: transfer.client.clone(),
            repo: transfer.repo.clone(),
            commit: transfer.commit.to_string(),
            path: transfer.file.path.to_string(),
            size: transfer.file.size,
            progress: transfer.progress.clone(),
            tally: transfer.tally.clone(),
        }
    }
}

/// What a connection needs, owned so it can run on its own task.
struct WorkerContext {
    transfer: TransferRef,
    retry: RetryPolicy,
    tuning: Tuning,
    /// Only LFS files tell a mirror apart: regular files come from the endpoint anyway.
    lfs: bool,
    mirror: Arc<AtomicBool>,
    fast_files: Arc<FastFiles>,
    shared: Arc<Shared>,
    /// The first successful open says whether the endpoint served the bytes itself.
    opened: watch::Sender<Option<bool>>,
}

impl WorkerContext {
    fn connection_limit(&self, mirror: bool) -> usize {
        match (self.tuning.connections, mirror) {
            (Some(n), false) => n.max(1),
            (Some(n), true) => n.clamp(1, MIRROR_CONNECTIONS),
            (None, false) => MAX_CONNECTIONS,
            (None, true) => MIRROR_CONNECTIONS,
        }
    }

    /// The granularity of splits: mirror blocks, or [`min_segment`].
    fn split_unit(&self, mirror: bool) -> u64 {
        if mirror {
            MIRROR_BLOCK.max(self.tuning.chunk_size)
        } else {
            min_segment(&self.tuning)
        }
    }

    fn mirror_now(&self) -> bool {
        self.lfs && self.mirror.load(Ordering::Acquire)
    }
}

enum WorkerError {
    Fatal(DownloadError),
    /// A 200 to a range request.
    RangesIgnored,
}

impl From<DownloadError> for WorkerError {
    fn from(error: DownloadError) -> Self {
        WorkerError::Fatal(error)
    }
}

/// Why one range request ended early.
enum RangeError {
    /// Retry-worthy, or at least reportable as a Hub error; written bytes stay.
    Hub(HubError),
    Worker(WorkerError),
}

impl From<DownloadError> for RangeError {
    fn from(error: DownloadError) -> Self {
        RangeError::Worker(WorkerError::Fatal(error))
    }
}

/// One connection: takes work (a free segment, a split, or the race it was started for),
/// fetches it, and takes more until none is left. Holds its budget permit throughout.
async fn connection(
    context: Arc<WorkerContext>,
    _permit: OwnedSemaphorePermit,
    race: Option<Arc<Segment>>,
) -> Result<(), WorkerError> {
    let shared = &context.shared;
    let writer = Writer::start(context.clone());
    let mut race = race;
    let mut active = None;
    loop {
        let unit = context.split_unit(context.mirror_now());
        let claim = match race.take() {
            Some(segment) => shared.join_race(&segment, now_ms()),
            None => shared.claim(
                unit,
                now_ms(),
                shared.split_now(
                    active.is_none(),
                    context.transfer.client.may_resolve_optionally(),
                ),
            ),
        };
        let Some(claim) = claim else {
            writer.close().await?;
            return Ok(());
        };
        if active.is_none() {
            active = Some(Active::new(shared));
        }
        shared.connections_used.fetch_add(1, Ordering::Relaxed);
        if claim.split {
            persist(shared).await?;
        }
        let result = fetch_segment(&context, &claim.segment, &writer).await;
        claim.segment.workers.fetch_sub(1, Ordering::AcqRel);
        persist(shared).await?;
        result?;
    }
}

/// Counts a connection as fetching while it lives (for the peak in the `-v` summary and the
/// typical rate a dragging segment is judged against).
struct Active(Arc<Shared>);

impl Active {
    fn new(shared: &Arc<Shared>) -> Active {
        let now = shared.active_connections.fetch_add(1, Ordering::AcqRel) + 1;
        shared.peak_connections.fetch_max(now, Ordering::Relaxed);
        Active(shared.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active_connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Fetches the rest of one segment, retrying with a fresh resolve after each interruption.
async fn fetch_segment(
    context: &WorkerContext,
    segment: &Arc<Segment>,
    writer: &Writer,
) -> Result<(), WorkerError> {
    let shared = &context.shared;
    let mut attempts = Attempts::new(context.retry);
    loop {
        if segment.is_done() {
            return Ok(());
        }
        let file_before = shared.progress.load(Ordering::Acquire);
        let error = match fetch_range(context, segment, writer).await {
            Ok(()) if segment.is_done() => return Ok(()),
            Ok(()) => HubError::new(HubErrorKind::Network(NetworkErrorKind::Interrupted)),
            Err(RangeError::Hub(error)) => error,
            Err(RangeError::Worker(error)) => return Err(error),
        };
        // Progress anywhere in the file counts: a file still flowing on other connections is
        // never given up because one of them keeps failing (issue #9).
        if shared.progress.load(Ordering::Acquire) > file_before {
            attempts.progressed();
        }
        if segment.is_done() {
            return Ok(());
        }
        let Some(wait) = attempts.failed(&error) else {
            return Err(WorkerError::Fatal(
                error
                    .with_context(format!("downloading {}", context.transfer.path))
                    .into(),
            ));
        };
        let _ = persist(&context.shared).await;
        output::warn(format!(
            "{}: {}; resuming bytes {}-{} in {:.1} s.",
            context.transfer.path,
            describe_interruption(&error),
            segment.frontier(),
            segment.end().saturating_sub(1),
            wait.as_secs_f64()
        ));
        tokio::time::sleep(wait).await;
    }
}

/// One request for the unwritten rest of a segment, through the resolve endpoint: the signed
/// URL it mints is used for exactly this range, and reading stops early if the segment is cut.
async fn fetch_range(
    context: &WorkerContext,
    segment: &Arc<Segment>,
    writer: &Writer,
) -> Result<(), RangeError> {
    let transfer = &context.transfer;
    let from = segment.frontier();
    let end = segment.end();
    if from >= end {
        return Ok(());
    }
    let fail = |error: FetchError| match error {
        FetchError::Hub(error) => RangeError::Hub(error),
        FetchError::BadRange { detail } => DownloadError::BadRange {
            path: transfer.path.clone(),
            detail,
        }
        .into(),
        FetchError::SizeMismatch { actual } => DownloadError::SizeMismatch {
            path: transfer.path.clone(),
            expected: transfer.size,
            actual,
        }
        .into(),
    };
    let opened = transfer
        .client
        .open_range(crate::hub::fetch::FileRange {
            repo: &transfer.repo,
            commit: &transfer.commit,
            path: &transfer.path,
            size: transfer.size,
            start: from,
            end: Some(end),
        })
        .await;
    let mut body = match opened {
        Ok(body) => body,
        Err(error) => {
            context.opened.send_if_modified(|seen| {
                // The first connection failed: let the others start anyway.
                seen.is_none().then(|| *seen = Some(false)).is_some()
            });
            return Err(fail(error));
        }
    };
    if body.range_ignored {
        return Err(RangeError::Worker(WorkerError::RangesIgnored));
    }
    if body.served_by_endpoint && context.lfs && !context.mirror.swap(true, Ordering::AcqRel) {
        output::debug(|| {
            format!(
                "{}: the endpoint serves LFS bytes itself (a pull-through mirror); at most {MIRROR_CONNECTIONS} connections per file, {} MiB blocks",
                transfer.path,
                MIRROR_BLOCK >> 20
            )
        });
    }
    context.opened.send_if_modified(|seen| {
        seen.is_none()
            .then(|| *seen = Some(body.served_by_endpoint))
            .is_some()
    });
    let mut position = from;
    loop {
        let finished = segment.finished.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        if segment.is_done() {
            // A racing connection got there first.
            break;
        }
        let next = tokio::select! {
            next = body.next_chunk() => next,
            () = &mut finished => break,
        };
        match next {
            Ok(Some(bytes)) => {
                let len = bytes.len() as u64;
                writer.write(segment, position, bytes).await?;
                position += len;
                if position >= segment.end() {
                    // Cut by a split, or finished: this request's job is done; dropping
                    // the body closes its connection.
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => {
                // Keep what arrived: the retry continues after it.
                writer.flush().await?;
                return Err(fail(error));
            }
        }
    }
    writer.flush().await?;
    Ok(())
}

#[cfg(unix)]
fn write_all_at(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(windows)]
fn write_all_at(file: &std::fs::File, mut bytes: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, bytes, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(windows)]
fn read_exact_at(
    file: &std::fs::File,
    mut buffer: &mut [u8],
    mut offset: u64,
) -> std::io::Result<()> {
    while !buffer.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buffer, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer = &mut buffer[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
