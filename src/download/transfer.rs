//! The single-stream path: small files, and files on a server that ignores `Range`, stream on
//! one connection, appended to their partial file and hashed from memory as they arrive; large
//! files take [`super::segmented`]. docs/engine.md follows a byte from the CDN to the cache.
//!
//! Resume works within a run (a cut connection continues from the bytes written) and across
//! runs (the partial file of a killed run is continued, its bytes hashed first).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncWriteExt, BufWriter};

use super::error::DownloadError;
use super::events::Events;
use super::remote::RemoteFile;
use super::report::{Meter, TransferFigures, Warning};
use super::verify::{Settled, after_mismatch, settle};
use crate::cache::CacheError;
use crate::hash::{ContentHasher, hash_file_prefix};
use crate::hub::error::HubErrorKind;
use crate::hub::fetch::{FetchError, FileRange};
use crate::hub::retry::{Attempts, MAX_ATTEMPTS_WITHOUT_PROGRESS, RetryPolicy};
use crate::hub::{HubClient, HubError, RepoId};

const WRITE_BUFFER: usize = 1 << 20;

/// Where a file comes from and where its bytes go.
pub struct Transfer<'a> {
    pub client: &'a HubClient,
    pub repo: &'a RepoId,
    pub commit: &'a str,
    pub file: &'a RemoteFile,
    pub incomplete: PathBuf,
    pub destination: PathBuf,
    pub meter: Meter,
    pub tally: Arc<Tally>,
    pub events: Events,
}

/// One file's figures as its transfer goes: bytes fetched over the network now, and found on
/// disk from an earlier run (a resumed file must not look like it arrived at GiB/s), requests,
/// and what the segmented engine says about its last attempt.
#[derive(Debug, Default)]
pub struct Tally {
    fetched: AtomicU64,
    resumed: AtomicU64,
    requests: AtomicU64,
    engine: std::sync::Mutex<Option<TransferFigures>>,
}

impl Tally {
    pub fn fetched(&self, bytes: u64) {
        self.fetched.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn resumed(&self, bytes: u64) {
        self.resumed.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Takes back what was counted for bytes that were then discarded (a server that ignores
    /// `Range` makes either path start the file over): they will be fetched, and counted,
    /// again.
    pub fn take_back(&self, fetched: u64, resumed: u64) {
        let less = |counter: &AtomicU64, bytes: u64| {
            let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(bytes))
            });
        };
        less(&self.fetched, fetched);
        less(&self.resumed, resumed);
    }

