//! The on-disk cache, byte-for-byte the layout `huggingface_hub` writes and reads
//! (docs/protocol.md §2), so that `transformers` finds what hfget downloaded and hfget reuses what
//! Python downloaded:
//!
//! ```text
//! <cache>/CACHEDIR.TAG
//! <cache>/.locks/models--org--name/<etag>.lock
//! <cache>/models--org--name/blobs/<etag>                      (git sha1 or sha256)
//! <cache>/models--org--name/refs/<revision>                   (commit hash, no newline)
//! <cache>/models--org--name/snapshots/<commit>/<path>  ->  ../../blobs/<etag>   (relative)
//! <cache>/models--org--name/.no_exist/<commit>/<path>         (empty: known missing)
//! <cache>/models--org--name/trees/<commit>.json               (the listing, 2.x format)
//! ```
//!
//! Writes never expose a half-written file: blobs grow in `<etag>.incomplete` and are renamed
//! into place once verified; refs, links and tree files are written to a temporary name first.

pub mod audit;
pub mod clean;
pub mod filter;
pub mod lease;
pub mod links;
pub mod listing;
pub mod local_dir;
pub mod lock;
pub mod pool;
pub mod relpath;
pub mod repair;
pub mod scan;
pub mod shared_store;
pub mod tree;
pub mod verify;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::exit::{self, Class};
use crate::hub::RepoId;
pub use relpath::{RepoPath, UnsafePath};

/// The `CACHEDIR.TAG` huggingface_hub 2.x writes, verbatim (`_local_folder.py`).
pub const CACHEDIR_TAG_CONTENT: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by huggingface_hub.\n\
# For information about cache directory tags, see:\n\
#\thttps://bford.info/cachedir/\n";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("Could not {action} {path}: {source}.{hint}", hint = io_hint(source, *place))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
        /// Which setting chose the folder, so the hint names the flag to change.
        place: Place,
    },
    #[error(transparent)]
    UnsafePath(#[from] UnsafePath),
}

impl CacheError {
    /// The family and the stable cause of this failure (docs/exit-codes.md). An unsafe name is
    /// the same failure wherever it is caught: a hostile or broken listing, never the local disk.
    pub fn classify(&self) -> Class {
        match self {
            CacheError::UnsafePath(_) => Class::new(exit::INTEGRITY, "unsafe_listing"),
            CacheError::Io { .. } => Class::new(exit::LOCAL, "local_filesystem"),
        }
    }
}

/// Where the folder of a failed write came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Place {
    /// The huggingface_hub cache (`--cache-dir`, `HF_HUB_CACHE`, `HF_HOME`).
    #[default]
    Cache,
    /// A `--local-dir` folder.
    LocalDir,
}

impl CacheError {
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> CacheError {
        CacheError::Io {
            action,
            path: path.to_path_buf(),
            source,
            place: Place::Cache,
        }
    }

    /// The same error, its hint naming `--local-dir` when that is where the folder came from.
    pub fn in_place(mut self, new_place: Place) -> CacheError {
        if let CacheError::Io { place, .. } = &mut self {
            *place = new_place;
        }
        self
    }
}

pub fn is_disk_full(error: &std::io::Error) -> bool {
    error.kind() == ErrorKind::StorageFull || error.raw_os_error() == Some(28)
}

fn io_hint(error: &std::io::Error, place: Place) -> &'static str {
    let full = is_disk_full(error);
    let denied = error.kind() == ErrorKind::PermissionDenied;
    let read_only = error.kind() == ErrorKind::ReadOnlyFilesystem;
    let not_a_folder = error.kind() == ErrorKind::NotADirectory;
    match place {
        Place::Cache if full => {
            " The disk is full: free some space (what was downloaded so far is kept and the next run resumes it), or choose another folder with --cache-dir or HF_HUB_CACHE."
        }
        Place::LocalDir if full => {
            " The disk is full: free some space (what was downloaded so far is kept and the next run resumes it), or choose another --local-dir."
        }
        Place::Cache if denied || read_only => {
            " Check the folder's permissions, or choose another one with --cache-dir or HF_HUB_CACHE."
        }
        Place::LocalDir if denied || read_only => {
            " Check the folder's permissions, or choose another --local-dir."
        }
        Place::Cache if not_a_folder => {
            " A file stands where a folder is needed: move it away, or choose another folder with --cache-dir or HF_HUB_CACHE."
        }
        Place::LocalDir if not_a_folder => {
            " A file stands where a folder is needed: move it away, or choose another --local-dir."
        }
        _ => "",
    }
}

