//! A file's hasher: one blocking thread that hashes every byte of the file in order, from
//! memory when a connection handed it the chunk, else by reading it back from the page cache.
//!
//! Why a thread of its own, fed with the connections' chunks (docs/engine.md): sha256 and the
//! git sha1 are sequential, so on a fast link the hash is the slowest stage of a file. When
//! the connection hashed each chunk itself, one core did the kernel's receive copy and the
//! hash in turn, and a single 1 GB file took 1.00 s against curl's 0.89 s (unverified), with
//! a third of a 2-core machine idle. With the hash on its own thread, receiving, hashing and
//! writing overlap: 0.81 s in a stand-alone model of the three stages, and no slower for two
//! files, where both cores are busy anyway (1.37 s against 1.40 s, medians of 6).
//!
//! - **The handoff.** A connection hands a chunk over only if it continues what the hasher
//!   has (handed or hashed): bytes that arrived ahead of that, on another segment, are read
//!   back later. The queue holds at most [`HANDED_CHUNKS`]; a connection that finds it full
//!   waits, so a file is never received faster than it can be hashed by more than that.
//!   The chunks are hyper's reference-counted `Bytes`, shared with the writer: no copy.
//! - **What is hashed is what is on disk.** A chunk is hashed from memory before (or while)
//!   its writer writes it. The writer knows which bytes it handed over
//!   ([`Shared::hand_to_hasher`]'s range); if it did not write all of them (a split cut them,
//!   or a racing connection wrote them first), the digest is taken from the disk at the end.
//! - **Where the hash runs.** The thread pays only while a core is free for it. With as
//!   many fast-link files as cores ([`FastFiles`]), every core is already receiving, hashing
//!   and writing, and the handoff only adds wake-ups: two 1 GB files on 2 cores took 1.63 s
//!   handed over against 1.48 s hashed on arrival (medians of 5). Then the connection hashes
//!   each chunk on arrival, while it is still in that core's cache, when it is next in line
//!   and nothing handed over is still waiting ([`Shared::try_hash_here`]).
//! - **Read-back.** Bytes at the hash position that are written but were not handed over
//!   (out of order, or after a resume) are read from the page cache, [`HASH_STEP`] at a time.
//!   The debug log (`-v`) says how many bytes took each path.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::Shared;
use crate::files::read_exact_at;
use crate::hash::ContentHasher;

/// Chunks (about 400 KiB each on a fast link) handed to the hasher and not hashed yet: enough
/// to ride out a scheduling hiccup, few enough to bound memory per file.
const HANDED_CHUNKS: usize = 4;
/// Bytes the hasher reads back (from the page cache) per step.
const HASH_STEP: usize = 1 << 20;

/// The large files being fetched on a fast link now, shared by all of a run's files, and the
/// machine's cores: while there are fewer such files than cores, a file's hash runs on its
/// hasher thread; with as many, on the connection (see the module docs).
pub struct FastFiles {
    active: AtomicUsize,
    cores: usize,
}

