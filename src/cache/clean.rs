//! `cache rm` and `cache prune`: what to delete, decided from an [`Inventory`], and the deletion
//! itself, done so that the cache stays valid for Python and hfget at every step:
//!
//! - the plan follows huggingface_hub 2.4.0's `delete_revisions`/`delete_files`
//!   (`utils/_cache_manager.py`): a blob goes only when no kept revision uses it, a whole repo
//!   goes when all its revisions do;
//! - refs go first, then snapshots, then blobs, so no ref ever names a missing snapshot and no
//!   snapshot link dangles (what Python's scan would warn about);
//! - every blob and partial download is deleted while holding its `.locks/<repo>/<etag>.lock`,
//!   taken without waiting: one a live download holds is kept and reported, never deleted;
//! - shared Xet payloads are collected under their own lock once no repo links to them
//!   ([`shared_store::sweep`]).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::lock::{BlobLock, Probe};
use super::scan::{BlobEntry, CachedRepo, CachedRevision, Inventory, Liveness, Partial};
use super::shared_store;

pub mod report;

/// A stale-looking partial or orphan blob written this recently is kept: a download without
/// locks (`HFGET_NO_FILE_LOCKS`, or a filesystem without flock) may still be writing it, and a
/// blob just renamed into place is linked a moment later.
pub const RECENT_SECS: f64 = 600.0;

/// What the user asked `cache rm` to remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `model/owner/name` (also reached from `owner/name`, `datasets/…`, `hf://…`).
    Repo(String),
    /// A commit hash, in whatever repo has it.
    Revision(String),
    /// `hf://…/path`: this file in every cached revision of the repo.
    File { repo: String, path: String },
}

/// One revision (or whole repo) selected for deletion, for the listing shown before asking.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SelectedRevision {
    pub commit: String,
    pub refs: Vec<String>,
    pub size_on_disk: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SelectedRepo {
    pub id: String,
    pub entire_repo: bool,
    pub revisions: Vec<SelectedRevision>,
}

/// Why something that matched is kept.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Kept {
    pub path: PathBuf,
    pub reason: String,
}

/// Everything a run will delete; built without touching the disk, shown, then executed.
#[derive(Debug, Default)]
pub struct Plan {
    pub selected: Vec<SelectedRepo>,
    /// Files selected by `hf://` targets, labelled `model/o/n@commit/path`.
    pub file_labels: Vec<String>,
    pub targets_not_found: Vec<String>,
    repos: Vec<RepoWork>,
    pub partials: Vec<Partial>,
    pub orphan_blobs: Vec<(String, BlobEntry)>,
    pub shared_entries: Vec<shared_store::StoreEntry>,
    pub empty_dirs: Vec<PathBuf>,
    /// Matched, but not to be deleted (held by a live download, too recent, …).
    pub kept: Vec<Kept>,
    /// Bytes the plan expects to free.
    pub freed: u64,
    cache_dir: PathBuf,
}

#[derive(Debug, Default)]
struct RepoWork {
    path: PathBuf,
    folder: String,
    whole: bool,
    refs: Vec<PathBuf>,
    snapshots: Vec<PathBuf>,
    snapshot_files: Vec<PathBuf>,
    /// First-hop blob entries (`blobs/<etag>`, or a copy inside a snapshot).
    blobs: Vec<PathBuf>,
    /// `trees/<commit>.json` and `.no_exist/<commit>` of removed revisions.
    metadata: Vec<PathBuf>,
}

