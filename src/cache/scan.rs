//! What is in a cache: repos, revisions, partial downloads, the shared Xet store and anything
//! else, measured exactly as huggingface_hub 2.4.0's `scan_cache_dir()` measures it
//! (`utils/_cache_manager.py`), so `hfget cache ls` and Python agree byte for byte:
//!
//! - a snapshot file's blob is the *first* symlink hop (`blobs/<etag>`, which may itself link
//!   into the shared store); its size and times are those of the final target;
//! - a repo's `size_on_disk` sums its distinct blobs, `nb_files` counts them; a revision sums
//!   the distinct blobs its files use, and its `nb_files` counts its files;
//! - the cache total is physical: shared-store payloads once, including unreferenced ones;
//! - a folder that does not fit the layout is a warning and is skipped, as in Python.
//!
//! Only metadata is read (never file contents), repos are scanned in parallel on a plain
//! thread pool, and nothing is written except the flock probe of a partial download's lock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::lock::{BlobLock, Probe};
use super::{pool, shared_store};
use crate::exit::{self, Class};

/// OS files Python ignores everywhere (`FILES_TO_IGNORE`).
pub const FILES_TO_IGNORE: [&str; 3] = [".DS_Store", "Thumbs.db", "desktop.ini"];
const REPO_TYPES: [(&str, &str); 4] = [
    ("models", "model"),
    ("datasets", "dataset"),
    ("spaces", "space"),
    ("kernels", "kernel"),
];

#[derive(Debug)]
pub struct Inventory {
    /// The cache, resolved (as Python resolves it).
    pub cache_dir: PathBuf,
    /// Sorted by `id`.
    pub repos: Vec<CachedRepo>,
    pub partials: Vec<Partial>,
    pub shared_store: Vec<shared_store::StoreEntry>,
    /// Entries that are not repos (other tools' files): listed, never touched.
    pub others: Vec<OtherEntry>,
    pub warnings: Vec<String>,
    /// Physical bytes of complete blobs: each shared payload once (Python's
    /// `HFCacheInfo.size_on_disk`).
    pub size_on_disk: u64,
}

#[derive(Debug)]
pub struct CachedRepo {
    /// `model/owner/name`, as `hf cache ls` prints it.
    pub id: String,
    pub repo_type: &'static str,
    pub repo_id: String,
    pub path: PathBuf,
    pub size_on_disk: u64,
    pub nb_files: usize,
    pub last_accessed: f64,
    pub last_modified: f64,
    /// Sorted by commit.
    pub revisions: Vec<CachedRevision>,
    /// Complete blobs (hash-named entries of `blobs/`) no snapshot uses.
    pub orphan_blobs: Vec<BlobEntry>,
}

#[derive(Debug)]
pub struct CachedRevision {
    pub commit: String,
    pub refs: Vec<String>,
    pub size_on_disk: u64,
    pub nb_files: usize,
    pub last_modified: f64,
    pub snapshot_path: PathBuf,
    pub files: Vec<CachedFile>,
}

#[derive(Clone, Debug)]
pub struct CachedFile {
    /// Path inside the repo, `/`-separated.
    pub path_in_repo: String,
    /// `snapshots/<commit>/<path>`.
    pub file_path: PathBuf,
    /// The first hop: `blobs/<etag>` for a link, the file itself for a copy.
    pub blob_path: PathBuf,
    pub size: u64,
}

