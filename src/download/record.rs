//! Stage 5: what a run leaves behind it (the ref that makes the snapshot findable offline) and
//! what it tells its caller (the [`DownloadReport`]).

use std::sync::Arc;

use super::context::Context;
use super::error::DownloadError;
use super::layout::Need;
use super::plan::Plan;
use super::report::{DownloadReport, FileReport, FileStatus, TransferFigures};
use crate::files::blocking;

/// How one planned file's work ended ([`super::execute`]).
pub(crate) struct FileOutcome {
    /// The file's place in the plan.
    pub(crate) index: usize,
    /// Set when it differs from what the plan implies (another process placed the blob).
    pub(crate) status: Option<FileStatus>,
    pub(crate) figures: Option<TransferFigures>,
}

/// Records the revision once the snapshot holds something (see [`super::layout::Layout::record`]).
pub(crate) async fn record(
    context: &Arc<Context>,
    plan: &Plan,
    succeeded: bool,
) -> Result<(), DownloadError> {
    let (context, commit) = (context.clone(), plan.commit.clone());
    blocking(move || {
        context
            .layout
            .record(&context.request.revision, &commit, succeeded)
    })
    .await?
}

/// The report of a plan and of how its files' work ended.
pub(crate) fn report(context: &Context, plan: &Plan, outcomes: &[FileOutcome]) -> DownloadReport {
    let request = &context.request;
    let mut files: Vec<FileReport> = plan
        .files
        .iter()
        .map(|p| FileReport {
            path: p.remote.path.to_string(),
            size: p.remote.size,
            status: match p.need {
                Need::Fetch if request.dry_run => FileStatus::WillDownload,
                Need::Fetch => FileStatus::Downloaded,
                Need::CopyFrom(_) if !request.dry_run => FileStatus::CopiedFromCache,
                _ => FileStatus::Cached,
            },
            transfer: None,
        })
        .collect();
    for outcome in outcomes {
        if let Some(file) = files.get_mut(outcome.index) {
            if let Some(status) = outcome.status {
                file.status = status;
            }
            file.transfer = outcome.figures.clone();
        }
    }
    let figures = files.iter().filter_map(|f| f.transfer.as_ref());
    let (bytes_fetched, bytes_kept) = figures.fold((0, 0), |(fetched, kept), f| {
        (fetched + f.bytes_fetched, kept + f.bytes_kept)
    });
    DownloadReport {
        repo: request.repo.id.clone(),
        repo_type: request.repo.repo_type,
        revision: request.revision.clone(),
        commit: plan.commit.clone(),
        path: context
            .layout
            .result_path(&plan.commit, request.single_file()),
        files,
        dry_run: request.dry_run,
        bytes_fetched,
        bytes_kept,
        warnings: Vec::new(),
    }
}
