//! What can go wrong while planning or running a download, each as a sentence that says what to do.

use std::path::PathBuf;

use super::offline::CacheGap;
use super::request::DownloadRequest;
use crate::cache::{CacheError, RepoPath, UnsafePath};
use crate::hub::HubError;
use crate::text::human_bytes;

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
    #[error("{repo} has no file named {}{at}.{}", quote_list(missing), after_not_found(suggestions, hint.as_ref()), at = at_revision(revision))]
    FileNotFound {
        repo: String,
        revision: String,
        missing: Vec<String>,
        /// Names of the repository that look like the first missing one.
        suggestions: Vec<String>,
        hint: Option<NotFoundHint>,
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
    /// offline mode on (`HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE`).
    #[error(
        "Offline mode ({variable}) is on, and {gap}. Unset {variable} to download what is missing."
    )]
    NotCached {
        variable: &'static str,
        gap: Box<CacheGap>,
    },
    #[error(
        "Not enough disk space in {}: this download needs {} more, and {} is free. Free some space, or choose another folder with --cache-dir, --local-dir or HF_HUB_CACHE.",
        path.display(), human_bytes(*needed), human_bytes(*available)
    )]
    InsufficientSpace {
        path: PathBuf,
        needed: u64,
        available: u64,
    },
    #[error(
        "A download task failed unexpectedly: {0}. Partial downloads are kept: run the same command again to resume."
    )]
    Task(String),
}

/// Why a name was not found, when more can be said than "no such file".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFoundHint {
    /// The name is a folder, written without its trailing slash.
    Folder(String),
    /// An earlier run recorded it as missing (`.no_exist/`), and the cache answered.
    KnownMissing,
}

impl DownloadError {
    /// A folder named like a file (`nested` for `nested/`): not found as a file, with the
    /// spelling that downloads the folder.
    pub(crate) fn named_a_folder(request: &DownloadRequest, folder: &RepoPath) -> DownloadError {
        DownloadError::FileNotFound {
            repo: request.repo.to_string(),
            revision: request.revision.clone(),
            missing: vec![folder.to_string()],
            suggestions: Vec::new(),
            hint: Some(NotFoundHint::Folder(folder.to_string())),
        }
    }
}

fn after_not_found(suggestions: &[String], hint: Option<&NotFoundHint>) -> String {
    match hint {
        Some(NotFoundHint::Folder(folder)) => format!(
            " '{folder}' is a folder: write '{folder}/' (with the trailing slash) to download the files in it."
        ),
        Some(NotFoundHint::KnownMissing) => " (known missing from an earlier run)".to_string(),
        None if suggestions.is_empty() => String::new(),
        None => format!(" Did you mean {}?", quote_list(suggestions)),
    }
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