#[derive(Clone, Debug)]
pub struct BlobEntry {
    pub path: PathBuf,
    pub size: u64,
    pub modified: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartialKind {
    /// `<etag>.incomplete` (hfget, Python < 1.18) or `<etag>.<8hex>.incomplete` (Python 2.x,
    /// hfget without locks).
    Incomplete,
    /// hfget's `<partial>.chunks` record of a parallel download's progress.
    Sidecar,
    /// A temporary of an atomic write (`.<name>.<random>.tmp`, Python's `.shared` links, an
    /// expired lease set aside).
    Temporary,
    /// `<etag>.lease`: who downloads the blob when machines share the cache (`cache::lease`).
    Lease,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Liveness {
    /// Its lock is held: a download is writing it now.
    Live,
    /// Its lock is free.
    Stale,
    /// Locks cannot be tested on this filesystem.
    Unknown,
}

#[derive(Clone, Debug)]
pub struct Partial {
    /// The repo folder name (`models--org--name`).
    pub folder: String,
    pub path: PathBuf,
    pub kind: PartialKind,
    /// The blob it will become.
    pub etag: String,
    /// Apparent length (what Python reports).
    pub size: u64,
    /// Bytes really allocated (a parallel download preallocates a sparse file).
    pub allocated: u64,
    pub modified: f64,
    pub lock_path: PathBuf,
    pub liveness: Liveness,
}

#[derive(Clone, Debug)]
pub struct OtherEntry {
    pub path: PathBuf,
    pub is_dir: bool,
    /// Bytes allocated under it (symlinks not followed).
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(
        "The cache folder {0} does not exist. Download something first, or point --cache-dir (or HF_HUB_CACHE) at your cache."
    )]
    NotFound(PathBuf),
    #[error(
        "{0} is a file, not a cache folder. Point --cache-dir (or HF_HUB_CACHE) at your cache."
    )]
    NotADirectory(PathBuf),
    /// `cache verify`: the repo, ref or snapshot asked for is not in the cache.
    #[error("{0}")]
    NotCached(String),
    /// Ctrl-C during `cache rm`/`prune`.
    #[error(
        "Interrupted. What was already deleted stays deleted and the cache stays valid (refs go before snapshots, snapshots before blobs); `hfget cache ls` shows what is left."
    )]
    Interrupted,
    #[error("Could not read the cache folder {path}: {source}.")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl InventoryError {
    /// The family and the stable cause of this failure (docs/exit-codes.md).
    pub fn classify(&self) -> Class {
        match self {
            InventoryError::Unreadable { .. } => Class::new(exit::LOCAL, "local_filesystem"),
            InventoryError::Interrupted => Class::new(exit::INTERRUPTED, "interrupted"),
            InventoryError::NotFound(_)
            | InventoryError::NotADirectory(_)
            | InventoryError::NotCached(_) => Class::new(exit::NOT_FOUND, "not_in_cache"),
        }
    }
}

/// Scans the whole cache. Blocking: run it in `spawn_blocking`.
pub fn scan(cache_dir: &Path) -> Result<Inventory, InventoryError> {
    let cache_dir = match std::fs::canonicalize(cache_dir) {
        Ok(path) => path,
        Err(_) => return Err(InventoryError::NotFound(cache_dir.to_path_buf())),
    };
    if !cache_dir.is_dir() {
        return Err(InventoryError::NotADirectory(cache_dir));
    }
    let store_marked = shared_store::is_marked(&cache_dir);
    let unreadable = |source| InventoryError::Unreadable {
        path: cache_dir.clone(),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(&cache_dir)
        .map_err(unreadable)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let candidates: Vec<String> = names
        .into_iter()
        .filter(|name| {
            !(FILES_TO_IGNORE.contains(&name.as_str())
                || name == ".locks"
                || name == "CACHEDIR.TAG"
                || (name == shared_store::STORE_DIR && store_marked))
        })
        .collect();
    let outcomes = pool::map(candidates, pool::width(), |name| {
        let path = cache_dir.join(&name);
        let partials = scan_partials(&cache_dir, &path, &name);
        (name, scan_entry(&path), partials)
    });
    let mut inventory = Inventory {
        shared_store: shared_store::entries(&cache_dir),
        cache_dir,
        repos: Vec::new(),
        partials: Vec::new(),
        others: Vec::new(),
        warnings: Vec::new(),
        size_on_disk: 0,
    };
    for (_, outcome, partials) in outcomes {
        inventory.partials.extend(partials);
        match outcome {
            EntryOutcome::Repo(repo) => inventory.repos.push(*repo),
            EntryOutcome::Corrupted(warning) => inventory.warnings.push(warning),
            EntryOutcome::Other(other, warning) => {
                inventory.warnings.push(warning);
                inventory.others.push(other);
            }
        }
    }
    inventory.repos.sort_by(|a, b| a.id.cmp(&b.id));
    inventory.size_on_disk = physical_size(&inventory, store_marked);
    Ok(inventory)
}

/// Python's total: distinct repo blobs not in the shared store, plus every store payload.
fn physical_size(inventory: &Inventory, store_marked: bool) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    for repo in &inventory.repos {
        for revision in &repo.revisions {
            for file in &revision.files {
                let shared = store_marked
                    && shared_store::link_target(&file.blob_path, &inventory.cache_dir).is_some();
                if !shared && seen.insert(&file.blob_path) {
                    total += file.size;
                }
            }
        }
    }
    total + inventory.shared_store.iter().map(|e| e.size).sum::<u64>()
}