/// What happened.
#[derive(Debug, Default, serde::Serialize)]
pub struct Outcome {
    pub freed: u64,
    pub deleted_revisions: usize,
    pub deleted_repos: usize,
    pub deleted_files: usize,
    pub deleted_partials: usize,
    pub deleted_orphan_blobs: usize,
    pub deleted_shared_blobs: usize,
    pub kept: Vec<Kept>,
    pub errors: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.repos.is_empty()
            && self.partials.is_empty()
            && self.orphan_blobs.is_empty()
            && self.shared_entries.is_empty()
            && self.empty_dirs.is_empty()
    }

    pub fn revision_count(&self) -> usize {
        self.selected.iter().map(|r| r.revisions.len()).sum()
    }

    pub fn entire_repo_count(&self) -> usize {
        self.selected.iter().filter(|r| r.entire_repo).count()
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Parses a `cache rm` argument: a 40-hex commit, `hf://[type/]owner/name[/path]`,
/// `model/owner/name` (as `cache ls` prints it), `datasets/owner/name`, or `owner/name`.
pub fn parse_target(text: &str) -> Result<Target, String> {
    let text = text.trim();
    if text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Target::Revision(text.to_ascii_lowercase()));
    }
    let (uri, rest) = match text.strip_prefix("hf://") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut kind = "model";
    let mut rest = rest;
    for (prefix, label) in [
        ("models/", "model"),
        ("datasets/", "dataset"),
        ("spaces/", "space"),
        ("kernels/", "kernel"),
        ("model/", "model"),
        ("dataset/", "dataset"),
        ("space/", "space"),
        ("kernel/", "kernel"),
    ] {
        if let Some(stripped) = rest.strip_prefix(prefix) {
            kind = label;
            rest = stripped;
            break;
        }
    }
    let mut parts = rest.splitn(3, '/');
    let (Some(owner), Some(name)) = (parts.next(), parts.next()) else {
        return Err(format!(
            "`{text}` is not a repo (owner/name, model/owner/name, datasets/owner/name, hf://…), a commit hash, or an hf:// file."
        ));
    };
    let path = parts.next().filter(|p| !p.is_empty());
    if owner.is_empty() || name.is_empty() || name.contains('@') {
        return Err(if name.contains('@') {
            format!(
                "`{text}`: a revision in the target is not supported; pass the commit hash (see `hfget cache ls --revisions`), or drop `@…` to remove the file from every cached revision."
            )
        } else {
            format!("`{text}` is not a repo id.")
        });
    }
    let repo = format!("{kind}/{owner}/{name}");
    match path {
        Some(path) if uri => Ok(Target::File {
            repo,
            path: path.to_string(),
        }),
        Some(_) => Err(format!(
            "`{text}` has too many parts for a repo id; to remove one file, use hf://{}{owner}/{name}/<path>.",
            if kind == "model" {
                String::new()
            } else {
                format!("{kind}s/")
            }
        )),
        None => Ok(Target::Repo(repo)),
    }
}

/// The plan for `cache rm TARGET...`.
pub fn plan_rm(inventory: &Inventory, targets: &[Target]) -> Plan {
    let mut plan = Plan {
        cache_dir: inventory.cache_dir.clone(),
        ..Plan::default()
    };
    let find_repo = |id: &str| {
        inventory
            .repos
            .iter()
            .enumerate()
            .find(|(_, r)| r.id.eq_ignore_ascii_case(id))
    };
    let mut selected: BTreeMap<usize, HashSet<usize>> = BTreeMap::new();
    let mut files: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    for target in targets {
        match target {
            Target::Repo(id) => match find_repo(id) {
                Some((index, repo)) => {
                    selected
                        .entry(index)
                        .or_default()
                        .extend(0..repo.revisions.len());
                }
                None => plan.targets_not_found.push(id.clone()),
            },
            Target::Revision(commit) => {
                let found = inventory.repos.iter().enumerate().find_map(|(r, repo)| {
                    repo.revisions
                        .iter()
                        .position(|rev| rev.commit.eq_ignore_ascii_case(commit))
                        .map(|v| (r, v))
                });
                match found {
                    Some((r, v)) => {
                        selected.entry(r).or_default().insert(v);
                    }
                    None => plan.targets_not_found.push(commit.clone()),
                }
            }
            Target::File { repo, path } => {
                let Some((index, found)) = find_repo(repo) else {
                    plan.targets_not_found.push(format!("hf://{repo}/{path}"));
                    continue;
                };
                let mut any = false;
                for (v, revision) in found.revisions.iter().enumerate() {
                    if let Some(f) = revision.files.iter().position(|f| f.path_in_repo == *path) {
                        files.entry(index).or_default().push((v, f));
                        plan.file_labels
                            .push(format!("{}@{}/{path}", found.id, revision.commit));
                        any = true;
                    }
                }
                if !any {
                    plan.targets_not_found.push(format!("hf://{repo}/{path}"));
                }
            }
        }
    }
    for (index, revisions) in selected {
        add_revisions(&mut plan, inventory, &inventory.repos[index], &revisions);
    }
    for (index, chosen) in files {
        add_files(&mut plan, &inventory.repos[index], &chosen);
    }
    plan.file_labels.sort();
    plan.freed = expected_freed(&plan, inventory);
    plan
}

