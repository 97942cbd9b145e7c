//! `hfget download REPO_ID [FILES...]`: turn the command line into a [`DownloadRequest`], run
//! the engine, and print the result (stdout: the path, or one JSON object; stderr: a summary).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use unicode_width::UnicodeWidthStr;

use crate::auth;
use crate::auth::keyring::KeyringHandle;
use crate::cache::{CacheError, Place, RepoPath};
use crate::commands::doctor::{diagnose_with_sources, print_diagnosis};
use crate::commands::print_stdout;
use crate::doctor::{self, Cause, Subject};
use crate::download::plan::FileFilter;
use crate::download::{self, DownloadError, DownloadReport, DownloadRequest, FileStatus, Target};
use crate::env::{Environment, Settings};
use crate::error::{Error, exit};
use crate::hub::HubClient;
use crate::hub::HubError;
use crate::hub::RepoType;
use crate::hub::repo::{merge_revision, parse_repo_argument};
use crate::output;
use crate::text::human_bytes;

#[derive(Debug, Args)]
pub struct RepoArgs {
    /// The repository: `owner/name`, `datasets/owner/name`, `spaces/owner/name`, an `hf://` URI,
    /// or a Hub URL pasted from the browser (`https://huggingface.co/owner/name/blob/main/file`).
    #[arg(value_name = "REPO_ID")]
    pub repo_id: String,
    /// The repository type, when the id does not say it.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    pub repo_type: Option<RepoType>,
    /// A branch, tag, commit hash or `refs/pr/N` [default: main].
    #[arg(long)]
    pub revision: Option<String>,
    /// A Hub token for this command only (otherwise HF_TOKEN, your login, or the token file).
    #[arg(long, value_name = "TOKEN", value_parser = super::non_empty_token)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Files to download (a name ending in `/` means the whole folder). Default: the whole snapshot.
    #[arg(value_name = "FILES")]
    pub files: Vec<String>,
    /// Only files matching this glob (repeatable; `*` also matches `/`, as in `hf download`).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// The huggingface_hub cache to use [default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub].
    #[arg(long, value_name = "DIR", conflicts_with = "local_dir", value_parser = non_empty_dir)]
    pub cache_dir: Option<PathBuf>,
    /// Write plain files into this folder instead of the cache.
    #[arg(long, value_name = "DIR", value_parser = non_empty_dir)]
    pub local_dir: Option<PathBuf>,
    /// Download again even what is already there.
    #[arg(long, visible_alias = "force-download")]
    pub force: bool,
    /// Show what would be downloaded, and how much, without downloading.
    #[arg(long)]
    pub dry_run: bool,
    /// How many files to download at once. Small files are bound by the Hub's latency, not by
    /// bandwidth, so many in flight pay off (each costs two round trips: the resolve, then the
    /// Hub's redirect to its resolve cache; 1000 small files behind a 40 ms Hub took 1.7 s
    /// with 64, 1.2 s with 128).
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_workers: u16,
    /// Connections per large file (files of at least twice --chunk-size), pinned. Without it
    /// hfget adapts: it starts with 8 and adds more while the throughput grows, up to 32 (a
    /// CDN that caps each connection gets as many as it takes), keeps a file on one connection
    /// when that one alone brings hundreds of MB/s (then the CPU is the limit), and uses 2
    /// behind a mirror that serves the bytes itself. All large files together use at most twice N (32 when
    /// adapting). 1 streams every file on one connection.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connections: Option<u16>,
    /// Large files are those of at least twice this size; a segment's progress is saved for
    /// resuming after every this many bytes, at most 4M (suffixes K, M, G: powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "16M", value_parser = parse_chunk_size)]
    pub chunk_size: u64,
    /// Print one JSON object (path, commit, files) instead of the bare path.
    #[arg(long)]
    pub json: bool,
}

/// `--local-dir ""` (an unset variable) would write into the current folder, and
/// `--cache-dir ""` would build a cache there: both are refused, like `--token ""`.
pub fn non_empty_dir(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("the folder is empty (an unset variable?). Name a folder".to_string());
    }
    Ok(PathBuf::from(text))
}

