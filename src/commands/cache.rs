//! `hfget cache ls | rm | prune | verify` (issue #11): see, free and re-verify what is on disk.
//! Flags and filters follow `hf cache` 2.4 (`cli/cache.py`); sizes in `--json` are integers and
//! times RFC 3339. The scanning and deleting live in `cache::{scan, clean, verify}`; this file
//! turns arguments into calls, asks before deleting, and prints.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::auth;
use crate::cache::clean::{self, Kept, Plan, Target};
use crate::cache::local_dir::LocalDir;
use crate::cache::scan::{self, CachedRepo, CachedRevision, Inventory, InventoryError, Liveness};
use crate::cache::verify::{self, Expected, Verdict};
use crate::cache::{CacheRepo, RepoPath};
use crate::commands::print_stdout;
use crate::download::{self, DownloadRequest, Target as DownloadTarget};
use crate::env::{Environment, Settings};
use crate::error::{Error, exit};
use crate::hash::{ContentHasher, HashKind, hash_file_prefix};
use crate::hub::repo::{is_commit_hash, merge_revision, parse_repo_argument};
use crate::hub::{HubClient, RepoId, RepoType};
use crate::output;
use crate::text::human_bytes;

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
    /// Whether a failure must be printed as one JSON object (issue #13.9).
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
        CacheCommand::Ls(args) => ls(args, settings).await,
        CacheCommand::Rm(args) => rm(args, settings).await,
        CacheCommand::Prune(args) => prune(args, settings).await,
        CacheCommand::Verify(args) => verify_command(args, settings, environment).await,
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| download::DownloadError::Task(e.to_string()).into())
}

async fn scan_cache(dir: &CacheDirArg, settings: &Settings) -> Result<Inventory, Error> {
    let dir = dir
        .cache_dir
        .clone()
        .unwrap_or_else(|| settings.hub_cache.clone());
    Ok(blocking(move || scan::scan(&dir)).await??)
}

fn print_json(value: &impl Serialize) -> Result<(), Error> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| Error::Output(std::io::Error::other(e)))?;
    print_stdout(&text)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

// ---------------------------------------------------------------------------------------------
// ls

/// A row: a repo, or one of its revisions with `--revisions`.
struct Row<'a> {
    repo: &'a CachedRepo,
    revision: Option<&'a CachedRevision>,
}

impl Row<'_> {
    fn size(&self) -> u64 {
        self.revision
            .map_or(self.repo.size_on_disk, |r| r.size_on_disk)
    }
    fn modified(&self) -> f64 {
        self.revision
            .map_or(self.repo.last_modified, |r| r.last_modified)
    }
    fn refs(&self) -> Vec<String> {
        match self.revision {
            Some(r) => r.refs.clone(),
            None => repo_refs(self.repo),
        }
    }
}

fn repo_refs(repo: &CachedRepo) -> Vec<String> {
    let refs: BTreeSet<&String> = repo.revisions.iter().flat_map(|r| &r.refs).collect();
    refs.into_iter().cloned().collect()
}

type Filter = Box<dyn Fn(&Row, f64) -> bool>;

/// `size>1GB`, `type=model`, `accessed>7d`, `modified<=2w`, `refs=main` (`hf cache ls -f`).
fn compile_filter(expression: &str) -> Result<Filter, Error> {
    let bad = |why: String| Error::Usage(format!("Invalid filter `{expression}`: {why}."));
    let text = expression.trim();
    let key_end = text
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
        .ok_or_else(|| bad("expected KEY OP VALUE, e.g. size>1GB".into()))?;
    let (key, rest) = text.split_at(key_end);
    let rest = rest.trim_start();
    let op = ["==", "!=", ">=", "<=", ">", "<", "="]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .ok_or_else(|| bad("the operator must be one of = != > < >= <=".into()))?;
    let value = rest[op.len()..].trim().to_string();
    let op = if op == "==" { "=" } else { op };
    if value.is_empty() {
        return Err(bad("the value is missing".into()));
    }
    let compare = move |left: f64, right: f64| match op {
        "=" => left == right,
        "!=" => left != right,
        ">" => left > right,
        "<" => left < right,
        ">=" => left >= right,
        _ => left <= right,
    };
    match key.to_ascii_lowercase().as_str() {
        "size" => {
            let threshold = parse_size(&value).map_err(bad)? as f64;
            Ok(Box::new(move |row, _| {
                compare(row.size() as f64, threshold)
            }))
        }
        key @ ("accessed" | "modified") => {
            let seconds = parse_duration(&value).map_err(bad)? as f64;
            let accessed = key == "accessed";
            Ok(Box::new(move |row, now| {
                let time = if accessed {
                    row.repo.last_accessed
                } else {
                    row.modified()
                };
                compare(now - time, seconds)
            }))
        }
        "type" if op == "=" => {
            let wanted = value.to_ascii_lowercase();
            Ok(Box::new(move |row, _| row.repo.repo_type == wanted))
        }
        "refs" if op == "=" => {
            let wanted = value.to_ascii_lowercase();
            Ok(Box::new(move |row, _| {
                row.refs().iter().any(|r| r.to_ascii_lowercase() == wanted)
            }))
        }
        "type" | "refs" => Err(bad(format!("only `=` works with `{key}`"))),
        other => Err(bad(format!(
            "unknown key `{other}` (use size, type, accessed, modified or refs)"
        ))),
    }
}

