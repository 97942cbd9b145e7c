//! `hfget cache rm` and `hfget cache prune`: show what a plan deletes and frees, ask (on a
//! terminal, unless -y), execute it, and say what was freed and what was kept.

use std::io::{BufRead, IsTerminal, Write};

use super::{ConfirmArgs, PruneArgs, RmArgs, scan_cache};
use crate::cache::clean::{self, Plan, Target};
use crate::env::Settings;
use crate::error::{Error, exit};
use crate::output;
use crate::text::human_bytes;

pub(super) async fn rm(args: RmArgs, settings: &Settings) -> Result<u8, Error> {
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
            output::print_json_pretty(&clean::report::report(&plan, None, args.confirm.dry_run))?;
        } else {
            output::print_stdout("Nothing to delete.")?;
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

pub(super) async fn prune(args: PruneArgs, settings: &Settings) -> Result<u8, Error> {
    let inventory = scan_cache(&args.cache, settings).await?;
    let plan = clean::plan_prune(&inventory);
    if plan.is_empty() {
        if args.confirm.json {
            output::print_json_pretty(&clean::report::report(&plan, None, args.confirm.dry_run))?;
        } else {
            let mut text = "Nothing to prune: no detached revisions, stale partial downloads, orphan blobs, unreferenced shared blobs or empty folders.".to_string();
            for kept in &plan.kept {
                text.push_str(&format!("\nKept {}: {}.", kept.path.display(), kept.reason));
            }
            output::print_stdout(&text)?;
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

async fn confirm_and_execute(
    plan: Plan,
    summary: &str,
    confirm: &ConfirmArgs,
) -> Result<u8, Error> {
    let description = describe_plan(&plan, summary);
    if confirm.dry_run {
        if confirm.json {
            output::print_json_pretty(&clean::report::report(&plan, None, true))?;
        } else {
            output::print_stdout(&format!("{description}\nDry run: nothing was deleted."))?;
        }
        return Ok(exit::SUCCESS);
    }
    if !confirm.json {
        output::print_stdout(&description)?;
    }
    if !confirm.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(
                "Not deleting without confirmation: stdin is not a terminal. Pass -y to delete, or --dry-run to see what would go.".into(),
            ));
        }
        if !ask("Proceed with deletion? [y/N] ").await? {
            output::print_stdout("Nothing was deleted.")?;
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
        output::print_json_pretty(&clean::report::report(&plan, Some(outcome), false))?;
    } else {
        let mut text = format!("Deleted {summary}; freed {}.", human_bytes(outcome.freed));
        for kept in &outcome.kept {
            text.push_str(&format!("\nKept {}: {}.", kept.path.display(), kept.reason));
        }
        output::print_stdout(&text)?;
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

/// Work off the async workers (deleting, reading the terminal).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}
