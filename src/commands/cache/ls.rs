//! `hfget cache ls`: the cache as a table (or one JSON object), with partial downloads, the
//! shared Xet store and foreign files after it.

use std::collections::BTreeSet;

use super::{LsArgs, now, scan_cache};
use crate::cache::filter::{self, Row, Selection};
use crate::cache::listing::{self, time_since};
use crate::cache::scan::{Inventory, Liveness};
use crate::env::Settings;
use crate::error::{Error, exit};
use crate::output;
use crate::text::human_bytes;

pub(super) async fn run(args: LsArgs, settings: &Settings) -> Result<u8, Error> {
    let inventory = scan_cache(&args.cache, settings).await?;
    let selection = Selection {
        revisions: args.revisions,
        filters: &args.filters,
        sort: args.sort.as_deref(),
        limit: args.limit,
    };
    let now = now();
    let rows = filter::select(&inventory, &selection, now)?;
    if args.json {
        output::print_json_pretty(&listing::listing(&inventory, &rows, args.revisions))?;
    } else {
        let text = human(&inventory, &rows, args.revisions, selection.narrows(), now);
        output::print_stdout(&text)?;
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

fn human(inventory: &Inventory, rows: &[Row], revisions: bool, narrowed: bool, now: f64) -> String {
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
        out.push_str(&output::table(&table, right_aligned));
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
        let id = listing::partial_repo_id(inventory, &partial.folder)
            .unwrap_or_else(|| partial.folder.clone());
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
    out.push_str(&output::table(&table, &[2]));
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
