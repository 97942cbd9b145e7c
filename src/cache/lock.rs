//! Per-blob locks, compatible with Python's `filelock` (flock on `.locks/<repo>/<etag>.lock`,
//! docs/protocol.md §1.6), so hfget and Python never download the same blob at once.
//!
//! Locks are best-effort, as in Python: on filesystems where flock is unsupported the download
//! goes ahead, and correctness rests on verifying every blob before its atomic rename.
//! In the cache, a flock is only the first step: [`super::lease`] decides who downloads a blob
//! across machines, where flock may be local to one of them (docs/shared-caches.md).

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{CacheError, create_dir_all};
use crate::output;

/// What one [`BlobLock::try_claim`] found.
pub enum TryLock {
    Held(BlobLock),
    /// Another process holds it.
    Busy,
    /// flock does not work on this filesystem.
    Unsupported,
}

/// Held while a blob is being downloaded; released when dropped.
pub struct BlobLock {
    file: Option<File>,
}

impl BlobLock {
    /// No lock at all, by choice (`HFGET_NO_FILE_LOCKS`).
    pub fn none() -> BlobLock {
        BlobLock { file: None }
    }

    /// Whether this process really holds the lock. When it does not (locks unsupported or
    /// disabled), the caller must not share a temporary file with other processes.
    pub fn is_held(&self) -> bool {
        self.file.is_some()
    }

    /// Takes the lock only if nobody holds it, without waiting: `Held` means a live process
    /// (hfget or Python's `filelock`, both flock) owns it right now, which is how `cache rm` and
    /// `cache prune` tell a live partial download from a stale one. A lock file that
    /// does not exist is free (every downloader creates it before locking) and is not created.
    /// A live lease on the blob (`cache::lease`: a download on another machine sharing the
    /// cache, where flock may not be seen) is `Held` too.
    /// Blocking (a single open and flock): call from a blocking thread.
    pub fn try_acquire(path: &Path) -> Probe {
        if lease_is_live(path) {
            return Probe::Held;
        }
        let file = match OpenOptions::new().write(true).open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Probe::Free(None),
            Err(error) => return Probe::Unknown(error),
        };
        match file.try_lock() {
            Ok(()) => Probe::Free(Some(BlobLock { file: Some(file) })),
            Err(TryLockError::WouldBlock) => Probe::Held,
            Err(TryLockError::Error(error)) => Probe::Unknown(error),
        }
    }

    /// One attempt at the lock a download holds, without waiting; creates the lock file
    /// (`0664`, as Python's `WeakFileLock`). Blocking (a quick system call; on NFS a round trip).
    pub fn try_claim(path: &Path) -> Result<TryLock, CacheError> {
        let file = open_lock_file(path)?;
        Ok(match file.try_lock() {
            Ok(()) => TryLock::Held(BlobLock { file: Some(file) }),
            Err(TryLockError::WouldBlock) => TryLock::Busy,
            Err(TryLockError::Error(_)) => TryLock::Unsupported,
        })
    }

    /// Waits for the lock in a thread of its own, blocked in the kernel (on a cluster
    /// filesystem, in its lock server) until the holder lets go or dies: the receiver hears of
    /// it at once, where polling would hear of it at its next look. Dropping the receiver
    /// gives the lock back as soon as the thread gets it. Never a tokio blocking thread: the
    /// wait may outlast the runtime, which would wait for it at exit. The receiver fails when
    /// the lock cannot be waited for (the file cannot be opened, or locks fail).
    pub fn wait_in_thread(path: &Path) -> tokio::sync::oneshot::Receiver<BlobLock> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let path = path.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("flock-wait".to_string())
            .spawn(move || {
                let Ok(file) = open_lock_file(&path) else {
                    return;
                };
                if file.lock().is_ok() {
                    // A receiver gone meanwhile drops the lock with the value sent back.
                    let _ = sender.send(BlobLock { file: Some(file) });
                }
            });
        // Without a thread the sender is gone, and the receiver fails: the claim polls.
        drop(spawned);
        receiver
    }

    /// Waits (asynchronously) for the lock, saying every 10 s who it is waiting for.
    pub async fn acquire(path: &Path, what: &str) -> Result<BlobLock, CacheError> {
        let file = open_lock_file(path)?;
        let started = Instant::now();
        let mut last_note = started;
        let mut delay = Duration::from_millis(20);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(BlobLock { file: Some(file) }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(error)) => {
                    output::debug(|| {
                        format!(
                            "file locks do not work on {} ({error}); continuing without",
                            path.display()
                        )
                    });
                    return Ok(BlobLock::none());
                }
            }
            if last_note.elapsed() >= Duration::from_secs(10) {
                output::info(format!(
                    "Waiting for another process that is downloading {what} (lock {}, {} s so far).",
                    path.display(),
                    started.elapsed().as_secs()
                ));
                last_note = Instant::now();
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }
}

/// Whether the blob of `.locks/<folder>/<etag>.lock` has a live lease beside its partial
/// (`<cache>/<folder>/blobs/<etag>.lease`).
fn lease_is_live(lock_path: &Path) -> bool {
    let (Some(folder_dir), Some(name)) = (lock_path.parent(), lock_path.file_name()) else {
        return false;
    };
    let (Some(folder), Some(cache)) = (
        folder_dir.file_name(),
        folder_dir.parent().and_then(Path::parent),
    ) else {
        return false;
    };
    let name = name.to_string_lossy();
    let Some(etag) = name.strip_suffix(".lock") else {
        return false;
    };
    super::lease::has_live_owner(&cache.join(folder).join("blobs"), etag)
}

/// What [`BlobLock::try_acquire`] found.
pub enum Probe {
    /// Nobody held it; now this process does (`None`: there was no lock file to hold).
    Free(Option<BlobLock>),
    /// A live process holds it.
    Held,
    /// Locks cannot be tested here (unsupported filesystem, permissions): liveness is unknown.
    Unknown(std::io::Error),
}

/// Opens (creating it, `0664` as Python's `WeakFileLock`, and its folder) the file a lock is
/// taken on. Blocking.
fn open_lock_file(path: &Path) -> Result<std::fs::File, CacheError> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o664)
        .open(path)
        .map_err(|e| CacheError::io("open the lock file", path, e))
}

#[cfg(test)]
mod tests;
