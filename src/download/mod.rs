//! The download engine: plan → transfer → verify → place, for the cache or a local folder.
//!
//! Data flows one way: the command builds a [`DownloadRequest`], [`download`] resolves the commit
//! and listing through the Hub client, decides per file what is needed, runs the transfers in
//! parallel, and returns a [`DownloadReport`]. Nothing here prints results; the command does.

pub mod error;
mod local_copy;
pub mod offline;
pub mod plan;
pub mod segmented;
pub mod transfer;
pub mod verify;
mod wait;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::hash::{self, ContentHasher, HashKind};
use crate::text::{closest_names, human_bytes};
pub use error::DownloadError;
use plan::{FileFilter, RemoteFile, remote_files};
use segmented::{FastFiles, ParallelEnd, ParallelTransfer};
use transfer::{Tally, Transfer};
use wait::WaitDisplay;

use crate::cache::lease::{self, BlobClaim, Claim};
use crate::cache::local_dir::LocalDir;
use crate::cache::lock::BlobLock;
use crate::cache::{CacheError, CacheRepo, RepoPath, tree};
use crate::hub::repo::is_commit_hash;
use crate::hub::{HubClient, HubError, HubErrorKind, RepoId, TreeEntry};
use crate::output;
use crate::output::progress::{FileProgress, Progress};

/// Where files land.
#[derive(Clone, Debug)]
pub enum Target {
    /// The huggingface_hub cache rooted here.
    Cache(PathBuf),
    /// Plain files in this folder; `cache` is the hub cache to copy already-cached blobs from.
    LocalDir { dir: PathBuf, cache: PathBuf },
}

/// Everything the engine needs to know, already validated by the command.
#[derive(Clone, Debug)]
pub struct DownloadRequest {
    pub repo: RepoId,
    pub revision: String,
    /// Files asked for by name; empty means "the snapshot" (filtered).
    pub files: Vec<RepoPath>,
    pub filter: FileFilter,
    pub target: Target,
    pub force: bool,
    pub dry_run: bool,
    /// Files in flight at once.
    pub max_workers: usize,
    /// How large files are split into parallel ranges.
    pub tuning: segmented::Tuning,
    /// Skip flock (`HFGET_NO_FILE_LOCKS`); leases still keep runs apart (issue #12).
    pub no_file_locks: bool,
    /// How long a silent lease on a blob lasts before another run takes it over.
    pub lease_timeout: std::time::Duration,
    pub offline: bool,
    /// The variable that turned offline mode on, named in messages (issue #13.10).
    pub offline_variable: &'static str,
    /// `Some(false)`/`Some(true)` force bars off/on; `None` lets the terminal decide.
    pub progress_bars: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// Already there; nothing was transferred.
    Cached,
    /// Transferred in this run.
    Downloaded,
    /// Another process (here or on another machine sharing the cache) downloaded it while
    /// this run waited for it (issue #12).
    ByAnotherProcess,
    /// Dry run: would be transferred.
    WillDownload,
    /// `--local-dir`: copied from a blob the cache already held, no download (issue #13.2).
    CopiedFromCache,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    pub size: u64,
    pub status: FileStatus,
}