    /// One more request for the file's bytes.
    pub fn requested(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The segmented engine's account of the attempt that placed the file.
    pub fn engine(&self, figures: TransferFigures) {
        if let Ok(mut engine) = self.engine.lock() {
            *engine = Some(figures);
        }
    }

    /// What the file's transfer came to.
    pub fn figures(&self) -> TransferFigures {
        let engine = self.engine.lock().ok().and_then(|e| e.clone());
        let requests = self.requests.load(Ordering::Relaxed);
        TransferFigures {
            bytes_fetched: self.fetched.load(Ordering::Relaxed),
            bytes_kept: self.resumed.load(Ordering::Relaxed),
            requests,
            ..engine.unwrap_or(TransferFigures {
                segments: u64::from(requests > 0),
                peak_connections: u64::from(requests > 0),
                ..TransferFigures::default()
            })
        }
    }
}

/// Why one attempt ended without a verified file.
enum AttemptEnd {
    Verified,
    /// Bytes stopped coming; the file on disk is a valid prefix to continue from.
    Interrupted(HubError),
    /// The bytes on disk are wrong; they were removed.
    Corrupt {
        actual: String,
    },
}

impl Transfer<'_> {
    /// The byte range `start..end` of this file, for [`HubClient::open_range`].
    pub fn range(&self, start: u64, end: Option<u64>) -> FileRange<'_> {
        FileRange {
            repo: self.repo,
            commit: self.commit,
            path: self.file.path.as_str(),
            size: self.file.size,
            start,
            end,
        }
    }

    /// The retry policy every transfer follows: the client's, with the no-progress limit.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: MAX_ATTEMPTS_WITHOUT_PROGRESS,
            ..self.client.retry
        }
    }

    /// Maps a fetch failure of this file to what the transfer does about it.
    pub fn classify(&self, error: FetchError) -> Result<HubError, DownloadError> {
        match error {
            FetchError::Hub(error) => Ok(error),
            FetchError::BadRange { detail } => Err(DownloadError::BadRange {
                path: self.file.path.to_string(),
                detail,
            }),
            FetchError::SizeMismatch { actual } => Err(DownloadError::SizeMismatch {
                path: self.file.path.to_string(),
                expected: self.file.size,
                actual,
            }),
        }
    }

    /// Downloads, verifies and places the file.
    pub async fn run(&self) -> Result<(), DownloadError> {
        let mut attempts = Attempts::new(self.retry_policy());
        let mut corrupt_attempts = 0;
        let mut first = true;
        // Bytes of an earlier run this run counted as kept (the first attempt's prefix).
        let mut kept = 0;
        loop {
            let before = file_len_async(&self.incomplete).await?;
            let end = self.attempt(first, &mut kept).await?;
            first = false;
            match end {
                AttemptEnd::Verified => break,
                AttemptEnd::Corrupt { actual } => {
                    after_mismatch(self.file, &mut corrupt_attempts, actual, &self.events)?;
                }
                AttemptEnd::Interrupted(error) => {
                    let after = file_len_async(&self.incomplete).await?;
                    if after > before {
                        attempts.progressed();
                    }
                    let Some(wait) = attempts.failed(&error) else {
                        return Err(error
                            .with_context(format!("downloading {}", self.file.path))
                            .into());
                    };
                    self.events.warn(Warning::Resuming {
                        path: self.file.path.to_string(),
                        reason: describe_interruption(&error),
                        from: after,
                        to: None,
                        wait_seconds: wait.as_secs_f64(),
                    });
                    tokio::time::sleep(wait).await;
                }
            }
        }
        self.meter.finish();
        Ok(())
    }

    /// One request and what came of it. `first`: bytes found on disk now are an earlier run's
    /// (recorded in `kept`).
    async fn attempt(&self, first: bool, kept: &mut u64) -> Result<AttemptEnd, DownloadError> {
        let size = self.file.size;
        let incomplete = self.incomplete.clone();
        let mut offset = blocking(move || -> Result<u64, DownloadError> {
            let offset = file_len(&incomplete);
            if offset > size {
                crate::cache::remove_file(&incomplete)?;
                return Ok(0);
            }
            Ok(offset)
        })
        .await??;
        let mut hasher = ContentHasher::new(self.file.kind, size);
        if offset > 0 {
            hasher = hash_prefix(&self.incomplete, offset, hasher).await?;
            self.events
                .debug(|| format!("{}: resuming at byte {offset}", self.file.path));
        }
        self.meter.advance_resumed(offset);
        if first {
            self.tally.resumed(offset);
            *kept = offset;
        }
        let result = self.stream(&mut offset, kept, hasher).await;
        // Everything this attempt credited to the bars is what is on disk now. Unless the file
        // was verified, take it back: the next attempt credits the surviving prefix again.
        let end = match result {
            Ok(hasher) => self.finish(hasher, offset).await?,
            Err(StreamError::Hub(error)) => AttemptEnd::Interrupted(error),
            Err(StreamError::Fatal(error)) => return Err(error),
        };
        if !matches!(end, AttemptEnd::Verified) {
            self.meter.rewind(file_len_async(&self.incomplete).await?);
        }
        Ok(end)
    }

    /// Verifies what was written and, if right, renames it into place.
    async fn finish(
        &self,
        hasher: ContentHasher,
        written: u64,
    ) -> Result<AttemptEnd, DownloadError> {
        if written < self.file.size {
            return Ok(AttemptEnd::Interrupted(HubError::new(
                HubErrorKind::Network(crate::hub::error::NetworkErrorKind::Interrupted),
            )));
        }
        let digest = hasher.finish();
        let (file, incomplete, destination) = (
            self.file.clone(),
            self.incomplete.clone(),
            self.destination.clone(),
        );
        match blocking(move || settle(&file, digest, &incomplete, None, &destination)).await?? {
            Settled::Placed => Ok(AttemptEnd::Verified),
            Settled::Corrupt { actual } => Ok(AttemptEnd::Corrupt { actual }),
        }
    }

    /// One request: open the file from `offset` and append what arrives, hashing as it goes.
    /// `offset` follows the bytes written; `kept` is how many of them an earlier run left.
    async fn stream(
        &self,
        offset: &mut u64,
        kept: &mut u64,
        mut hasher: ContentHasher,
    ) -> Result<ContentHasher, StreamError> {
        let size = self.file.size;
        if *offset == size && size > 0 {
            return Ok(hasher);
        }
        self.tally.requested();
        let mut body = self
            .client
            .open_range(self.range(*offset, None))
            .await
            .map_err(|e| self.stream_error(e))?;
        if body.range_ignored {
            // A 200 to a ranged request: the server ignored Range (docs/protocol.md §1.5).
            // Start over.
            self.events
                .debug(|| format!("{}: server ignored Range; restarting", self.file.path));
            let incomplete = self.incomplete.clone();
            blocking(move || crate::cache::remove_file(&incomplete).map_err(DownloadError::from))
                .await
                .and_then(|r| r)
                .map_err(StreamError::Fatal)?;
            self.meter.rewind(*offset);
            // Every byte on disk is fetched again: none was kept, and none fetched yet.
            self.tally.take_back(offset.saturating_sub(*kept), *kept);
            *kept = 0;
            hasher = ContentHasher::new(self.file.kind, size);
            *offset = 0;
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.incomplete)
            .await
            .map_err(|e| StreamError::Fatal(CacheError::io("open", &self.incomplete, e).into()))?;
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
        let outcome = loop {
            match body.next_chunk().await {
                Ok(Some(chunk)) => {
                    if let Err(e) = writer.write_all(&chunk).await {
                        break Err(StreamError::Fatal(
                            CacheError::io("write", &self.incomplete, e).into(),
                        ));
                    }
                    *offset += chunk.len() as u64;
                    self.tally.fetched(chunk.len() as u64);
                    hasher.update(&chunk);
                    self.meter.advance(chunk.len() as u64);
                }
                Ok(None) => break Ok(()),
                Err(error) => break Err(self.stream_error(error)),
            }
        };
        // Keep every byte that arrived, even after a cut: it is the next attempt's head start.
        if let Err(e) = writer.flush().await {
            return Err(StreamError::Fatal(
                CacheError::io("write", &self.incomplete, e).into(),
            ));
        }
        outcome.map(|()| hasher)
    }

    fn stream_error(&self, error: FetchError) -> StreamError {
        match self.classify(error) {
            Ok(error) => StreamError::Hub(error),
            Err(error) => StreamError::Fatal(error),
        }
    }
}