enum EntryOutcome {
    Repo(Box<CachedRepo>),
    /// Repo-shaped, but not as Python expects: skipped with a warning.
    Corrupted(String),
    /// Not a repo at all.
    Other(OtherEntry, String),
}

fn scan_entry(path: &Path) -> EntryOutcome {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let other = |warning: String| {
        let is_dir = path.is_dir();
        EntryOutcome::Other(
            OtherEntry {
                path: path.to_path_buf(),
                is_dir,
                size: allocated_size(path),
            },
            warning,
        )
    };
    if !path.is_dir() {
        return other(format!("{} is not a repo folder.", path.display()));
    }
    let Some((prefix, id)) = name.split_once("--") else {
        return other(format!(
            "{} is not a repo folder (its name has no `--`).",
            path.display()
        ));
    };
    let Some(&(_, repo_type)) = REPO_TYPES.iter().find(|(p, _)| *p == prefix) else {
        return other(format!(
            "{} is not a repo folder (type `{prefix}` is not one of models, datasets, spaces, kernels).",
            path.display()
        ));
    };
    let repo_id = id.replace("--", "/");
    match scan_repo(path, repo_type, &repo_id) {
        Ok(repo) => EntryOutcome::Repo(Box::new(repo)),
        Err(warning) => EntryOutcome::Corrupted(warning),
    }
}

