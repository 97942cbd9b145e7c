//! Large files over several connections: the file is cut into fixed chunks, a few workers fetch
//! chunks as byte ranges and write them with positional writes into one preallocated
//! `.incomplete`, a hasher follows behind, and the verified file is renamed into place (issue #5).
//!
//! Why it is built this way:
//! - **Every range goes through the resolve endpoint.** Xet-era CDN URLs are signed for exactly
//!   the `Range` header that minted them and expire (landscape.md §2.4), so a chunk never reuses
//!   another chunk's URL, and a retry of a chunk resolves again. The listing is still one request
//!   for the whole repository (the planner's), and there is no per-file `HEAD`: the size and
//!   hash come from the listing.
//! - **Positional writes, bounded buffers.** Each worker collects up to [`WRITE_BUFFER`] bytes of
//!   its body, then `write_at`s them from `spawn_blocking` (the runtime threads never block on the
//!   disk). Memory is one buffer per connection, whatever the file size. The file is preallocated
//!   (`fallocate`) so that a full disk fails at the start, not at 90 %.
//! - **Hashing overlaps the download by re-reading from the page cache.** sha256 and the git
//!   blob sha1 are sequential; chunks finish out of order. Hashing in order from memory would mean
//!   holding every chunk that finished ahead of the one still streaming (connections × chunk size,
//!   far beyond the 64 MiB memory target). Instead one blocking hasher per file walks the
//!   contiguous written prefix — each chunk publishes how many of its bytes are on disk — and
//!   `read_at`s what was written moments ago, which the kernel serves from the page cache: no
//!   second read from the disk, a memcpy at most, and sha256 with SHA-NI runs at ~1.7 GB/s
//!   (rust-stack.md §4), above this machine's disk and loopback rates. When the last byte lands
//!   only the tail that was still in flight remains to hash. A resumed file is hashed the same
//!   way, from its first byte.
//! - **Resume, within and across runs.** A chunk cut mid-body keeps its written bytes and asks
//!   for the rest of *that chunk only*, through a fresh resolve. Progress is persisted in a small
//!   sidecar, `<incomplete>.chunks` (JSON: each chunk's range and how many of its bytes are
//!   written), rewritten atomically as chunks finish or fail. A killed run's successor reads it
//!   and fetches only what is missing; without a sidecar, the `.incomplete` of the single-stream
//!   path counts as a written prefix. Nothing is trusted blindly: the hash covers every byte, and
//!   a file that does not match is discarded and fetched once more, never placed. The sidecar is
//!   deleted once the blob is placed.
//! - **A server that ignores `Range`** (answers 200) cannot be split; the caller falls back to the
//!   single-stream path, which handles that case.
//!
//! Writes are not `fsync`ed: a SIGKILL leaves every written byte in the page cache, and after a
//! power loss the final hash check catches any chunk the sidecar claims but the disk lost.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::error::DownloadError;
use super::transfer::{Tally, Transfer, describe_interruption, file_len};
use super::verify::{ContentHasher, Settled, after_mismatch, settle};
use crate::cache::CacheError;
use crate::hub::error::{HubErrorKind, NetworkErrorKind};
use crate::hub::fetch::FetchError;
use crate::hub::retry::Attempts;
use crate::hub::{HubClient, HubError, RepoId};
use crate::output;
use crate::output::progress::FileProgress;

/// Bytes a connection collects before one positional write: large enough that the syscall and
/// `spawn_blocking` costs vanish, small enough that 16 connections stay within a few MiB. Each
/// worker allocates its buffer once and reuses it for every chunk.
pub const WRITE_BUFFER: usize = 512 << 10;
/// Bytes the hasher reads (from the page cache) per step.
const HASH_STEP: usize = 1 << 20;
const SIDECAR_VERSION: u32 = 1;
/// Bytes a connection writes between two updates of the chunk record within a chunk (besides
/// the update at each chunk's end): what a killed run's successor may fetch again, per
/// connection (issue #12).
const RECORD_EVERY: u64 = 4 << 20;

/// How large files are split; from `--connections` and `--chunk-size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Ranges of one file in flight at once.
    pub connections_per_file: usize,
    /// Bytes per range request.
    pub chunk_size: u64,
}

