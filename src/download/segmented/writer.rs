//! A connection's writer: one blocking thread per connection that writes the body's chunks
//! where they belong and publishes the segment's progress.
//!
//! Why a thread of its own (docs/engine.md): on a fast link a 2-core machine is CPU-bound, and
//! the work per byte is receiving it (the kernel's copy out of the socket), hashing it and
//! writing it (the kernel's copy into the page cache). When the connection waited for each
//! write before reading on, the two halves took turns and about a fifth of the CPU stayed idle
//! (measured: two 1 GB files, one connection each, 0.45 s idle in 1.76 s). With the writer on
//! its own thread, the connection keeps receiving while the previous chunks are hashed and
//! written, and the queue between them is short ([`QUEUED_CHUNKS`]) so memory stays about a
//! MiB per connection. The chunks are hyper's reference-counted `Bytes`, written as
//! they came: the bytes are copied once, into the page cache, never into a buffer of ours.
//!
//! The connection hands each chunk that is next in line to the file's hasher thread
//! ([`super::hasher`]) before queueing it here; the writer itself never hashes.
//!
//! Every byte is written once, by the first connection to bring it, and what is hashed is
//! what is on disk:
//! - A split may move a segment's end below bytes that are already queued: the writer clips
//!   every chunk to the segment's end *at write time*, so they are dropped, never written
//!   past the end.
//! - In a race two connections bring the same bytes: the writer also clips every chunk to
//!   the segment's frontier, under the segment's lock, so the loser never overwrites what
//!   the winner wrote (and hashed). A CDN that served two different bodies for one range
//!   would otherwise leave the winner's bytes hashed and the loser's on disk.
//! - If the connection had handed the hasher bytes that its writer then did not write, the
//!   file's bytes there come from another request, so the digest is taken from the disk
//!   instead (`Shared::rehash`).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::hasher::FastFiles;
use super::{RECORD_EVERY, Segment, WorkerContext, now_ms, persist_now, task_error};
use crate::cache::CacheError;
use crate::download::error::DownloadError;
use crate::files::write_all_at;

/// Chunks a connection may have received but not written yet (hyper hands out up to about
/// 400 KiB at a time): enough that the writer never waits for the network while the machine
/// is CPU-bound, few enough that 32 connections stay within tens of MiB.
const QUEUED_CHUNKS: usize = 2;

pub(super) struct Writer {
    shared: Arc<super::Shared>,
    fast_files: Arc<FastFiles>,
    queue: mpsc::Sender<Message>,
    thread: tokio::task::JoinHandle<()>,
}

enum Message {
    Chunk {
        segment: Arc<Segment>,
        position: u64,
        bytes: Bytes,
        /// The part of the file the connection handed to the hasher from these bytes, if any.
        hashed: Option<Range<u64>>,
    },
    /// Answered once every chunk sent before it is written (or with the first write error
    /// since the previous flush).
    Flush(oneshot::Sender<Result<(), DownloadError>>),
}

impl Writer {
    pub(super) fn start(context: Arc<WorkerContext>) -> Writer {
        let (queue, received) = mpsc::channel(QUEUED_CHUNKS);
        let shared = context.shared.clone();
        let fast_files = context.fast_files.clone();
        let thread = tokio::task::spawn_blocking(move || run(&context, received));
        Writer {
            shared,
            fast_files,
            queue,
            thread,
        }
    }

    /// Queues `bytes` for `position` of `segment`; waits only while the queue is full.
    pub(super) async fn write(
        &self,
        segment: &Arc<Segment>,
        position: u64,
        bytes: Bytes,
    ) -> Result<(), DownloadError> {
        // Hashed here or handed to the file's hasher thread when next in line
        // ([`super::hasher`]). Here only when every core has a fast file, and only when the
        // hasher has nothing handed over still waiting: otherwise the chunk joins its queue,
        // so that what continues the hash is never left to the read-back.
        let end = segment.end();
        let hashed = if position >= end {
            None
        } else {
            let keep = bytes.len().min((end - position) as usize);
            let here = self
                .fast_files
                .cpu_bound()
                .then(|| self.shared.try_hash_here(position, &bytes[..keep]))
                .flatten();
            if here.is_some() {
                here
            } else {
                self.shared
                    .hand_to_hasher(position, bytes.slice(..keep))
                    .await
            }
        };
        self.queue
            .send(Message::Chunk {
                segment: segment.clone(),
                position,
                bytes,
                hashed,
            })
            .await
            .map_err(|_| stopped())
    }