/// `12`, `10k`/`10KB` (1000), `10KiB` (1024), … as `hf` reads sizes, plus binary units.
fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text)?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "p" | "pb" => 1_000_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use k, M, G, T or KiB, MiB, GiB, TiB)"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| "the size is too large".to_string())
}

/// `30s`, `15m`, `2h`, `7d`, `2w`, `3mo`, `1y` (as `hf`).
fn parse_duration(text: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text)?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mo" => 30 * 86_400,
        "y" => 365 * 86_400,
        other => {
            return Err(format!(
                "unknown time unit `{other}` (use s, m, h, d, w, mo or y)"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| "the duration is too large".to_string())
}

fn split_number(text: &str) -> Result<(u64, &str), String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number = text[..digits]
        .parse::<u64>()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    Ok((number, text[digits..].trim()))
}

type SortKey = Box<dyn Fn(&Row, &Row) -> std::cmp::Ordering>;

fn compile_sort(expression: &str) -> Result<SortKey, Error> {
    let text = expression.trim().to_ascii_lowercase();
    let (key, order) = match text.split_once(':') {
        Some((key, order)) => (key.to_string(), Some(order.to_string())),
        None => (text.clone(), None),
    };
    let descending = match order.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(Error::Usage(format!(
                "Invalid sort `{expression}`: the order must be asc or desc, not `{other}`."
            )));
        }
        None => key != "name",
    };
    let compare: SortKey = match key.as_str() {
        "name" => Box::new(|a, b| a.repo.id.to_lowercase().cmp(&b.repo.id.to_lowercase())),
        "size" => Box::new(|a, b| a.size().cmp(&b.size())),
        "accessed" => Box::new(|a, b| a.repo.last_accessed.total_cmp(&b.repo.last_accessed)),
        "modified" => Box::new(|a, b| a.modified().total_cmp(&b.modified())),
        other => {
            return Err(Error::Usage(format!(
                "Invalid sort `{expression}`: unknown key `{other}` (use name, size, accessed or modified)."
            )));
        }
    };
    Ok(if descending {
        Box::new(move |a, b| compare(b, a))
    } else {
        compare
    })
}