#[derive(Clone, Debug, Serialize)]
pub struct DownloadReport {
    pub repo: String,
    pub repo_type: crate::hub::RepoType,
    pub revision: String,
    pub commit: String,
    /// The snapshot folder (or local folder), or the file when exactly one file was asked for.
    pub path: PathBuf,
    pub files: Vec<FileReport>,
    pub dry_run: bool,
    /// Bytes fetched over the network by this run (issue #13.11).
    #[serde(skip)]
    pub bytes_fetched: u64,
    /// Bytes an earlier, interrupted run had already written and this run kept.
    #[serde(skip)]
    pub bytes_resumed: u64,
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

/// What a planned file still needs.
#[derive(Clone, Debug)]
enum Need {
    Nothing,
    /// Cache mode: the blob exists (another snapshot, or Python put it there); link it.
    Link,
    /// Local-dir mode: the main cache has the blob; copy it.
    CopyFrom(PathBuf),
    /// Local-dir mode: a file of the right size exists without metadata; hash it and keep it
    /// if it matches (docs/protocol.md §2.5).
    Adopt,
    Fetch,
}

impl Need {
    /// Whether the file's bytes cross the network or the disk now, so it has a bar and counts
    /// in the totals (one answer for both).
    fn moves_bytes(&self) -> bool {
        matches!(self, Need::Fetch | Need::CopyFrom(_) | Need::Adopt)
    }
}

struct PlannedFile {
    remote: RemoteFile,
    need: Need,
    /// Whether `blobs/` may hold files of this blob's earlier runs
    /// ([`lease::BlobClaim::earlier_files`]).
    earlier_files: bool,
}

pub async fn download(
    client: &HubClient,
    request: &DownloadRequest,
) -> Result<DownloadReport, DownloadError> {
    // The cache on disk instead of the Hub: filesystem work, off the async workers.
    if request.offline {
        let request = request.clone();
        return transfer::blocking(move || offline::serve(&request)).await?;
    }
    let commit = match resolve_commit(client, request).await {
        Ok(commit) => commit,
        Err(DownloadError::Hub(error)) if is_transient(&error) && !request.force => {
            let request = request.clone();
            return transfer::blocking(move || serve_cached_instead(&request, error)).await?;
        }
        Err(error) => return Err(error),
    };
    let files = select_files(client, request, &commit).await?;
    // Stats, leases and free space: filesystem work, off the async workers (issue #9).
    let planned = {
        let (request, commit) = (request.clone(), commit.clone());
        transfer::blocking(move || -> Result<Vec<PlannedFile>, DownloadError> {
            let planned = plan_needs(&request, &commit, files)?;
            if !request.dry_run {
                check_free_space(&request, &commit, &planned)?;
            }
            Ok(planned)
        })
        .await??
    };
    if request.dry_run {
        return Ok(report(request, &commit, &planned, FileStatus::WillDownload));
    }
    let tally = Arc::new(Tally::default());
    let executed = execute(client, request, &commit, &planned, &tally).await;
    {
        let (request, commit, succeeded) = (request.clone(), commit.clone(), executed.is_ok());
        transfer::blocking(move || record_revision(&request, &commit, succeeded)).await??;
    }
    let elsewhere = executed?;
    let mut done = report(request, &commit, &planned, FileStatus::Downloaded);
    (done.bytes_fetched, done.bytes_resumed) = tally.totals();
    for file in &mut done.files {
        if elsewhere.contains(&file.path) {
            file.status = FileStatus::ByAnotherProcess;
        }
    }
    Ok(done)
}

/// The Hub cannot be asked right now (network down, a proxy refusing its credentials, rate
/// limit, 5xx after retries).
fn is_transient(error: &HubError) -> bool {
    matches!(
        error.kind,
        HubErrorKind::Network(_)
            | HubErrorKind::ProxyAuth
            | HubErrorKind::ServerError
            | HubErrorKind::RateLimited
    )
}

/// When the Hub cannot be reached but an earlier run cached what was asked for, use it, as
/// huggingface_hub does (docs/protocol.md §1.8): a laptop on a plane still loads its model. The
/// user is told, since a newer commit may exist. Access errors (401/403/404) never take this
/// path: they go to the doctor.
fn serve_cached_instead(
    request: &DownloadRequest,
    error: HubError,
) -> Result<DownloadReport, DownloadError> {
    match offline::serve_or_gap(request) {
        Ok(report) => {
            output::warn(format!(
                "could not ask the Hub ({}); using what an earlier run cached for revision '{}' (commit {}).",
                error.kind_summary(),
                request.revision,
                report.commit.get(..7).unwrap_or(&report.commit)
            ));
            Ok(report)
        }
        Err(Ok(gap)) => {
            // Say why the cache cannot stand in, so a half-filled snapshot is never taken for
            // the repository (issue #13.7); the Hub's error and its exit code stand.
            output::warn(format!("the cache cannot stand in for the Hub: {gap}."));
            Err(error.into())
        }
        Err(Err(_)) => Err(error.into()),
    }
}

/// A commit hash needs no request; a branch or tag costs exactly one (docs/protocol.md §3.1).
async fn resolve_commit(
    client: &HubClient,
    request: &DownloadRequest,
) -> Result<String, DownloadError> {
    let commit = if is_commit_hash(&request.revision) {
        request.revision.clone()
    } else {
        let info = client
            .repo_info(&request.repo, Some(&request.revision))
            .await?;
        info.sha
            .filter(|sha| is_commit_hash(sha))
            .ok_or_else(|| HubError::protocol("the repository info has no commit hash (`sha`)"))?
    };
    Ok(commit)
}

/// Writes `refs/<revision>` once the snapshot holds something: after a complete run, or after
/// a failed one that still placed some files (they are served offline by name), or after a
/// complete run over a repository that has no files. A run that placed nothing — corrupted
/// data, a dry run — leaves no ref and no empty snapshot folder, as its message promises.
fn record_revision(
    request: &DownloadRequest,
    commit: &str,
    succeeded: bool,
) -> Result<(), DownloadError> {
    let Target::Cache(cache_dir) = &request.target else {
        return Ok(());
    };
    let cache = CacheRepo::new(cache_dir, &request.repo);
    let snapshot = cache.snapshot_dir(commit);
    if succeeded {
        // The printed path must exist, even for an empty selection.
        crate::cache::create_dir_all(&snapshot)?;
    }
    cache.sweep_snapshot_temporaries(commit);
    let placed = std::fs::read_dir(&snapshot).is_ok_and(|mut entries| entries.next().is_some());
    // A repository with no files at all is complete with an empty snapshot: its ref lets an
    // offline rerun answer from the cache, as it would for any other complete download.
    // Read only when nothing was placed, so a normal run does not read its listing again.
    let empty_repository = || {
        succeeded
            && tree::read(&cache.tree_path(commit))
                .is_some_and(|entries| entries.iter().all(|entry| entry.kind != "file"))
    };
    if placed || empty_repository() {
        cache.write_ref(&request.revision, commit)?;
    }
    Ok(())
}

fn tree_cache_path(request: &DownloadRequest, commit: &str) -> PathBuf {
    match &request.target {
        Target::Cache(dir) => CacheRepo::new(dir, &request.repo).tree_path(commit),
        Target::LocalDir { dir, .. } => LocalDir::new(dir).tree_path(commit),
    }
}

/// The listing (cached per commit, else one paginated request, or one paths-info request for
/// named files), then the selection the user asked for.
async fn select_files(
    client: &HubClient,
    request: &DownloadRequest,
    commit: &str,
) -> Result<Vec<RemoteFile>, DownloadError> {
    let tree_path = tree_cache_path(request, commit);
    let cached_listing = if request.force {
        None
    } else {
        let path = tree_path.clone();
        transfer::blocking(move || tree::read(&path)).await?
    };
    let from_cache = cached_listing.is_some();
    let (entries, complete): (Vec<TreeEntry>, bool) = match cached_listing {
        Some(entries) => (entries, true),
        None if !request.files.is_empty() && request.filter.is_empty() => {
            let names: Vec<String> = request.files.iter().map(|p| p.to_string()).collect();
            (
                client.paths_info(&request.repo, commit, &names).await?,
                false,
            )
        }
        None => {
            let entries = client.list_tree(&request.repo, commit).await?;
            (entries, true)
        }
    };
    // Folders the user named without the trailing slash (issue #13.5): paths-info answers them
    // with a directory entry; the listing only has files, whose paths show their folders.
    let is_folder = |name: &str| {
        let prefix = format!("{name}/");
        entries
            .iter()
            .any(|e| e.path == name && e.kind == "directory" || e.path.starts_with(&prefix))
    };
    let folders: Vec<String> = request
        .files
        .iter()
        .map(|p| p.to_string())
        .filter(|name| is_folder(name))
        .collect();
    let files = remote_files(&entries)?;
    if complete && !request.dry_run {
        transfer::blocking(move || -> Result<(), CacheError> {
            // A commit's listing never changes: one read from the cache is not written again,
            // but what runs killed while writing it left is swept (no later run writes it, so
            // nobody else would).
            if from_cache {
                crate::cache::sweep_temporaries(&tree_path);
                Ok(())
            } else {
                tree::write(&tree_path, &entries)
            }
        })
        .await??;
    }
    if request.files.is_empty() {
        let selected: Vec<RemoteFile> = files
            .iter()
            .filter(|f| request.filter.matches(f.path.as_str()))
            .cloned()
            .collect();
        if selected.is_empty() && !files.is_empty() && !request.filter.is_empty() {
            // As `hf download` does: a warning and success, so a script looping over repos
            // with `--include '*.gguf'` keeps going; `--json` shows `"files": []` (#13.12).
            output::warn(format!(
                "no file of {}{} matches the --include/--exclude patterns ({} files in the repository); nothing to download.",
                request.repo,
                if request.revision == "main" {
                    String::new()
                } else {
                    format!(" at revision '{}'", request.revision)
                },
                files.len()
            ));
        }
        return Ok(selected);
    }
    let mut selected = Vec::new();
    let mut missing = Vec::new();
    for wanted in &request.files {
        match files.iter().find(|f| &f.path == wanted) {
            Some(file) => selected.push(file.clone()),
            None => missing.push(wanted.clone()),
        }
    }
    if missing.is_empty() {
        return Ok(selected);
    }
    if let Some(folder) = missing.iter().find(|p| folders.contains(&p.to_string())) {
        return Err(named_a_folder(request, folder));
    }
    if let Target::Cache(dir) = &request.target {
        let cache = CacheRepo::new(dir, &request.repo);
        let (dry_run, revision, commit, missing) = (
            request.dry_run,
            request.revision.clone(),
            commit.to_string(),
            missing.clone(),
        );
        // Filesystem work, off the async workers (issue #9).
        transfer::blocking(move || -> Result<(), DownloadError> {
            // The markers are found offline through the ref, so it is recorded with them, as
            // huggingface_hub does.
            if !dry_run {
                cache.prepare()?;
                cache.write_ref(&revision, &commit)?;
            }
            for path in &missing {
                // Best effort, as in huggingface_hub: the marker only saves a later offline
                // lookup, and an older marker where a folder is needed must not turn "no such
                // file" into a filesystem error (issue #13.5).
                if let Err(error) = cache.mark_missing(&commit, path) {
                    output::debug(|| format!("could not record that '{path}' is missing: {error}"));
                }
            }
            Ok(())
        })
        .await??;
    }
    // Named files come from paths-info, which only knows what exists; suggestions need the
    // listing, which costs one more request but only on this error path.
    let names: Vec<String> = if complete {
        files.iter().map(|f| f.path.to_string()).collect()
    } else {
        client
            .list_tree(&request.repo, commit)
            .await
            .map(|entries| entries.into_iter().map(|e| e.path).collect())
            .unwrap_or_default()
    };
    let suggestions = closest_names(missing[0].as_str(), names.iter().map(String::as_str));
    let suggestion = if suggestions.is_empty() {
        String::new()
    } else {
        format!(
            " Did you mean {}?",
            suggestions
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(DownloadError::FileNotFound {
        repo: request.repo.to_string(),
        revision: request.revision.clone(),
        missing: missing.iter().map(|p| p.to_string()).collect(),
        suggestion,
    })
}

/// A folder named like a file (`nested` for `nested/`): not found as a file, with the spelling
/// that downloads the folder (issue #13.5).
pub(crate) fn named_a_folder(request: &DownloadRequest, folder: &RepoPath) -> DownloadError {
    DownloadError::FileNotFound {
        repo: request.repo.to_string(),
        revision: request.revision.clone(),
        missing: vec![folder.to_string()],
        suggestion: format!(
            " '{folder}' is a folder: write '{folder}/' (with the trailing slash) to download the files in it."
        ),
    }
}

/// What each file still needs, from the files on disk; sweeps the leases and lock probes killed
/// runs left next to blobs already in place. Blocking.
fn plan_needs(
    request: &DownloadRequest,
    commit: &str,
    files: Vec<RemoteFile>,
) -> Result<Vec<PlannedFile>, DownloadError> {
    let mut planned = Vec::with_capacity(files.len());
    let mut probes_swept = false;
    // One listing of `blobs/` for the whole run, not one per file (issue #9, case 3).
    let with_files = match &request.target {
        Target::Cache(dir) => {
            lease::etags_with_files(&CacheRepo::new(dir, &request.repo).blobs_dir())
        }
        Target::LocalDir { .. } => None,
    };
    for remote in files {
        let earlier_files = with_files
            .as_ref()
            .is_none_or(|etags| etags.contains(remote.etag.as_str()));
        let need = match &request.target {
            _ if request.force => Need::Fetch,
            Target::Cache(dir) => {
                let cache = CacheRepo::new(dir, &request.repo);
                let need = if cache.has_file(commit, &remote.path, remote.size) {
                    Need::Nothing
                } else if cache.has_blob(&remote.etag, remote.size) {
                    Need::Link
                } else {
                    Need::Fetch
                };
                if !matches!(need, Need::Fetch) && !request.dry_run {
                    let blob = cache.blob_path(&remote.etag);
                    if let Some(blobs) = blob.parent() {
                        lease::sweep_placed(blobs, &remote.etag, request.lease_timeout);
                        // Once per run: it lists the folder.
                        if !probes_swept {
                            lease::filesystem::sweep_dead_probes(blobs);
                            probes_swept = true;
                        }
                    }
                }
                need
            }
            Target::LocalDir { dir, cache } => {
                let local = LocalDir::new(dir);
                let existing = std::fs::metadata(local.file_path(&remote.path))
                    .ok()
                    .filter(|m| m.is_file() && m.len() == remote.size);
                let main_cache = CacheRepo::new(cache, &request.repo);
                match (local.read_metadata(&remote.path), existing) {
                    (Some(metadata), Some(_)) if metadata.etag == remote.etag => Need::Nothing,
                    (None, Some(_)) if remote.kind == HashKind::Sha256 => Need::Adopt,
                    _ if main_cache.has_blob(&remote.etag, remote.size) => {
                        Need::CopyFrom(main_cache.blob_path(&remote.etag))
                    }
                    _ => Need::Fetch,
                }
            }
        };
        planned.push(PlannedFile {
            remote,
            need,
            earlier_files,
        });
    }
    Ok(planned)
}

fn result_path(request: &DownloadRequest, commit: &str) -> PathBuf {
    let single = match request.files.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    match &request.target {
        Target::Cache(dir) => {
            let cache = CacheRepo::new(dir, &request.repo);
            match single {
                Some(path) => cache.snapshot_path(commit, path),
                None => cache.snapshot_dir(commit),
            }
        }
        Target::LocalDir { dir, .. } => match single {
            Some(path) => path.under(dir),
            None => dir.clone(),
        },
    }
}

fn report(
    request: &DownloadRequest,
    commit: &str,
    planned: &[PlannedFile],
    transferred: FileStatus,
) -> DownloadReport {
    let files = planned
        .iter()
        .map(|p| FileReport {
            path: p.remote.path.to_string(),
            size: p.remote.size,
            status: match p.need {
                Need::Fetch => transferred,
                Need::CopyFrom(_) if transferred == FileStatus::Downloaded => {
                    FileStatus::CopiedFromCache
                }
                _ => FileStatus::Cached,
            },
        })
        .collect();
    DownloadReport::new(request, commit, files)
}

impl DownloadReport {
    /// The report of `request` at `commit`: the path printed is the snapshot (or local folder),
    /// or the file when exactly one was asked for.
    pub(crate) fn new(
        request: &DownloadRequest,
        commit: &str,
        files: Vec<FileReport>,
    ) -> DownloadReport {
        DownloadReport {
            repo: request.repo.id.clone(),
            repo_type: request.repo.repo_type,
            revision: request.revision.clone(),
            commit: commit.to_string(),
            path: result_path(request, commit),
            files,
            dry_run: request.dry_run,
            bytes_fetched: 0,
            bytes_resumed: 0,
        }
    }
}

/// Fails before the first byte when the plan cannot fit (issue #6): bytes still to fetch, minus
/// what `.incomplete` files already hold, against the free space of the target filesystem.
fn check_free_space(
    request: &DownloadRequest,
    commit: &str,
    planned: &[PlannedFile],
) -> Result<(), DownloadError> {
    let needed: u64 = planned
        .iter()
        .filter(|p| matches!(p.need, Need::Fetch | Need::CopyFrom(_)))
        .map(|p| {
            let partial = incomplete_path(request, commit, &p.remote);
            let (etag, size) = (&p.remote.etag, p.remote.size);
            let mut on_disk = segmented::bytes_on_disk(&partial, etag, size);
            // Cache partials have owner-unique names (issue #12): count the best one.
            if let Target::Cache(dir) = &request.target
                && p.earlier_files
            {
                let blobs = CacheRepo::new(dir, &request.repo).blobs_dir();
                for candidate in lease::resumable_partials(&blobs, etag) {
                    on_disk = on_disk.max(segmented::bytes_on_disk(&candidate, etag, size));
                }
            }
            size.saturating_sub(on_disk)
        })
        .sum();
    if needed == 0 {
        return Ok(());
    }
    let root = match &request.target {
        Target::Cache(dir) => dir.clone(),
        Target::LocalDir { dir, .. } => dir.clone(),
    };
    let probe = existing_ancestor(&root);
    let Ok(available) = fs4::available_space(&probe) else {
        return Ok(());
    };
    if needed > available {
        return Err(DownloadError::InsufficientSpace {
            path: root,
            needed: human_bytes(needed),
            available: human_bytes(available),
        });
    }
    Ok(())
}

fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn incomplete_path(request: &DownloadRequest, commit: &str, file: &RemoteFile) -> PathBuf {
    let _ = commit;
    match &request.target {
        Target::Cache(dir) => CacheRepo::new(dir, &request.repo).incomplete_path(&file.etag),
        Target::LocalDir { dir, .. } => LocalDir::new(dir).incomplete_path(&file.path, &file.etag),
    }
}

/// Runs every needed transfer, at most `max_workers` files at a time; large files also share a
/// connection budget for their ranges ([`segmented::Tuning::budget`]). The first failure stops the
/// rest; partial files stay on disk for the next run. Returns the files another process
/// downloaded while this one waited for them.
async fn execute(
    client: &HubClient,
    request: &DownloadRequest,
    commit: &str,
    planned: &[PlannedFile],
    tally: &Arc<Tally>,
) -> Result<std::collections::HashSet<String>, DownloadError> {
    if let Target::LocalDir { dir, .. } = &request.target {
        LocalDir::new(dir).prepare()?;
    }
    let cache = match &request.target {
        Target::Cache(dir) => Some(CacheRepo::new(dir, &request.repo)),
        Target::LocalDir { .. } => None,
    };
    if let Some(cache) = &cache {
        // `snapshots/<commit>/` is created by the first link (or by `record_revision`), so a
        // run that fails before placing anything leaves no empty snapshot behind.
        cache.prepare()?;
    }
    // Copies from the cache move the bars too: a large one takes seconds (issue #13.2).
    let moves_bytes = |p: &&PlannedFile| p.need.moves_bytes();
    let total: u64 = planned
        .iter()
        .filter(moves_bytes)
        .map(|p| p.remote.size)
        .sum();
    let fetching = planned.iter().filter(moves_bytes).count();
    let progress = Progress::new(total, fetching, request.progress_bars);
    let semaphore = Arc::new(Semaphore::new(request.max_workers.max(1)));
    // The connections all large files share (two files at full width when pinned).
    let budget = Arc::new(Semaphore::new(request.tuning.budget()));
    let mirror = Arc::new(AtomicBool::new(false));
    let fast_files = FastFiles::new();
    // Shared by every job: cloning the request (its file list and compiled globs) per file is
    // real work on repos of thousands of files.
    let shared_request = Arc::new(request.clone());
    let shared_commit: Arc<str> = Arc::from(commit);
    let mut tasks = JoinSet::new();
    for file in planned {
        // Nothing to do for a file the snapshot already has (local-dir mode still refreshes its
        // metadata, so it keeps its job).
        if matches!(file.need, Need::Nothing) && matches!(request.target, Target::Cache(_)) {
            continue;
        }
        let job = Job {
            budget: budget.clone(),
            mirror: mirror.clone(),
            fast_files: fast_files.clone(),
            client: client.clone(),
            request: shared_request.clone(),
            commit: shared_commit.clone(),
            file: file.remote.clone(),
            need: file.need.clone(),
            earlier_files: file.earlier_files,
            tally: tally.clone(),
            progress: if file.need.moves_bytes() {
                progress.file(file.remote.path.as_str(), file.remote.size)
            } else {
                FileProgress::hidden()
            },
        };
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore
                .acquire_owned()
                .await
                .map_err(|e| DownloadError::Task(e.to_string()))?;
            job.run().await
        });
    }
    let mut outcome = Ok(std::collections::HashSet::new());
    while let Some(joined) = tasks.join_next().await {
        let result = joined
            .map_err(|e| DownloadError::Task(e.to_string()))
            .and_then(|r| r);
        match result {
            Ok(JobEnd::ByAnotherProcess(path)) => {
                if let Ok(elsewhere) = &mut outcome {
                    elsewhere.insert(path);
                }
            }
            Ok(JobEnd::Done) => {}
            Err(error) => {
                tasks.abort_all();
                outcome = Err(error);
                break;
            }
        }
    }
    progress.finish();
    outcome
}

/// How one job ended.
enum JobEnd {
    Done,
    /// Another process placed the blob while this job waited for it.
    ByAnotherProcess(String),
}

/// One file's work, owned so it can run on its own task.
struct Job {
    budget: Arc<Semaphore>,
    mirror: Arc<AtomicBool>,
    fast_files: Arc<FastFiles>,
    client: HubClient,
    request: Arc<DownloadRequest>,
    commit: Arc<str>,
    file: RemoteFile,
    need: Need,
    earlier_files: bool,
    progress: FileProgress,
    tally: Arc<Tally>,
}

impl Job {
    async fn run(self) -> Result<JobEnd, DownloadError> {
        match &self.request.target {
            Target::Cache(dir) => {
                self.run_in_cache(&CacheRepo::new(dir, &self.request.repo))
                    .await
            }
            Target::LocalDir { dir, .. } => {
                self.run_in_local_dir(&LocalDir::new(dir)).await?;
                Ok(JobEnd::Done)
            }
        }
    }

