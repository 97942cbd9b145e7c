//! `HF_HUB_OFFLINE=1`: answer from the cache alone, with zero requests (issue #2), following
//! huggingface_hub's lookup (hub-protocol.md §2.4): revision → commit through `refs/` (or the
//! hash itself), then `.no_exist/` for known-missing files, then `snapshots/<commit>/<path>`.

use std::path::Path;

use super::error::DownloadError;
use super::{DownloadReport, DownloadRequest, FileReport, FileStatus, Target};
use crate::cache::local_dir::LocalDir;
use crate::cache::{CacheRepo, RepoPath, tree};
use crate::hub::repo::is_commit_hash;

pub fn serve(request: &DownloadRequest) -> Result<DownloadReport, DownloadError> {
    match &request.target {
        Target::Cache(dir) => serve_from_cache(request, &CacheRepo::new(dir, &request.repo), dir),
        Target::LocalDir { dir, .. } => serve_from_local_dir(request, &LocalDir::new(dir)),
    }
}

fn not_cached(request: &DownloadRequest, what: String, cache: &Path) -> DownloadError {
    let _ = request;
    DownloadError::NotCached {
        what,
        cache: cache.to_path_buf(),
    }
}

fn serve_from_cache(
    request: &DownloadRequest,
    cache: &CacheRepo,
    dir: &Path,
) -> Result<DownloadReport, DownloadError> {
    let commit = if is_commit_hash(&request.revision) {
        Some(request.revision.clone())
    } else {
        cache.read_ref(&request.revision)?
    };
    let Some(commit) = commit else {
        return Err(not_cached(
            request,
            format!("revision '{}' of {}", request.revision, request.repo),
            dir,
        ));
    };
    let snapshot = cache.snapshot_dir(&commit);
    let mut files = Vec::new();
    if request.files.is_empty() {
        // The cached listing says what a complete snapshot holds; without it, the snapshot
        // folder is all there is to go on.
        let wanted: Vec<(RepoPath, Option<u64>)> = match tree::read(&cache.tree_path(&commit)) {
            Some(entries) => entries
                .iter()
                .filter_map(|e| {
                    RepoPath::new(&e.path)
                        .ok()
                        .map(|p| (p, Some(e.lfs.as_ref().map_or(e.size, |l| l.size))))
                })
                .collect(),
            None if snapshot.is_dir() => walk(&snapshot).into_iter().map(|p| (p, None)).collect(),
            None => {
                return Err(not_cached(
                    request,
                    format!("{} at {commit}", request.repo),
                    dir,
                ));
            }
        };
        for (path, size) in wanted {
            if !request.filter.matches(path.as_str()) {
                continue;
            }
            let on_disk = std::fs::metadata(cache.snapshot_path(&commit, &path)).ok();
            match on_disk {
                Some(meta) if size.is_none_or(|s| s == meta.len()) => files.push(FileReport {
                    path: path.to_string(),
                    size: meta.len(),
                    status: FileStatus::Cached,
                }),
                _ => {
                    return Err(not_cached(
                        request,
                        format!("'{path}' of {}", request.repo),
                        dir,
                    ));
                }
            }
        }
    } else {
        for path in &request.files {
            if cache.is_marked_missing(&commit, path) {
                return Err(DownloadError::FileNotFound {
                    repo: request.repo.to_string(),
                    revision: request.revision.clone(),
                    missing: vec![path.to_string()],
                    suggestion: " (known missing from an earlier run)".to_string(),
                });
            }
            match std::fs::metadata(cache.snapshot_path(&commit, path)) {
                Ok(meta) => files.push(FileReport {
                    path: path.to_string(),
                    size: meta.len(),
                    status: FileStatus::Cached,
                }),
                Err(_) => {
                    return Err(not_cached(
                        request,
                        format!("'{path}' of {}", request.repo),
                        dir,
                    ));
                }
            }
        }
    }
    Ok(DownloadReport::new(request, &commit, files))
}

fn serve_from_local_dir(
    request: &DownloadRequest,
    local: &LocalDir,
) -> Result<DownloadReport, DownloadError> {
    let names: Vec<RepoPath> = if request.files.is_empty() {
        walk(local.root())
            .into_iter()
            .filter(|p| !p.as_str().starts_with(".cache/huggingface/"))
            .filter(|p| request.filter.matches(p.as_str()))
            .collect()
    } else {
        request.files.clone()
    };
    let mut files = Vec::new();
    let mut commit = String::new();
    for path in &names {
        let Ok(meta) = std::fs::metadata(local.file_path(path)) else {
            return Err(not_cached(
                request,
                format!("'{path}' of {}", request.repo),
                local.root(),
            ));
        };
        if let Some(metadata) = local.read_metadata(path) {
            commit = metadata.commit;
        }
        files.push(FileReport {
            path: path.to_string(),
            size: meta.len(),
            status: FileStatus::Cached,
        });
    }
    Ok(DownloadReport::new(request, &commit, files))
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
