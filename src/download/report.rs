//! What a download tells its caller: the [`DownloadReport`] it returns (files, figures,
//! warnings), and the [`Reporter`] it talks to while it runs. The engine never prints; the
//! command's reporter (in `output`) decides what a human or a script sees.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cache::links::LinkMode;
use serde::{Serialize, Serializer};

use super::offline::CacheGap;
use crate::hub::RepoType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// Already there; nothing was transferred.
    Cached,
    /// Transferred in this run.
    Downloaded,
    /// Another process (here or on another machine sharing the cache) downloaded it while
    /// this run waited for it.
    ByAnotherProcess,
    /// Dry run: would be transferred.
    WillDownload,
    /// `--local-dir`: copied from a blob the cache already held, no download.
    CopiedFromCache,
}

/// How one file's bytes came: the engine's own account, for `--json`, the summary and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TransferFigures {
    /// Bytes that crossed the network in this run.
    pub bytes_fetched: u64,
    /// Bytes an earlier, interrupted run had written and this run kept.
    pub bytes_kept: u64,
    /// Requests for the file's bytes (each one resolve): first segments, splits, races, retries.
    pub requests: u64,
    /// Segments the file ended in (1 on the single-stream path).
    pub segments: u64,
    /// The most connections that fetched the file at once.
    pub peak_connections: u64,
    /// Bytes hashed from memory as they arrived, and bytes read back from disk to be hashed.
    pub hashed_from_memory: u64,
    pub hashed_from_disk: u64,
    /// Milliseconds between the last byte written and the digest.
    pub hash_lag_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    pub size: u64,
    pub status: FileStatus,
    /// Present for files whose bytes this run moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferFigures>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DownloadReport {
    pub repo: String,
    pub repo_type: RepoType,
    pub revision: String,
    pub commit: String,
    /// The snapshot folder (or local folder), or the file when exactly one file was asked for.
    pub path: PathBuf,
    pub files: Vec<FileReport>,
    pub dry_run: bool,
    /// Bytes fetched over the network by this run, all files together.
    pub bytes_fetched: u64,
    /// Bytes an earlier, interrupted run had already written and this run kept.
    pub bytes_kept: u64,
    /// What the run warned about while it ran, in order.
    pub warnings: Vec<Warning>,
}

impl DownloadReport {
    pub fn bytes_to_download(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| f.status != FileStatus::Cached)
            .map(|f| f.size)
            .sum()
    }
}

/// Something the user should know that does not stop the download.
#[derive(Clone, Debug, PartialEq)]
pub enum Warning {
    /// A filter matched none of the repository's files: success with nothing to do, as
    /// `hf download` does, so a script looping over repositories keeps going.
    NothingMatches {
        repo: String,
        revision: String,
        files_in_repository: usize,
    },
    /// The Hub could not be asked; an earlier run's cache answered instead.
    ServedFromCache {
        reason: String,
        revision: String,
        commit: String,
    },
    /// The Hub could not be asked, and the cache lacks part of the request.
    CacheCannotStandIn { gap: Box<CacheGap> },
    /// A transfer was cut and resumes after a pause.
    Resuming {
        path: String,
        reason: String,
        from: u64,
        /// Inclusive last byte of the range being resumed; `None` for the rest of the file.
        to: Option<u64>,
        wait_seconds: f64,
    },
    /// The bytes did not hash to the file's name; they were discarded and are fetched again.
    Mismatch {
        path: String,
        kind: &'static str,
        expected: String,
        actual: String,
    },
    /// Another run took this one's lease over (this one was silent too long); it waits now.
    TakenOver { path: String },
    /// The cache's snapshots hold files instead of symlinks (docs/cache-layout.md).
    NoSymlinks {
        cache: String,
        mode: LinkMode,
        /// `HF_HUB_DISABLE_SYMLINKS` asked for it; the filesystem has symlinks.
        by_request: bool,
        /// Bytes this run copies (blobs already in `blobs/`), on top of what it downloads.
        copied: u64,
    },
}