enum StreamError {
    /// Retry-worthy (or at least reportable as a Hub error): the attempt ends, the file stays.
    Hub(HubError),
    Fatal(DownloadError),
}

pub(crate) fn describe_interruption(error: &HubError) -> String {
    match &error.kind {
        HubErrorKind::Network(kind) => kind.describe().to_string(),
        HubErrorKind::SignedUrlRejected => {
            "the signed download URL was refused (expired?)".to_string()
        }
        _ => error
            .status()
            .map(|s| format!("the server answered {s}"))
            .unwrap_or_else(|| "the transfer failed".to_string()),
    }
}

/// Runs filesystem work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DownloadError> {
    Ok(crate::files::blocking(work).await?)
}

async fn hash_prefix(
    path: &Path,
    len: u64,
    mut hasher: ContentHasher,
) -> Result<ContentHasher, DownloadError> {
    let owned = path.to_path_buf();
    blocking(move || hash_file_prefix(&owned, len, &mut hasher).map(|()| hasher))
        .await?
        .map_err(|e| CacheError::io("read", path, e).into())
}

/// The length of a file, 0 if it does not exist. Blocking.
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

pub(crate) async fn file_len_async(path: &Path) -> Result<u64, DownloadError> {
    let owned = path.to_path_buf();
    blocking(move || file_len(&owned)).await
}
