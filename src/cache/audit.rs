//! `cache verify`'s procedure: which snapshot (or `--local-dir` folder) to check, against which
//! listing, and the report. The file-level pieces (what to hash, the parallel check) are in
//! [`super::verify`]; removing what is bad before a repair is [`super::repair`].
//!
//! 1. [`cache_subject`] or [`local_subject`]: the commit and the folder to check.
//! 2. [`listing`]: the expected files, from the cached `trees/<commit>.json` (the local folder's
//!    first), else the Hub's listing, else (offline) the hash each file's blob is named after.
//! 3. [`prepare`] then [`check`]: compare, then hash; between the two the caller knows how many
//!    bytes are about to be read, to say so when it is a lot.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::local_dir::LocalDir;
use super::scan::InventoryError;
use super::verify::{self, Expected, Verdict};
use super::{CacheError, CacheRepo, RepoPath};
use crate::exit::{self, Class};
use crate::hub::repo::is_commit_hash;
use crate::hub::{HubClient, HubError, RepoId, RepoType};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Hub(Box<HubError>),
    #[error("{} is not a folder.", .0.display())]
    NotAFolder(PathBuf),
    #[error("The check stopped unexpectedly: {0}.")]
    Task(String),
}

impl From<HubError> for AuditError {
    fn from(error: HubError) -> AuditError {
        AuditError::Hub(Box::new(error))
    }
}

impl AuditError {
    /// The family and the stable cause of this failure (docs/exit-codes.md).
    pub fn classify(&self) -> Class {
        match self {
            AuditError::Inventory(error) => error.classify(),
            AuditError::Cache(error) => error.classify(),
            AuditError::Hub(error) => error.classify(),
            AuditError::NotAFolder(_) => Class::new(exit::USAGE, "usage"),
            AuditError::Task(_) => Class::new(exit::FAILURE, "internal"),
        }
    }
}

/// Where the expected hashes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListingSource {
    /// `trees/<commit>.json` in the cache (or the local folder's `.cache/huggingface`).
    CachedTree,
    /// The Hub's `/tree` listing.
    Hub,
    /// Offline and nothing cached: the hash each blob is named after (or `.metadata` records).
    FileNames,
}

/// A file that does not match.
#[derive(Clone, Debug, Serialize)]
pub struct BadFile {
    pub path: String,
    pub problem: Problem,
    pub algorithm: &'static str,
    pub expected: String,
    pub actual: Option<String>,
}

/// What is wrong with a [`BadFile`]; serialized as the words `--json` has always used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Problem {
    #[serde(rename = "blob missing (broken link)")]
    BlobMissing,
    #[serde(rename = "wrong size")]
    WrongSize,
    #[serde(rename = "checksum mismatch")]
    ChecksumMismatch,
    #[serde(rename = "unreadable")]
    Unreadable,
}

impl Problem {
    pub fn describe(self) -> &'static str {
        match self {
            Problem::BlobMissing => "blob missing (broken link)",
            Problem::WrongSize => "wrong size",
            Problem::ChecksumMismatch => "checksum mismatch",
            Problem::Unreadable => "unreadable",
        }
    }
}

/// The result of a check, as `--json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub repo_id: String,
    pub repo_type: RepoType,
    pub revision: String,
    pub commit: String,
    pub path: PathBuf,
    pub listing: ListingSource,
    pub checked: usize,
    pub ok: bool,
    pub bad: Vec<BadFile>,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
    pub repaired: Vec<String>,
}

impl Report {
    /// Neither corrupted nor missing files (extra files are only reported).
    pub fn is_intact(&self) -> bool {
        self.bad.is_empty() && self.missing.is_empty()
    }

    /// What a repair fetches again: the bad files, then the missing ones.
    pub fn to_repair(&self) -> Vec<String> {
        self.bad
            .iter()
            .map(|b| b.path.clone())
            .chain(self.missing.iter().cloned())
            .collect()
    }

    /// Of `fetched`, those this (later) report no longer finds bad or missing.
    pub fn record_repaired(&mut self, fetched: Vec<String>) {
        self.repaired = fetched
            .into_iter()
            .filter(|p| !self.bad.iter().any(|b| &b.path == p) && !self.missing.contains(p))
            .collect();
    }
}

