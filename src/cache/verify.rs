//! `cache verify`: which local files to check against which hashes, and the parallel, streaming
//! check itself. The expected hashes come from a listing (the cached
//! `trees/<commit>.json`, or the Hub's, fetched by the command) as in huggingface_hub 2.4.0's
//! `verify_repo_checksums` (`utils/_verification.py`): sha256 for LFS files, the git blob sha1
//! otherwise. Without any listing (offline, none cached) each file is checked against the hash
//! its blob is named after (cache) or its `.metadata` records (local folder), which catches a
//! corrupted file but cannot tell missing or extra files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::local_dir::LocalDir;
use super::{RepoPath, pool, tree};
use crate::hub::TreeEntry;

/// What a file should be.
#[derive(Clone, Debug)]
pub struct Expected {
    pub path: String,
    /// `None` when only the hash is known (no listing).
    pub size: Option<u64>,
    /// 64 hex: sha256 of the content; 40 hex: git blob sha1.
    pub hash: String,
}

impl Expected {
    pub fn algorithm(&self) -> &'static str {
        if self.hash.len() == 64 {
            "sha256"
        } else {
            "git-sha1"
        }
    }
}

/// The listing's files, as expectations.
pub fn expectations(listing: &[TreeEntry]) -> Vec<Expected> {
    listing
        .iter()
        .filter(|e| e.is_file())
        .map(|e| Expected {
            path: e.path.clone(),
            size: Some(e.lfs.as_ref().map_or(e.size, |l| l.size)),
            hash: e.lfs.as_ref().map_or_else(
                || e.oid.to_ascii_lowercase(),
                |l| l.oid.to_ascii_lowercase(),
            ),
        })
        .collect()
}

/// The listing cached for `commit`: `trees/<commit>.json` of the repo folder, or of a local
/// folder's `.cache/huggingface/`.
pub fn cached_listing(tree_json: &Path) -> Option<Vec<TreeEntry>> {
    tree::read(tree_json)
}

/// Every file under `root` with its repo path. In a local folder, `.cache/huggingface/` and
/// `.git/` are hfget's and git's, never the repo's (Python's `DEFAULT_IGNORE_PATTERNS`).
pub fn local_files(root: &Path, local_dir: bool) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if local_dir && (relative == ".git" || relative == ".cache/huggingface") {
                continue;
            }
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push((path, relative));
            } else if !path.is_dir() {
                // A broken link stays in: it is a file the snapshot lost.
                found.insert(relative, path);
            }
        }
    }
    found
}

/// Expectations without a listing: a cache snapshot's links name their blob (the ETag the Hub
/// gave: sha256 or git sha1); a local folder's `.metadata` records the same ETag.
pub fn expectations_from_names(
    files: &BTreeMap<String, PathBuf>,
    local_dir: Option<&LocalDir>,
) -> Vec<Expected> {
    files
        .iter()
        .filter_map(|(path, local)| {
            let hash = match local_dir {
                Some(dir) => dir.read_metadata(&RepoPath::new(path).ok()?)?.etag,
                None => std::fs::read_link(local)
                    .ok()?
                    .file_name()?
                    .to_string_lossy()
                    .into_owned(),
            };
            super::scan::is_blob_name(&hash).then(|| Expected {
                path: path.clone(),
                size: None,
                hash: hash.to_ascii_lowercase(),
            })
        })
        .collect()
}

/// Local against expected: what to hash, what is missing, what is extra.
pub struct Comparison {
    pub to_check: Vec<(Expected, PathBuf)>,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
}

pub fn compare(expected: Vec<Expected>, local: &BTreeMap<String, PathBuf>) -> Comparison {
    let names: BTreeSet<&String> = expected.iter().map(|e| &e.path).collect();
    let extra = local
        .keys()
        .filter(|k| !names.contains(k))
        .cloned()
        .collect();
    let mut to_check = Vec::new();
    let mut missing = Vec::new();
    for item in expected {
        match local.get(&item.path) {
            Some(path) => to_check.push((item, path.clone())),
            None => missing.push(item.path.clone()),
        }
    }
    missing.sort();
    Comparison {
        to_check,
        missing,
        extra,
    }
}

/// One file's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// The link points at nothing (its blob was deleted).
    Missing,
    Size {
        expected: u64,
        actual: u64,
    },
    Hash {
        expected: String,
        actual: String,
    },
    Unreadable(String),
}

/// Checks every file on a thread pool, largest first so one huge file does not come last;
/// `hash(path, algorithm_of(expected), size)` streams the file. Blocking.
pub fn check_all<H>(to_check: Vec<(Expected, PathBuf)>, hash: H) -> Vec<(Expected, Verdict)>
where
    H: Fn(&Path, &Expected, u64) -> std::io::Result<String> + Sync,
{
    let mut to_check = to_check;
    to_check.sort_by_key(|(e, _)| std::cmp::Reverse(e.size.unwrap_or(0)));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut results = pool::map(to_check, threads, |(expected, path)| {
        let verdict = check_one(&expected, &path, &hash);
        (expected, verdict)
    });
    results.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    results
}

fn check_one<H>(expected: &Expected, path: &Path, hash: &H) -> Verdict
where
    H: Fn(&Path, &Expected, u64) -> std::io::Result<String>,
{
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Verdict::Missing,
        Err(e) => return Verdict::Unreadable(e.to_string()),
    };
    let actual_size = metadata.len();
    if let Some(size) = expected.size
        && size != actual_size
    {
        return Verdict::Size {
            expected: size,
            actual: actual_size,
        };
    }
    match hash(path, expected, actual_size) {
        Ok(actual) if actual == expected.hash => Verdict::Ok,
        Ok(actual) => Verdict::Hash {
            expected: expected.hash.clone(),
            actual,
        },
        Err(e) => Verdict::Unreadable(e.to_string()),
    }
}
