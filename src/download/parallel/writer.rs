//! A connection's writer: one blocking thread per connection that writes the body's chunks
//! where they belong, hashes them while they are still in cache when they are next in line,
//! and publishes the segment's progress.
//!
//! Why a thread of its own (issue #9 §6): on a fast link a 2-core machine is CPU-bound, and
//! the work per byte is receiving it (the kernel's copy out of the socket), hashing it and
//! writing it (the kernel's copy into the page cache). When the connection waited for each
//! write before reading on, the two halves took turns and about a fifth of the CPU stayed idle
//! (measured: two 1 GB files, one connection each, 0.45 s idle in 1.76 s). With the writer on
//! its own thread, the connection keeps receiving while the previous chunks are hashed and
//! written, and the queue between them is short ([`QUEUED_CHUNKS`]) so memory stays about a
//! MiB per connection. The chunks are hyper's reference-counted `Bytes`, written as
//! they came: the bytes are copied once, into the page cache, never into a buffer of ours.
//!
//! The connection hashes each chunk on arrival when it is next in line (still in that core's
//! cache); the writer hashes it after writing when the read-back hasher held the hash then.
//!
//! A split may move a segment's end below bytes that are already queued: the writer clips
//! every chunk to the segment's end *at write time*, so they are dropped, never written
//! past the end. If the connection had already hashed them, the file's bytes there come from
//! another request, so the digest is taken from the disk instead (`Shared::rehash`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{RECORD_EVERY, Segment, WorkerContext, now_ms, persist_now, task_error, write_all_at};
use crate::cache::CacheError;
use crate::download::error::DownloadError;

/// Chunks a connection may have received but not written yet (hyper hands out up to about
/// 400 KiB at a time): enough that the writer never waits for the network while the machine
/// is CPU-bound, few enough that 32 connections stay within tens of MiB.
const QUEUED_CHUNKS: usize = 2;

pub(super) struct Writer {
    shared: Arc<super::Shared>,
    queue: mpsc::Sender<Message>,
    thread: tokio::task::JoinHandle<()>,
}

enum Message {
    Chunk {
        segment: Arc<Segment>,
        position: u64,
        bytes: Bytes,
        /// Where the connection's own hashing of these bytes ended (0: it did not hash them).
        hashed_to: u64,
    },
    /// Answered once every chunk sent before it is written (or with the first write error
    /// since the previous flush).
    Flush(oneshot::Sender<Result<(), DownloadError>>),
}

impl Writer {
    pub(super) fn start(context: Arc<WorkerContext>) -> Writer {
        let (queue, received) = mpsc::channel(QUEUED_CHUNKS);
        let shared = context.shared.clone();
        let thread = tokio::task::spawn_blocking(move || run(&context, received));
        Writer {
            shared,
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
        // Hashed here, on arrival, when next in line: the bytes are still in this core's
        // cache (measured: 1.50 s against 1.58 s when the writer thread hashed them after
        // writing, two 1 GB files, medians of 7).
        let end = segment.end();
        let mut hashed_to = 0;
        if position < end {
            let keep = bytes.len().min((end - position) as usize);
            if self.shared.try_hash_from_memory(position, &bytes[..keep]) {
                hashed_to = position + keep as u64;
            }
        }
        self.queue
            .send(Message::Chunk {
                segment: segment.clone(),
                position,
                bytes,
                hashed_to,
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
                hashed_to,
            } => {
                if failed.is_none()
                    && let Err(error) = write_chunk(context, &segment, position, &bytes, hashed_to)
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

/// Writes one chunk at `position`, clipped to the segment's current end, hashes it if it is
/// next in line, then publishes the segment's new written count to the hasher, the progress
/// bars and (every [`RECORD_EVERY`], at most every [`super::RECORD_INTERVAL`]) the record.
/// Blocking.
fn write_chunk(
    context: &WorkerContext,
    segment: &Segment,
    position: u64,
    bytes: &[u8],
    hashed_to: u64,
) -> Result<(), DownloadError> {
    let shared = &context.shared;
    let end = segment.end();
    let bytes = &bytes[..bytes.len().min(end.saturating_sub(position) as usize)];
    if hashed_to > position + bytes.len() as u64 {
        // A split cut bytes this connection already hashed: the file gets those from the new
        // segment's request instead, so the digest must come from the disk.
        shared.rehash.store(true, Ordering::Release);
    }
    if bytes.is_empty() {
        return Ok(());
    }
    write_all_at(&shared.file, bytes, position)
        .map_err(|e| CacheError::io("write", &shared.incomplete, e))?;
    if hashed_to == 0 {
        shared.hash_from_memory(position, bytes);
    }
    let after = position + bytes.len() as u64;
    let before = segment
        .written
        .fetch_max(after - segment.start, Ordering::AcqRel);
    let new_bytes = (after - segment.start).saturating_sub(before);
    if segment.is_done() {
        segment.finished.notify_waiters();
    }
    if new_bytes > 0 {
        segment.last_progress_ms.store(now_ms(), Ordering::Release);
        shared.progress.fetch_add(new_bytes, Ordering::AcqRel);
        context.transfer.progress.advance(new_bytes);
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