impl Warning {
    fn kind(&self) -> &'static str {
        match self {
            Warning::NothingMatches { .. } => "nothing_matches",
            Warning::ServedFromCache { .. } => "served_from_cache",
            Warning::CacheCannotStandIn { .. } => "cache_cannot_stand_in",
            Warning::Resuming { .. } => "resuming",
            Warning::Mismatch { .. } => "mismatch",
            Warning::TakenOver { .. } => "taken_over",
            Warning::NoSymlinks { .. } => "no_symlinks",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NothingMatches {
                repo,
                revision,
                files_in_repository,
            } => {
                let at = if revision == "main" {
                    String::new()
                } else {
                    format!(" at revision '{revision}'")
                };
                write!(
                    f,
                    "no file of {repo}{at} matches the --include/--exclude patterns ({files_in_repository} files in the repository); nothing to download."
                )
            }
            Warning::ServedFromCache {
                reason,
                revision,
                commit,
            } => write!(
                f,
                "could not ask the Hub ({reason}); using what an earlier run cached for revision '{revision}' (commit {}).",
                commit.get(..7).unwrap_or(commit)
            ),
            Warning::CacheCannotStandIn { gap } => {
                write!(f, "the cache cannot stand in for the Hub: {gap}.")
            }
            Warning::Resuming {
                path,
                reason,
                from,
                to: Some(to),
                wait_seconds,
            } => write!(
                f,
                "{path}: {reason}; resuming bytes {from}-{to} in {wait_seconds:.1} s."
            ),
            Warning::Resuming {
                path,
                reason,
                from,
                to: None,
                wait_seconds,
            } => write!(
                f,
                "{path}: {reason}; resuming from byte {from} in {wait_seconds:.1} s."
            ),
            Warning::Mismatch {
                path,
                kind,
                expected,
                actual,
            } => write!(
                f,
                "{path} did not match its {kind} ({expected} expected, got {actual}); downloading it again."
            ),
            Warning::TakenOver { path } => write!(
                f,
                "{path}: another run took over this download (this one was silent for longer than the lease timeout); waiting for it instead."
            ),
            Warning::NoSymlinks {
                cache,
                mode,
                by_request,
                copied,
            } => {
                let why = if *by_request {
                    format!("HF_HUB_DISABLE_SYMLINKS is set, so snapshots in {cache}")
                } else {
                    format!("{cache} cannot hold symlinks, so its snapshots")
                };
                match mode {
                    LinkMode::HardLink => write!(
                        f,
                        "{why} hold hard links to their blobs: no extra disk space, and Python reads them as plain files."
                    ),
                    _ => {
                        write!(
                            f,
                            "{why} hold the files themselves (no hard links either): a file two revisions share is stored twice."
                        )?;
                        if *copied > 0 {
                            write!(
                                f,
                                " This run copies {} for that.",
                                crate::text::human_bytes(*copied)
                            )?;
                        }
                        Ok(())
                    }
                }
            }
        }
    }
}

/// `{"kind": "resuming", "message": "…"}`: a stable name for scripts, the sentence for people.
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("Warning", 2)?;
        state.serialize_field("kind", self.kind())?;
        state.serialize_field("message", &self.to_string())?;
        state.end()
    }
}

/// What a run says while it waits for another process that downloads a file it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    Waiting {
        /// `host pid 123`, or the lock file another tool holds.
        who: String,
        path: String,
        percent: u64,
    },
    TakingOver {
        path: String,
    },
    DownloadedByOther {
        path: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Waiting { who, path, percent } => write!(
                f,
                "waiting for {who}, which is downloading {path} ({percent} % done)"
            ),
            Note::TakingOver { path } => write!(
                f,
                "Taking over {path}: its download stopped; resuming what it left."
            ),
            Note::DownloadedByOther { path } => {
                write!(f, "{path} was downloaded by the other process.")
            }
        }
    }
}

/// One file's bytes as they move: the bars, or nothing.
pub trait FileMeter: Send + Sync {
    fn advance(&self, bytes: u64);
    /// Bytes found on disk from an earlier run: they count, but are no rate.
    fn advance_resumed(&self, bytes: u64);
    /// Takes back bytes of an attempt that was discarded.
    fn rewind(&self, bytes: u64);
    fn finish(&self);
    fn set_label(&self, label: String);
}

pub(crate) type Meter = Arc<dyn FileMeter>;

/// A meter that shows nothing: for files whose bytes do not move, and for tests.
pub(crate) struct Silent;

impl FileMeter for Silent {
    fn advance(&self, _: u64) {}
    fn advance_resumed(&self, _: u64) {}
    fn rewind(&self, _: u64) {}
    fn finish(&self) {}
    fn set_label(&self, _: String) {}
}

pub(crate) fn silent() -> Meter {
    Arc::new(Silent)
}

/// Where a download's progress, warnings and notes go while it runs.
pub trait Reporter: Sync {
    /// Transfers begin: `bytes` in `files` files will move.
    fn transfers_started(&self, bytes: u64, files: usize);
    /// The meter of one file that moves bytes (called after [`Reporter::transfers_started`]).
    fn file(&self, path: &str, size: u64) -> Arc<dyn FileMeter>;
    /// Every transfer ended (or the first failure stopped them).
    fn transfers_finished(&self);
    fn warning(&self, warning: &Warning);
    fn note(&self, note: &Note);
    /// Whether [`Reporter::debug`] shows anything: the engine formats its trace lines only then.
    fn wants_debug(&self) -> bool;
    fn debug(&self, line: &str);
}