/// One repository's folder in the cache.
#[derive(Clone, Debug)]
pub struct CacheRepo {
    cache_dir: PathBuf,
    root: PathBuf,
    folder_name: String,
    /// False when the user turned symlinks off (`HF_HUB_DISABLE_SYMLINKS`).
    symlinks_allowed: bool,
}

impl CacheRepo {
    pub fn new(cache_dir: &Path, repo: &RepoId) -> CacheRepo {
        let folder_name = repo.cache_folder_name();
        CacheRepo {
            cache_dir: cache_dir.to_path_buf(),
            root: cache_dir.join(&folder_name),
            folder_name,
            symlinks_allowed: true,
        }
    }

    /// The same repo, its snapshots holding files instead of symlinks even where the
    /// filesystem makes symlinks (`HF_HUB_DISABLE_SYMLINKS`).
    pub fn without_symlinks(mut self, disabled: bool) -> CacheRepo {
        self.symlinks_allowed = !disabled;
        self
    }

    /// How this cache's snapshots hold their files ([`links`]). Blocking the first time: it
    /// tries making a symlink in the cache folder.
    pub fn link_mode(&self) -> links::LinkMode {
        links::mode_for(&self.cache_dir, self.symlinks_allowed)
    }

    pub fn blob_path(&self, etag: &str) -> PathBuf {
        self.blobs_dir().join(etag)
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// Where a blob grows before it is verified. One name per blob (not per process) so that a
    /// later run, or a killed one's successor, continues from the bytes on disk;
    /// concurrent writers are kept apart by [`lock::BlobLock`] and, where locks do not work,
    /// by verifying before the atomic rename.
    pub fn incomplete_path(&self, etag: &str) -> PathBuf {
        self.blobs_dir().join(format!("{etag}.incomplete"))
    }

    /// `.locks/<folder>/<etag>.lock`, where Python's filelock takes it too (one layout, in
    /// [`scan::lock_path`]).
    pub fn lock_path(&self, etag: &str) -> PathBuf {
        scan::lock_path(&self.cache_dir, &self.folder_name, etag)
    }

    pub fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.root.join("snapshots").join(commit)
    }

    pub fn snapshot_path(&self, commit: &str, path: &RepoPath) -> PathBuf {
        path.under(&self.snapshot_dir(commit))
    }

    pub fn no_exist_path(&self, commit: &str, path: &RepoPath) -> PathBuf {
        path.under(&self.root.join(".no_exist").join(commit))
    }

    pub fn tree_path(&self, commit: &str) -> PathBuf {
        self.root.join("trees").join(format!("{commit}.json"))
    }

    fn ref_path(&self, revision: &str) -> Result<PathBuf, CacheError> {
        // `refs/pr/1` is stored nested: refs/refs/pr/1 (docs/protocol.md §2.2). The revision was validated
        // against git's ref rules already; RepoPath re-checks it cannot escape.
        Ok(RepoPath::new(revision)?.under(&self.root.join("refs")))
    }

    /// The commit a branch or tag pointed to when it was last resolved. Read with `trim`, since
    /// other tools may have added a newline (docs/protocol.md §2.2).
    pub fn read_ref(&self, revision: &str) -> Result<Option<String>, CacheError> {
        let path = self.ref_path(revision)?;
        match lease::filesystem::read_shared(&path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
        {
            Ok(text) => Ok(Some(text.trim().to_string()).filter(|c| !c.is_empty())),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                Ok(None)
            }
            Err(e) => Err(CacheError::io("read", &path, e)),
        }
    }

    /// Records `revision → commit`, without a trailing newline: Python reads refs without
    /// stripping (docs/protocol.md §2.2). Skipped when the revision is the commit itself, as Python does.
    pub fn write_ref(&self, revision: &str, commit: &str) -> Result<(), CacheError> {
        if revision == commit {
            return Ok(());
        }
        let path = self.ref_path(revision)?;
        if self.read_ref(revision)?.as_deref() == Some(commit) {
            // A killed run's temporary in refs/ would be listed as a ref by `cache ls`.
            sweep_temporaries(&path);
            return Ok(());
        }
        write_shared(&path, commit.as_bytes())
    }