fn folder_of(repo: &CachedRepo) -> String {
    repo.path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn add_revisions(
    plan: &mut Plan,
    inventory: &Inventory,
    repo: &CachedRepo,
    chosen: &HashSet<usize>,
) {
    let whole = chosen.len() == repo.revisions.len();
    let mut work = RepoWork {
        path: repo.path.clone(),
        folder: folder_of(repo),
        whole,
        ..RepoWork::default()
    };
    let mut listed: Vec<&CachedRevision> = chosen.iter().map(|&i| &repo.revisions[i]).collect();
    listed.sort_by(|a, b| a.commit.cmp(&b.commit));
    plan.selected.push(SelectedRepo {
        id: repo.id.clone(),
        entire_repo: whole,
        revisions: listed
            .iter()
            .map(|r| SelectedRevision {
                commit: r.commit.clone(),
                refs: r.refs.clone(),
                size_on_disk: r.size_on_disk,
            })
            .collect(),
    });
    if whole {
        let mut blobs: Vec<PathBuf> = repo
            .revisions
            .iter()
            .flat_map(|r| r.files.iter().map(|f| f.blob_path.clone()))
            .collect();
        blobs.extend(repo.orphan_blobs.iter().map(|b| b.path.clone()));
        blobs.sort();
        blobs.dedup();
        work.blobs = blobs;
        plan.partials.extend(
            inventory
                .partials
                .iter()
                .filter(|p| p.folder == work.folder)
                .cloned(),
        );
        plan.repos.push(work);
        return;
    }
    let kept: HashSet<&PathBuf> = repo
        .revisions
        .iter()
        .enumerate()
        .filter(|(i, _)| !chosen.contains(i))
        .flat_map(|(_, r)| r.files.iter().map(|f| &f.blob_path))
        .collect();
    let mut blobs = Vec::new();
    for revision in &listed {
        work.snapshots.push(revision.snapshot_path.clone());
        for name in &revision.refs {
            work.refs.push(ref_path(&repo.path, name));
        }
        work.metadata.push(
            repo.path
                .join("trees")
                .join(format!("{}.json", revision.commit)),
        );
        work.metadata
            .push(repo.path.join(".no_exist").join(&revision.commit));
        for file in &revision.files {
            // A copy inside the snapshot goes with the snapshot folder.
            let inside = file.blob_path.starts_with(&revision.snapshot_path);
            if !inside && !kept.contains(&file.blob_path) {
                blobs.push(file.blob_path.clone());
            }
        }
    }
    blobs.sort();
    blobs.dedup();
    work.blobs = blobs;
    plan.repos.push(work);
}

fn ref_path(repo: &Path, name: &str) -> PathBuf {
    name.split('/')
        .fold(repo.join("refs"), |path, part| path.join(part))
}

fn add_files(plan: &mut Plan, repo: &CachedRepo, chosen: &[(usize, usize)]) {
    let selected: HashSet<&PathBuf> = chosen
        .iter()
        .map(|&(v, f)| &repo.revisions[v].files[f].file_path)
        .collect();
    let retained: HashSet<&PathBuf> = repo
        .revisions
        .iter()
        .flat_map(|r| r.files.iter())
        .filter(|f| !selected.contains(&f.file_path))
        .map(|f| &f.blob_path)
        .collect();
    let mut work = RepoWork {
        path: repo.path.clone(),
        folder: folder_of(repo),
        ..RepoWork::default()
    };
    for &(v, f) in chosen {
        let file = &repo.revisions[v].files[f];
        work.snapshot_files.push(file.file_path.clone());
        if file.blob_path != file.file_path && !retained.contains(&file.blob_path) {
            work.blobs.push(file.blob_path.clone());
        }
    }
    work.blobs.sort();
    work.blobs.dedup();
    plan.repos.push(work);
}

/// The plan for `cache prune`: detached revisions, stale partials, orphan blobs, unreferenced
/// shared payloads and empty repo folders.
pub fn plan_prune(inventory: &Inventory) -> Plan {
    let mut plan = Plan {
        cache_dir: inventory.cache_dir.clone(),
        ..Plan::default()
    };
    let now = now();
    let mut whole_folders = HashSet::new();
    for repo in &inventory.repos {
        let detached: HashSet<usize> = repo
            .revisions
            .iter()
            .enumerate()
            .filter(|(_, r)| r.refs.is_empty())
            .map(|(i, _)| i)
            .collect();
        let live_partial = inventory
            .partials
            .iter()
            .any(|p| p.folder == folder_of(repo) && p.liveness != Liveness::Stale);
        if repo.revisions.is_empty() {
            // An empty repo folder, unless a download is filling it right now.
            let age = now - repo.last_modified;
            if !live_partial && age > RECENT_SECS {
                plan.empty_dirs.push(repo.path.clone());
                whole_folders.insert(folder_of(repo));
            }
            continue;
        }
        if !detached.is_empty() {
            add_revisions(&mut plan, inventory, repo, &detached);
            if detached.len() == repo.revisions.len() {
                whole_folders.insert(folder_of(repo));
                continue;
            }
        }
        for orphan in &repo.orphan_blobs {
            if now - orphan.modified > RECENT_SECS {
                plan.orphan_blobs.push((folder_of(repo), orphan.clone()));
            } else {
                plan.kept.push(Kept {
                    path: orphan.path.clone(),
                    reason: "written in the last 10 minutes; a download may be linking it"
                        .to_string(),
                });
            }
        }
    }
    // Whole repos already carry their partials; the rest are judged one by one.
    let already: HashSet<PathBuf> = plan.partials.iter().map(|p| p.path.clone()).collect();
    for partial in &inventory.partials {
        if already.contains(&partial.path) || whole_folders.contains(&partial.folder) {
            continue;
        }
        match partial_verdict(partial, now) {
            None => plan.partials.push(partial.clone()),
            Some(reason) => plan.kept.push(Kept {
                path: partial.path.clone(),
                reason,
            }),
        }
    }
    plan.shared_entries = inventory
        .shared_store
        .iter()
        .filter(|e| e.references == Some(0))
        .cloned()
        .collect();
    plan.empty_dirs.extend(empty_lock_folders(inventory));
    plan.freed = expected_freed(&plan, inventory);
    plan
}

/// `None` when a partial may go; else why it stays.
fn partial_verdict(partial: &Partial, now: f64) -> Option<String> {
    match partial.liveness {
        Liveness::Live => Some("a running download holds its lock".to_string()),
        Liveness::Unknown => {
            Some("file locks cannot be tested here, so it may belong to a running download".into())
        }
        Liveness::Stale if now - partial.modified <= RECENT_SECS => Some(
            "its lock is free but it was written in the last 10 minutes (a download without locks may still be writing it)"
                .to_string(),
        ),
        Liveness::Stale => None,
    }
}

/// `.locks/<folder>` folders that are empty and whose repo folder is gone.
fn empty_lock_folders(inventory: &Inventory) -> Vec<PathBuf> {
    let locks = inventory.cache_dir.join(".locks");
    let Ok(entries) = std::fs::read_dir(&locks) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !inventory.cache_dir.join(e.file_name()).exists())
        .filter(|e| std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_none()))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Bytes freed: plain blobs by size, shared payloads only when their last link goes, partials
