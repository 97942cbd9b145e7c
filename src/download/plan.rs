//! Stage 3: what each selected file still needs, from the files on disk, and whether it all
//! fits. A dry run stops here and reports the plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::context::Context;
use super::error::DownloadError;
use super::layout::Need;
use super::remote::RemoteFile;
use super::segmented::bytes_on_disk;
use super::select::Selected;
use crate::files::blocking;

pub(crate) struct Plan {
    pub(crate) commit: String,
    pub(crate) files: Vec<PlannedFile>,
}

pub(crate) struct PlannedFile {
    pub(crate) remote: RemoteFile,
    pub(crate) need: Need,
    /// Whether `blobs/` may hold files of this blob's earlier runs
    /// ([`crate::cache::lease::BlobClaim::earlier_files`]).
    pub(crate) earlier_files: bool,
}

impl Plan {
    /// Bytes that will cross the network or the disk, and in how many files.
    pub(crate) fn moving(&self) -> (u64, usize) {
        let moving = self.files.iter().filter(|p| p.need.moves_bytes());
        moving.fold((0, 0), |(bytes, files), p| {
            (bytes + p.remote.size, files + 1)
        })
    }
}

/// Stats, leases and free space: filesystem work, off the async workers.
pub(crate) async fn plan(
    context: &Arc<Context>,
    selected: Selected,
) -> Result<Plan, DownloadError> {
    let context = context.clone();
    blocking(move || {
        let plan = needs(&context, selected);
        if !context.request.dry_run {
            check_free_space(&context, &plan)?;
        }
        Ok(plan)
    })
    .await?
}

/// What each file still needs; sweeps the leases and lock probes killed runs left beside
/// blobs already in place. Blocking.
fn needs(context: &Context, selected: Selected) -> Plan {
    let (layout, request) = (&context.layout, &context.request);
    let mut probes_swept = false;
    // One listing of `blobs/` for the whole run, not one per file.
    let with_files = layout.etags_with_files();
    let files = selected
        .files
        .into_iter()
        .map(|remote| {
            let earlier_files = with_files
                .as_ref()
                .is_none_or(|etags| etags.contains(remote.etag.as_str()));
            let need = if request.force {
                Need::Fetch
            } else {
                layout.need(&selected.commit, &remote)
            };
            if !matches!(need, Need::Fetch) && !request.dry_run {
                layout.sweep_beside(&remote, context.options.lease_timeout, &mut probes_swept);
            }
            PlannedFile {
                remote,
                need,
                earlier_files,
            }
        })
        .collect();
    Plan {
        commit: selected.commit,
        files,
    }
}

/// Fails before the first byte when the plan cannot fit: bytes still to fetch, minus what
/// partial files already hold, against the free space of the target filesystem. Blocking.
fn check_free_space(context: &Context, plan: &Plan) -> Result<(), DownloadError> {
    let layout = &context.layout;
    let needed: u64 = plan
        .files
        .iter()
        .filter(|p| matches!(p.need, Need::Fetch | Need::CopyFrom(_)))
        .map(|p| {
            let (etag, size) = (&p.remote.etag, p.remote.size);
            let mut on_disk = bytes_on_disk(&layout.incomplete_path(&p.remote), etag, size);
            // Cache partials have owner-unique names: count the best one.
            if p.earlier_files {
                for candidate in layout.resumable_partials(etag) {
                    on_disk = on_disk.max(bytes_on_disk(&candidate, etag, size));
                }
            }
            size.saturating_sub(on_disk)
        })
        .sum();
    if needed == 0 {
        return Ok(());
    }
    let root = layout.root();
    let Ok(available) = fs4::available_space(existing_ancestor(root)) else {
        return Ok(());
    };
    if needed > available {
        return Err(DownloadError::InsufficientSpace {
            path: root.to_path_buf(),
            needed,
            available,
        });
    }
    Ok(())
}

fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