    /// Waits until everything queued is written and published; the first write error since
    /// the last flush, if any.
    pub(super) async fn flush(&self) -> Result<(), DownloadError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Flush(reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Ends the thread once its queue is written.
    pub(super) async fn close(self) -> Result<(), DownloadError> {
        drop(self.queue);
        self.thread.await.map_err(task_error)
    }
}

fn stopped() -> DownloadError {
    DownloadError::Task("a connection's writer stopped".to_string())
}

/// The thread: writes, hashes and publishes each chunk in order. After a failed write it
/// drops further chunks until the next flush reports the failure.
fn run(context: &WorkerContext, mut received: mpsc::Receiver<Message>) {
    let mut failed = None;
    while let Some(message) = received.blocking_recv() {
        match message {
            Message::Chunk {
                segment,
                position,
                bytes,
                hashed,
            } => {
                if failed.is_none()
                    && let Err(error) = write_chunk(context, &segment, position, &bytes, hashed)
                {
                    failed = Some(error);
                }
            }
            Message::Flush(reply) => {
                let _ = reply.send(failed.take().map_or(Ok(()), Err));
            }
        }
    }
}

/// Writes one chunk and publishes the segment's new written count to the hasher, the
/// progress bars and (every [`RECORD_EVERY`], at most every [`super::RECORD_INTERVAL`]) the
/// record. Blocking.
fn write_chunk(
    context: &WorkerContext,
    segment: &Segment,
    position: u64,
    bytes: &[u8],
    hashed: Option<Range<u64>>,
) -> Result<(), DownloadError> {
    let shared = &context.shared;
    let new_bytes = place_chunk(shared, segment, position, bytes, hashed)?;
    if new_bytes > 0 {
        context.transfer.meter.advance(new_bytes);
        context.transfer.tally.fetched(new_bytes);
    }
    shared.wake_hasher();
    let written = segment.written.load(Ordering::Acquire);
    if written.saturating_sub(segment.persisted.load(Ordering::Acquire))
        >= context.tuning.chunk_size.min(RECORD_EVERY)
        && shared.record_is_due()
    {
        persist_now(shared)?;
    }
    Ok(())
}

/// Writes the part of a chunk at `position` that is still the segment's to write: from its
/// frontier (a racing connection may have written the start already) to its end (a split may
/// have cut the rest). `hashed`: the part the connection handed to the hasher. The bytes that
/// were new to the segment. Blocking.
pub(super) fn place_chunk(
    shared: &super::Shared,
    segment: &Segment,
    position: u64,
    bytes: &[u8],
    hashed: Option<Range<u64>>,
) -> Result<u64, DownloadError> {
    // One writer at a time per segment: only a race ever waits here.
    let _placing = segment.placing.lock().map_err(|_| stopped())?;
    let from = position.max(segment.frontier());
    let to = (position + bytes.len() as u64).min(segment.end());
    if let Some(hashed) = &hashed
        && (hashed.start < from || hashed.end > to)
    {
        // The hasher got bytes that the file gets from another request (a split's or a
        // race's): the digest must come from the disk.
        shared.rehash.store(true, Ordering::Release);
    }
    if from >= to {
        return Ok(0);
    }
    let part = &bytes[(from - position) as usize..(to - position) as usize];
    write_all_at(&shared.file, part, from)
        .map_err(|e| CacheError::io("write", &shared.incomplete, e))?;
    segment.written.store(to - segment.start, Ordering::Release);
    if segment.is_done() {
        segment.finished.notify_waiters();
    }
    segment.last_progress_ms.store(now_ms(), Ordering::Release);
    shared.progress.fetch_add(to - from, Ordering::AcqRel);
    Ok(to - from)
}
