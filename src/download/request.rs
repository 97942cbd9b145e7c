//! What a download is asked to do ([`DownloadRequest`]), and with what the machine does it
//! ([`Session`]: the Hub client and the [`Options`] made once from the settings).

use std::path::PathBuf;
use std::time::Duration;

use super::remote::FileFilter;
use super::segmented::Tuning;
use crate::cache::RepoPath;
use crate::env::Settings;
use crate::hub::{HubClient, RepoId};

/// Where files land.
#[derive(Clone, Debug)]
pub enum Target {
    /// The huggingface_hub cache rooted here.
    Cache(PathBuf),
    /// Plain files in this folder; `cache` is the hub cache to copy already-cached blobs from.
    LocalDir { dir: PathBuf, cache: PathBuf },
}

/// Which files of the snapshot.
#[derive(Clone, Debug)]
pub enum Selection {
    /// Every file the filter lets through (an empty filter: the whole snapshot).
    Snapshot(FileFilter),
    /// Exactly these files, by name.
    Named(Vec<RepoPath>),
}

/// What the user asked for, already validated by the command.
#[derive(Clone, Debug)]
pub struct DownloadRequest {
    pub repo: RepoId,
    /// A branch, tag, commit hash or `refs/pr/N`.
    pub revision: String,
    pub selection: Selection,
    pub target: Target,
    /// Fetch again even what is already there.
    pub force: bool,
    /// Plan only: say what would be fetched.
    pub dry_run: bool,
}

impl DownloadRequest {
    /// Named files of one revision: what `cache verify --repair` asks for.
    pub fn for_files(repo: RepoId, revision: String, files: Vec<RepoPath>, target: Target) -> Self {
        DownloadRequest {
            repo,
            revision,
            selection: Selection::Named(files),
            target,
            force: false,
            dry_run: false,
        }
    }

    /// The one file asked for, when exactly one was: the report's path is that file's.
    pub(crate) fn single_file(&self) -> Option<&RepoPath> {
        match &self.selection {
            Selection::Named(files) if files.len() == 1 => files.first(),
            _ => None,
        }
    }
}

/// How this machine downloads, whatever is asked: made once from the settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Files in flight at once.
    pub max_workers: usize,
    /// How large files are split into parallel ranges.
    pub tuning: Tuning,
    /// Skip flock (`HFGET_NO_FILE_LOCKS`); leases still keep runs apart (docs/shared-caches.md).
    pub no_file_locks: bool,
    /// How long a silent lease on a blob lasts before another run takes it over.
    pub lease_timeout: Duration,
    /// Answer from the cache alone, with no request.
    pub offline: bool,
    /// The variable that turned offline mode on, named in messages.
    pub offline_variable: &'static str,
    /// Snapshots hold files, not symlinks, even where symlinks work (`HF_HUB_DISABLE_SYMLINKS`).
    pub disable_symlinks: bool,
}

impl Options {
    /// The settings' choices, with the command's defaults for the rest: 8 files at once (the
    /// command line raises it for downloads), adaptive connections.
    pub fn from_settings(settings: &Settings) -> Options {
        Options {
            max_workers: 8,
            tuning: Tuning::default(),
            no_file_locks: settings.no_file_locks,
            lease_timeout: settings.lease_timeout,
            offline: settings.offline,
            offline_variable: settings.offline_variable,
            disable_symlinks: settings.disable_symlinks,
        }
    }
}

/// One Hub client and the machine's options, shared by every download of a command.
#[derive(Clone)]
pub struct Session {
    pub(crate) client: HubClient,
    pub(crate) options: Options,
}

impl Session {
    pub fn new(client: HubClient, options: Options) -> Session {
        Session { client, options }
    }
}
