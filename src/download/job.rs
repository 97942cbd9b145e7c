//! One file's work, owned so it runs on its own task: fetch (or copy, or adopt) and place it,
//! in the cache ([`super::claim`]) or in a local folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::Semaphore;

use super::context::Context;
use super::error::DownloadError;
use super::in_flight::InFlight;
use super::layout::{Layout, Need};
use super::local_copy::LocalCopy;
use super::record::FileOutcome;
use super::remote::RemoteFile;
use super::report::{Meter, TransferFigures};
use super::segmented::{FastFiles, SegmentedEnd, SegmentedTransfer};
use super::transfer::{Tally, Transfer};
use crate::cache::CacheError;
use crate::cache::local_dir::LocalDir;
use crate::cache::lock::BlobLock;
use crate::files::blocking;
use crate::hash::{ContentHasher, hash_file_reporting};

/// What every job of a run shares.
pub(crate) struct RunShared {
    /// The connection budget all large files share.
    pub(crate) budget: Arc<Semaphore>,
    /// Set once any LFS file was served by the endpoint itself (a pull-through mirror).
    pub(crate) mirror: Arc<AtomicBool>,
    /// The files on a fast link now: where hashing runs.
    pub(crate) fast_files: Arc<FastFiles>,
}

pub(crate) struct Job {
    pub(crate) index: usize,
    pub(crate) context: Arc<Context>,
    pub(crate) run: Arc<RunShared>,
    pub(crate) commit: Arc<str>,
    pub(crate) file: RemoteFile,
    pub(crate) need: Need,
    pub(crate) earlier_files: bool,
    pub(crate) meter: Meter,
}

/// How a job's own part ended, before it is a [`FileOutcome`].
pub(crate) enum JobEnd {
    Done,
    /// Another process placed the blob while this job waited for it.
    ByAnotherProcess,
}

impl Job {
    pub(crate) async fn run(self) -> Result<FileOutcome, DownloadError> {
        let tally = Arc::new(Tally::default());
        let end = match &self.context.layout {
            Layout::Cache { cache, .. } => self.run_in_cache(cache, &tally).await?,
            Layout::LocalDir { local, .. } => {
                self.run_in_local_dir(local, &tally).await?;
                JobEnd::Done
            }
        };
        let figures = tally.figures();
        Ok(FileOutcome {
            index: self.index,
            status: matches!(end, JobEnd::ByAnotherProcess)
                .then_some(super::report::FileStatus::ByAnotherProcess),
            figures: (figures != TransferFigures::default()).then_some(figures),
        })
    }

    /// Large files go over several connections; small ones, and files on a server that
    /// ignores `Range`, stream on one. `in_flight` learns of the threads still writing.
    pub(crate) async fn fetch(
        &self,
        incomplete: PathBuf,
        destination: PathBuf,
        tally: &Arc<Tally>,
        in_flight: &InFlight,
    ) -> Result<(), DownloadError> {
        let transfer = Transfer {
            client: &self.context.client,
            repo: &self.context.request.repo,
            commit: &self.commit,
            file: &self.file,
            incomplete,
            destination,
            meter: self.meter.clone(),
            tally: tally.clone(),
            events: self.context.events.clone(),
        };
        let tuning = self.context.options.tuning;
        if tuning.splits(self.file.size) {
            let segmented = SegmentedTransfer {
                transfer: &transfer,
                tuning,
                budget: self.run.budget.clone(),
                mirror: self.run.mirror.clone(),
                fast_files: self.run.fast_files.clone(),
                in_flight: in_flight.clone(),
            };
            if segmented.run().await? == SegmentedEnd::Placed {
                return Ok(());
            }
        }
        transfer.run().await
    }

    async fn lock(&self, path: &Path) -> Result<BlobLock, DownloadError> {
        if self.context.options.no_file_locks {
            return Ok(BlobLock::none());
        }
        Ok(BlobLock::acquire(path, self.file.path.as_str()).await?)
    }