    /// Points `snapshots/<commit>/<path>` at `blobs/<etag>`: with a relative symlink
    /// (docs/protocol.md §2.2), or where the cache's filesystem has none, with the file itself
    /// ([`links`]). `fresh`: this run just downloaded the blob, so a snapshot without symlinks
    /// may take it instead of copying it. Returns the bytes copied. Blocking.
    pub fn link_snapshot(
        &self,
        commit: &str,
        path: &RepoPath,
        etag: &str,
        fresh: bool,
    ) -> Result<u64, CacheError> {
        let link = self.snapshot_path(commit, path);
        let mode = self.link_mode();
        if mode != links::LinkMode::Symlink {
            create_dir_all(parent_of(&link)?)?;
            return links::place_file(mode, &self.blob_path(etag), &link, fresh)
                .map_err(|e| CacheError::io("place the file", &link, e));
        }
        let mut target = PathBuf::new();
        for _ in 0..path.depth() + 2 {
            target.push("..");
        }
        target.push("blobs");
        target.push(etag);
        if std::fs::read_link(&link).is_ok_and(|existing| existing == target) {
            return Ok(0);
        }
        let parent = parent_of(&link)?;
        create_dir_all(parent)?;
        let temporary = temporary_sibling(&link);
        crate::files::symlink_file(&target, &temporary)
            .map_err(|e| CacheError::io("create a symlink at", &temporary, e))?;
        std::fs::rename(&temporary, &link).map(|()| 0).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            CacheError::io("place the symlink", &link, e)
        })
    }

    /// Removes the symlink temporaries (`.<name>.<random>.tmp`, [`Self::link_snapshot`]) that
    /// runs killed between creating and renaming them left in `snapshots/<commit>/`. A live
    /// run's temporary exists for microseconds, so one older than [`STALE_LINK_AGE`] is a dead
    /// run's, on this machine or another one sharing the cache. Blocking; one walk of the
    /// snapshot, after a run.
    pub fn sweep_snapshot_temporaries(&self, commit: &str) {
        let mut folders = vec![self.snapshot_dir(commit)];
        while let Some(folder) = folders.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    folders.push(entry.path());
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                if !(kind.is_symlink() && name.starts_with('.') && name.ends_with(".tmp")) {
                    continue;
                }
                let stale = std::fs::symlink_metadata(entry.path())
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|modified| modified.elapsed().ok())
                    .is_some_and(|age| age > STALE_LINK_AGE);
                if stale {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Whether the snapshot already has this file, pointing at a blob of the expected size.
    /// Python-written caches count too: only the layout matters.
    pub fn has_file(&self, commit: &str, path: &RepoPath, size: u64) -> bool {
        std::fs::metadata(self.snapshot_path(commit, path))
            .is_ok_and(|m| m.is_file() && m.len() == size)
    }

    /// Whether the blob exists with the expected size (follows a shared-store symlink, docs/protocol.md §2.2).
    pub fn has_blob(&self, etag: &str, size: u64) -> bool {
        std::fs::metadata(self.blob_path(etag)).is_ok_and(|m| m.is_file() && m.len() == size)
    }

    /// Records that `path` does not exist at `commit`, so offline lookups can say so (docs/protocol.md §2.4).
    pub fn mark_missing(&self, commit: &str, path: &RepoPath) -> Result<(), CacheError> {
        let marker = self.no_exist_path(commit, path);
        create_dir_all(parent_of(&marker)?)?;
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&marker)
            .map(|_| ())
            .map_err(|e| CacheError::io("create", &marker, e))
    }

    pub fn is_marked_missing(&self, commit: &str, path: &RepoPath) -> bool {
        self.no_exist_path(commit, path).exists()
    }

    /// Creates `blobs/`, `snapshots/` and the cache's `CACHEDIR.TAG`.
    pub fn prepare(&self) -> Result<(), CacheError> {
        create_dir_all(&self.blobs_dir())?;
        create_dir_all(&self.root.join("snapshots"))?;
        let tag = self.cache_dir.join("CACHEDIR.TAG");
        if tag.exists() {
            sweep_temporaries(&tag);
            return Ok(());
        }
        write_shared(&tag, CACHEDIR_TAG_CONTENT.as_bytes())
    }
}