/// `--chunk-size`: a byte count with an optional K/M/G suffix (powers of 1024), 64K to 1G.
pub fn parse_chunk_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let upper = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match upper.chars().last() {
        Some('K') => (&upper[..upper.len() - 1], 10),
        Some('M') => (&upper[..upper.len() - 1], 20),
        Some('G') => (&upper[..upper.len() - 1], 30),
        _ => (upper, 0),
    };
    let value = digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{trimmed}` is not a size like 16M, 512K or 1G"))?;
    if !(64 << 10..=1 << 30).contains(&value) {
        return Err(format!("`{trimmed}` is outside 64K..1G"));
    }
    Ok(value)
}

pub async fn run(
    args: DownloadArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    let started = Instant::now();
    let request = build_request(&args, settings)?;
    let token = if request.offline {
        None
    } else {
        auth::resolve_token(settings, environment, args.repo.token.as_deref()).await?
    };
    if let Some(resolved) = &token {
        output::debug(|| format!("using token {} from {}", resolved.token, resolved.source));
    }
    let client = HubClient::new(settings, token.as_ref().map(|t| t.token.clone()))?;
    let mut result = download::download(&client, &request).await;
    // Issue #14: a browser login the Hub stopped accepting is renewed once, and the download
    // tried again with the new token.
    if let (Err(DownloadError::Hub(error)), Some(resolved)) = (&result, &token)
        && error.kind == crate::hub::HubErrorKind::InvalidToken
        && let Some(renewed) =
            auth::oauth_store::recover_rejected(settings, environment, resolved).await
    {
        result = download::download(&client.with_token(Some(renewed.token)), &request).await;
    }
    let report = match result {
        Ok(report) => report,
        Err(DownloadError::Hub(error)) if error.is_access_problem() => {
            return explain_refusal(error, &request, &args, settings, environment).await;
        }
        Err(error) => return Err(name_the_folder_flag(error, args.local_dir.as_deref()).into()),
    };
    print_report(&report, args.json)?;
    print_summary(&report, started);
    Ok(exit::SUCCESS)
}

/// A filesystem error under `--local-dir` names that flag in its hint, not `--cache-dir`
/// (issue #13.8). Errors in the cache a local-dir run copies from keep the cache's hint.
fn name_the_folder_flag(error: DownloadError, local_dir: Option<&Path>) -> DownloadError {
    match (error, local_dir) {
        (DownloadError::Cache(cache_error), Some(dir)) if matches!(&cache_error, CacheError::Io { path, .. } if path.starts_with(dir)) => {
            DownloadError::Cache(cache_error.in_place(Place::LocalDir))
        }
        (error, _) => error,
    }
}

/// A folder setting that names a file (`--local-dir afile`, or `afile/sub`) is refused before
/// any request, naming the setting, instead of failing later on `afile/.cache/…` (issue #13.8).
fn check_folder(setting: &str, dir: &Path) -> Result<(), Error> {
    match dir
        .ancestors()
        .find(|a| a.symlink_metadata().is_ok() && !a.as_os_str().is_empty())
    {
        Some(existing) if !existing.is_dir() => Err(Error::Usage(if existing == dir {
            format!(
                "{setting} {} is a file, not a folder. Choose a folder (it is created if it does not exist).",
                dir.display()
            )
        } else {
            format!(
                "{setting} {}: {} is a file, not a folder. Choose a folder (it is created if it does not exist).",
                dir.display(),
                existing.display()
            )
        })),
        _ => Ok(()),
    }
}

/// `--local-dir` writes plain files and its own `.cache/huggingface/` records. Inside the hub
/// cache that turns a snapshot's links into copies, or drops files among the `models--*`
/// folders, so it is refused before any request.
fn check_outside_cache(dir: &Path, cache: &Path) -> Result<(), Error> {
    if crate::cache::local_dir::is_inside_cache(dir, cache) {
        return Err(Error::Usage(format!(
            "--local-dir {} is inside the Hugging Face cache ({}): plain files written there would replace the cache's links with copies and confuse huggingface_hub. Choose a folder outside the cache, or leave out --local-dir to download into the cache.",
            dir.display(),
            cache.display()
        )));
    }
    Ok(())
}

fn build_request(args: &DownloadArgs, settings: &Settings) -> Result<DownloadRequest, Error> {
    let parsed = parse_repo_argument(&args.repo.repo_id, args.repo.repo_type)?;
    let revision = merge_revision(parsed.revision.clone(), args.repo.revision.as_deref())?
        .unwrap_or_else(|| "main".to_string());
    let mut names: Vec<String> = args.files.clone();
    if let Some(path) = &parsed.path {
        names.insert(0, path.clone());
    }
    // A name ending in '/' is a folder: it becomes a pattern, as in `hf download` (docs/protocol.md §1.6).
    let has_folder = names.iter().any(|n| n.ends_with('/'));
    let (files, include) = if has_folder {
        if !args.include.is_empty() || !args.exclude.is_empty() {
            return Err(Error::Usage(
                "A folder argument (ending in '/') cannot be combined with --include/--exclude; use --include 'folder/*' instead.".into(),
            ));
        }
        let patterns = names
            .iter()
            .map(|n| {
                if n.ends_with('/') {
                    format!("{}**", globset::escape(n))
                } else {
                    globset::escape(n)
                }
            })
            .collect();
        (Vec::new(), patterns)
    } else {
        if !names.is_empty() && (!args.include.is_empty() || !args.exclude.is_empty()) {
            output::warn("--include/--exclude are ignored when files are named explicitly.");
        }
        let files = names
            .iter()
            .map(|n| RepoPath::new(n.trim_start_matches("./")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Usage(format!("Invalid file name {:?}: {}.", e.name, e.reason)))?;
        let include = if names.is_empty() {
            args.include.clone()
        } else {
            Vec::new()
        };
        (files, include)
    };
    let exclude = if names.is_empty() {
        args.exclude.clone()
    } else {
        Vec::new()
    };
    let filter = FileFilter::new(&include, &exclude)?;
    let cache = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| settings.hub_cache.clone());
    let target = match &args.local_dir {
        Some(dir) => {
            check_folder("--local-dir", dir)?;
            check_outside_cache(dir, &cache)?;
            Target::LocalDir {
                dir: dir.clone(),
                cache,
            }
        }
        None => {
            let setting = if args.cache_dir.is_some() {
                "--cache-dir"
            } else {
                "The cache (HF_HUB_CACHE, or HF_HOME/hub)"
            };
            check_folder(setting, &cache)?;
            Target::Cache(cache)
        }
    };
    Ok(DownloadRequest {
        repo: parsed.repo,
        revision,
        files,
        filter,
        target,
        force: args.force,
        dry_run: args.dry_run,
        max_workers: usize::from(args.max_workers),
        tuning: crate::download::segmented::Tuning {
            connections: args.connections.map(usize::from),
            chunk_size: args.chunk_size,
        },
        no_file_locks: settings.no_file_locks,
        lease_timeout: settings.lease_timeout,
        offline: settings.offline,
        offline_variable: settings.offline_variable,
        progress_bars: settings.progress_bars,
    })
}

fn print_report(report: &DownloadReport, json: bool) -> Result<(), Error> {
    if json {
        let text =
            serde_json::to_string(report).map_err(|e| Error::Output(std::io::Error::other(e)))?;
        return print_stdout(&text);
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
        // (issue #13.13), and `{:<width$}` pads by chars.
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
        return print_stdout(&lines.join("\n"));
    }
    print_stdout(&report.path.display().to_string())
}

/// `1 file`, `3 files` (issue #13.13: "Will download 1 files").
fn print_summary(report: &DownloadReport, started: Instant) {
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
    // Files another process downloaded while this run waited are not this run's (#13.11).
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
    // Bytes an interrupted run left are not this run's work (issue #13.11): say so.
    let amount = if report.bytes_resumed > 0 {
        format!(
            "{}, of which {} fetched now and {} kept from an earlier run",
            human_bytes(bytes),
            human_bytes(report.bytes_fetched),
            human_bytes(report.bytes_resumed)
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
    // A --local-dir copy of a cached blob is work done, not "up to date" (issue #13.2).
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

/// The Hub refused (401/403/404): run the doctor on the same repo, revision and file, and print
/// its diagnosis instead of the raw error (issue #3, "Built into download"). The exit code is the
/// cause's. If the doctor finds nothing wrong (the refusal was transient), the original error
/// stands.
async fn explain_refusal(
    error: HubError,
    request: &DownloadRequest,
    args: &DownloadArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    output::debug(|| format!("download refused ({error}); diagnosing"));
    let keyring = KeyringHandle::system(settings);
    let sources =
        match auth::inspect_sources(settings, environment, args.repo.token.as_deref(), &keyring)
            .await
        {
            Ok(sources) => sources,
            Err(_) => return Err(DownloadError::Hub(error).into()),
        };
    let subject = Subject {
        repo: request.repo.clone(),
        revision: Some(request.revision.clone()),
        file: request.files.first().map(|f| f.to_string()),
        // Fixes repeat the user's own command, every argument kept (issue #13.6).
        user_command: Some(doctor::evidence::UserCommand {
            args: std::env::args().skip(1).collect(),
            repo_argument: args.repo.repo_id.clone(),
        }),
    };
    let diagnosis = diagnose_with_sources(settings, &sources.candidates, &subject).await?;
    if diagnosis.cause == Cause::Ok {
        return Err(DownloadError::Hub(error).into());
    }
    if args.json {
        print_diagnosis(&diagnosis, true)?;
    } else {
        output::error(format!("hfget could not download {}.", request.repo));
        output::text(doctor::render::human(&diagnosis).trim_end());
    }
    Ok(diagnosis.exit_code())
}

#[cfg(test)]
mod tests;
