//! From `hfget download`'s arguments to a [`DownloadRequest`]: names and folders become a
//! [`Selection`], the folder settings are checked before any request.

use std::path::{Path, PathBuf};

use super::DownloadArgs;
use crate::cache::RepoPath;
use crate::download::{DownloadRequest, FileFilter, Selection, Target};
use crate::env::Settings;
use crate::error::Error;
use crate::hub::repo::{merge_revision, parse_repo_argument};
use crate::output;

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

/// A folder setting that names a file (`--local-dir afile`, or `afile/sub`) is refused before
/// any request, naming the setting, instead of failing later on `afile/.cache/…`.
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

pub(super) fn build_request(
    args: &DownloadArgs,
    settings: &Settings,
) -> Result<DownloadRequest, Error> {
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
    let selection = if files.is_empty() {
        Selection::Snapshot(FileFilter::new(&include, &exclude)?)
    } else {
        Selection::Named(files)
    };
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
        selection,
        target,
        force: args.force,
        dry_run: args.dry_run,
    })
}
