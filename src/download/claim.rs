//! A job in the cache: claim the blob (flock where it works, and a lease, docs/shared-caches.md),
//! wait visibly while another process downloads it, fetch it into the lease's owner-unique
//! partial file, then link the snapshot.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::DownloadError;
use super::in_flight::InFlight;
use super::job::{Job, JobEnd, discard_partial};
use super::layout::Need;
use super::report::Warning;
use super::segmented::bytes_on_disk;
use super::transfer::Tally;
use super::wait::WaitDisplay;
use crate::cache::CacheRepo;
use crate::cache::lease::{self, BlobClaim, Claim};
use crate::cache::links::LinkMode;
use crate::files::blocking;

impl Job {
    pub(crate) async fn run_in_cache(
        &self,
        cache: &CacheRepo,
        tally: &Arc<Tally>,
    ) -> Result<JobEnd, DownloadError> {
        let mut end = JobEnd::Done;
        let mut fresh = false;
        if matches!(self.need, Need::Fetch) {
            fresh = self.fetch_claimed(cache, tally).await?;
            if !fresh {
                end = JobEnd::ByAnotherProcess;
            }
        }
        if matches!(self.need, Need::Nothing) {
            return Ok(end);
        }
        match self.place(cache, fresh).await {
            Ok(()) => Ok(end),
            // Without symlinks another run moves the blob it fetched into its own snapshot: the
            // one this job waited for, or meant to copy, can be gone by now. Fetch it again.
            Err(error) if is_vanished_blob(&error) && !fresh => {
                let fresh = self.fetch_claimed(cache, tally).await?;
                self.place(cache, fresh).await?;
                Ok(if fresh { JobEnd::Done } else { end })
            }
            Err(error) => Err(error),
        }
    }

    /// Whether the snapshot already holds the file, though `blobs/` does not: without symlinks
    /// a run that fetched the blob for this same snapshot moves it there, so the lease this
    /// job now owns guards nothing left to fetch.
    async fn placed_by_another_run(&self, cache: &CacheRepo) -> bool {
        let (cache, commit, path, size) = (
            cache.clone(),
            self.commit.clone(),
            self.file.path.clone(),
            self.file.size,
        );
        blocking(move || {
            cache.link_mode() != LinkMode::Symlink && cache.has_file(&commit, &path, size)
        })
        .await
        .unwrap_or(false)
    }

    /// Symlinks (or the files themselves) and folders: filesystem work, off the async workers.
    async fn place(&self, cache: &CacheRepo, fresh: bool) -> Result<(), DownloadError> {
        let (cache, commit, path, etag) = (
            cache.clone(),
            self.commit.clone(),
            self.file.path.clone(),
            self.file.etag.clone(),
        );
        blocking(move || cache.link_snapshot(&commit, &path, &etag, fresh)).await??;
        Ok(())
    }

    /// Returns whether this process fetched the blob (false: another one placed it while this
    /// one waited).
    async fn fetch_claimed(
        &self,
        cache: &CacheRepo,
        tally: &Arc<Tally>,
    ) -> Result<bool, DownloadError> {
        let (options, etag) = (&self.context.options, &self.file.etag);
        let blob = cache.blob_path(etag);
        let mut claim = BlobClaim {
            blobs: blob.parent().map(Path::to_path_buf).unwrap_or_default(),
            etag: etag.clone(),
            size: self.file.size,
            file: self.file.path.to_string(),
            lock_path: (!options.no_file_locks).then(|| cache.lock_path(etag)),
            timeout: options.lease_timeout,
            refetch: self.context.request.force,
            progress: bytes_on_disk,
            earlier_files: self.earlier_files,
        };
        // Partials of leases this job lost: the new owner adopted them (or started afresh), but
        // a write of this job's may have recreated their chunk record since.
        let mut abandoned: Vec<PathBuf> = Vec::new();
        let in_flight = InFlight::default();
        let events = &self.context.events;
        let fetched_here = loop {
            let mut display = WaitDisplay::new(&self.meter, events, &claim.file);
            let lease = match lease::claim(claim.clone(), &mut display).await? {
                Claim::Done { by_this_process } => {
                    display.finish();
                    break by_this_process;
                }
                Claim::Owner(lease) => lease,
            };
            if self.placed_by_another_run(cache).await {
                display.finish();
                break false;
            }
            display.hand_over();
            let partial = lease.partial().to_path_buf();
            if self.context.request.force {
                discard_partial(&partial).await;
            }
            let fetched = tokio::select! {
                result = self.fetch(partial.clone(), blob.clone(), tally, &in_flight) => Some(result),
                () = lease.lost() => None,
            };
            // A frozen owner that wakes up after a takeover may fail on the files the new owner
            // adopted or swept before its heartbeat tells it ("Could not write
            // ….incomplete.chunks: No such file or directory"): an error from a lease that is
            // no longer ours is the takeover, not a failure.
            let fetched = match fetched {
                Some(Err(error)) if lease.is_taken_over().await => {
                    events.debug(|| format!("{}: after the takeover: {error}", self.file.path));
                    None
                }
                other => other,
            };
            drop(lease);
            match fetched {
                Some(result) => {
                    result?;
                    break true;
                }
                None => {
                    events.warn(Warning::TakenOver {
                        path: self.file.path.to_string(),
                    });
                    abandoned.push(partial);
                    // This job's own partial is among the blob's files now.
                    claim.earlier_files = true;
                }
            }
        };
        if !abandoned.is_empty() {
            // The cancelled transfer's writers finish the chunks queued to them first: only
            // then is nothing of this job's left to recreate what is cleaned up.
            in_flight.idle().await;
            for partial in &abandoned {
                discard_partial(partial).await;
            }
            let claim = claim.clone();
            let _ = blocking(move || lease::clear_after_completion(&claim)).await;
        }
        Ok(fetched_here)
    }
}

/// A snapshot file that could not be placed because its blob is no longer in `blobs/`.
fn is_vanished_blob(error: &DownloadError) -> bool {
    matches!(
        error,
        DownloadError::Cache(crate::cache::CacheError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound
    )
}
