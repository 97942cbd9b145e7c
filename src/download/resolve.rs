//! Stage 1: which commit. A commit hash needs no request; a branch or tag costs exactly one
//! (docs/protocol.md §3.1). Offline, or when the Hub cannot be asked, the cache answers instead.

use std::sync::Arc;

use super::context::Context;
use super::error::DownloadError;
use super::offline;
use super::plan::Plan;
use super::report::Warning;
use crate::files::blocking;
use crate::hub::repo::is_commit_hash;
use crate::hub::{HubError, HubErrorKind};

pub(crate) enum Resolution {
    Commit(String),
    /// Offline mode, or an unreachable Hub: an earlier run's cache holds everything asked for.
    FromCache(Plan),
}

pub(crate) async fn resolve(context: &Arc<Context>) -> Result<Resolution, DownloadError> {
    // The cache on disk instead of the Hub: filesystem work, off the async workers.
    if context.options.offline {
        let context = context.clone();
        let plan = blocking(move || offline::plan(&context)).await??;
        return Ok(Resolution::FromCache(plan));
    }
    match ask_the_hub(context).await {
        Ok(commit) => Ok(Resolution::Commit(commit)),
        Err(error) if is_transient(&error) && !context.request.force => {
            let context = context.clone();
            let plan = blocking(move || serve_cached_instead(&context, error)).await??;
            Ok(Resolution::FromCache(plan))
        }
        Err(error) => Err(error.into()),
    }
}

async fn ask_the_hub(context: &Context) -> Result<String, HubError> {
    let request = &context.request;
    if is_commit_hash(&request.revision) {
        return Ok(request.revision.clone());
    }
    let info = context
        .client
        .repo_info(&request.repo, Some(&request.revision))
        .await?;
    info.sha
        .filter(|sha| is_commit_hash(sha))
        .ok_or_else(|| HubError::protocol("the repository info has no commit hash (`sha`)"))
}

/// The Hub cannot be asked right now (network down, a proxy refusing its credentials, rate
/// limit, 5xx after retries).
fn is_transient(error: &HubError) -> bool {
    matches!(
        error.kind,
        HubErrorKind::Network(_)
            | HubErrorKind::ProxyAuth
            | HubErrorKind::ServerError
            | HubErrorKind::RateLimited
    )
}

/// When the Hub cannot be reached but an earlier run cached what was asked for, use it, as
/// huggingface_hub does (docs/protocol.md §1.8): a laptop on a plane still loads its model. The
/// user is told, since a newer commit may exist. Access errors (401/403/404) never take this
/// path: they go to the doctor. Blocking.
fn serve_cached_instead(context: &Context, error: HubError) -> Result<Plan, DownloadError> {
    match offline::plan_or_gap(context) {
        Ok(plan) => {
            context.events.warn(Warning::ServedFromCache {
                reason: error.kind_summary(),
                revision: context.request.revision.clone(),
                commit: plan.commit.clone(),
            });
            Ok(plan)
        }
        Err(Ok(gap)) => {
            // Say why the cache cannot stand in, so a half-filled snapshot is never taken for
            // the repository; the Hub's error and its exit code stand.
            context.events.warn(Warning::CacheCannotStandIn { gap });
            Err(error.into())
        }
        Err(Err(_)) => Err(error.into()),
    }
}