#[derive(Serialize)]
struct LsJson {
    cache_dir: PathBuf,
    /// Physical bytes of complete blobs, shared payloads once.
    size_on_disk: u64,
    repos: Vec<RepoJson>,
    partial_downloads: Vec<PartialJson>,
    shared_store: SharedStoreJson,
    others: Vec<OtherJson>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct RepoJson {
    id: String,
    repo_type: &'static str,
    repo_id: String,
    path: PathBuf,
    size_on_disk: u64,
    nb_files: usize,
    refs: Vec<String>,
    last_accessed: String,
    last_modified: String,
    revisions: Vec<RevisionJson>,
}

#[derive(Serialize)]
struct RevisionJson {
    commit: String,
    refs: Vec<String>,
    size_on_disk: u64,
    nb_files: usize,
    last_modified: String,
    path: PathBuf,
}

#[derive(Serialize)]
struct PartialJson {
    id: Option<String>,
    path: PathBuf,
    kind: scan::PartialKind,
    /// The blob it becomes once complete.
    etag: String,
    /// Apparent length (what Python reports).
    size: u64,
    /// Bytes allocated on disk.
    size_on_disk: u64,
    last_modified: String,
    /// `live` (a running download holds its lock), `stale`, or `unknown`.
    state: Liveness,
}

#[derive(Serialize)]
struct SharedStoreJson {
    path: Option<PathBuf>,
    nb_blobs: usize,
    size_on_disk: u64,
    unreferenced: Vec<SharedBlobJson>,
}

#[derive(Serialize)]
struct SharedBlobJson {
    path: PathBuf,
    size_on_disk: u64,
}

#[derive(Serialize)]
struct OtherJson {
    path: PathBuf,
    is_dir: bool,
    size_on_disk: u64,
}

fn partial_repo_id(inventory: &Inventory, folder: &str) -> Option<String> {
    inventory
        .repos
        .iter()
        .find(|r| {
            r.path
                .file_name()
                .is_some_and(|n| n.to_string_lossy() == folder)
        })
        .map(|r| r.id.clone())
}

async fn ls(args: LsArgs, settings: &Settings) -> Result<u8, Error> {
    let inventory = scan_cache(&args.cache, settings).await?;
    let filters = args
        .filters
        .iter()
        .map(|f| compile_filter(f))
        .collect::<Result<Vec<_>, _>>()?;
    let sort = args.sort.as_deref().map(compile_sort).transpose()?;
    let now = now();
    let mut rows: Vec<Row> = inventory
        .repos
        .iter()
        .flat_map(|repo| -> Vec<Row> {
            if args.revisions {
                repo.revisions
                    .iter()
                    .map(|r| Row {
                        repo,
                        revision: Some(r),
                    })
                    .collect()
            } else {
                vec![Row {
                    repo,
                    revision: None,
                }]
            }
        })
        .filter(|row| filters.iter().all(|f| f(row, now)))
        .collect();
    if let Some(sort) = &sort {
        rows.sort_by(|a, b| sort(a, b));
    }
    if let Some(limit) = args.limit {
        rows.truncate(limit);
    }
    let narrowed = !filters.is_empty() || args.limit.is_some();
    if args.json {
        print_json(&ls_json(&inventory, &rows, args.revisions))?;
    } else {
        print_stdout(&ls_human(&inventory, &rows, args.revisions, narrowed, now))?;
    }
    if !inventory.warnings.is_empty() {
        if args.show_warnings {
            for warning in &inventory.warnings {
                output::warn(format!("{} Skipped.", warning.trim_end_matches('.')));
            }
        } else if !args.json {
            output::warn(format!(
                "{} {} not fit the cache layout and {} skipped; --show-warnings lists them.",
                output::counted(inventory.warnings.len() as u64, "folder"),
                if inventory.warnings.len() == 1 {
                    "does"
                } else {
                    "do"
                },
                if inventory.warnings.len() == 1 {
                    "was"
                } else {
                    "were"
                }
            ));
        }
    }
    Ok(exit::SUCCESS)
}

fn ls_json(inventory: &Inventory, rows: &[Row], revisions: bool) -> LsJson {
    let mut repos: Vec<RepoJson> = Vec::new();
    for row in rows {
        let revision_json = |r: &CachedRevision| RevisionJson {
            commit: r.commit.clone(),
            refs: r.refs.clone(),
            size_on_disk: r.size_on_disk,
            nb_files: r.nb_files,
            last_modified: rfc3339(r.last_modified),
            path: r.snapshot_path.clone(),
        };
        // Revision rows of one repo go into one repo object, wherever the sort put them.
        if revisions && let Some(existing) = repos.iter_mut().find(|r| r.id == row.repo.id) {
            existing.revisions.extend(row.revision.map(revision_json));
            continue;
        }
        let repo = row.repo;
        repos.push(RepoJson {
            id: repo.id.clone(),
            repo_type: repo.repo_type,
            repo_id: repo.repo_id.clone(),
            path: repo.path.clone(),
            size_on_disk: repo.size_on_disk,
            nb_files: repo.nb_files,
            refs: repo_refs(repo),
            last_accessed: rfc3339(repo.last_accessed),
            last_modified: rfc3339(repo.last_modified),
            revisions: match row.revision {
                Some(r) => vec![revision_json(r)],
                None => repo.revisions.iter().map(revision_json).collect(),
            },
        });
    }
    let store = &inventory.shared_store;
    LsJson {
        cache_dir: inventory.cache_dir.clone(),
        size_on_disk: inventory.size_on_disk,
        repos,
        partial_downloads: inventory
            .partials
            .iter()
            .map(|p| PartialJson {
                id: partial_repo_id(inventory, &p.folder),
                path: p.path.clone(),
                kind: p.kind,
                etag: p.etag.clone(),
                size: p.size,
                size_on_disk: p.allocated,
                last_modified: rfc3339(p.modified),
                state: p.liveness,
            })
            .collect(),
        shared_store: SharedStoreJson {
            path: crate::cache::shared_store::is_marked(&inventory.cache_dir)
                .then(|| crate::cache::shared_store::store_dir(&inventory.cache_dir)),
            nb_blobs: store.len(),
            size_on_disk: store.iter().map(|e| e.size).sum(),
            unreferenced: store
                .iter()
                .filter(|e| e.references == Some(0))
                .map(|e| SharedBlobJson {
                    path: e.path.clone(),
                    size_on_disk: e.size,
                })
                .collect(),
        },
        others: inventory
            .others
            .iter()
            .map(|o| OtherJson {
                path: o.path.clone(),
                is_dir: o.is_dir,
                size_on_disk: o.size,
            })
            .collect(),
        warnings: inventory.warnings.clone(),
    }
}

fn ls_human(
    inventory: &Inventory,
    rows: &[Row],
    revisions: bool,
    narrowed: bool,
    now: f64,
) -> String {
    let mut table: Vec<Vec<String>> = Vec::new();
    if revisions {
        table.push(
            ["ID", "REVISION", "SIZE", "FILES", "LAST MODIFIED", "REFS"]
                .map(String::from)
                .to_vec(),
        );
    } else {
        table.push(
            [
                "ID",
                "SIZE",
                "FILES",
                "LAST ACCESSED",
                "LAST MODIFIED",
                "REFS",
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    for row in rows {
        let refs = row.refs().join(", ");
        let line = match row.revision {
            Some(r) => vec![
                row.repo.id.clone(),
                r.commit.clone(),
                human_bytes(r.size_on_disk),
                r.nb_files.to_string(),
                time_since(r.last_modified, now),
                if refs.is_empty() {
                    "(detached)".to_string()
                } else {
                    refs
                },
            ],
            None => vec![
                row.repo.id.clone(),
                human_bytes(row.repo.size_on_disk),
                row.repo.nb_files.to_string(),
                time_since(row.repo.last_accessed, now),
                time_since(row.repo.last_modified, now),
                refs,
            ],
        };
        table.push(line);
    }
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str(if inventory.repos.is_empty() {
            "No repos in the cache.\n"
        } else {
            "No repos match.\n"
        });
    } else {
        let right_aligned: &[usize] = if revisions { &[2, 3] } else { &[1, 2] };
        out.push_str(&render_table(&table, right_aligned));
    }
    let repo_count = rows
        .iter()
        .map(|r| &r.repo.id)
        .collect::<BTreeSet<_>>()
        .len();
    let revision_count: usize = if revisions {
        rows.len()
    } else {
        rows.iter().map(|r| r.repo.revisions.len()).sum()
    };
    // The whole cache: its physical size (blobs shared by revisions or, through the Xet store,
    // by repos count once). A selection: the sum of its rows, as `hf cache ls` says it.
    let (total, scope) = if narrowed {
        (rows.iter().map(Row::size).sum(), " in the entries shown")
    } else {
        (inventory.size_on_disk, " on disk")
    };
    out.push_str(&format!(
        "\n{}, {}, {}{scope}.\n",
        output::counted(repo_count as u64, "repo"),
        output::counted(revision_count as u64, "revision"),
        human_bytes(total)
    ));
    out.push_str(&partials_section(inventory, now));
    out.push_str(&shared_section(inventory));
    if !inventory.others.is_empty() {
        out.push_str("\nOther files in the cache (not repos, left alone by rm and prune):\n");
        let root = &inventory.cache_dir;
        for other in &inventory.others {
            let name = other
                .path
                .strip_prefix(root)
                .unwrap_or(&other.path)
                .display()
                .to_string();
            let name = if other.is_dir {
                format!("{name}/")
            } else {
                name
            };
            out.push_str(&format!("  {name}  {}\n", human_bytes(other.size)));
        }
    }
    out.trim_end().to_string()
}

fn partials_section(inventory: &Inventory, now: f64) -> String {
    if inventory.partials.is_empty() {
        return String::new();
    }
    let bytes: u64 = inventory.partials.iter().map(|p| p.allocated).sum();
    let mut out = format!(
        "\nPartial downloads: {}, {} on disk:\n",
        output::counted(inventory.partials.len() as u64, "file"),
        human_bytes(bytes)
    );
    let mut table = Vec::new();
    for partial in &inventory.partials {
        let id =
            partial_repo_id(inventory, &partial.folder).unwrap_or_else(|| partial.folder.clone());
        let name = partial
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let state = match partial.liveness {
            Liveness::Live => "in use: a running download holds its lock".to_string(),
            Liveness::Stale => format!("stale (written {})", time_since(partial.modified, now)),
            Liveness::Unknown => "unknown: locks cannot be tested here".to_string(),
        };
        table.push(vec![
            format!("  {id}"),
            name,
            human_bytes(partial.allocated),
            state,
        ]);
    }
    out.push_str(&render_table(&table, &[2]));
    if inventory
        .partials
        .iter()
        .any(|p| p.liveness == Liveness::Stale)
    {
        out.push_str(
            "`hfget cache prune` removes the stale ones (`hfget download` resumes those it can).\n",
        );
    }
    out
}

fn shared_section(inventory: &Inventory) -> String {
    let store = &inventory.shared_store;
    if store.is_empty() {
        return String::new();
    }
    let size: u64 = store.iter().map(|e| e.size).sum();
    let unreferenced: Vec<_> = store.iter().filter(|e| e.references == Some(0)).collect();
    let mut out = format!(
        "\nShared Xet store (blobs/, huggingface_hub 2.x): {}, {}",
        output::counted(store.len() as u64, "blob"),
        human_bytes(size)
    );
    if unreferenced.is_empty() {
        out.push_str(", all linked from the repos above.\n");
    } else {
        out.push_str(&format!(
            "; {} no repo links to ({}): `hfget cache prune` frees them.\n",
            unreferenced.len(),
            human_bytes(unreferenced.iter().map(|e| e.size).sum())
        ));
    }
    out
}

/// Columns padded to their widest cell; `right` columns right-aligned.
fn render_table(rows: &[Vec<String>], right: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let width = widths[c];
                if right.contains(&c) {
                    format!("{cell:>width$}")
                } else if c + 1 == row.len() {
                    cell.clone()
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// "3 days ago", as `hf` says it (`format_timesince`).
fn time_since(timestamp: f64, now: f64) -> String {
    let delta = now - timestamp;
    if delta < 20.0 {
        return "a few seconds ago".to_string();
    }
    let chunks: [(&str, f64, Option<f64>); 7] = [
        ("second", 1.0, Some(59.0)),
        ("minute", 60.0, Some(59.0)),
        ("hour", 3_600.0, Some(23.0)),
        ("day", 86_400.0, Some(6.0)),
        ("week", 7.0 * 86_400.0, Some(6.0)),
        ("month", 30.0 * 86_400.0, Some(11.0)),
        ("year", 365.0 * 86_400.0, None),
    ];
    let mut shown = (0.0, "year");
    for (label, divider, max) in chunks {
        let value = (delta / divider).round();
        shown = (value, label);
        if max.is_some_and(|m| value <= m) {
            break;
        }
    }
    let (value, label) = shown;
    format!("{value} {label}{} ago", if value > 1.0 { "s" } else { "" })
}

/// Seconds since the epoch as RFC 3339 UTC (`2026-12-01T09:15:02Z`).
fn rfc3339(timestamp: f64) -> String {
    let secs = timestamp.max(0.0).floor() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::time::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

// ---------------------------------------------------------------------------------------------
// rm and prune

#[derive(Serialize)]
struct CleanJson<'a> {
    dry_run: bool,
    /// Bytes freed (or, with --dry-run, that would be).
    freed: u64,
    repos: &'a [clean::SelectedRepo],
    files: &'a [String],
    partial_downloads: Vec<&'a Path>,
    orphan_blobs: Vec<&'a Path>,
    shared_blobs: Vec<&'a Path>,
    empty_folders: &'a [PathBuf],
    not_found: &'a [String],
    kept: Vec<Kept>,
    errors: Vec<String>,
}

async fn rm(args: RmArgs, settings: &Settings) -> Result<u8, Error> {
    let targets = args
        .targets
        .iter()
        .map(|t| clean::parse_target(t).map_err(Error::Usage))
        .collect::<Result<Vec<Target>, _>>()?;
    let files = targets
        .iter()
        .filter(|t| matches!(t, Target::File { .. }))
        .count();
    if files > 0 && files < targets.len() {
        return Err(Error::Usage(
            "hf:// file targets cannot be mixed with repo or revision targets: run `hfget cache rm` once for each kind.".into(),
        ));
    }
    let inventory = scan_cache(&args.cache, settings).await?;
    let plan = clean::plan_rm(&inventory, &targets);
    for missing in &plan.targets_not_found {
        output::warn(format!(
            "{missing} is not in the cache ({}).",
            inventory.cache_dir.display()
        ));
    }
    if plan.is_empty() {
        if args.confirm.json {
            print_json(&clean_json(&plan, None, args.confirm.dry_run))?;
        } else {
            print_stdout("Nothing to delete.")?;
        }
        return Ok(if plan.targets_not_found.is_empty() {
            exit::SUCCESS
        } else {
            exit::NOT_FOUND
        });
    }
    let summary = rm_summary(&plan);
    confirm_and_execute(plan, &summary, &args.confirm).await
}

fn rm_summary(plan: &Plan) -> String {
    if !plan.file_labels.is_empty() {
        return output::counted(plan.file_labels.len() as u64, "file");
    }
    let repos = plan.entire_repo_count();
    let revisions: usize = plan
        .selected
        .iter()
        .filter(|r| !r.entire_repo)
        .map(|r| r.revisions.len())
        .sum();
    let mut parts = Vec::new();
    if repos > 0 {
        parts.push(output::counted(repos as u64, "repo"));
    }
    if revisions > 0 {
        parts.push(output::counted(revisions as u64, "revision"));
    }
    parts.join(" and ")
}

async fn prune(args: PruneArgs, settings: &Settings) -> Result<u8, Error> {
    let inventory = scan_cache(&args.cache, settings).await?;
    let plan = clean::plan_prune(&inventory);
    if plan.is_empty() {
        if args.confirm.json {
            print_json(&clean_json(&plan, None, args.confirm.dry_run))?;
        } else {
            let mut text = "Nothing to prune: no detached revisions, stale partial downloads, orphan blobs, unreferenced shared blobs or empty folders.".to_string();
            for kept in &plan.kept {
                text.push_str(&format!("\nKept {}: {}.", kept.path.display(), kept.reason));
            }
            print_stdout(&text)?;
        }
        return Ok(exit::SUCCESS);
    }
    let mut parts = Vec::new();
    let revisions = plan.revision_count();
    if revisions > 0 {
        parts.push(output::counted(revisions as u64, "detached revision"));
    }
    if !plan.partials.is_empty() {
        parts.push(output::counted(
            plan.partials.len() as u64,
            "stale partial download file",
        ));
    }
    if !plan.orphan_blobs.is_empty() {
        parts.push(output::counted(
            plan.orphan_blobs.len() as u64,
            "orphan blob",
        ));
    }
    if !plan.shared_entries.is_empty() {
        parts.push(output::counted(
            plan.shared_entries.len() as u64,
            "unreferenced shared blob",
        ));
    }
    if !plan.empty_dirs.is_empty() {
        parts.push(output::counted(
            plan.empty_dirs.len() as u64,
            "empty folder",
        ));
    }
    let summary = parts.join(", ");
    confirm_and_execute(plan, &summary, &args.confirm).await
}

fn describe_plan(plan: &Plan, summary: &str) -> String {
    let listed: u64 = plan
        .selected
        .iter()
        .filter(|r| !r.entire_repo)
        .flat_map(|r| &r.revisions)
        .map(|r| r.size_on_disk)
        .sum();
    let shared_note = if listed > plan.freed {
        format!(
            " (the other {} are blobs that kept revisions still use)",
            human_bytes(listed - plan.freed)
        )
    } else {
        String::new()
    };
    let mut out = format!(
        "About to delete {summary}, freeing {}{shared_note}:\n",
        human_bytes(plan.freed)
    );
    for repo in &plan.selected {
        if repo.entire_repo {
            out.push_str(&format!("  - {} (entire repo)\n", repo.id));
            continue;
        }
        out.push_str(&format!("  - {}:\n", repo.id));
        for revision in &repo.revisions {
            let refs = if revision.refs.is_empty() {
                "(detached)".to_string()
            } else {
                format!("[{}]", revision.refs.join(" "))
            };
            out.push_str(&format!(
                "      {} {refs} {}\n",
                revision.commit,
                human_bytes(revision.size_on_disk)
            ));
        }
    }
    for label in &plan.file_labels {
        out.push_str(&format!("  - {label}\n"));
    }
    let listed = plan
        .partials
        .iter()
        .map(|p| (&p.path, "partial download"))
        .chain(
            plan.orphan_blobs
                .iter()
                .map(|(_, b)| (&b.path, "orphan blob")),
        )
        .chain(
            plan.shared_entries
                .iter()
                .map(|e| (&e.path, "unreferenced shared blob")),
        )
        .chain(plan.empty_dirs.iter().map(|d| (d, "empty folder")));
    for (path, what) in listed {
        out.push_str(&format!("  - {what}: {}\n", path.display()));
    }
    for kept in &plan.kept {
        out.push_str(&format!(
            "  (kept {}: {})\n",
            kept.path.display(),
            kept.reason
        ));
    }
    out.trim_end().to_string()
}

fn clean_json<'a>(plan: &'a Plan, outcome: Option<clean::Outcome>, dry_run: bool) -> CleanJson<'a> {
    let (freed, kept, errors) = match outcome {
        Some(o) => (o.freed, o.kept, o.errors),
        None => (plan.freed, plan.kept.clone(), Vec::new()),
    };
    CleanJson {
        dry_run,
        freed,
        repos: &plan.selected,
        files: &plan.file_labels,
        partial_downloads: plan.partials.iter().map(|p| p.path.as_path()).collect(),
        orphan_blobs: plan
            .orphan_blobs
            .iter()
            .map(|(_, b)| b.path.as_path())
            .collect(),
        shared_blobs: plan
            .shared_entries
            .iter()
            .map(|e| e.path.as_path())
            .collect(),
        empty_folders: &plan.empty_dirs,
        not_found: &plan.targets_not_found,
        kept,
        errors,
    }
}

async fn confirm_and_execute(
    plan: Plan,
    summary: &str,
    confirm: &ConfirmArgs,
) -> Result<u8, Error> {
    let description = describe_plan(&plan, summary);
    if confirm.dry_run {
        if confirm.json {
            print_json(&clean_json(&plan, None, true))?;
        } else {
            print_stdout(&format!("{description}\nDry run: nothing was deleted."))?;
        }
        return Ok(exit::SUCCESS);
    }
    if !confirm.json {
        print_stdout(&description)?;
    }
    if !confirm.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(
                "Not deleting without confirmation: stdin is not a terminal. Pass -y to delete, or --dry-run to see what would go.".into(),
            ));
        }
        if !ask("Proceed with deletion? [y/N] ").await? {
            print_stdout("Nothing was deleted.")?;
            return Ok(exit::SUCCESS);
        }
    }
    let (plan, outcome) = blocking(move || {
        let executed = clean::execute(&plan);
        (plan, executed)
    })
    .await?;
    let errors = outcome.errors.len();
    if confirm.json {
        print_json(&clean_json(&plan, Some(outcome), false))?;
    } else {
        let mut text = format!("Deleted {summary}; freed {}.", human_bytes(outcome.freed));
        for kept in &outcome.kept {
            text.push_str(&format!("\nKept {}: {}.", kept.path.display(), kept.reason));
        }
        print_stdout(&text)?;
        for error in &outcome.errors {
            output::warn(error);
        }
    }
    Ok(if errors == 0 {
        exit::SUCCESS
    } else {
        exit::LOCAL
    })
}

