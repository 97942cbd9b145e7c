//! `hfget cache ls | rm | prune | verify`: see, free and re-verify what is on disk. Flags and
//! filters follow `hf cache` 2.4 (`cli/cache.py`); sizes in `--json` are integers and times
//! RFC 3339. The scanning, selecting, deleting and verifying live in `cache::{scan, filter,
//! clean, audit, repair}`; these files turn arguments into calls, ask before deleting, and print.

mod clean;
mod ls;
mod verify;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};

use crate::cache::scan::{self, Inventory, InventoryError};
use crate::env::{Environment, Settings};
use crate::error::Error;
use crate::hub::RepoType;

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List cached repos (or revisions) with their size, files, refs and times.
    #[command(
        visible_alias = "list",
        after_help = "Examples:\n  hfget cache ls\n  hfget cache ls --revisions\n  hfget cache ls -f 'size>1GB' -f type=model --sort size --limit 10\n  hfget cache ls -f 'accessed>30d'          # not used for a month\n  hfget cache ls --json | jq '.repos[] | {id, size_on_disk}'\n\nFilters: size (k/M/G/T: powers of 1000, KiB/MiB/GiB/TiB: of 1024), accessed and modified (s, m, h, d, w, mo, y ago), type, refs;\noperators = != > < >= <= (type and refs: = only). Sort keys: name, size, accessed, modified (:asc or :desc)."
    )]
    Ls(LsArgs),
    /// Delete cached repos, revisions or files, keeping what other revisions still use.
    #[command(
        after_help = "Examples:\n  hfget cache rm acme/tiny                       # the whole repo\n  hfget cache rm datasets/acme/data model/acme/other\n  hfget cache rm 0123456789abcdef0123456789abcdef01234567   # one revision\n  hfget cache rm hf://acme/tiny/model.safetensors           # one file, every revision\n  hfget cache rm acme/tiny --dry-run\n\nIt asks on a terminal; elsewhere pass -y. Files a running download holds are kept."
    )]
    Rm(RmArgs),
    /// Delete what nothing needs: detached revisions, stale partial downloads, orphan blobs,
    /// unreferenced shared Xet blobs, empty folders.
    #[command(
        after_help = "Examples:\n  hfget cache prune --dry-run\n  hfget cache prune -y\n\nPartial downloads a running process holds (its lock is taken) are kept."
    )]
    Prune(PruneArgs),
    /// Re-hash a cached snapshot (or a --local-dir folder) against the repo's listing.
    #[command(
        after_help = "Examples:\n  hfget cache verify acme/tiny\n  hfget cache verify acme/tiny --revision v1\n  hfget cache verify datasets/acme/data --fail-on-missing-files\n  hfget cache verify acme/tiny --local-dir ./tiny --fail-on-extra-files\n  hfget cache verify acme/tiny --repair\n\nExit 8 when a file is corrupted (or missing/extra with the --fail-on-… flags); --repair downloads bad and missing files again."
    )]
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct CacheDirArg {
    /// The cache to use [default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub cache: CacheDirArg,
    /// One row per revision instead of per repo.
    #[arg(long)]
    pub revisions: bool,
    /// Keep entries matching EXPR, e.g. 'size>1GB', 'type=model', 'accessed>7d' (repeatable).
    #[arg(short, long = "filter", value_name = "EXPR")]
    pub filters: Vec<String>,
    /// Sort by name, size, accessed or modified; append :asc or :desc.
    #[arg(long, value_name = "KEY")]
    pub sort: Option<String>,
    /// Show only the first N entries (after filtering and sorting).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// List each warning about folders that do not fit the cache layout.
    #[arg(long)]
    pub show_warnings: bool,
    /// Print one JSON object (sizes in bytes, times in RFC 3339).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Repos (`owner/name`, `datasets/owner/name`, `model/owner/name`, `hf://…`), revision
    /// hashes, or `hf://` files.
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub cache: CacheDirArg,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub cache: CacheDirArg,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// Delete without asking.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
    /// Show what would be deleted, and how much it frees, without deleting.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The repository: `owner/name`, `datasets/owner/name` or an `hf://` URI.
    #[arg(value_name = "REPO_ID")]
    pub repo_id: String,
    /// The repository type, when the id does not say it.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    pub repo_type: Option<RepoType>,
    /// A branch, tag, commit hash or `refs/pr/N` [default: main].
    #[arg(long)]
    pub revision: Option<String>,
    /// The cache holding the snapshot.
    #[arg(long, value_name = "DIR", conflicts_with = "local_dir")]
    pub cache_dir: Option<PathBuf>,
    /// Verify this folder (from `download --local-dir`) instead of the cache.
    #[arg(long, value_name = "DIR")]
    pub local_dir: Option<PathBuf>,
    /// Fail when files of the revision are not on disk.
    #[arg(long)]
    pub fail_on_missing_files: bool,
    /// Fail when files on disk are not in the revision.
    #[arg(long)]
    pub fail_on_extra_files: bool,
    /// Download corrupted and missing files again.
    #[arg(long)]
    pub repair: bool,
    /// A Hub token for this command only.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

impl CacheCommand {
    /// Whether a failure must be printed as one JSON object.
    pub fn wants_json(&self) -> bool {
        match self {
            CacheCommand::Ls(args) => args.json,
            CacheCommand::Rm(args) => args.confirm.json,
            CacheCommand::Prune(args) => args.confirm.json,
            CacheCommand::Verify(args) => args.json,
        }
    }
}

impl CacheCommand {
    /// What Ctrl-C means: `rm` and `prune` delete, so "partial downloads are kept" is not the
    /// news; a `verify --repair` download is.
    pub fn interruption(&self) -> Error {
        match self {
            CacheCommand::Rm(_) | CacheCommand::Prune(_) => InventoryError::Interrupted.into(),
            CacheCommand::Ls(_) | CacheCommand::Verify(_) => Error::Interrupted,
        }
    }
}

pub async fn run(
    command: CacheCommand,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    match command {
        CacheCommand::Ls(args) => ls::run(args, settings).await,
        CacheCommand::Rm(args) => clean::rm(args, settings).await,
        CacheCommand::Prune(args) => clean::prune(args, settings).await,
        CacheCommand::Verify(args) => verify::run(args, settings, environment).await,
    }
}

/// Scans the cache `--cache-dir` names (else the configured one), off the async workers.
async fn scan_cache(dir: &CacheDirArg, settings: &Settings) -> Result<Inventory, Error> {
    let dir = dir
        .cache_dir
        .clone()
        .unwrap_or_else(|| settings.hub_cache.clone());
    tokio::task::spawn_blocking(move || scan::scan(&dir))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(Error::from)
}

/// Seconds since the epoch, for the time filters and "3 days ago".
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