/// What is being verified.
#[derive(Clone, Debug)]
pub struct Subject {
    pub repo: RepoId,
    pub revision: String,
    pub commit: String,
    /// The snapshot folder, or the local folder.
    pub root: PathBuf,
    pub local_dir: Option<LocalDir>,
    /// The cache (for a local folder: the one whose `trees/` may hold the listing).
    pub cache_dir: PathBuf,
}

/// A snapshot in the cache. `revision` is a ref or a commit; when it is the default and the
/// cache has no such ref but exactly one snapshot, that one is meant.
pub fn cache_subject(
    repo: RepoId,
    revision: String,
    explicit_revision: bool,
    cache_dir: &Path,
) -> Result<Subject, AuditError> {
    let cache = CacheRepo::new(cache_dir, &repo);
    let folder = cache_dir.join(repo.cache_folder_name());
    if !folder.is_dir() {
        return Err(InventoryError::NotCached(format!(
            "{repo} is not in the cache ({}). Download it first (`hfget download {repo}`), or pass --cache-dir or --local-dir.",
            cache_dir.display()
        ))
        .into());
    }
    let commit = if is_commit_hash(&revision) {
        revision.clone()
    } else if let Some(commit) = cache.read_ref(&revision)? {
        commit
    } else {
        let snapshots: Vec<String> = std::fs::read_dir(folder.join("snapshots"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| is_commit_hash(n))
                    .collect()
            })
            .unwrap_or_default();
        match snapshots.as_slice() {
            [only] if !explicit_revision => only.clone(),
            _ => {
                return Err(InventoryError::NotCached(format!(
                    "The cache has no ref `{revision}` for {repo}. Pass --revision with a commit hash (see `hfget cache ls --revisions`)."
                ))
                .into());
            }
        }
    };
    let root = cache.snapshot_dir(&commit);
    if !root.is_dir() {
        return Err(InventoryError::NotCached(format!(
            "The cache has no snapshot of {repo} at {commit} ({}).",
            root.display()
        ))
        .into());
    }
    Ok(Subject {
        repo,
        revision,
        commit,
        root,
        local_dir: None,
        cache_dir: cache_dir.to_path_buf(),
    })
}

/// A `--local-dir` folder. The commit comes from the Hub when `revision` is a ref and there is a
/// client; offline, from the folder's own records.
pub async fn local_subject(
    repo: RepoId,
    revision: String,
    dir: &Path,
    client: Option<&HubClient>,
    cache_dir: &Path,
) -> Result<Subject, AuditError> {
    if !dir.is_dir() {
        return Err(AuditError::NotAFolder(dir.to_path_buf()));
    }
    let local = LocalDir::new(dir);
    let commit = if is_commit_hash(&revision) {
        revision.clone()
    } else if let Some(client) = client {
        client
            .repo_info(&repo, Some(&revision))
            .await?
            .sha
            .unwrap_or_else(|| revision.clone())
    } else {
        // Offline: the commit the folder's files were downloaded at.
        let (root, local, fallback) = (dir.to_path_buf(), local.clone(), revision.clone());
        blocking(move || {
            verify::local_files(&root, true)
                .keys()
                .filter_map(|p| local.read_metadata(&RepoPath::new(p).ok()?))
                .map(|m| m.commit)
                .next()
                .unwrap_or(fallback)
        })
        .await?
    };
    Ok(Subject {
        repo,
        revision,
        commit,
        root: dir.to_path_buf(),
        local_dir: Some(local),
        cache_dir: cache_dir.to_path_buf(),
    })
}

/// The expected files of `subject`, and where they came from (`None`: offline, nothing cached).
pub async fn listing(
    subject: &Subject,
    client: Option<&HubClient>,
) -> Result<(Option<Vec<Expected>>, ListingSource), AuditError> {
    let mut trees =
        vec![CacheRepo::new(&subject.cache_dir, &subject.repo).tree_path(&subject.commit)];
    if let Some(local) = &subject.local_dir {
        trees.insert(0, local.tree_path(&subject.commit));
    }
    for tree in trees {
        if let Some(listing) = blocking(move || verify::cached_listing(&tree)).await? {
            return Ok((
                Some(verify::expectations(&listing)),
                ListingSource::CachedTree,
            ));
        }
    }
    match client {
        Some(client) if is_commit_hash(&subject.commit) => {
            let listing = client.list_tree(&subject.repo, &subject.commit).await?;
            Ok((Some(verify::expectations(&listing)), ListingSource::Hub))
        }
        _ => Ok((None, ListingSource::FileNames)),
    }
}

