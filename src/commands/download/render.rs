//! What `hfget download` prints: the path (or one JSON object) on stdout, a dry run's table, and
//! the one-line summary on stderr.

use std::time::Instant;

use unicode_width::UnicodeWidthStr;

use crate::download::{DownloadReport, FileStatus};
use crate::error::Error;
use crate::output::{self, print_stdout};
use crate::text::human_bytes;

pub(super) fn print_report(report: &DownloadReport, json: bool) -> Result<(), Error> {
    if json {
        let text =
            serde_json::to_string(report).map_err(|e| Error::Output(std::io::Error::other(e)))?;
        return Ok(print_stdout(&text)?);
    }
    if report.dry_run {
        let to_download: Vec<_> = report
            .files
            .iter()
            .filter(|f| f.status != FileStatus::Cached)
            .collect();
        let mut lines = vec![format!(
            "[dry-run] Will download {} (out of {}) totalling {}.",
            output::counted(to_download.len() as u64, "file"),
            report.files.len(),
            human_bytes(report.bytes_to_download())
        )];
        // Display width, not bytes or chars: a CJK name takes two columns per character
        //, and `{:<width$}` pads by chars.
        let width = report
            .files
            .iter()
            .map(|f| f.path.width())
            .max()
            .unwrap_or(4)
            .max(4);
        let pad = |name: &str| format!("{name}{}", " ".repeat(width - name.width()));
        lines.push(format!("{}  {:>12}  {}", pad("file"), "size", "status"));
        for file in &report.files {
            let status = match file.status {
                FileStatus::Cached => "cached",
                _ => "will download",
            };
            lines.push(format!(
                "{}  {:>12}  {status}",
                pad(&file.path),
                human_bytes(file.size)
            ));
        }
        return Ok(print_stdout(&lines.join("\n"))?);
    }
    Ok(print_stdout(&report.path.display().to_string())?)
}

/// `1 file`, `3 files` ("Will download 1 files").
pub(super) fn print_summary(report: &DownloadReport, started: Instant) {
    // Nothing selected (a filter that matched nothing): its warning said so; "Up to date: 0
    // files downloaded, 0 already present" would only restate it confusingly.
    if report.dry_run || report.files.is_empty() {
        return;
    }
    let downloaded: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Downloaded)
        .collect();
    // Files another process downloaded while this run waited are not this run's.
    let elsewhere: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.status == FileStatus::ByAnotherProcess)
        .collect();
    let copied: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.status == FileStatus::CopiedFromCache)
        .collect();
    let cached = report.files.len() - downloaded.len() - elsewhere.len() - copied.len();
    let bytes: u64 = downloaded.iter().map(|f| f.size).sum();
    // Bytes an interrupted run left are not this run's work: say so.
    let amount = if report.bytes_kept > 0 {
        format!(
            "{}, of which {} fetched now and {} kept from an earlier run",
            human_bytes(bytes),
            human_bytes(report.bytes_fetched),
            human_bytes(report.bytes_kept)
        )
    } else {
        human_bytes(bytes)
    };
    let by_others = if elsewhere.is_empty() {
        String::new()
    } else {
        format!(
            ", {} by another process ({})",
            elsewhere.len(),
            human_bytes(elsewhere.iter().map(|f| f.size).sum())
        )
    };
    // A --local-dir copy of a cached blob is work done, not "up to date".
    let copied_note = if copied.is_empty() {
        String::new()
    } else {
        format!(
            ", {} copied from the cache ({})",
            copied.len(),
            human_bytes(copied.iter().map(|f| f.size).sum())
        )
    };
    output::info(format!(
        "{} {}@{}: {} file{} downloaded ({}){by_others}{copied_note}, {} already present, in {:.1} s.",
        if downloaded.is_empty() && elsewhere.is_empty() && copied.is_empty() {
            "Up to date:"
        } else {
            "Done:"
        },
        report.repo,
        &report.commit.get(..7).unwrap_or(&report.commit),
        downloaded.len(),
        if downloaded.len() == 1 { "" } else { "s" },
        amount,
        cached,
        started.elapsed().as_secs_f64()
    ));
}
