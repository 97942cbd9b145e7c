//! What can go wrong while planning or running a download, each as a sentence that says what to do.

use std::path::PathBuf;

use super::offline::CacheGap;
use crate::cache::{CacheError, UnsafePath};
use crate::hub::HubError;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    UnsafePath(#[from] UnsafePath),
    #[error(
        "The Hub listed both {0:?} and {1:?}, which would overwrite each other on a case-insensitive filesystem; hfget refuses to guess which to keep."
    )]
    PathCollision(String, String),
    #[error("{repo} has no file named {}{at}.{suggestion}", quote_list(missing), at = at_revision(revision))]
    FileNotFound {
        repo: String,
        revision: String,
        missing: Vec<String>,
        suggestion: String,
    },
    #[error("Invalid glob pattern {pattern:?}: {reason}.")]
    BadPattern { pattern: String, reason: String },
    #[error(
        "{path} failed its integrity check twice: expected {kind} {expected}, got {actual}. The download host is serving corrupted data; nothing was written to the cache. Try again later, or from another network."
    )]
    Integrity {
        path: String,
        kind: &'static str,
        expected: String,
        actual: String,
    },
    #[error(
        "{path}: the server sent {actual} bytes where the listing promised {expected}. Nothing was written to the cache; try again, and if it persists the mirror at HF_ENDPOINT is serving inconsistent data."
    )]
    SizeMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "The download host answered a byte-range request with an invalid Content-Range ({detail}) for {path}."
    )]
    BadRange { path: String, detail: String },
    /// Offline mode and the cache lacks part of the request; `variable` is the one that turned
    /// offline mode on (`HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE`, issue #13.10).
    #[error(
        "Offline mode ({variable}) is on, and {gap}. Unset {variable} to download what is missing."
    )]
    NotCached {
        variable: &'static str,
        gap: Box<CacheGap>,
    },
    #[error(
        "Not enough disk space in {path}: this download needs {needed} more, and {available} is free. Free some space, or choose another folder with --cache-dir, --local-dir or HF_HUB_CACHE."
    )]
    InsufficientSpace {
        path: PathBuf,
        needed: String,
        available: String,
    },
    #[error(
        "A download task failed unexpectedly: {0}. Partial downloads are kept: run the same command again to resume."
    )]
    Task(String),
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("'{item}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn at_revision(revision: &str) -> String {
    if revision == "main" {
        String::new()
    } else {
        format!(" at revision '{revision}'")
    }
}

impl From<crate::files::TaskFailed> for DownloadError {
    fn from(error: crate::files::TaskFailed) -> Self {
        DownloadError::Task(error.to_string())
    }
}