fn seconds(time: std::io::Result<SystemTime>) -> f64 {
    time.ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

struct BlobStat {
    size: u64,
    accessed: f64,
    modified: f64,
}

fn scan_repo(
    repo_path: &Path,
    repo_type: &'static str,
    repo_id: &str,
) -> Result<CachedRepo, String> {
    let snapshots = repo_path.join("snapshots");
    if !snapshots.is_dir() {
        return Err(format!(
            "Snapshots dir doesn't exist in cached repo: {}",
            snapshots.display()
        ));
    }
    let refs_dir = repo_path.join("refs");
    let mut refs_by_commit: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if refs_dir.exists() {
        if refs_dir.is_file() {
            return Err(format!(
                "Refs directory cannot be a file: {}",
                refs_dir.display()
            ));
        }
        let mut ref_files = Vec::new();
        walk(&refs_dir, "", &mut ref_files);
        for (name, path) in ref_files {
            let base = name.rsplit('/').next().unwrap_or(&name);
            if FILES_TO_IGNORE.contains(&base) || path.is_dir() {
                continue;
            }
            // Read as Python does, without stripping: a ref with a newline names no snapshot.
            let commit = std::fs::read_to_string(&path)
                .map_err(|e| format!("Could not read the ref {}: {e}", path.display()))?;
            refs_by_commit.entry(commit).or_default().insert(name);
        }
    }
    let mut blob_stats: HashMap<PathBuf, BlobStat> = HashMap::new();
    let mut revisions = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .map_err(|e| format!("Could not read {}: {e}", snapshots.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for revision_path in entries {
        let commit = revision_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if FILES_TO_IGNORE.contains(&commit.as_str()) {
            continue;
        }
        if revision_path.is_file() {
            return Err(format!(
                "Snapshots folder corrupted. Found a file: {}",
                revision_path.display()
            ));
        }
        let mut listed = Vec::new();
        walk(&revision_path, "", &mut listed);
        let mut files = Vec::new();
        for (path_in_repo, file_path) in listed {
            let blob_path = match std::fs::read_link(&file_path) {
                Ok(target) => shared_store::normalize(
                    &file_path.parent().unwrap_or(&revision_path).join(target),
                ),
                Err(_) => file_path.clone(),
            };
            if !blob_stats.contains_key(&blob_path) {
                let Ok(metadata) = std::fs::metadata(&blob_path) else {
                    return Err(format!(
                        "Blob missing (broken symlink): {}",
                        blob_path.display()
                    ));
                };
                blob_stats.insert(
                    blob_path.clone(),
                    BlobStat {
                        size: metadata.len(),
                        accessed: seconds(metadata.accessed()),
                        modified: seconds(metadata.modified()),
                    },
                );
            }
            let size = blob_stats.get(&blob_path).map_or(0, |s| s.size);
            files.push(CachedFile {
                path_in_repo,
                file_path,
                blob_path,
                size,
            });
        }
        let distinct: HashSet<&PathBuf> = files.iter().map(|f| &f.blob_path).collect();
        let size_on_disk = distinct
            .iter()
            .filter_map(|b| blob_stats.get(*b))
            .map(|s| s.size)
            .sum();
        let last_modified = if distinct.is_empty() {
            seconds(std::fs::metadata(&revision_path).and_then(|m| m.modified()))
        } else {
            distinct
                .iter()
                .filter_map(|b| blob_stats.get(*b))
                .map(|s| s.modified)
                .fold(f64::MIN, f64::max)
        };
        revisions.push(CachedRevision {
            refs: refs_by_commit
                .remove(&commit)
                .map(|r| r.into_iter().collect())
                .unwrap_or_default(),
            commit,
            size_on_disk,
            nb_files: files.len(),
            last_modified,
            snapshot_path: revision_path,
            files,
        });
    }
    if !refs_by_commit.is_empty() {
        let dangling: Vec<String> = refs_by_commit
            .iter()
            .map(|(commit, refs)| {
                let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
                format!("{} -> {commit:?}", refs.join(", "))
            })
            .collect();
        return Err(format!(
            "Reference(s) refer to missing commit hashes: {} ({})",
            dangling.join("; "),
            repo_path.display()
        ));
    }
    let (last_accessed, last_modified) = if blob_stats.is_empty() {
        let metadata = std::fs::metadata(repo_path);
        (
            seconds(
                metadata
                    .as_ref()
                    .map_err(clone_error)
                    .and_then(|m| m.accessed()),
            ),
            seconds(metadata.and_then(|m| m.modified())),
        )
    } else {
        (
            blob_stats
                .values()
                .map(|s| s.accessed)
                .fold(f64::MIN, f64::max),
            blob_stats
                .values()
                .map(|s| s.modified)
                .fold(f64::MIN, f64::max),
        )
    };
    let orphan_blobs = orphan_blobs(repo_path, &blob_stats);
    Ok(CachedRepo {
        id: format!("{repo_type}/{repo_id}"),
        repo_type,
        repo_id: repo_id.to_string(),
        path: repo_path.to_path_buf(),
        size_on_disk: blob_stats.values().map(|s| s.size).sum(),
        nb_files: blob_stats.len(),
        last_accessed,
        last_modified,
        revisions,
        orphan_blobs,
    })
}

fn clone_error(error: &std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), error.to_string())
}

/// A blob name: the git sha1 (40 hex) or sha256 (64 hex) the Hub gave as ETag.
pub fn is_blob_name(name: &str) -> bool {
    (name.len() == 40 || name.len() == 64) && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn orphan_blobs(repo_path: &Path, used: &HashMap<PathBuf, BlobStat>) -> Vec<BlobEntry> {
    let blobs = repo_path.join("blobs");
    let Ok(entries) = std::fs::read_dir(&blobs) else {
        return Vec::new();
    };
    let mut orphans: Vec<BlobEntry> = entries
        .flatten()
        .filter(|e| is_blob_name(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|path| !used.contains_key(path))
        .filter_map(|path| {
            let metadata = std::fs::symlink_metadata(&path).ok()?;
            let followed = std::fs::metadata(&path).ok();
            Some(BlobEntry {
                size: followed.as_ref().map_or(0, |m| m.len()),
                modified: seconds(metadata.modified()),
                path,
            })
        })
        .collect();
    orphans.sort_by(|a, b| a.path.cmp(&b.path));
    orphans
}

/// Every file (or link to a file) under `dir`, with its `/`-joined path. Like Python's
/// `glob("**/*")` it does not descend into linked folders, and skips links to folders.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            walk(&entry.path(), &relative, out);
        } else if file_type.is_symlink() && entry.path().is_dir() {
            continue;
        } else {
            out.push((relative, entry.path()));
        }
    }
}

