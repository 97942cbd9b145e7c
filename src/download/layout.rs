//! Where a download's files live: the huggingface_hub cache, or a plain local folder (with the
//! cache it may copy blobs from). The one place that tells the two targets apart: paths, what a
//! file still needs, and how a finished run is recorded (docs/cache-layout.md).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::DownloadError;
use super::remote::RemoteFile;
use super::request::Target;
use crate::cache::lease;
use crate::cache::local_dir::LocalDir;
use crate::cache::{CacheError, CacheRepo, RepoPath, tree};
use crate::hash::HashKind;
use crate::hub::RepoId;

#[derive(Clone, Debug)]
pub(crate) enum Layout {
    Cache {
        root: PathBuf,
        cache: CacheRepo,
    },
    LocalDir {
        local: LocalDir,
        /// The hub cache whose blobs are copied instead of downloaded again.
        cache: CacheRepo,
    },
}

/// What a planned file still needs.
#[derive(Clone, Debug)]
pub(crate) enum Need {
    Nothing,
    /// Cache: the blob exists (another snapshot, or Python put it there); link it.
    Link,
    /// Local folder: the main cache has the blob; copy it.
    CopyFrom(PathBuf),
    /// Local folder: a file of the right size exists without metadata; hash it and keep it if
    /// it matches (docs/protocol.md §2.5).
    Adopt,
    Fetch,
}

impl Need {
    /// Whether the file's bytes cross the network or the disk now, so it has a bar and counts
    /// in the totals (one answer for both).
    pub(crate) fn moves_bytes(&self) -> bool {
        matches!(self, Need::Fetch | Need::CopyFrom(_) | Need::Adopt)
    }
}

impl Layout {
    /// `disable_symlinks`: snapshots hold files even where symlinks work (`HF_HUB_DISABLE_SYMLINKS`).
    pub(crate) fn new(target: &Target, repo: &RepoId, disable_symlinks: bool) -> Layout {
        match target {
            Target::Cache(dir) => Layout::Cache {
                root: dir.clone(),
                cache: CacheRepo::new(dir, repo).without_symlinks(disable_symlinks),
            },
            Target::LocalDir { dir, cache } => Layout::LocalDir {
                local: LocalDir::new(dir),
                cache: CacheRepo::new(cache, repo),
            },
        }
    }

    /// The folder the user chose: free space is measured there, and errors name it.
    pub(crate) fn root(&self) -> &Path {
        match self {
            Layout::Cache { root, .. } => root,
            Layout::LocalDir { local, .. } => local.root(),
        }
    }

    /// The cache a download writes into (not the one a local folder copies from).
    pub(crate) fn target_cache(&self) -> Option<&CacheRepo> {
        match self {
            Layout::Cache { cache, .. } => Some(cache),
            Layout::LocalDir { .. } => None,
        }
    }

    /// Where a commit's listing is kept.
    pub(crate) fn tree_path(&self, commit: &str) -> PathBuf {
        match self {
            Layout::Cache { cache, .. } => cache.tree_path(commit),
            Layout::LocalDir { local, .. } => local.tree_path(commit),
        }
    }

    /// The path a report prints: the snapshot (or local folder), or the one file asked for.
    pub(crate) fn result_path(&self, commit: &str, single: Option<&RepoPath>) -> PathBuf {
        match (self, single) {
            (Layout::Cache { cache, .. }, Some(path)) => cache.snapshot_path(commit, path),
            (Layout::Cache { cache, .. }, None) => cache.snapshot_dir(commit),
            (Layout::LocalDir { local, .. }, Some(path)) => path.under(local.root()),
            (Layout::LocalDir { local, .. }, None) => local.root().to_path_buf(),
        }
    }

    /// The shared partial file of a download (cache partials of a lease have owner-unique
    /// names, see [`Layout::resumable_partials`]).
    pub(crate) fn incomplete_path(&self, file: &RemoteFile) -> PathBuf {
        match self {
            Layout::Cache { cache, .. } => cache.incomplete_path(&file.etag),
            Layout::LocalDir { local, .. } => local.incomplete_path(&file.path, &file.etag),
        }
    }

    /// Partial files earlier runs left for this blob under their leases. Blocking.
    pub(crate) fn resumable_partials(&self, etag: &str) -> Vec<PathBuf> {
        match self {
            Layout::Cache { cache, .. } => lease::resumable_partials(&cache.blobs_dir(), etag),
            Layout::LocalDir { .. } => Vec::new(),
        }
    }