/// Asks on the terminal; only "y"/"yes" agrees.
async fn ask(question: &str) -> Result<bool, Error> {
    let question = question.to_string();
    blocking(move || {
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "{question}");
        let _ = stderr.flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// verify

/// Where the expected hashes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum ListingSource {
    /// `trees/<commit>.json` in the cache (or the local folder's `.cache/huggingface`).
    CachedTree,
    /// The Hub's `/tree` listing.
    Hub,
    /// Offline and nothing cached: the hash each blob is named after (or `.metadata` records).
    FileNames,
}

#[derive(Serialize)]
struct BadFile {
    path: String,
    problem: &'static str,
    algorithm: &'static str,
    expected: String,
    actual: Option<String>,
}

#[derive(Serialize)]
struct VerifyJson {
    repo_id: String,
    repo_type: RepoType,
    revision: String,
    commit: String,
    path: PathBuf,
    listing: ListingSource,
    checked: usize,
    ok: bool,
    bad: Vec<BadFile>,
    missing: Vec<String>,
    extra: Vec<String>,
    repaired: Vec<String>,
}

struct Subject {
    repo: RepoId,
    revision: String,
    commit: String,
    root: PathBuf,
    local_dir: Option<LocalDir>,
    cache_dir: PathBuf,
}

async fn verify_command(
    args: VerifyArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    let parsed = parse_repo_argument(&args.repo_id, args.repo_type)?;
    let revision = merge_revision(parsed.revision.clone(), args.revision.as_deref())?
        .unwrap_or_else(|| "main".to_string());
    let explicit_revision = args.revision.is_some() || parsed.revision.is_some();
    let client = if settings.offline {
        None
    } else {
        let token = auth::resolve_token(settings, environment, args.token.as_deref()).await?;
        Some(HubClient::new(settings, token.map(|t| t.token))?)
    };
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| settings.hub_cache.clone());
    let subject = match &args.local_dir {
        Some(dir) => local_subject(parsed.repo, revision, dir, client.as_ref(), settings).await?,
        None => cache_subject(parsed.repo, revision, explicit_revision, &cache_dir)?,
    };
    let (expected, source) = listing_for(&subject, client.as_ref()).await?;
    let mut report = run_checks(&subject, expected.clone(), source).await?;
    if args.repair && !report.ok_ignoring_flags() {
        let Some(client) = &client else {
            return Err(Error::Usage(
                "Cannot repair offline (HF_HUB_OFFLINE is set): the files must be downloaded again.".into(),
            ));
        };
        let to_fetch: Vec<String> = report
            .bad
            .iter()
            .map(|b| b.path.clone())
            .chain(report.missing.iter().cloned())
            .collect();
        repair(&subject, &to_fetch, client, settings).await?;
        let mut again = run_checks(&subject, expected, source).await?;
        again.repaired = to_fetch
            .into_iter()
            .filter(|p| !again.bad.iter().any(|b| &b.path == p) && !again.missing.contains(p))
            .collect();
        report = again;
    }
    let failed = !report.bad.is_empty()
        || (args.fail_on_missing_files && !report.missing.is_empty())
        || (args.fail_on_extra_files && !report.extra.is_empty());
    report.ok = !failed;
    if args.json {
        print_json(&report)?;
    } else {
        print_verify_human(&report, &args)?;
    }
    Ok(if failed {
        exit::INTEGRITY
    } else {
        exit::SUCCESS
    })
}