/// The files to hash, and what the comparison already found.
pub struct Prepared {
    to_check: Vec<(Expected, PathBuf)>,
    missing: Vec<String>,
    extra: Vec<String>,
    /// How many bytes hashing will read.
    pub bytes: u64,
    source: ListingSource,
}

impl Prepared {
    /// How many files hashing will read.
    pub fn files(&self) -> usize {
        self.to_check.len()
    }
}

/// Compares what is on disk with `expected` (without a listing: with the names of the blobs).
pub async fn prepare(
    subject: &Subject,
    expected: Option<Vec<Expected>>,
    source: ListingSource,
) -> Result<Prepared, AuditError> {
    let root = subject.root.clone();
    let local_dir = subject.local_dir.clone();
    blocking(move || {
        let files = verify::local_files(&root, local_dir.is_some());
        let (expected, names_only) = match expected {
            Some(expected) => (expected, false),
            None => (
                verify::expectations_from_names(&files, local_dir.as_ref()),
                true,
            ),
        };
        let comparison = verify::compare(expected, &files);
        let bytes = comparison
            .to_check
            .iter()
            .filter_map(|(_, path)| std::fs::metadata(path).ok())
            .map(|m| m.len())
            .sum();
        // Without a listing, "missing" and "extra" mean nothing.
        let (missing, extra) = if names_only {
            (Vec::new(), Vec::new())
        } else {
            (comparison.missing, comparison.extra)
        };
        Prepared {
            to_check: comparison.to_check,
            missing,
            extra,
            bytes,
            source,
        }
    })
    .await
}

/// Hashes what [`prepare`] found, on a thread pool; `ok` is left for the caller's flags.
pub async fn check(subject: &Subject, prepared: Prepared) -> Result<Report, AuditError> {
    let Prepared {
        to_check,
        missing,
        extra,
        source,
        ..
    } = prepared;
    let checked = to_check.len();
    let results = blocking(move || verify::check_all(to_check, hash_with_kind)).await?;
    let bad = results
        .into_iter()
        .filter_map(|(expected, verdict)| bad_file(expected, verdict))
        .collect();
    Ok(Report {
        repo_id: subject.repo.id.clone(),
        repo_type: subject.repo.repo_type,
        revision: subject.revision.clone(),
        commit: subject.commit.clone(),
        path: subject.root.clone(),
        listing: source,
        checked,
        ok: true,
        bad,
        missing,
        extra,
        repaired: Vec::new(),
    })
}

fn bad_file(expected: Expected, verdict: Verdict) -> Option<BadFile> {
    let algorithm = expected.algorithm();
    let (problem, actual) = match verdict {
        Verdict::Ok => return None,
        Verdict::Missing => (Problem::BlobMissing, None),
        Verdict::Size { actual, .. } => (Problem::WrongSize, Some(format!("{actual} bytes"))),
        Verdict::Hash { actual, .. } => (Problem::ChecksumMismatch, Some(actual)),
        Verdict::Unreadable(why) => (Problem::Unreadable, Some(why)),
    };
    let expected_text = match problem {
        Problem::WrongSize => format!("{} bytes", expected.size.unwrap_or_default()),
        _ => expected.hash.clone(),
    };
    Some(BadFile {
        path: expected.path,
        problem,
        algorithm,
        expected: expected_text,
        actual,
    })
}

/// Streams a file through the hasher its expected hash calls for.
fn hash_with_kind(path: &Path, expected: &Expected, size: u64) -> std::io::Result<String> {
    use crate::hash::{ContentHasher, HashKind, hash_file_prefix};
    let kind = HashKind::for_etag(&expected.hash);
    let mut hasher = ContentHasher::new(kind, size);
    hash_file_prefix(path, size, &mut hasher)?;
    Ok(hasher.finish())
}

/// Filesystem work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuditError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AuditError::Task(e.to_string()))
}