    /// The etags `blobs/` has files of (partials, leases), listed once per run; `None` when
    /// unknown (then every file may have some). Blocking.
    pub(crate) fn etags_with_files(&self) -> Option<HashSet<String>> {
        self.target_cache()
            .and_then(|cache| lease::etags_with_files(&cache.blobs_dir()))
    }

    /// What `file` still needs, from what is on disk. Blocking.
    pub(crate) fn need(&self, commit: &str, file: &RemoteFile) -> Need {
        match self {
            Layout::Cache { cache, .. } => {
                if cache.has_file(commit, &file.path, file.size) {
                    Need::Nothing
                } else if cache.has_blob(&file.etag, file.size) {
                    Need::Link
                } else {
                    Need::Fetch
                }
            }
            Layout::LocalDir { local, cache } => {
                let existing = std::fs::metadata(local.file_path(&file.path))
                    .ok()
                    .filter(|m| m.is_file() && m.len() == file.size);
                match (local.read_metadata(&file.path), existing) {
                    (Some(metadata), Some(_)) if metadata.etag == file.etag => Need::Nothing,
                    (None, Some(_)) if file.kind == HashKind::Sha256 => Need::Adopt,
                    _ if cache.has_blob(&file.etag, file.size) => {
                        Need::CopyFrom(cache.blob_path(&file.etag))
                    }
                    _ => Need::Fetch,
                }
            }
        }
    }

    /// Sweeps the leases and lock probes killed runs left beside a blob that is in place.
    /// `probes_swept` makes the probe sweep (a folder listing) once per run. Blocking.
    pub(crate) fn sweep_beside(
        &self,
        file: &RemoteFile,
        lease_timeout: Duration,
        probes_swept: &mut bool,
    ) {
        let Some(cache) = self.target_cache() else {
            return;
        };
        let blob = cache.blob_path(&file.etag);
        if let Some(blobs) = blob.parent() {
            lease::sweep_placed(blobs, &file.etag, lease_timeout);
            if !*probes_swept {
                lease::filesystem::sweep_dead_probes(blobs);
                *probes_swept = true;
            }
        }
    }

    /// Folders a run writes into, made before its transfers. Blocking.
    pub(crate) fn prepare(&self) -> Result<(), CacheError> {
        match self {
            // `snapshots/<commit>/` is made by the first link (or by `record`), so a run that
            // fails before placing anything leaves no empty snapshot behind.
            Layout::Cache { cache, .. } => cache.prepare(),
            Layout::LocalDir { local, .. } => local.prepare(),
        }
    }

    /// Records that `missing` are not in the repository at `commit` (`.no_exist/`), with the
    /// ref they are found through offline, as huggingface_hub does. Best effort per file: the
    /// marker only saves a later offline lookup. Blocking.
    pub(crate) fn mark_missing(
        &self,
        revision: &str,
        commit: &str,
        missing: &[RepoPath],
    ) -> Result<Vec<String>, DownloadError> {
        let Layout::Cache { cache, .. } = self else {
            return Ok(Vec::new());
        };
        cache.prepare()?;
        cache.write_ref(revision, commit)?;
        Ok(missing
            .iter()
            .filter_map(|path| {
                cache
                    .mark_missing(commit, path)
                    .err()
                    .map(|error| format!("could not record that '{path}' is missing: {error}"))
            })
            .collect())
    }

    /// Writes `refs/<revision>` once the snapshot holds something: after a complete run, or
    /// after a failed one that still placed some files (they are served offline by name), or
    /// after a complete run over a repository that has no files. A run that placed nothing
    /// (corrupted data, a dry run) leaves no ref and no empty snapshot folder. Blocking.
    pub(crate) fn record(
        &self,
        revision: &str,
        commit: &str,
        succeeded: bool,
    ) -> Result<(), DownloadError> {
        let Layout::Cache { cache, .. } = self else {
            return Ok(());
        };
        let snapshot = cache.snapshot_dir(commit);
        if succeeded {
            // The printed path must exist, even for an empty selection.
            crate::cache::create_dir_all(&snapshot)?;
        }
        cache.sweep_snapshot_temporaries(commit);
        let placed = std::fs::read_dir(&snapshot).is_ok_and(|mut entries| entries.next().is_some());
        // A repository with no files at all is complete with an empty snapshot: its ref lets
        // an offline rerun answer from the cache. Read only when nothing was placed, so a
        // normal run does not read its listing again.
        let empty_repository = || {
            succeeded
                && tree::read(&cache.tree_path(commit))
                    .is_some_and(|entries| entries.iter().all(|entry| entry.kind != "file"))
        };
        if placed || empty_repository() {
            cache.write_ref(revision, commit)?;
        }
        Ok(())
    }
}
