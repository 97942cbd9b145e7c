//! `hfget download REPO_ID [FILES...]`: turn the command line into a [`DownloadRequest`], run
//! the engine, and print the result (stdout: the path, or one JSON object; stderr: a summary).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use crate::auth;
use crate::auth::keyring::KeyringHandle;
use crate::cache::{CacheError, Place};
use crate::doctor::{self, Cause, Subject};
use crate::download::{self, DownloadError, DownloadRequest, Options, Selection, Session, Tuning};
use crate::env::{Environment, Settings};
use crate::error::{Error, exit};
use crate::hub::HubError;
use crate::hub::RepoType;
use crate::output;
use crate::output::reporter::TerminalReporter;

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

pub async fn run(
    args: DownloadArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    let started = Instant::now();
    let request = build_request(&args, settings)?;
    let options = Options {
        max_workers: usize::from(args.max_workers),
        tuning: Tuning {
            connections: args.connections.map(usize::from),
            chunk_size: args.chunk_size,
        },
        ..Options::from_settings(settings)
    };
    let token = if options.offline {
        None
    } else {
        auth::resolve_token(settings, environment, args.repo.token.as_deref()).await?
    };
    if let Some(resolved) = &token {
        output::debug(|| format!("using token {} from {}", resolved.token, resolved.source));
    }
    // A browser login the Hub stopped accepting is renewed by the client, once, and the
    // rejected request sent again.
    let client = auth::hub_client(settings, environment, token.as_ref())?;
    let reporter = TerminalReporter::new(settings.progress_bars);
    let session = Session::new(client, options);
    let report = match download::run(&session, request.clone(), &reporter).await {
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

/// A filesystem error under `--local-dir` names that flag in its hint, not `--cache-dir`.
/// Errors in the cache a local-dir run copies from keep the cache's hint.
fn name_the_folder_flag(error: DownloadError, local_dir: Option<&Path>) -> DownloadError {
    match (error, local_dir) {
        (DownloadError::Cache(cache_error), Some(dir)) if matches!(&cache_error, CacheError::Io { path, .. } if path.starts_with(dir)) => {
            DownloadError::Cache(cache_error.in_place(Place::LocalDir))
        }
        (error, _) => error,
    }
}

/// The Hub refused (401/403/404): run the doctor on the same repo, revision and file, and print
/// its diagnosis instead of the raw error ("Built into download"). The exit code is the
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
        file: match &request.selection {
            Selection::Named(files) => files.first().map(|f| f.to_string()),
            Selection::Snapshot(_) => None,
        },
        // Fixes repeat the user's own command, every argument kept.
        user_command: Some(doctor::evidence::UserCommand {
            args: std::env::args().skip(1).collect(),
            repo_argument: args.repo.repo_id.clone(),
        }),
    };
    let active = doctor::active_token(settings, &sources.candidates);
    let client = auth::hub_client(settings, environment, active.as_ref())?;
    let diagnosis =
        doctor::diagnose_with_sources(settings, &client, &sources.candidates, &subject).await;
    if diagnosis.cause == Cause::Ok {
        return Err(DownloadError::Hub(error).into());
    }
    if args.json {
        output::print_json_pretty(&diagnosis)?;
    } else {
        output::error(format!("hfget could not download {}.", request.repo));
        output::text(doctor::render::human(&diagnosis).trim_end());
    }
    Ok(diagnosis.exit_code())
}

mod render;
mod request;
#[cfg(test)]
mod tests;

use render::{print_report, print_summary};
use request::build_request;
pub use request::{non_empty_dir, parse_chunk_size};