impl VerifyJson {
    fn ok_ignoring_flags(&self) -> bool {
        self.bad.is_empty() && self.missing.is_empty()
    }
}

fn cache_subject(
    repo: RepoId,
    revision: String,
    explicit_revision: bool,
    cache_dir: &Path,
) -> Result<Subject, Error> {
    let cache = CacheRepo::new(cache_dir, &repo);
    let folder = cache_dir.join(repo.cache_folder_name());
    if !folder.is_dir() {
        return Err(Error::from(InventoryError::NotCached(format!(
            "{repo} is not in the cache ({}). Download it first (`hfget download {repo}`), or pass --cache-dir or --local-dir.",
            cache_dir.display()
        ))));
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
                return Err(Error::from(InventoryError::NotCached(format!(
                    "The cache has no ref `{revision}` for {repo}. Pass --revision with a commit hash (see `hfget cache ls --revisions`)."
                ))));
            }
        }
    };
    let root = cache.snapshot_dir(&commit);
    if !root.is_dir() {
        return Err(Error::from(InventoryError::NotCached(format!(
            "The cache has no snapshot of {repo} at {commit} ({}).",
            root.display()
        ))));
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

async fn local_subject(
    repo: RepoId,
    revision: String,
    dir: &Path,
    client: Option<&HubClient>,
    settings: &Settings,
) -> Result<Subject, Error> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!("{} is not a folder.", dir.display())));
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
        let files = verify::local_files(dir, true);
        files
            .keys()
            .filter_map(|p| local.read_metadata(&RepoPath::new(p).ok()?))
            .map(|m| m.commit)
            .next()
            .unwrap_or_else(|| revision.clone())
    };
    Ok(Subject {
        repo,
        revision,
        commit,
        root: dir.to_path_buf(),
        local_dir: Some(local),
        cache_dir: settings.hub_cache.clone(),
    })
}