impl Tuning {
    /// Files at least this large are split; smaller ones stream on one connection, where a
    /// second request would cost a resolve round trip for little gain.
    pub fn parallel_threshold(&self) -> u64 {
        self.chunk_size.saturating_mul(2)
    }

    pub fn splits(&self, size: u64) -> bool {
        self.connections_per_file > 1 && size >= self.parallel_threshold()
    }
}

/// A large file's transfer: the same source and destination as the single-stream path, plus
/// how to split it and the connection budget all large files share.
pub struct ParallelTransfer<'a> {
    pub transfer: &'a Transfer<'a>,
    pub tuning: Tuning,
    /// The connection budget all large files share.
    pub budget: Arc<Semaphore>,
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
        loop {
            match self.attempt().await? {
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

    async fn attempt(&self) -> Result<AttemptEnd, DownloadError> {
        let (incomplete, size, chunk_size, etag) = (
            self.transfer.incomplete.clone(),
            self.transfer.file.size,
            self.tuning.chunk_size,
            self.transfer.file.etag.clone(),
        );
        let opened =
            tokio::task::spawn_blocking(move || open_state(&incomplete, &etag, size, chunk_size))
                .await
                .map_err(|e| DownloadError::Task(e.to_string()))??;
        let shared = Arc::new(Shared {
            file: opened.file,
            incomplete: self.transfer.incomplete.clone(),
            sidecar: sidecar_path(&self.transfer.incomplete),
            etag: self.transfer.file.etag.clone(),
            size,
            chunks: opened.chunks,
            next: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            signal: (Mutex::new(()), Condvar::new()),
            persist_lock: Mutex::new(()),
        });
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
        self.transfer.tally.resumed(credited);
        let _cancel = CancelOnDrop(shared.clone());

        let hasher = {
            let shared = shared.clone();
            let hasher = ContentHasher::new(self.transfer.file.kind, size);
            tokio::task::spawn_blocking(move || shared.hash_in_order(hasher))
        };
        let context = Arc::new(WorkerContext {
            client: self.transfer.client.clone(),
            retry: self.transfer.retry_policy(),
            repo: self.transfer.repo.clone(),
            commit: self.transfer.commit.to_string(),
            path: self.transfer.file.path.to_string(),
            progress: self.transfer.progress.clone(),
            tally: self.transfer.tally.clone(),
            shared: shared.clone(),
        });
        let pending = shared.chunks.iter().filter(|c| !c.is_done()).count();
        let mut workers = JoinSet::new();
        for _ in 0..self.tuning.connections_per_file.min(pending).max(1) {
            workers.spawn(worker(context.clone(), self.budget.clone()));
        }
        let mut failure = None;
        while let Some(joined) = workers.join_next().await {
            let result = joined.unwrap_or_else(|e| Err(WorkerError::Fatal(task_error(e))));
            if let Err(error) = result {
                failure = Some(error);
                break;
            }
        }
        if let Some(failure) = failure {
            workers.abort_all();
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
                    discard(&shared.incomplete, &shared.sidecar)?;
                    Ok(AttemptEnd::RangesIgnored)
                }
            };
        }
        let digest = hasher
            .await
            .map_err(|e| DownloadError::Task(e.to_string()))?
            .map_err(|e| DownloadError::from(CacheError::io("read", &self.transfer.incomplete, e)))?
            .finish();
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
}

/// One file's shared state: the open `.incomplete`, its chunks, and the hasher's wake-up signal.
struct Shared {
    file: std::fs::File,
    incomplete: PathBuf,
    sidecar: PathBuf,
    etag: String,
    size: u64,
    chunks: Vec<Chunk>,
    /// The next chunk index a worker may claim.
    next: AtomicUsize,
    cancelled: AtomicBool,
    /// Wakes the hasher when a chunk's written count grows (or on cancel).
    signal: (Mutex<()>, Condvar),
    /// One sidecar write at a time.
    persist_lock: Mutex<()>,
}

struct Chunk {
    start: u64,
    /// Exclusive.
    end: u64,
    /// Bytes from `start` that are written to the file (a prefix of the chunk).
    written: AtomicU64,
}