    async fn run_in_local_dir(
        &self,
        local: &LocalDir,
        tally: &Arc<Tally>,
    ) -> Result<(), DownloadError> {
        let destination = local.file_path(&self.file.path);
        match &self.need {
            Need::Nothing => return self.write_metadata(local).await,
            Need::Adopt if self.file_matches(&destination).await? => {
                return self.write_metadata(local).await;
            }
            Need::CopyFrom(blob) => {
                // Resumable and verified, under the same lock as a download.
                let lock = self.lock(&local.lock_path(&self.file.path)).await?;
                let shared = local.incomplete_path(&self.file.path, &self.file.etag);
                let copy = LocalCopy {
                    blob: blob.clone(),
                    incomplete: if lock.is_held() {
                        shared
                    } else {
                        crate::cache::private_variant(&shared)
                    },
                    destination,
                    file: self.file.clone(),
                    meter: self.meter.clone(),
                };
                // A blob can be gigabytes: copy it off the async workers.
                blocking(move || {
                    let result = copy.run();
                    if result.is_err() && !lock.is_held() {
                        // Nobody can resume a private partial file.
                        let _ = crate::files::remove_if_exists(&copy.incomplete);
                    }
                    result
                })
                .await??;
                return self.write_metadata(local).await;
            }
            Need::Link | Need::Adopt | Need::Fetch => {}
        }
        let lock = self.lock(&local.lock_path(&self.file.path)).await?;
        // Fetches into the shared, resumable partial when this process holds the lock, and
        // into a private one when it does not (locks unsupported or disabled), so concurrent
        // processes never write the same partial file.
        let shared = local.incomplete_path(&self.file.path, &self.file.etag);
        let incomplete = if lock.is_held() {
            shared
        } else {
            crate::cache::private_variant(&shared)
        };
        if self.context.request.force {
            discard_partial(&incomplete).await;
        }
        let in_flight = InFlight::default();
        let result = self
            .fetch(incomplete.clone(), destination, tally, &in_flight)
            .await;
        if result.is_err() && !lock.is_held() {
            // Nobody can resume a private partial file: do not leave it behind.
            in_flight.idle().await;
            discard_partial(&incomplete).await;
        }
        result?;
        self.write_metadata(local).await
    }

    /// `.cache/huggingface/download/<path>.metadata`, off the async workers.
    async fn write_metadata(&self, local: &LocalDir) -> Result<(), DownloadError> {
        let (local, path, commit, etag) = (
            local.clone(),
            self.file.path.clone(),
            self.commit.clone(),
            self.file.etag.clone(),
        );
        blocking(move || local.write_metadata(&path, &commit, &etag)).await??;
        Ok(())
    }

    /// Hashes an existing file against the expected sha256 (local-folder adoption). Hashing a
    /// multi-gigabyte file takes seconds: it moves the bars as it reads, and gives the bytes
    /// back when the file does not match (it is then downloaded).
    async fn file_matches(&self, path: &Path) -> Result<bool, DownloadError> {
        let owned = path.to_path_buf();
        let (kind, size, etag) = (self.file.kind, self.file.size, self.file.etag.clone());
        let meter = self.meter.clone();
        let matches = blocking(move || -> std::io::Result<bool> {
            let mut hasher = ContentHasher::new(kind, size);
            let total = hash_file_reporting(&owned, size, &mut hasher, |read| meter.advance(read))?;
            let matches = total == size && hasher.finish() == etag;
            if !matches {
                meter.rewind(total);
            }
            Ok(matches)
        })
        .await?
        .map_err(|e| CacheError::io("read", path, e))?;
        Ok(matches)
    }
}

/// Removes a partial file and its progress record, off the async workers; best effort.
pub(crate) async fn discard_partial(incomplete: &Path) {
    let incomplete = incomplete.to_path_buf();
    let _ = blocking(move || {
        let _ = crate::files::remove_if_exists(&super::segmented::sidecar_path(&incomplete));
        let _ = crate::files::remove_if_exists(&incomplete);
    })
    .await;
}
