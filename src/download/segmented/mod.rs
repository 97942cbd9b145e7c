//! Large files over several connections: one *segment* per connection, each
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
//!   each connection (25 MB/s was measured) thus gets as many as it takes, an uncapped
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
//!   2-core machine, docs/engine.md). Memory is a few chunks per connection, whatever the file
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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use super::error::DownloadError;
use super::events::Events;
use super::in_flight::InFlight;
use super::report::{Meter, TransferFigures, Warning};
use super::transfer::{Tally, Transfer, describe_interruption, file_len};
use super::verify::{Settled, after_mismatch, settle};
use crate::cache::CacheError;
use crate::hash::{ContentHasher, HashKind, hash_file_prefix};
use crate::hub::HubError;
use crate::hub::error::{HubErrorKind, NetworkErrorKind};
use crate::hub::fetch::FetchError;
use crate::hub::retry::{Attempts, RetryPolicy};

pub use hasher::FastFiles;
pub use sidecar::{bytes_on_disk, sidecar_path};
pub use tuning::Tuning;

use growth::*;
use segments::*;
use sidecar::*;
use tuning::*;
use worker::*;
use writer::Writer;

mod connections;
mod growth;
mod hasher;
mod segments;
mod sidecar;
mod tuning;
mod worker;
mod writer;

/// A large file's transfer: the same source and destination as the single-stream path, plus
/// how to split it and what all large files share.
pub struct SegmentedTransfer<'a> {
    pub transfer: &'a Transfer<'a>,
    pub tuning: Tuning,
    /// The connection budget all large files share.
    pub budget: Arc<Semaphore>,
    /// Set once any LFS file was served by the endpoint itself (a pull-through mirror).
    pub mirror: Arc<AtomicBool>,
    /// The files on a fast link now: where hashing runs ([`hasher`]).
    pub fast_files: Arc<FastFiles>,
    /// Learns of the writer and hasher threads, which outlive a cancelled transfer until
    /// their queues are written.
    pub in_flight: InFlight,
}

/// How a parallel transfer ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum SegmentedEnd {
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

impl SegmentedTransfer<'_> {
    pub async fn run(&self) -> Result<SegmentedEnd, DownloadError> {
        let mut corrupt_attempts = 0;
        let mut first = true;
        loop {
            let end = self.attempt(first).await?;
            first = false;
            match end {
                AttemptEnd::Verified => {
                    self.transfer.meter.finish();
                    return Ok(SegmentedEnd::Placed);
                }
                AttemptEnd::RangesIgnored => {
                    self.transfer.events.debug(|| {
                        format!(
                            "{}: the server ignores Range; using one connection",
                            self.transfer.file.path
                        )
                    });
                    return Ok(SegmentedEnd::RangesUnsupported);
                }
                AttemptEnd::Corrupt { actual } => {
                    after_mismatch(
                        self.transfer.file,
                        &mut corrupt_attempts,
                        actual,
                        &self.transfer.events,
                    )?;
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
            self.in_flight.enter(),
        ));
        let credited = shared.written_bytes();
        if credited > 0 {
            self.transfer.events.debug(|| {
                format!(
                    "{}: resuming with {credited} of {size} bytes on disk",
                    self.transfer.file.path
                )
            });
        }
        self.transfer.meter.advance_resumed(credited);
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
                    self.transfer.meter.rewind(shared.written_bytes());
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
            self.transfer.events.debug(|| {
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
        self.transfer.tally.engine(TransferFigures {
            segments: shared.segment_count() as u64,
            peak_connections: shared.peak_connections.load(Ordering::Relaxed) as u64,
            hashed_from_memory: from_memory,
            hashed_from_disk: if shared.rehash.load(Ordering::Acquire) {
                size
            } else {
                read_back
            },
            hash_lag_ms: (hashed - bytes_in).as_millis() as u64,
            ..TransferFigures::default()
        });
        self.transfer.events.debug(|| {
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
                self.transfer.meter.rewind(size);
                Ok(AttemptEnd::Corrupt { actual })
            }
        }
    }
}

#[cfg(test)]
mod tests;