    fn transfer<'a>(&'a self, incomplete: PathBuf, destination: PathBuf) -> Transfer<'a> {
        Transfer {
            client: &self.client,
            repo: &self.request.repo,
            commit: &self.commit,
            file: &self.file,
            incomplete,
            destination,
            progress: self.progress.clone(),
            tally: self.tally.clone(),
        }
    }

    /// Large files go over several connections; small ones, and files on a server that
    /// ignores `Range`, stream on one.
    async fn fetch(&self, incomplete: PathBuf, destination: PathBuf) -> Result<(), DownloadError> {
        let transfer = self.transfer(incomplete, destination);
        let tuning = self.request.tuning;
        if tuning.splits(self.file.size) {
            let parallel = ParallelTransfer {
                transfer: &transfer,
                tuning,
                budget: self.budget.clone(),
                mirror: self.mirror.clone(),
                fast_files: self.fast_files.clone(),
            };
            if parallel.run().await? == ParallelEnd::Placed {
                return Ok(());
            }
        }
        transfer.run().await
    }

    async fn lock(&self, path: &Path) -> Result<BlobLock, DownloadError> {
        if self.request.no_file_locks {
            return Ok(BlobLock::none());
        }
        Ok(BlobLock::acquire(path, self.file.path.as_str()).await?)
    }

    /// Fetches into the shared, resumable `.incomplete` when this process holds the lock, and
    /// into a private one when it does not (locks unsupported or disabled), so that concurrent
    /// processes never write the same partial file (issue #6).
    async fn fetch_guarded(
        &self,
        lock: &BlobLock,
        shared: PathBuf,
        destination: PathBuf,
    ) -> Result<(), DownloadError> {
        let incomplete = if lock.is_held() {
            shared
        } else {
            crate::cache::private_variant(&shared)
        };
        if self.request.force {
            discard_partial(&incomplete).await;
        }
        let result = self.fetch(incomplete.clone(), destination).await;
        if result.is_err() && !lock.is_held() {
            // Nobody can resume a private partial file: do not leave it behind.
            discard_partial(&incomplete).await;
        }
        result
    }

    async fn run_in_cache(&self, cache: &CacheRepo) -> Result<JobEnd, DownloadError> {
        let etag = &self.file.etag;
        let mut end = JobEnd::Done;
        if matches!(self.need, Need::Fetch) && !self.fetch_claimed(cache).await? {
            end = JobEnd::ByAnotherProcess(self.file.path.to_string());
        }
        if !matches!(self.need, Need::Nothing) {
            // Symlinks and folders: filesystem work, off the async workers (issue #9).
            let (cache, commit, path, etag) = (
                cache.clone(),
                self.commit.clone(),
                self.file.path.clone(),
                etag.clone(),
            );
            transfer::blocking(move || cache.link_snapshot(&commit, &path, &etag)).await??;
        }
        Ok(end)
    }

    /// Claims the blob (flock where it works, and a lease: `cache::lease`, issue #12), waiting
    /// visibly while another process, on this machine or another, downloads it; then fetches
    /// it into the lease's owner-unique partial file. Returns whether this process fetched it
    /// (false: another one placed it while this one waited).
    async fn fetch_claimed(&self, cache: &CacheRepo) -> Result<bool, DownloadError> {
        let etag = &self.file.etag;
        let blob = cache.blob_path(etag);
        let mut claim = BlobClaim {
            blobs: blob.parent().map(Path::to_path_buf).unwrap_or_default(),
            etag: etag.clone(),
            size: self.file.size,
            file: self.file.path.to_string(),
            lock_path: (!self.request.no_file_locks).then(|| cache.lock_path(etag)),
            timeout: self.request.lease_timeout,
            refetch: self.request.force,
            progress: segmented::bytes_on_disk,
            earlier_files: self.earlier_files,
        };
        // Partials of leases this job lost: the new owner adopted them (or started afresh), but
        // a write of this job's may have recreated their chunk record since.
        let mut abandoned: Vec<PathBuf> = Vec::new();
        let fetched_here = loop {
            let mut display = WaitDisplay::new(&self.progress, &claim.file);
            let lease = match lease::claim(claim.clone(), &mut display).await? {
                Claim::Done { by_this_process } => {
                    display.finish();
                    break by_this_process;
                }
                Claim::Owner(lease) => lease,
            };
            display.hand_over();
            let partial = lease.partial().to_path_buf();
            if self.request.force {
                discard_partial(&partial).await;
            }
            let fetched = tokio::select! {
                result = self.fetch(partial.clone(), blob.clone()) => Some(result),
                () = lease.lost() => None,
            };
            // A frozen owner that wakes up after a takeover may fail on the files the new owner
            // adopted or swept before its heartbeat tells it (a_frozen_owner_is_taken_over…
            // failed with "Could not write ….incomplete.chunks: No such file or directory"): an
            // error from a lease that is no longer ours is the takeover, not a failure.
            let fetched = match fetched {
                Some(Err(error)) if lease.is_taken_over().await => {
                    output::debug(|| format!("{}: after the takeover: {error}", self.file.path));
                    None
                }
                other => other,
            };
            drop(lease);
            match fetched {
                Some(result) => {
                    result?;
                    break true;
                }
                None => {
                    output::warn(format!(
                        "{}: another run took over this download (this one was silent for longer than the lease timeout); waiting for it instead.",
                        self.file.path
                    ));
                    abandoned.push(partial);
                    // This job's own partial is among the blob's files now.
                    claim.earlier_files = true;
                }
            }
        };
        if !abandoned.is_empty() {
            // Let this job's cancelled writers finish what they had started, then clean up.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            for partial in &abandoned {
                discard_partial(partial).await;
            }
            let claim = claim.clone();
            let _ = transfer::blocking(move || lease::clear_after_completion(&claim)).await;
        }
        Ok(fetched_here)
    }

    async fn run_in_local_dir(&self, local: &LocalDir) -> Result<(), DownloadError> {
        let destination = local.file_path(&self.file.path);
        match &self.need {
            Need::Nothing => {
                self.write_metadata(local).await?;
                return Ok(());
            }
            Need::Adopt if self.file_matches(&destination).await? => {
                self.write_metadata(local).await?;
                return Ok(());
            }
            Need::CopyFrom(blob) => {
                // Resumable and verified, under the same lock as a download (issue #13.2).
                let lock = self.lock(&local.lock_path(&self.file.path)).await?;
                let shared = local.incomplete_path(&self.file.path, &self.file.etag);
                let copy = local_copy::LocalCopy {
                    blob: blob.clone(),
                    incomplete: if lock.is_held() {
                        shared
                    } else {
                        crate::cache::private_variant(&shared)
                    },
                    destination: destination.clone(),
                    file: self.file.clone(),
                    progress: self.progress.clone(),
                };
                // A blob can be gigabytes: copy it off the async workers.
                transfer::blocking(move || {
                    let result = copy.run();
                    if result.is_err() && !lock.is_held() {
                        // Nobody can resume a private partial file.
                        let _ = std::fs::remove_file(&copy.incomplete);
                    }
                    result
                })
                .await??;
                self.write_metadata(local).await?;
                return Ok(());
            }
            Need::Link => {}
            Need::Adopt | Need::Fetch => {}
        }
        let lock = self.lock(&local.lock_path(&self.file.path)).await?;
        let incomplete = local.incomplete_path(&self.file.path, &self.file.etag);
        self.fetch_guarded(&lock, incomplete, destination).await?;
        self.write_metadata(local).await?;
        Ok(())
    }

    /// `.cache/huggingface/download/<path>.metadata`, off the async workers.
    async fn write_metadata(&self, local: &LocalDir) -> Result<(), DownloadError> {
        let (local, path, commit, etag) = (
            local.clone(),
            self.file.path.clone(),
            self.commit.clone(),
            self.file.etag.clone(),
        );
        transfer::blocking(move || local.write_metadata(&path, &commit, &etag)).await??;
        Ok(())
    }

    /// Hashes an existing file against the expected sha256 (local-dir adoption).
    /// Hashing a multi-gigabyte file takes seconds: it moves the bars as it reads, and gives
    /// the bytes back when the file does not match (it is then downloaded). Issue #13.2's
    /// "0 files … 0 B/0 B" for seconds, in its other place.
    async fn file_matches(&self, path: &Path) -> Result<bool, DownloadError> {
        let owned = path.to_path_buf();
        let (kind, size, etag) = (self.file.kind, self.file.size, self.file.etag.clone());
        let progress = self.progress.clone();
        let matches = transfer::blocking(move || -> std::io::Result<bool> {
            let mut hasher = ContentHasher::new(kind, size);
            let total = hash::hash_file_reporting(&owned, size, &mut hasher, |read| {
                progress.advance(read);
            })?;
            let matches = total == size && hasher.finish() == etag;
            if !matches {
                progress.rewind(total);
            }
            Ok(matches)
        })
        .await?
        .map_err(|e| CacheError::io("read", path, e))?;
        Ok(matches)
    }
}

/// Removes a partial file and its progress record, off the async workers; best effort.
async fn discard_partial(incomplete: &Path) {
    let incomplete = incomplete.to_path_buf();
    let _ = transfer::blocking(move || {
        let _ = std::fs::remove_file(segmented::sidecar_path(&incomplete));
        let _ = std::fs::remove_file(&incomplete);
    })
    .await;
}