impl Chunk {
    fn len(&self) -> u64 {
        self.end - self.start
    }

    fn is_done(&self) -> bool {
        self.written.load(Ordering::Acquire) >= self.len()
    }
}

impl Shared {
    fn written_bytes(&self) -> u64 {
        self.chunks
            .iter()
            .map(|c| c.written.load(Ordering::Acquire))
            .sum()
    }

    /// The next chunk that still needs bytes, if any.
    fn claim(&self) -> Option<usize> {
        loop {
            let index = self.next.fetch_add(1, Ordering::AcqRel);
            let chunk = self.chunks.get(index)?;
            if !chunk.is_done() {
                return Some(index);
            }
        }
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

    /// Hashes the file from byte 0, following the written prefix of each chunk in turn.
    /// Blocking: runs on its own `spawn_blocking` thread.
    fn hash_in_order(&self, mut hasher: ContentHasher) -> std::io::Result<ContentHasher> {
        let mut buffer = vec![0u8; HASH_STEP];
        let mut position = 0u64;
        let mut index = 0usize;
        while position < self.size {
            let Some(chunk) = self.chunks.get(index) else {
                break;
            };
            if position >= chunk.end {
                index += 1;
                continue;
            }
            let available = chunk.start + chunk.written.load(Ordering::Acquire);
            if available > position {
                let step = ((available - position) as usize).min(HASH_STEP);
                read_exact_at(&self.file, &mut buffer[..step], position)?;
                hasher.update(&buffer[..step]);
                position += step as u64;
                continue;
            }
            let (lock, condvar) = &self.signal;
            let guard = lock
                .lock()
                .map_err(|_| std::io::Error::other("a download thread panicked"))?;
            if self.cancelled.load(Ordering::Acquire) {
                return Err(std::io::Error::other("the download was cancelled"));
            }
            // Re-check under the lock: writers bump the count before taking it to notify.
            if chunk.start + chunk.written.load(Ordering::Acquire) > position {
                continue;
            }
            let _ = condvar.wait_timeout(guard, Duration::from_millis(100));
        }
        Ok(hasher)
    }

    fn sidecar_json(&self) -> Result<String, DownloadError> {
        let record = Sidecar {
            version: SIDECAR_VERSION,
            etag: self.etag.clone(),
            size: self.size,
            chunks: self
                .chunks
                .iter()
                .map(|c| [c.start, c.end, c.written.load(Ordering::Acquire)])
                .collect(),
        };
        serde_json::to_string(&record).map_err(|e| DownloadError::Task(e.to_string()))
    }
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
    /// `[start, end (exclusive), bytes written from start]`.
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

/// Chunks must tile `[0, size)` in order, each with `written <= len`.
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

/// `[start, end)` ranges of `chunk_size` covering `size` bytes.
fn plan_chunks(size: u64, chunk_size: u64) -> Vec<(u64, u64)> {
    let chunk_size = chunk_size.max(1);
    let mut chunks = Vec::with_capacity(size.div_ceil(chunk_size) as usize);
    let mut start = 0;
    while start < size {
        let end = (start + chunk_size).min(size);
        chunks.push((start, end));
        start = end;
    }
    chunks
}

/// Chunks with a written prefix of `prefix` bytes (a single-stream `.incomplete`).
fn chunks_with_prefix(size: u64, chunk_size: u64, prefix: u64) -> Vec<[u64; 3]> {
    plan_chunks(size, chunk_size)
        .into_iter()
        .map(|(start, end)| [start, end, prefix.clamp(start, end) - start])
        .collect()
}

struct Opened {
    file: std::fs::File,
    chunks: Vec<Chunk>,
}

/// Opens (or creates) the `.incomplete` and decides which bytes are already there: the
/// sidecar's record if it is valid for this blob and the file has full size, else the file's
/// length as a written prefix. Then writes the sidecar and preallocates. Blocking.
fn open_state(
    incomplete: &Path,
    etag: &str,
    size: u64,
    chunk_size: u64,
) -> Result<Opened, DownloadError> {
    let sidecar = sidecar_path(incomplete);
    remove_orphaned_temporaries(&sidecar);
    let existing = file_len(incomplete);
    let layout = match read_sidecar(&sidecar, etag, size) {
        Some(chunks) if existing == size => chunks,
        _ if existing > size => {
            remove_if_exists(incomplete)?;
            chunks_with_prefix(size, chunk_size, 0)
        }
        _ => chunks_with_prefix(size, chunk_size, existing),
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
    let chunks: Vec<Chunk> = layout
        .iter()
        .map(|&[start, end, written]| Chunk {
            start,
            end,
            written: AtomicU64::new(written),
        })
        .collect();
    // The sidecar first, then the full length: a preallocated file always has a record of which
    // of its bytes are real.
    let record = Sidecar {
        version: SIDECAR_VERSION,
        etag: etag.to_string(),
        size,
        chunks: layout,
    };
    let text = serde_json::to_string(&record).map_err(|e| DownloadError::Task(e.to_string()))?;
    write_atomically(&sidecar, &text)?;
    preallocate(&file, size).map_err(|e| CacheError::io("allocate space for", incomplete, e))?;
    Ok(Opened { file, chunks })
}

/// A run killed between writing the sidecar's temporary file and renaming it leaves
/// `.<sidecar>.<random>.tmp` behind. Whoever resumes the download (holding its lock, or using a
/// name private to this process) clears them, so killed runs do not litter `blobs/`.
fn remove_orphaned_temporaries(sidecar: &Path) {
    let (Some(dir), Some(name)) = (sidecar.parent(), sidecar.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if entry_name.starts_with(&prefix) && entry_name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
    tokio::task::spawn_blocking(move || {
        let _guard = shared.persist_lock.lock();
        if !shared.incomplete.exists() {
            return Ok(());
        }
        let text = shared.sidecar_json()?;
        write_atomically(&shared.sidecar, &text)
    })
    .await
    .map_err(|e| DownloadError::Task(e.to_string()))?
}

fn discard(incomplete: &Path, sidecar: &Path) -> Result<(), DownloadError> {
    remove_if_exists(sidecar)?;
    remove_if_exists(incomplete)
}

fn remove_if_exists(path: &Path) -> Result<(), DownloadError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CacheError::io("remove", path, e).into()),
    }
}

fn task_error(error: tokio::task::JoinError) -> DownloadError {
    DownloadError::Task(error.to_string())
}

/// What a worker needs, owned so it can run on its own task.
struct WorkerContext {
    client: HubClient,
    retry: crate::hub::retry::RetryPolicy,
    repo: RepoId,
    commit: String,
    path: String,
    progress: FileProgress,
    tally: Arc<Tally>,
    shared: Arc<Shared>,
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

/// Takes a connection from the shared budget, then fetches chunks of this file until none is
/// left. Holding the permit across chunks lets one file finish before the next one takes over
/// its connections.
async fn worker(context: Arc<WorkerContext>, budget: Arc<Semaphore>) -> Result<(), WorkerError> {
    let _permit = budget
        .acquire_owned()
        .await
        .map_err(|e| DownloadError::Task(e.to_string()))?;
    let mut buffer = Vec::with_capacity(WRITE_BUFFER);
    while let Some(index) = context.shared.claim() {
        fetch_chunk(&context, index, &mut buffer).await?;
        persist(&context.shared).await?;
    }
    Ok(())
}

/// Fetches the rest of one chunk, retrying with a fresh resolve after each interruption.
async fn fetch_chunk(
    context: &WorkerContext,
    index: usize,
    buffer: &mut Vec<u8>,
) -> Result<(), WorkerError> {
    let shared = &context.shared;
    let chunk = &shared.chunks[index];
    let mut attempts = Attempts::new(context.retry);
    loop {
        let before = chunk.written.load(Ordering::Acquire);
        if before >= chunk.len() {
            return Ok(());
        }
        let error = match fetch_range(context, index, buffer).await {
            Ok(()) if chunk.is_done() => return Ok(()),
            Ok(()) => HubError::new(HubErrorKind::Network(NetworkErrorKind::Interrupted)),
            Err(RangeError::Hub(error)) => error,
            Err(RangeError::Worker(error)) => return Err(error),
        };
        if chunk.written.load(Ordering::Acquire) > before {
            attempts.progressed();
        }
        let Some(wait) = attempts.failed(&error) else {
            return Err(WorkerError::Fatal(
                error
                    .with_context(format!("downloading {}", context.path))
                    .into(),
            ));
        };
        let _ = persist(shared).await;
        let from = chunk.start + chunk.written.load(Ordering::Acquire);
        output::warn(format!(
            "{}: {}; resuming bytes {from}-{} in {:.1} s.",
            context.path,
            describe_interruption(&error),
            chunk.end - 1,
            wait.as_secs_f64()
        ));
        tokio::time::sleep(wait).await;
    }
}

/// One range request for the unwritten rest of a chunk, through the resolve endpoint.
async fn fetch_range(
    context: &WorkerContext,
    index: usize,
    buffer: &mut Vec<u8>,
) -> Result<(), RangeError> {
    let shared = &context.shared;
    let chunk = &shared.chunks[index];
    let from = chunk.start + chunk.written.load(Ordering::Acquire);
    let fail = |error: FetchError| match error {
        FetchError::Hub(error) => RangeError::Hub(error),
        FetchError::BadRange { detail } => DownloadError::BadRange {
            path: context.path.clone(),
            detail,
        }
        .into(),
        FetchError::SizeMismatch { actual } => DownloadError::SizeMismatch {
            path: context.path.clone(),
            expected: shared.size,
            actual,
        }
        .into(),
    };
    let mut body = context
        .client
        .open_range(crate::hub::fetch::FileRange {
            repo: &context.repo,
            commit: &context.commit,
            path: &context.path,
            size: shared.size,
            start: from,
            end: Some(chunk.end),
        })
        .await
        .map_err(fail)?;
    if body.range_ignored {
        return Err(RangeError::Worker(WorkerError::RangesIgnored));
    }
    if body.served_by_endpoint {
        output::debug(|| format!("{}: bytes served by the endpoint itself", context.path));
    }
    buffer.clear();
    let mut position = from;
    let mut unrecorded = 0;
    loop {
        match body.next_chunk().await {
            Ok(Some(bytes)) => {
                buffer.extend_from_slice(&bytes);
                if buffer.len() >= WRITE_BUFFER {
                    let written = write_chunk_bytes(context, index, position, buffer).await?;
                    position += written;
                    unrecorded += written;
                    // Record progress inside long chunks too, so a `kill -9` loses at most this
                    // much per connection to whoever resumes (issue #12: ≤ 1.25 × sent).
                    if unrecorded >= RECORD_EVERY {
                        persist(shared).await?;
                        unrecorded = 0;
                    }
                }
            }
            Ok(None) => break,
            Err(error) => {
                // Keep what arrived: the retry continues after it.
                write_chunk_bytes(context, index, position, buffer).await?;
                return Err(fail(error));
            }
        }
    }
    write_chunk_bytes(context, index, position, buffer).await?;
    Ok(())
}

/// Writes `buffer` at `position` (off the runtime threads), then publishes the chunk's new
/// written count to the hasher and the progress bars. Leaves `buffer` empty (same allocation)
/// and returns how many bytes were written.
async fn write_chunk_bytes(
    context: &WorkerContext,
    index: usize,
    position: u64,
    buffer: &mut Vec<u8>,
) -> Result<u64, DownloadError> {
    if buffer.is_empty() {
        return Ok(0);
    }
    let shared = context.shared.clone();
    let owned = std::mem::take(buffer);
    let mut owned = tokio::task::spawn_blocking(move || {
        write_all_at(&shared.file, &owned, position)
            .map(|()| owned)
            .map_err(|e| CacheError::io("write", &shared.incomplete, e))
    })
    .await
    .map_err(task_error)??;
    let written = owned.len() as u64;
    let chunk = &context.shared.chunks[index];
    chunk
        .written
        .store(position + written - chunk.start, Ordering::Release);
    context.progress.advance(written);
    context.tally.fetched(written);
    context.shared.notify();
    owned.clear();
    *buffer = owned;
    Ok(written)
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