pub fn create_dir_all(path: &Path) -> Result<(), CacheError> {
    std::fs::create_dir_all(path).map_err(|e| CacheError::io("create the folder", path, e))
}

/// Removes a file of the cache (or of a local folder) that may already be gone, naming it if
/// that fails. Blocking.
pub(crate) fn remove_file(path: &Path) -> Result<(), CacheError> {
    crate::files::remove_if_exists(path).map_err(|e| CacheError::io("remove", path, e))
}

fn parent_of(path: &Path) -> Result<&Path, CacheError> {
    path.parent().ok_or_else(|| {
        CacheError::io(
            "find the folder of",
            path,
            std::io::Error::new(ErrorKind::InvalidInput, "no parent folder"),
        )
    })
}

/// How old a snapshot symlink temporary must be to count as a dead run's.
const STALE_LINK_AGE: std::time::Duration = std::time::Duration::from_secs(10);

/// `<name>.<random>.tmp` beside `path`: same filesystem, so the rename is atomic.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let random = crate::random::random_u64() as u32;
    path.with_file_name(format!(".{name}.{random:08x}.tmp"))
}

/// A variant of an `.incomplete` path no other process uses (`X.incomplete` →
/// `X.<random>.incomplete`), for when the lock is not held: two processes must then not share a
/// partial file (Python's reason for per-process names since 1.18, docs/protocol.md §1.6). Such a
/// file cannot be resumed by a later run, so it is removed when its download fails.
pub fn private_variant(incomplete: &Path) -> PathBuf {
    let name = incomplete
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".incomplete").unwrap_or(&name);
    let random = crate::random::random_u64() as u32;
    incomplete.with_file_name(format!("{stem}.{random:08x}.incomplete"))
}

/// Writes a small file atomically: temporary sibling, then rename.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), CacheError> {
    create_dir_all(parent_of(path)?)?;
    let temporary = temporary_sibling(path);
    std::fs::write(&temporary, contents).map_err(|e| CacheError::io("write", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        CacheError::io("write", path, e)
    })
}

/// [`write_atomic`] for a file of the cache that concurrent runs, on this machine or another,
/// may write at the same time (a listing, a ref, the `CACHEDIR.TAG`), then
/// [`sweep_temporaries`]. Nothing is written when the file already holds `contents`.
pub fn write_shared(path: &Path, contents: &[u8]) -> Result<(), CacheError> {
    let in_place = || std::fs::read(path).is_ok_and(|now| now == contents);
    let mut attempts = 0;
    while !in_place() {
        attempts += 1;
        create_dir_all(parent_of(path)?)?;
        let temporary = temporary_sibling(path);
        std::fs::write(&temporary, contents).map_err(|e| CacheError::io("write", &temporary, e))?;
        match std::fs::rename(&temporary, path) {
            Ok(()) => break,
            // Another run placed the file and swept our temporary as a killed run's (it cannot
            // tell them apart): the loop's test then sees whether the file holds our bytes.
            Err(e) if e.kind() == ErrorKind::NotFound && attempts < 4 => {}
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(CacheError::io("write", path, e));
            }
        }
    }
    sweep_temporaries(path);
    Ok(())
}

/// Removes the temporaries of [`write_atomic`] (`.<name>.<8 hex>.tmp`, [`temporary_sibling`])
/// beside `path` that runs `kill -9`ed between the write and the rename left: once the file is
/// in place no later run writes it again, so nobody else would ever remove them (the CI soak
/// `soak_random_kills_on_two_machines` found one in `trees/`). A live writer's temporary looks
/// the same: [`write_shared`] copes with losing it. Call it only once `path` is in place.
/// Blocking.
pub fn sweep_temporaries(path: &Path) {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let is_temporary = entry_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .is_some_and(|random| {
                random.len() == 8 && random.bytes().all(|b| b.is_ascii_hexdigit())
            });
        if is_temporary {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests;