impl FastFiles {
    pub fn new() -> Arc<FastFiles> {
        Arc::new(FastFiles {
            active: AtomicUsize::new(0),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }

    #[cfg(test)]
    pub(super) fn with_cores(cores: usize) -> Arc<FastFiles> {
        Arc::new(FastFiles {
            active: AtomicUsize::new(0),
            cores,
        })
    }

    /// Counts a file as fast until the guard drops.
    pub(super) fn enter(self: &Arc<FastFiles>) -> FastFile {
        self.active.fetch_add(1, Ordering::AcqRel);
        FastFile(self.clone())
    }

    /// Whether every core is taken by a fast-link file.
    pub(super) fn cpu_bound(&self) -> bool {
        self.active.load(Ordering::Acquire) >= self.cores
    }
}

/// A file counted in [`FastFiles`].
pub(super) struct FastFile(Arc<FastFiles>);

impl Drop for FastFile {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(super) struct HashState {
    hasher: Option<ContentHasher>,
    from_memory: u64,
    read_back: u64,
}

impl HashState {
    pub(super) fn new(hasher: ContentHasher) -> HashState {
        HashState {
            hasher: Some(hasher),
            from_memory: 0,
            read_back: 0,
        }
    }
}

/// The chunks connections handed over, in file order, and the free places in the queue.
pub(super) struct Handoff {
    queue: Mutex<Queue>,
    places: Semaphore,
    /// Bytes `[0, hashed)` are hashed. Moved only under `Shared::hash`, by the hasher thread or
    /// by a connection hashing on arrival ([`Shared::try_hash_here`]).
    hashed: AtomicU64,
}

#[derive(Default)]
struct Queue {
    chunks: VecDeque<(u64, Bytes)>,
    /// The end of the bytes handed over so far.
    end: u64,
}

impl Default for Handoff {
    fn default() -> Handoff {
        Handoff {
            queue: Mutex::new(Queue::default()),
            places: Semaphore::new(HANDED_CHUNKS),
            hashed: AtomicU64::new(0),
        }
    }
}

impl Handoff {
    fn hashed(&self) -> u64 {
        self.hashed.load(Ordering::Acquire)
    }

    /// Where the hasher would take bytes `[position, end)` from: they must continue what it
    /// has, handed or hashed.
    fn start_for(&self, queue: &Queue, position: u64, end: u64) -> Option<u64> {
        let from = queue.end.max(self.hashed());
        (position <= from && from < end).then_some(from)
    }

    fn pop(&self) -> Option<(u64, Bytes)> {
        let chunk = self.queue.lock().ok()?.chunks.pop_front()?;
        self.places.add_permits(1);
        Some(chunk)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue
            .lock()
            .map(|q| q.chunks.is_empty())
            .unwrap_or(true)
    }
}

fn cancelled() -> std::io::Error {
    std::io::Error::other("the download was cancelled")
}

fn panicked() -> std::io::Error {
    std::io::Error::other("a download thread panicked")
}

impl Shared {
    /// Hands `bytes` (the file's bytes at `position`) to the hasher thread if they continue
    /// what it has; waits while its queue is full. The range of the file handed over, if any.
    pub(super) async fn hand_to_hasher(&self, position: u64, bytes: Bytes) -> Option<Range<u64>> {
        let end = position + bytes.len() as u64;
        // Most chunks of a many-connection download do not continue the hash: they must not
        // wait for a place in the queue.
        {
            let queue = self.handoff.queue.lock().ok()?;
            self.handoff.start_for(&queue, position, end)?;
        }
        let place = self.handoff.places.acquire().await.ok()?;
        let mut queue = self.handoff.queue.lock().ok()?;
        let from = self.handoff.start_for(&queue, position, end)?;
        queue
            .chunks
            .push_back((from, bytes.slice((from - position) as usize..)));
        queue.end = end;
        drop(queue);
        place.forget();
        self.notify();
        Some(from..end)
    }

    /// Hashes `bytes` (the file's bytes at `position`) here and now if they continue the
    /// hash and nothing handed over is still waiting; never waits for the lock (the hasher
    /// thread holds it while it hashes). The range of the file hashed, if any.
    pub(super) fn try_hash_here(&self, position: u64, bytes: &[u8]) -> Option<Range<u64>> {
        let mut state = self.hash.try_lock().ok()?;
        if !self.handoff.is_empty() {
            return None;
        }
        let from = self.handoff.hashed();
        let end = position + bytes.len() as u64;
        if from < position || from >= end {
            return None;
        }
        self.hash_in_memory(&mut state, position, bytes);
        Some(from..end)
    }

    /// Bytes hashed from memory and bytes read back, for the debug summary.
    pub(super) fn hash_paths(&self) -> (u64, u64) {
        self.hash
            .lock()
            .map(|h| (h.from_memory, h.read_back))
            .unwrap_or_default()
    }

    /// Wakes the hasher after a write, but only when it has something to do there: bytes at
    /// its position, or the end of the file. A write whose bytes were handed over (the common
    /// case on a fast link) wakes nobody, instead of a futex wake and two context switches per
    /// chunk (docs/engine.md).
    pub(super) fn wake_hasher(&self) {
        let position = self.handoff.hashed();
        if position >= self.size || self.written_from(position) > position {
            self.notify();
        }
    }

    /// Hashes the whole file in order: the chunks handed over, else what is written, read
    /// back from the page cache. Blocking: runs on its own thread until the file is hashed
    /// (or the download is cancelled, or a read fails). Once it ends, no connection waits for
    /// a place in its queue any more.
    pub(super) fn hash_in_order(&self) -> std::io::Result<String> {
        let hashed = self.hash_all();
        self.handoff.places.close();
        hashed
    }

    fn hash_all(&self) -> std::io::Result<String> {
        let mut buffer = Vec::new();
        loop {
            let position = self.handoff.hashed();
            if position >= self.size {
                break;
            }
            if self.cancelled.load(Ordering::Acquire) {
                return Err(cancelled());
            }
            if let Some((start, bytes)) = self.handoff.pop() {
                let mut state = self.hash.lock().map_err(|_| panicked())?;
                self.hash_in_memory(&mut state, start, &bytes);
                continue;
            }
            let available = self.written_from(position);
            if available > position {
                let mut state = self.hash.lock().map_err(|_| panicked())?;
                // A connection may have hashed from memory while this waited for the lock.
                if self.handoff.hashed() != position {
                    continue;
                }
                let step = ((available - position) as usize).min(HASH_STEP);
                buffer.resize(HASH_STEP, 0);
                read_exact_at(&self.file, &mut buffer[..step], position)?;
                if let Some(hasher) = state.hasher.as_mut() {
                    hasher.update(&buffer[..step]);
                }
                state.read_back += step as u64;
                self.handoff
                    .hashed
                    .store(position + step as u64, Ordering::Release);
                continue;
            }
            let (lock, condvar) = &self.signal;
            let guard = lock.lock().map_err(|_| panicked())?;
            if self.cancelled.load(Ordering::Acquire) {
                return Err(cancelled());
            }
            // Re-check under the lock: connections and writers publish before they take it
            // to notify.
            if !self.handoff.is_empty() || self.written_from(position) > position {
                continue;
            }
            let _ = condvar.wait_timeout(guard, Duration::from_millis(100));
        }
        let mut state = self.hash.lock().map_err(|_| panicked())?;
        state
            .hasher
            .take()
            .map(ContentHasher::finish)
            .ok_or_else(|| std::io::Error::other("the file was hashed twice"))
    }

    /// Hashes `bytes` (the file's bytes at `start`) from the hash position on, if it is
    /// inside them; bytes the read-back already hashed are skipped.
    pub(super) fn hash_in_memory(
        &self,
        state: &mut MutexGuard<'_, HashState>,
        start: u64,
        bytes: &[u8],
    ) {
        let position = self.handoff.hashed();
        let end = start + bytes.len() as u64;
        if position < start || position >= end {
            return;
        }
        let tail = &bytes[(position - start) as usize..];
        if let Some(hasher) = state.hasher.as_mut() {
            hasher.update(tail);
        }
        state.from_memory += tail.len() as u64;
        self.handoff.hashed.store(end, Ordering::Release);
    }
}
