//! `hfget cache verify`: re-hash a cached snapshot (or a `--local-dir` folder) against the
//! repository's listing, and with `--repair` download what is bad or missing again.

use super::VerifyArgs;
use crate::auth;
use crate::cache::audit::{self, ListingSource, Problem, Report, Subject};
use crate::cache::repair;
use crate::download::{self, DownloadRequest, Target};
use crate::env::{Environment, Settings};
use crate::error::{Error, exit};
use crate::hub::HubClient;
use crate::hub::repo::{merge_revision, parse_repo_argument};
use crate::output;
use crate::text::human_bytes;

/// Hashing runs at disk speed: above this, say what is coming.
const ANNOUNCE_BYTES: u64 = 1 << 30;

pub(super) async fn run(
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
        Some(auth::hub_client(settings, environment, token.as_ref())?)
    };
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| settings.hub_cache.clone());
    let subject = match &args.local_dir {
        Some(dir) => {
            let cache = &settings.hub_cache;
            audit::local_subject(parsed.repo, revision, dir, client.as_ref(), cache).await?
        }
        None => audit::cache_subject(parsed.repo, revision, explicit_revision, &cache_dir)?,
    };
    let (expected, source) = audit::listing(&subject, client.as_ref()).await?;
    let mut report = check(&subject, expected.clone(), source).await?;
    if args.repair && !report.is_intact() {
        let Some(client) = &client else {
            return Err(Error::Usage(
                "Cannot repair offline (HF_HUB_OFFLINE is set): the files must be downloaded again.".into(),
            ));
        };
        let fetched = report.to_repair();
        let paths = repair::repo_paths(&fetched)
            .map_err(|e| Error::Usage(format!("Invalid file name {:?}: {}.", e.name, e.reason)))?;
        let (removing, owned) = (subject.clone(), paths.clone());
        tokio::task::spawn_blocking(move || repair::remove_bad(&removing, &owned))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        download_again(&subject, paths, client, settings).await?;
        report = check(&subject, expected, source).await?;
        report.record_repaired(fetched);
    }
    let failed = !report.bad.is_empty()
        || (args.fail_on_missing_files && !report.missing.is_empty())
        || (args.fail_on_extra_files && !report.extra.is_empty());
    report.ok = !failed;
    if args.json {
        output::print_json_pretty(&report)?;
    } else {
        output::print_stdout(&human(&report, &args))?;
    }
    Ok(if failed {
        exit::INTEGRITY
    } else {
        exit::SUCCESS
    })
}

async fn check(
    subject: &Subject,
    expected: Option<Vec<crate::cache::verify::Expected>>,
    source: ListingSource,
) -> Result<Report, Error> {
    let prepared = audit::prepare(subject, expected, source).await?;
    if prepared.bytes >= ANNOUNCE_BYTES {
        output::info(format!(
            "Hashing {}, {}…",
            output::counted(prepared.files() as u64, "file"),
            human_bytes(prepared.bytes)
        ));
    }
    Ok(audit::check(subject, prepared).await?)
}

/// Downloads `files` of the subject's commit again, into the same cache or folder, through the
/// one download path (and its client, so a rejected browser login is renewed there too).
async fn download_again(
    subject: &Subject,
    files: Vec<crate::cache::RepoPath>,
    client: &HubClient,
    settings: &Settings,
) -> Result<(), Error> {
    let target = match &subject.local_dir {
        Some(local) => Target::LocalDir {
            dir: local.root().to_path_buf(),
            cache: settings.hub_cache.clone(),
        },
        None => Target::Cache(subject.cache_dir.clone()),
    };
    let request =
        DownloadRequest::for_files(subject.repo.clone(), subject.commit.clone(), files, target);
    // A repair was asked for: it goes to the Hub (this command has a client only online).
    let options = download::Options {
        offline: false,
        ..download::Options::from_settings(settings)
    };
    let session = download::Session::new(client.clone(), options);
    let reporter = crate::output::reporter::TerminalReporter::new(settings.progress_bars);
    download::run(&session, request, &reporter).await?;
    Ok(())
}

fn human(report: &Report, args: &VerifyArgs) -> String {
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
                Some(actual) if bad.problem == Problem::ChecksumMismatch => out.push_str(&format!(
                    "  ✗ {}: {} is {actual}, expected {}\n",
                    bad.path, bad.algorithm, bad.expected
                )),
                Some(actual) => out.push_str(&format!(
                    "  ✗ {}: {}: {actual}, expected {}\n",
                    bad.path,
                    bad.problem.describe(),
                    bad.expected
                )),
                None => out.push_str(&format!("  ✗ {}: {}\n", bad.path, bad.problem.describe())),
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
    out.trim_end().to_string()
}
