//! Downloads, as a pipeline of stages behind one function, [`run`]:
//!
//! request → [`resolve`] (a commit, or the cache standing in for an unreachable Hub) →
//! [`select`] (the files asked for, from the listing) → [`plan`] (what each file needs; a dry
//! run stops here) → [`execute`] (the transfers, with per-file figures) → [`record`] (the ref,
//! and the [`DownloadReport`]).
//!
//! Each stage takes the previous stage's output and the one [`Context`]. The [`layout::Layout`] is the
//! only place that tells the cache and a local folder apart; the engine reports through a
//! [`Reporter`] and never prints. docs/engine.md describes the design.

mod claim;
mod context;
pub mod error;
mod events;
mod execute;
mod in_flight;
mod job;
mod layout;
mod local_copy;
mod offline;
mod plan;
mod record;
mod remote;
mod report;
mod request;
mod resolve;
mod segmented;
mod select;
mod transfer;
mod verify;
mod wait;

use std::sync::Arc;

use context::Context;
pub use error::DownloadError;
pub use remote::FileFilter;
pub use report::{DownloadReport, FileMeter, FileStatus, Note, Reporter, Warning};
pub use request::{DownloadRequest, Options, Selection, Session, Target};
pub use segmented::Tuning;

/// Downloads what `request` asks for, reporting progress and warnings to `reporter`, and
/// returns what was done. Nothing else of the engine is visible outside it.
pub async fn run(
    session: &Session,
    request: DownloadRequest,
    reporter: &dyn Reporter,
) -> Result<DownloadReport, DownloadError> {
    let (events, mut inbox) = events::channel(reporter);
    let context = Arc::new(Context::new(session, request, events));
    let result = stages(&context, &mut inbox).await;
    drop(context);
    inbox.drain();
    let mut report = result?;
    report.warnings = inbox.warnings;
    Ok(report)
}

async fn stages(
    context: &Arc<Context>,
    inbox: &mut events::Inbox<'_>,
) -> Result<DownloadReport, DownloadError> {
    let commit = match resolve::resolve(context).await? {
        resolve::Resolution::Commit(commit) => commit,
        resolve::Resolution::FromCache(plan) => return Ok(record::report(context, &plan, &[])),
    };
    inbox.drain();
    let selected = select::select(context, commit).await?;
    inbox.drain();
    let plan = plan::plan(context, selected).await?;
    if context.request.dry_run {
        return Ok(record::report(context, &plan, &[]));
    }
    let executed = execute::execute(context, &plan, inbox).await;
    record::record(context, &plan, executed.is_ok()).await?;
    Ok(record::report(context, &plan, &executed?))
}
