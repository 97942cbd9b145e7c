//! `cache ls --json`: the scanned cache and the selected rows as one typed object (sizes in
//! bytes, times in RFC 3339 UTC), in the shape of `hf cache ls`'s JSON where it has one.

use std::path::PathBuf;

use serde::Serialize;

use super::filter::{Row, repo_refs};
use super::scan::{self, CachedRevision, Inventory, Liveness};
use super::shared_store;

#[derive(Serialize)]
pub struct Listing {
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

/// The repo id a partial download's folder belongs to, if that repo was scanned.
pub fn partial_repo_id(inventory: &Inventory, folder: &str) -> Option<String> {
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

/// `inventory` with `rows` as its repos. Revision rows of one repo go into one repo object,
/// wherever the sort put them.
pub fn listing(inventory: &Inventory, rows: &[Row], revisions: bool) -> Listing {
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
    Listing {
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
            path: shared_store::is_marked(&inventory.cache_dir)
                .then(|| shared_store::store_dir(&inventory.cache_dir)),
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

/// Seconds since the epoch as RFC 3339 UTC (`2026-12-01T09:15:02Z`).
pub fn rfc3339(timestamp: f64) -> String {
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

/// "3 days ago", as `hf` says it (`format_timesince`).
pub fn time_since(timestamp: f64, now: f64) -> String {
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

#[cfg(test)]
mod tests;
