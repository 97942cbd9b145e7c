//! Stage 4: the transfers. At most `max_workers` files at a time; large files also share a
//! connection budget for their ranges ([`super::segmented::Tuning::budget`]). The first failure
//! stops the rest; partial files stay on disk for the next run.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::context::Context;
use super::error::DownloadError;
use super::events::Inbox;
use super::job::{Job, RunShared};
use super::layout::{Layout, Need};
use super::plan::Plan;
use super::record::FileOutcome;
use super::report::{Warning, silent};
use super::segmented::FastFiles;
use crate::cache::links::LinkMode;
use crate::files::blocking;

pub(crate) async fn execute(
    context: &Arc<Context>,
    plan: &Plan,
    inbox: &mut Inbox<'_>,
) -> Result<Vec<FileOutcome>, DownloadError> {
    {
        let context = context.clone();
        blocking(move || context.layout.prepare()).await??;
    }
    if let Some(warning) = links_warning(context, plan).await {
        context.events.warn(warning);
    }
    let (bytes, files) = plan.moving();
    let reporter = inbox.reporter();
    reporter.transfers_started(bytes, files);
    let run = Arc::new(RunShared {
        // The connections all large files share (two files at full width when pinned).
        budget: Arc::new(Semaphore::new(context.options.tuning.budget())),
        mirror: Arc::new(AtomicBool::new(false)),
        fast_files: FastFiles::new(),
    });
    let workers = Arc::new(Semaphore::new(context.options.max_workers.max(1)));
    let commit: Arc<str> = Arc::from(plan.commit.as_str());
    let mut tasks = JoinSet::new();
    for (index, file) in plan.files.iter().enumerate() {
        // Nothing to do for a file the snapshot already has (a local folder still refreshes
        // its metadata, so it keeps its job).
        if matches!(file.need, Need::Nothing) && matches!(context.layout, Layout::Cache { .. }) {
            continue;
        }
        let job = Job {
            index,
            context: context.clone(),
            run: run.clone(),
            commit: commit.clone(),
            file: file.remote.clone(),
            need: file.need.clone(),
            earlier_files: file.earlier_files,
            meter: if file.need.moves_bytes() {
                reporter.file(file.remote.path.as_str(), file.remote.size)
            } else {
                silent()
            },
        };
        let workers = workers.clone();
        tasks.spawn(async move {
            let _permit = workers
                .acquire_owned()
                .await
                .map_err(|e| DownloadError::Task(e.to_string()))?;
            job.run().await
        });
    }
    let mut outcomes = Vec::new();
    let mut failure = None;
    loop {
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                match joined.map_err(|e| DownloadError::Task(e.to_string())).and_then(|r| r) {
                    Ok(outcome) => outcomes.push(outcome),
                    Err(error) => {
                        tasks.abort_all();
                        failure = Some(error);
                        break;
                    }
                }
            }
            _ = inbox.next() => {}
        }
    }
    inbox.drain();
    inbox.reporter().transfers_finished();
    match failure {
        Some(error) => Err(error),
        None => Ok(outcomes),
    }
}

/// Says once per run, before anything is placed, when the cache's snapshots cannot use
/// symlinks, and what that costs (the blobs that must be copied, not moved).
async fn links_warning(context: &Arc<Context>, plan: &Plan) -> Option<Warning> {
    let cache = context.layout.target_cache()?.clone();
    let places = plan.files.iter().any(|f| !matches!(f.need, Need::Nothing));
    if !places {
        return None;
    }
    let mode = blocking(move || cache.link_mode()).await.ok()?;
    if mode == LinkMode::Symlink {
        return None;
    }
    let copied = plan
        .files
        .iter()
        .filter(|f| mode.costs_space() && matches!(f.need, Need::Link))
        .map(|f| f.remote.size)
        .sum();
    Some(Warning::NoSymlinks {
        cache: context.layout.root().display().to_string(),
        mode,
        by_request: context.options.disable_symlinks,
        copied,
    })
}