/// and orphans by what they occupy.
fn expected_freed(plan: &Plan, inventory: &Inventory) -> u64 {
    let store_marked = shared_store::is_marked(&inventory.cache_dir);
    let sizes: BTreeMap<&PathBuf, u64> = inventory
        .repos
        .iter()
        .flat_map(|r| {
            r.revisions
                .iter()
                .flat_map(|v| v.files.iter().map(|f| (&f.blob_path, f.size)))
                .chain(r.orphan_blobs.iter().map(|b| (&b.path, b.size)))
        })
        .collect();
    let unlinked: HashSet<PathBuf> = plan
        .repos
        .iter()
        .flat_map(|w| w.blobs.iter().cloned())
        .collect();
    let mut freed = 0;
    let mut shared = HashSet::new();
    for blob in &unlinked {
        match store_marked
            .then(|| shared_store::link_target(blob, &inventory.cache_dir))
            .flatten()
        {
            Some(target) => {
                shared.insert(target);
            }
            None => freed += sizes.get(blob).copied().unwrap_or_default(),
        }
    }
    for target in &shared {
        freed += shared_store::freed_if_deleted(target, &inventory.cache_dir, &unlinked);
    }
    freed += plan.partials.iter().map(|p| p.allocated).sum::<u64>();
    freed += plan.orphan_blobs.iter().map(|(_, b)| b.size).sum::<u64>();
    freed += plan.shared_entries.iter().map(|e| e.size).sum::<u64>();
    freed
}

