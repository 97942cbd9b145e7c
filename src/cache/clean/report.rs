//! What `cache rm` and `cache prune` print under `--json`: the plan (and, once executed, what
//! it freed, what it kept and what failed), as one typed object.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Kept, Outcome, Plan, SelectedRepo};

#[derive(Serialize)]
pub struct CleanReport<'a> {
    dry_run: bool,
    /// Bytes freed (or, with --dry-run, that would be).
    freed: u64,
    repos: &'a [SelectedRepo],
    files: &'a [String],
    partial_downloads: Vec<&'a Path>,
    orphan_blobs: Vec<&'a Path>,
    shared_blobs: Vec<&'a Path>,
    empty_folders: &'a [PathBuf],
    not_found: &'a [String],
    kept: Vec<Kept>,
    errors: Vec<String>,
}

/// The report of `plan`; `outcome` once it ran, `None` for a dry run or an empty plan.
pub fn report(plan: &Plan, outcome: Option<Outcome>, dry_run: bool) -> CleanReport<'_> {
    let (freed, kept, errors) = match outcome {
        Some(o) => (o.freed, o.kept, o.errors),
        None => (plan.freed, plan.kept.clone(), Vec::new()),
    };
    CleanReport {
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
