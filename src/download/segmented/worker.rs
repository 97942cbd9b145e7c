//! One connection: it claims work, fetches it over one request per claim, hands the chunks to
//! its writer, and retries through the one retry policy.

use super::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The parts of a [`Transfer`] a connection task needs, owned.
pub(super) struct TransferRef {
    pub(super) client: crate::hub::HubClient,
    pub(super) repo: crate::hub::RepoId,
    pub(super) commit: String,
    pub(super) path: String,
    pub(super) size: u64,
    pub(super) meter: Meter,
    pub(super) tally: Arc<Tally>,
    pub(super) events: Events,
}

impl TransferRef {
    pub(super) fn of(transfer: &Transfer<'_>) -> TransferRef {
        TransferRef {
            client: transfer.client.clone(),
            repo: transfer.repo.clone(),
            commit: transfer.commit.to_string(),
            path: transfer.file.path.to_string(),
            size: transfer.file.size,
            meter: transfer.meter.clone(),
            tally: transfer.tally.clone(),
            events: transfer.events.clone(),
        }
    }
}

/// What a connection needs, owned so it can run on its own task.
pub(super) struct WorkerContext {
    pub(super) transfer: TransferRef,
    pub(super) retry: RetryPolicy,
    pub(super) tuning: Tuning,
    /// Only LFS files tell a mirror apart: regular files come from the endpoint anyway.
    pub(super) lfs: bool,
    pub(super) mirror: Arc<AtomicBool>,
    pub(super) fast_files: Arc<FastFiles>,
    pub(super) shared: Arc<Shared>,
    /// The first successful open says whether the endpoint served the bytes itself.
    pub(super) opened: watch::Sender<Option<bool>>,
}

impl WorkerContext {
    pub(super) fn connection_limit(&self, mirror: bool) -> usize {
        match (self.tuning.connections, mirror) {
            (Some(n), false) => n.max(1),
            (Some(n), true) => n.clamp(1, MIRROR_CONNECTIONS),
            (None, false) => MAX_CONNECTIONS,
            (None, true) => MIRROR_CONNECTIONS,
        }
    }

    /// The granularity of splits: mirror blocks, or [`min_segment`].
    pub(super) fn split_unit(&self, mirror: bool) -> u64 {
        if mirror {
            MIRROR_BLOCK.max(self.tuning.chunk_size)
        } else {
            min_segment(&self.tuning)
        }
    }

    pub(super) fn mirror_now(&self) -> bool {
        self.lfs && self.mirror.load(Ordering::Acquire)
    }
}

pub(super) enum WorkerError {
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
pub(super) enum RangeError {
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
pub(super) async fn connection(
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
pub(super) struct Active(pub(super) Arc<Shared>);

impl Active {
    pub(super) fn new(shared: &Arc<Shared>) -> Active {
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
pub(super) async fn fetch_segment(
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
        // never given up because one of them keeps failing.
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
        context.transfer.events.warn(Warning::Resuming {
            path: context.transfer.path.clone(),
            reason: describe_interruption(&error),
            from: segment.frontier(),
            to: Some(segment.end().saturating_sub(1)),
            wait_seconds: wait.as_secs_f64(),
        });
        tokio::time::sleep(wait).await;
    }
}

/// One request for the unwritten rest of a segment, through the resolve endpoint: the signed
/// URL it mints is used for exactly this range, and reading stops early if the segment is cut.
pub(super) async fn fetch_range(
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
    transfer.tally.requested();
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
        transfer.events.debug(|| {
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
