//! `HF_HUB_OFFLINE=1`: answer from the cache alone, with zero requests, following
//! huggingface_hub's lookup (docs/protocol.md §2.4): revision → commit through `refs/` (or the
//! hash itself), then `.no_exist/` for known-missing files, then `snapshots/<commit>/<path>`.
//! The answer is a [`Plan`] in which every file needs nothing.
//!
//! The same lookup stands in for an unreachable Hub ([`super::resolve`]). Either way a snapshot
//! is only "there" when every file of its recorded listing is: a snapshot folder that holds one
//! file an earlier `hfget download REPO FILE` fetched is not the repository.

use std::fmt;
use std::path::{Path, PathBuf};

use super::context::Context;
use super::error::{DownloadError, NotFoundHint};
use super::layout::{Layout, Need};
use super::plan::{Plan, PlannedFile};
use super::remote::RemoteFile;
use super::request::Selection;
use crate::cache::local_dir::LocalDir;
use crate::cache::tree;
use crate::cache::{CacheRepo, RepoPath};
use crate::hash::HashKind;
use crate::hub::repo::is_commit_hash;

/// What the cache lacks to answer a request without the Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheGap {
    /// The repository as the user wrote it (`acme/tiny`, `datasets/acme/data`).
    pub repo: String,
    pub revision: String,
    pub cache: PathBuf,
    pub missing: Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No `refs/<revision>` (and the revision is not a commit hash).
    Revision,
    /// Nothing at all for this commit: no listing, no snapshot folder.
    Snapshot { commit: String },
    /// The snapshot folder exists but no listing was recorded (only single files were fetched),
    /// so completeness cannot be told; `present` is what the folder holds.
    Listing {
        commit: String,
        present: Vec<String>,
    },
    /// These files, out of `wanted`.
    Files { files: Vec<String>, wanted: usize },
}