async fn listing_for(
    subject: &Subject,
    client: Option<&HubClient>,
) -> Result<(Option<Vec<Expected>>, ListingSource), Error> {
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

async fn run_checks(
    subject: &Subject,
    expected: Option<Vec<Expected>>,
    source: ListingSource,
) -> Result<VerifyJson, Error> {
    let root = subject.root.clone();
    let local_dir = subject.local_dir.clone();
    let (results, missing, extra, checked) = blocking(move || {
        let files = verify::local_files(&root, local_dir.is_some());
        let (expected, names_only) = match expected {
            Some(expected) => (expected, false),
            None => (
                verify::expectations_from_names(&files, local_dir.as_ref()),
                true,
            ),
        };
        let comparison = verify::compare(expected, &files);
        let checked = comparison.to_check.len();
        let bytes: u64 = comparison
            .to_check
            .iter()
            .filter_map(|(_, path)| std::fs::metadata(path).ok())
            .map(|m| m.len())
            .sum();
        // Hashing runs at disk speed: say what is coming when it takes more than a moment.
        if bytes >= 1 << 30 {
            output::info(format!(
                "Hashing {}, {}…",
                output::counted(checked as u64, "file"),
                human_bytes(bytes)
            ));
        }
        let results = verify::check_all(comparison.to_check, hash_with_kind);
        // Without a listing, "missing" and "extra" mean nothing.
        let (missing, extra) = if names_only {
            (Vec::new(), Vec::new())
        } else {
            (comparison.missing, comparison.extra)
        };
        (results, missing, extra, checked)
    })
    .await?;
    let bad = results
        .into_iter()
        .filter_map(|(expected, verdict)| {
            let algorithm = expected.algorithm();
            let (problem, actual) = match verdict {
                Verdict::Ok => return None,
                Verdict::Missing => ("blob missing (broken link)", None),
                Verdict::Size { actual, .. } => ("wrong size", Some(format!("{actual} bytes"))),
                Verdict::Hash { actual, .. } => ("checksum mismatch", Some(actual)),
                Verdict::Unreadable(why) => ("unreadable", Some(why)),
            };
            let expected_text = match problem {
                "wrong size" => format!("{} bytes", expected.size.unwrap_or_default()),
                _ => expected.hash.clone(),
            };
            Some(BadFile {
                path: expected.path,
                problem,
                algorithm,
                expected: expected_text,
                actual,
            })
        })
        .collect();
    Ok(VerifyJson {
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

/// Streams a file through the hasher its expected hash calls for.
fn hash_with_kind(path: &Path, expected: &Expected, size: u64) -> std::io::Result<String> {
    let kind = HashKind::for_etag(&expected.hash);
    let mut hasher = ContentHasher::new(kind, size);
    hash_file_prefix(path, size, &mut hasher)?;
    Ok(hasher.finish())
}

/// Removes what is bad and downloads it again through the one download path.
async fn repair(
    subject: &Subject,
    paths: &[String],
    client: &HubClient,
    settings: &Settings,
) -> Result<(), Error> {
    let files = paths
        .iter()
        .map(|p| RepoPath::new(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Usage(format!("Invalid file name {:?}: {}.", e.name, e.reason)))?;
    let root = subject.root.clone();
    let local = subject.local_dir.clone();
    let owned: Vec<RepoPath> = files.clone();
    blocking(move || {
        for path in &owned {
            let file = path.under(&root);
            match &local {
                Some(local) => {
                    let _ = std::fs::remove_file(&file);
                    let _ = std::fs::remove_file(local.metadata_path(path));
                }
                None => {
                    // The blob holds the wrong bytes: drop it (every revision linking it is as
                    // bad) and the link; the download writes both again. A link into the shared
                    // store is only a link: the payload is left to `cache prune`.
                    if let Ok(target) = std::fs::read_link(&file)
                        && let Some(parent) = file.parent()
                    {
                        let blob = crate::cache::shared_store::normalize(&parent.join(target));
                        let _ = std::fs::remove_file(blob);
                    }
                    let _ = std::fs::remove_file(&file);
                }
            }
        }
    })
    .await?;
    let target = match &subject.local_dir {
        Some(local) => DownloadTarget::LocalDir {
            dir: local.root().to_path_buf(),
            cache: settings.hub_cache.clone(),
        },
        None => DownloadTarget::Cache(subject.cache_dir.clone()),
    };
    let request =
        DownloadRequest::for_files(subject.repo.clone(), subject.commit.clone(), files, target);
    // A repair is asked for: it goes to the Hub even in offline mode's absence of doubt.
    let options = download::Options {
        offline: false,
        ..download::Options::from_settings(settings)
    };
    let session = download::Session::new(client.clone(), options);
    let reporter = crate::output::reporter::TerminalReporter::new(settings.progress_bars);
    download::run(&session, request, &reporter).await?;
    Ok(())
}

fn print_verify_human(report: &VerifyJson, args: &VerifyArgs) -> Result<(), Error> {
    let mut out = String::new();
    let what = format!("{} {}", report.repo_type, report.repo_id);
    if report.listing == ListingSource::FileNames {
        output::warn(
            "Offline and no cached listing: each file was checked against the hash its blob is named after; missing or extra files cannot be told.",
        );
    }
    if !report.bad.is_empty() {
        out.push_str("Corrupted files:\n");
        for bad in &report.bad {
            match &bad.actual {
                Some(actual) if bad.problem == "checksum mismatch" => out.push_str(&format!(
                    "  ✗ {}: {} is {actual}, expected {}\n",
                    bad.path, bad.algorithm, bad.expected
                )),
                Some(actual) => out.push_str(&format!(
                    "  ✗ {}: {}: {actual}, expected {}\n",
                    bad.path, bad.problem, bad.expected
                )),
                None => out.push_str(&format!("  ✗ {}: {}\n", bad.path, bad.problem)),
            }
        }
    }
    if !report.missing.is_empty() {
        if args.fail_on_missing_files {
            out.push_str("Missing files (in the revision, not on disk):\n");
            for path in &report.missing {
                out.push_str(&format!("  ✗ {path}\n"));
            }
        } else {
            output::warn(format!(
                "{} of the revision {} not on disk (a partial download?); --fail-on-missing-files lists them and fails.",
                output::counted(report.missing.len() as u64, "file"),
                output::is_are(report.missing.len() as u64)
            ));
        }
    }
    if !report.extra.is_empty() {
        if args.fail_on_extra_files {
            out.push_str("Extra files (on disk, not in the revision):\n");
            for path in &report.extra {
                out.push_str(&format!("  ✗ {path}\n"));
            }
        } else {
            output::warn(format!(
                "{} on disk {} not in the revision; --fail-on-extra-files lists them and fails.",
                output::counted(report.extra.len() as u64, "file"),
                output::is_are(report.extra.len() as u64)
            ));
        }
    }
    for path in &report.repaired {
        out.push_str(&format!("  ✓ repaired {path}\n"));
    }
    let short = &report.commit;
    if report.ok {
        out.push_str(&format!(
            "Verified {} of {what} at {short} in {}: all match.",
            output::counted(report.checked as u64, "file"),
            report.path.display()
        ));
    } else {
        out.push_str(&format!(
            "Verification failed for {what} at {short} in {}.{}",
            report.path.display(),
            if report.bad.is_empty() || args.repair {
                ""
            } else {
                " `--repair` downloads the bad files again."
            }
        ));
    }
    print_stdout(out.trim_end())
}

#[cfg(test)]
mod tests;