/// The lock of a blob or partial named `name` (`<etag>…`).
fn lock_for(cache: &Path, folder: &str, name: &str) -> PathBuf {
    let etag = name.trim_start_matches('.');
    super::scan::lock_path(cache, folder, etag.split('.').next().unwrap_or(etag))
}

/// Takes a lock without waiting. `Err(())`: a live process holds it. Locks that cannot be
/// tested are no obstacle (as for Python, which then has no lock either).
fn take(lock_path: &Path, held: &mut Vec<BlobLock>) -> Result<(), ()> {
    match BlobLock::try_acquire(lock_path) {
        Probe::Free(Some(lock)) => {
            held.push(lock);
            Ok(())
        }
        Probe::Free(None) | Probe::Unknown(_) => Ok(()),
        Probe::Held => Err(()),
    }
}

/// Runs the plan. Blocking: run it in `spawn_blocking`.
pub fn execute(plan: &Plan) -> Outcome {
    let cache = plan.cache_dir.clone();
    let mut outcome = Outcome {
        kept: plan.kept.clone(),
        ..Outcome::default()
    };
    let mut held = Vec::new();
    let store_marked = shared_store::is_marked(&cache);
    let mut sweep: HashSet<PathBuf> = plan.shared_entries.iter().map(|e| e.path.clone()).collect();
    let removed = |outcome: &mut Outcome, path: &Path, result: std::io::Result<()>| match result {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            outcome
                .errors
                .push(format!("could not delete {}: {e}", path.display()));
            false
        }
    };
    // Partial downloads: only those whose lock this process can take.
    let mut kept_partials = HashSet::new();
    for partial in &plan.partials {
        if take(&partial.lock_path, &mut held).is_err() {
            kept_partials.insert(partial.path.clone());
            outcome.kept.push(Kept {
                path: partial.path.clone(),
                reason: "a running download holds its lock".to_string(),
            });
            continue;
        }
        if removed(
            &mut outcome,
            &partial.path,
            std::fs::remove_file(&partial.path),
        ) {
            outcome.deleted_partials += 1;
            outcome.freed += partial.allocated;
        }
    }
    for work in &plan.repos {
        // Shared targets are read before their links go: the links say which payloads to sweep.
        if store_marked {
            sweep.extend(
                work.blobs
                    .iter()
                    .filter_map(|b| shared_store::link_target(b, &cache)),
            );
        }
        let mut blobs = Vec::new();
        for blob in &work.blobs {
            let name = blob
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let inside_snapshot = !blob.starts_with(work.path.join("blobs"));
            if !inside_snapshot && take(&lock_for(&cache, &work.folder, &name), &mut held).is_err()
            {
                outcome.kept.push(Kept {
                    path: blob.clone(),
                    reason: "a running download holds its lock".to_string(),
                });
                continue;
            }
            blobs.push(blob.clone());
        }
        let blocked = blobs.len() != work.blobs.len()
            || plan
                .partials
                .iter()
                .any(|p| p.folder == work.folder && kept_partials.contains(&p.path));
        let sizes_before = blob_sizes(&blobs);
        if work.whole && !blocked {
            if removed(
                &mut outcome,
                &work.path,
                std::fs::remove_dir_all(&work.path),
            ) {
                outcome.deleted_repos += 1;
                outcome.freed += sizes_before;
            }
            continue;
        }
        if work.whole {
            // Something in it is in use: empty it but keep the folder, its `snapshots/` (Python
            // warns about a repo without one) and what is held.
            let _ = std::fs::remove_dir_all(work.path.join("refs"));
            clear_dir(&work.path.join("snapshots"));
            let _ = std::fs::remove_dir_all(work.path.join("trees"));
            let _ = std::fs::remove_dir_all(work.path.join(".no_exist"));
        }
        for file in &work.snapshot_files {
            if removed(&mut outcome, file, std::fs::remove_file(file)) {
                outcome.deleted_files += 1;
                remove_empty_parents(file, &snapshot_root(file, &work.path));
            }
        }
        for reference in &work.refs {
            if removed(&mut outcome, reference, std::fs::remove_file(reference)) {
                remove_empty_parents(reference, &work.path.join("refs"));
            }
        }
        for snapshot in &work.snapshots {
            if removed(&mut outcome, snapshot, std::fs::remove_dir_all(snapshot)) {
                outcome.deleted_revisions += 1;
            }
        }
        for blob in &blobs {
            let size = blob_sizes(std::slice::from_ref(blob));
            if removed(&mut outcome, blob, std::fs::remove_file(blob)) {
                outcome.freed += size;
            }
        }
        for path in &work.metadata {
            let result = if path.is_dir() {
                std::fs::remove_dir_all(path)
            } else {
                std::fs::remove_file(path)
            };
            removed(&mut outcome, path, result);
        }
    }
    for (_, orphan) in &plan.orphan_blobs {
        let folder = orphan
            .path
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = orphan
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if take(&lock_for(&cache, &folder, &name), &mut held).is_err() {
            outcome.kept.push(Kept {
                path: orphan.path.clone(),
                reason: "a running download holds its lock".to_string(),
            });
            continue;
        }
        if store_marked && let Some(target) = shared_store::link_target(&orphan.path, &cache) {
            sweep.insert(target);
        }
        let size = blob_sizes(std::slice::from_ref(&orphan.path));
        if removed(
            &mut outcome,
            &orphan.path,
            std::fs::remove_file(&orphan.path),
        ) {
            outcome.deleted_orphan_blobs += 1;
            outcome.freed += size;
        }
    }
    let mut sweep: Vec<PathBuf> = sweep.into_iter().collect();
    sweep.sort();
    for store_path in sweep {
        match shared_store::sweep(&store_path, &cache) {
            Ok(0) => {}
            Ok(bytes) => {
                outcome.deleted_shared_blobs += 1;
                outcome.freed += bytes;
            }
            Err(e) => outcome.errors.push(format!(
                "could not collect the shared blob {}: {e}",
                store_path.display()
            )),
        }
    }
    for dir in &plan.empty_dirs {
        if dir.starts_with(cache.join(".locks")) {
            let _ = std::fs::remove_dir(dir);
        } else if removed(&mut outcome, dir, std::fs::remove_dir_all(dir)) {
            outcome.deleted_repos += 1;
        }
    }
    for selected in &plan.selected {
        if selected.entire_repo {
            outcome.deleted_revisions += selected.revisions.len();
        }
    }
    drop(held);
    outcome
}

/// Sizes of plain blob files; shared links count as nothing here (their payload is counted
/// when swept).
fn blob_sizes(blobs: &[PathBuf]) -> u64 {
    blobs
        .iter()
        .filter_map(|b| std::fs::symlink_metadata(b).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn clear_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// `snapshots/<commit>` of a file inside it.
fn snapshot_root(file: &Path, repo: &Path) -> PathBuf {
    let snapshots = repo.join("snapshots");
    file.strip_prefix(&snapshots)
        .ok()
        .and_then(|rest| rest.iter().next())
        .map_or(snapshots.clone(), |commit| snapshots.join(commit))
}

/// Removes now-empty folders between `path` and `stop` (exclusive).
fn remove_empty_parents(path: &Path, stop: &Path) {
    let mut current = path.parent();
    while let Some(dir) = current {
        if dir == stop || !dir.starts_with(stop) || std::fs::remove_dir(dir).is_err() {
            break;
        }
        current = dir.parent();
    }
}

#[cfg(test)]
mod tests;