impl fmt::Display for CacheGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repo = &self.repo;
        let cache = self.cache.display();
        match &self.missing {
            Missing::Revision => write!(
                f,
                "revision '{}' of {repo} is not in the cache at {cache}",
                self.revision
            ),
            Missing::Snapshot { commit } => write!(
                f,
                "{repo} at commit {} is not in the cache at {cache}",
                short(commit)
            ),
            Missing::Listing { commit, present } => write!(
                f,
                "only single files of {repo} at commit {} are in the cache at {cache} ({}), and no file list was recorded, so hfget cannot tell what the rest of the snapshot holds",
                short(commit),
                quote_list(present, 5)
            ),
            Missing::Files { files, wanted } if *wanted > 1 => write!(
                f,
                "{} of the {wanted} files of {repo} {} not in the cache at {cache}: {}",
                files.len(),
                if files.len() == 1 { "is" } else { "are" },
                quote_list(files, 10)
            ),
            Missing::Files { files, .. } => write!(
                f,
                "{} of {repo} is not in the cache at {cache}",
                quote_list(files, 10)
            ),
        }
    }
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// `'a', 'b', 'c' and 4 more`.
fn quote_list(items: &[String], at_most: usize) -> String {
    let mut text = items
        .iter()
        .take(at_most)
        .map(|item| format!("'{item}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > at_most {
        text.push_str(&format!(" and {} more", items.len() - at_most));
    }
    text
}

/// Plans `request` from the cache alone, or says exactly what is missing. Blocking.
pub(crate) fn plan(context: &Context) -> Result<Plan, DownloadError> {
    plan_or_gap(context).map_err(|unserved| match unserved {
        Ok(gap) => DownloadError::NotCached {
            variable: context.options.offline_variable,
            gap,
        },
        Err(error) => error,
    })
}

/// Like [`plan`], but a gap is returned as such (the Hub being unreachable, it is not an
/// offline-mode error). Blocking.
pub(crate) fn plan_or_gap(context: &Context) -> Result<Plan, Result<Box<CacheGap>, DownloadError>> {
    let found = match &context.layout {
        Layout::Cache { root, cache } => from_cache(context, cache, root),
        Layout::LocalDir { local, .. } => from_local_dir(context, local),
    };
    let (commit, files) = found.map_err(|unserved| match unserved {
        Unserved::Gap(gap) => Ok(Box::new(gap)),
        Unserved::Error(error) => Err(error),
    })?;
    let files = files
        .into_iter()
        .map(|(path, size)| PlannedFile {
            // Nothing is fetched, so the blob's name is not needed (nor always known).
            remote: RemoteFile {
                path,
                size,
                etag: String::new(),
                kind: HashKind::Sha256,
            },
            need: Need::Nothing,
            earlier_files: false,
        })
        .collect();
    Ok(Plan { commit, files })
}

/// A commit and the files (with their sizes on disk) that answer the request.
type Found = (String, Vec<(RepoPath, u64)>);

enum Unserved {
    Gap(CacheGap),
    Error(DownloadError),
}

impl From<DownloadError> for Unserved {
    fn from(error: DownloadError) -> Unserved {
        Unserved::Error(error)
    }
}

impl From<crate::cache::CacheError> for Unserved {
    fn from(error: crate::cache::CacheError) -> Unserved {
        Unserved::Error(error.into())
    }
}

fn gap(context: &Context, cache: &Path, missing: Missing) -> Unserved {
    Unserved::Gap(CacheGap {
        repo: context.request.repo.to_string(),
        revision: context.request.revision.clone(),
        cache: cache.to_path_buf(),
        missing,
    })
}

/// The size a listing entry promises (LFS files: the pointer's size).
fn listed(entries: &[crate::hub::TreeEntry]) -> Vec<(RepoPath, u64)> {
    entries
        .iter()
        .filter(|e| e.is_file())
        .filter_map(|e| {
            RepoPath::new(&e.path)
                .ok()
                .map(|p| (p, e.lfs.as_ref().map_or(e.size, |l| l.size)))
        })
        .collect()
}

/// Every wanted file is there, or the gap names the ones that are not (of `wanted`).
fn all_or_gap(
    context: &Context,
    dir: &Path,
    missing: Vec<String>,
    wanted: usize,
) -> Result<(), Unserved> {
    if missing.is_empty() {
        return Ok(());
    }
    Err(gap(
        context,
        dir,
        Missing::Files {
            files: missing,
            wanted,
        },
    ))
}

fn from_cache(context: &Context, cache: &CacheRepo, dir: &Path) -> Result<Found, Unserved> {
    let request = &context.request;
    let commit = if is_commit_hash(&request.revision) {
        Some(request.revision.clone())
    } else {
        cache.read_ref(&request.revision)?
    };
    let Some(commit) = commit else {
        return Err(gap(context, dir, Missing::Revision));
    };
    let snapshot = cache.snapshot_dir(&commit);
    let mut files = Vec::new();
    let mut missing = Vec::new();
    match &request.selection {
        Selection::Snapshot(filter) => {
            // The cached listing says what a complete snapshot holds; without it, a snapshot
            // folder only says what some earlier run fetched, not what the repository is.
            let Some(entries) = tree::read(&cache.tree_path(&commit)) else {
                if !snapshot.is_dir() {
                    return Err(gap(context, dir, Missing::Snapshot { commit }));
                }
                let present = walk(&snapshot).iter().map(|p| p.to_string()).collect();
                return Err(gap(context, dir, Missing::Listing { commit, present }));
            };
            let wanted: Vec<(RepoPath, u64)> = listed(&entries)
                .into_iter()
                .filter(|(path, _)| filter.matches(path.as_str()))
                .collect();
            for (path, size) in &wanted {
                match std::fs::metadata(cache.snapshot_path(&commit, path)) {
                    Ok(meta) if meta.is_file() && meta.len() == *size => {
                        files.push((path.clone(), meta.len()));
                    }
                    _ => missing.push(path.to_string()),
                }
            }
            all_or_gap(context, dir, missing, wanted.len())?;
        }
        Selection::Named(names) => {
            for path in names {
                if cache.is_marked_missing(&commit, path) {
                    return Err(DownloadError::FileNotFound {
                        repo: request.repo.to_string(),
                        revision: request.revision.clone(),
                        missing: vec![path.to_string()],
                        suggestions: Vec::new(),
                        hint: Some(NotFoundHint::KnownMissing),
                    }
                    .into());
                }
                match std::fs::metadata(cache.snapshot_path(&commit, path)) {
                    Ok(meta) if meta.is_file() => files.push((path.clone(), meta.len())),
                    Ok(meta) if meta.is_dir() => {
                        return Err(DownloadError::named_a_folder(request, path).into());
                    }
                    _ => missing.push(path.to_string()),
                }
            }
            all_or_gap(context, dir, missing, names.len())?;
        }
    }
    Ok((commit, files))
}

fn from_local_dir(context: &Context, local: &LocalDir) -> Result<Found, Unserved> {
    let on_disk: Vec<RepoPath> = walk(local.root())
        .into_iter()
        .filter(|p| !p.as_str().starts_with(".cache/huggingface/"))
        .collect();
    // The commit the folder was filled from, and (if recorded) that commit's listing, which says
    // what a complete folder holds.
    let commit = on_disk
        .iter()
        .find_map(|p| local.read_metadata(p))
        .map(|m| m.commit)
        .unwrap_or_default();
    let listing = (!commit.is_empty())
        .then(|| tree::read(&local.tree_path(&commit)))
        .flatten();
    let names: Vec<RepoPath> = match &context.request.selection {
        Selection::Named(names) => names.clone(),
        Selection::Snapshot(filter) => match &listing {
            Some(entries) => listed(entries).into_iter().map(|(p, _)| p).collect(),
            None => on_disk,
        }
        .into_iter()
        .filter(|p| filter.matches(p.as_str()))
        .collect(),
    };
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for path in &names {
        match std::fs::metadata(local.file_path(path)) {
            Ok(meta) if meta.is_file() => files.push((path.clone(), meta.len())),
            _ => missing.push(path.to_string()),
        }
    }
    all_or_gap(context, local.root(), missing, names.len())?;
    Ok((commit, files))
}

/// Every file below `root` (following the snapshot's symlinks), as repo paths.
fn walk(root: &Path) -> Vec<RepoPath> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file()
                && let Ok(relative) = path.strip_prefix(root)
                && let Some(text) = relative.to_str()
                && let Ok(repo_path) = RepoPath::new(text)
            {
                out.push(repo_path);
            }
        }
    }
    out.sort();
    out
}
