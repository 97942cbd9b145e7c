//! Stage 2: which files. The listing (cached per commit, else one paginated request, or one
//! paths-info request for named files), then the selection the user asked for.

use std::sync::Arc;

use super::context::Context;
use super::error::DownloadError;
use super::remote::{RemoteFile, remote_files};
use super::report::Warning;
use super::request::Selection;
use crate::cache::{CacheError, RepoPath, tree};
use crate::files::blocking;
use crate::hub::TreeEntry;
use crate::text::closest_names;

/// The files of one commit that the request selected.
pub(crate) struct Selected {
    pub(crate) commit: String,
    pub(crate) files: Vec<RemoteFile>,
}

pub(crate) async fn select(
    context: &Arc<Context>,
    commit: String,
) -> Result<Selected, DownloadError> {
    let request = &context.request;
    let (entries, complete) = listing(context, &commit).await?;
    let entries = entries.as_slice();
    let files = remote_files(entries)?;
    let names = match &request.selection {
        Selection::Snapshot(filter) => {
            let selected: Vec<RemoteFile> = files
                .iter()
                .filter(|f| filter.matches(f.path.as_str()))
                .cloned()
                .collect();
            if selected.is_empty() && !files.is_empty() && !filter.is_empty() {
                // As `hf download` does: a warning and success, so a script looping over
                // repositories with `--include '*.gguf'` keeps going.
                context.events.warn(Warning::NothingMatches {
                    repo: request.repo.to_string(),
                    revision: request.revision.clone(),
                    files_in_repository: files.len(),
                });
            }
            return Ok(Selected {
                commit,
                files: selected,
            });
        }
        Selection::Named(names) => names,
    };
    let mut selected = Vec::new();
    let mut missing = Vec::new();
    for wanted in names {
        match files.iter().find(|f| &f.path == wanted) {
            Some(file) => selected.push(file.clone()),
            None => missing.push(wanted.clone()),
        }
    }
    if missing.is_empty() {
        return Ok(Selected {
            commit,
            files: selected,
        });
    }
    // Folders named without the trailing slash: paths-info answers them with a directory
    // entry; the listing only has files, whose paths show their folders.
    if let Some(folder) = missing
        .iter()
        .find(|name| is_folder(entries, name.as_str()))
    {
        return Err(DownloadError::named_a_folder(request, folder));
    }
    if !request.dry_run {
        let (context, commit, missing) = (context.clone(), commit.clone(), missing.clone());
        blocking(move || -> Result<(), DownloadError> {
            let failures =
                context
                    .layout
                    .mark_missing(&context.request.revision, &commit, &missing)?;
            for failure in failures {
                context.events.debug(|| failure);
            }
            Ok(())
        })
        .await??;
    }
    // Named files come from paths-info, which only knows what exists; suggestions need the
    // listing, which costs one more request but only on this error path.
    let names: Vec<String> = if complete {
        files.iter().map(|f| f.path.to_string()).collect()
    } else {
        context
            .client
            .list_tree(&request.repo, &commit)
            .await
            .map(|entries| entries.into_iter().map(|e| e.path).collect())
            .unwrap_or_default()
    };
    Err(DownloadError::FileNotFound {
        repo: request.repo.to_string(),
        revision: request.revision.clone(),
        suggestions: closest_names(missing[0].as_str(), names.iter().map(String::as_str)),
        missing: missing.iter().map(|p| p.to_string()).collect(),
        hint: None,
    })
}

/// The commit's entries and whether they are the whole listing (paths-info answers only the
/// names asked for). A whole listing is kept, so the next run asks nothing.
async fn listing(
    context: &Arc<Context>,
    commit: &str,
) -> Result<(Arc<Vec<TreeEntry>>, bool), DownloadError> {
    let request = &context.request;
    let tree_path = context.layout.tree_path(commit);
    let cached = if request.force {
        None
    } else {
        let path = tree_path.clone();
        blocking(move || tree::read(&path)).await?
    };
    let from_cache = cached.is_some();
    let (entries, complete) = match (cached, &request.selection) {
        (Some(entries), _) => (entries, true),
        (None, Selection::Named(names)) => {
            let names: Vec<String> = names.iter().map(RepoPath::to_string).collect();
            let entries = context
                .client
                .paths_info(&request.repo, commit, &names)
                .await?;
            (entries, false)
        }
        (None, Selection::Snapshot(_)) => {
            (context.client.list_tree(&request.repo, commit).await?, true)
        }
    };
    let entries = Arc::new(entries);
    if complete && !request.dry_run {
        let entries = entries.clone();
        blocking(move || -> Result<(), CacheError> {
            // A commit's listing never changes: one read from the cache is not written again,
            // but what runs killed while writing it left is swept (no later run writes it, so
            // nobody else would).
            if from_cache {
                crate::cache::sweep_temporaries(&tree_path);
                Ok(())
            } else {
                tree::write(&tree_path, &entries)
            }
        })
        .await??;
    }
    Ok((entries, complete))
}

fn is_folder(entries: &[TreeEntry], name: &str) -> bool {
    let prefix = format!("{name}/");
    entries
        .iter()
        .any(|e| e.path == name && e.kind == "directory" || e.path.starts_with(&prefix))
}