/// The partial downloads and sidecars in `<folder>/blobs/`, each with whether a live process
/// holds its lock (`.locks/<folder>/<etag>.lock`, which hfget and Python both hold while
/// writing).
fn scan_partials(cache_dir: &Path, folder_path: &Path, folder: &str) -> Vec<Partial> {
    let Ok(entries) = std::fs::read_dir(folder_path.join("blobs")) else {
        return Vec::new();
    };
    let mut partials: Vec<Partial> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let (kind, etag) = classify_partial(&name)?;
            let metadata = std::fs::symlink_metadata(entry.path()).ok()?;
            if !metadata.is_file() && kind != PartialKind::Temporary {
                return None;
            }
            let lock_path = lock_path(cache_dir, folder, &etag);
            Some(Partial {
                folder: folder.to_string(),
                path: entry.path(),
                kind,
                size: metadata.len(),
                allocated: metadata.blocks() * 512,
                modified: seconds(metadata.modified()),
                liveness: liveness(&lock_path),
                lock_path,
                etag,
            })
        })
        .collect();
    partials.sort_by(|a, b| a.path.cmp(&b.path));
    partials
}

/// `.locks/<folder>/<etag>.lock`, the flock hfget and Python hold while writing a blob.
pub fn lock_path(cache_dir: &Path, folder: &str, etag: &str) -> PathBuf {
    cache_dir
        .join(".locks")
        .join(folder)
        .join(format!("{etag}.lock"))
}

/// Whether a live process holds this lock, asked the one way `cache::lock` answers it.
pub fn liveness(lock_path: &Path) -> Liveness {
    match BlobLock::try_acquire(lock_path) {
        Probe::Free(_) => Liveness::Stale,
        Probe::Held => Liveness::Live,
        Probe::Unknown(error) => {
            crate::output::debug(|| {
                format!("cannot test the lock {}: {error}", lock_path.display())
            });
            Liveness::Unknown
        }
    }
}

/// `<etag>.incomplete`, `<etag>.<8hex>.incomplete` (Python 2.x), `<etag>.hfget-<16hex>.incomplete`
/// (hfget's lease protocol), `<…>.incomplete.chunks`, `<etag>.lease`, `.<etag>….tmp`,
/// `.<etag>.lease.<x>.expired` and Python's `.<etag>.<8hex>.shared` → its kind and the etag.
pub fn classify_partial(name: &str) -> Option<(PartialKind, String)> {
    let etag_of = |text: &str| {
        let etag = text.split('.').next().unwrap_or_default();
        is_blob_name(etag).then(|| etag.to_string())
    };
    if let Some(hidden) = name.strip_prefix('.') {
        if name.ends_with(".tmp") || name.ends_with(".shared") || name.ends_with(".expired") {
            return Some((PartialKind::Temporary, etag_of(hidden)?));
        }
        return None;
    }
    if let Some(etag) = name.strip_suffix(".lease") {
        return is_blob_name(etag).then(|| (PartialKind::Lease, etag.to_string()));
    }
    if name.ends_with(".incomplete.chunks") {
        return Some((PartialKind::Sidecar, etag_of(name)?));
    }
    if name.ends_with(".incomplete") {
        return Some((PartialKind::Incomplete, etag_of(name)?));
    }
    None
}

/// Bytes allocated under `path`, not following links (what `du` would say).
pub fn allocated_size(path: &Path) -> u64 {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !metadata.is_dir() {
        return metadata.blocks() * 512;
    }
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                stack.push(entry.path());
            } else {
                total += metadata.blocks() * 512;
            }
        }
    }
    total
}

#[cfg(test)]
mod tests;
