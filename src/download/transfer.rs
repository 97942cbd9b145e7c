//! Moving one file's bytes: resolve → CDN, stream into `.incomplete`, hash while streaming,
//! resume with `Range` after any interruption, verify, then rename into place.
//!
//! Resume works within a run (a connection cut continues from the bytes written, issue #6) and
//! across runs (the `.incomplete` file of a killed run is continued, hashing its bytes first).
//! Every attempt goes back through the resolve endpoint: signed CDN URLs expire and are bound to
//! the range they were minted for (landscape.md §2.4).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufWriter};

use super::error::DownloadError;
use super::plan::RemoteFile;
use super::verify::{ContentHasher, hash_file_prefix};
use crate::cache::CacheError;
use crate::hub::error::{HubErrorKind, NetworkErrorKind};
use crate::hub::{HubClient, HubError, RepoId};
use crate::output;
use crate::output::progress::FileProgress;

/// Attempts in a row that may fail without a single new byte before the file is given up.
const MAX_ATTEMPTS_WITHOUT_PROGRESS: u32 = 5;
const WRITE_BUFFER: usize = 1 << 20;

/// Where a file comes from and where its bytes go.
pub struct Transfer<'a> {
    pub client: &'a HubClient,
    pub repo: &'a RepoId,
    pub commit: &'a str,
    pub file: &'a RemoteFile,
    pub incomplete: PathBuf,
    pub destination: PathBuf,
    pub progress: FileProgress,
}

/// Why one attempt ended without a verified file.
enum AttemptEnd {
    Verified,
    /// Bytes stopped coming; the file on disk is a valid prefix to continue from.
    Interrupted(HubError),
    /// The bytes on disk are wrong; they were removed.
    Corrupt {
        actual: String,
    },
}

impl Transfer<'_> {
    /// Downloads, verifies and places the file; returns the number of bytes fetched.
    pub async fn run(&self) -> Result<(), DownloadError> {
        let mut failures_without_progress = 0;
        let mut corrupt_attempts = 0;
        loop {
            let before = file_len(&self.incomplete);
            match self.attempt().await? {
                AttemptEnd::Verified => break,
                AttemptEnd::Corrupt { actual } => {
                    after_mismatch(self.file, &mut corrupt_attempts, actual)?;
                }
                AttemptEnd::Interrupted(error) => {
                    let after = file_len(&self.incomplete);
                    if after > before {
                        failures_without_progress = 0;
                    } else {
                        failures_without_progress += 1;
                    }
                    if !error.is_retryable()
                        || failures_without_progress >= MAX_ATTEMPTS_WITHOUT_PROGRESS
                    {
                        return Err(error
                            .with_context(format!("downloading {}", self.file.path))
                            .into());
                    }
                    let wait = error
                        .response
                        .as_ref()
                        .and_then(|r| r.retry_after_secs)
                        .map(Duration::from_secs)
                        .filter(|wait| *wait <= self.client.retry.max_server_wait)
                        .unwrap_or_else(|| self.client.retry.backoff(failures_without_progress));
                    output::warn(format!(
                        "{}: {}; resuming from byte {after} in {:.1} s.",
                        self.file.path,
                        describe_interruption(&error),
                        wait.as_secs_f64()
                    ));
                    tokio::time::sleep(wait).await;
                }
            }
        }
        self.progress.finish();
        Ok(())
    }

    async fn attempt(&self) -> Result<AttemptEnd, DownloadError> {
        let size = self.file.size;
        let mut offset = file_len(&self.incomplete);
        if offset > size {
            remove_file(&self.incomplete)?;
            offset = 0;
        }
        let mut hasher = ContentHasher::new(self.file.kind, size);
        if offset > 0 {
            hasher = hash_prefix(&self.incomplete, offset, hasher).await?;
            output::debug(|| format!("{}: resuming at byte {offset}", self.file.path));
        }
        self.progress.advance(offset);
        let result = self.stream(offset, hasher).await;
        // Everything this attempt credited to the bars is what is on disk now. Unless the file
        // was verified, take it back: the next attempt credits the surviving prefix again.
        let written = file_len(&self.incomplete);
        let end = match result {
            Ok(hasher) => self.finish(hasher, written).await?,
            Err(StreamError::Hub(error)) => AttemptEnd::Interrupted(error),
            Err(StreamError::Fatal(error)) => return Err(error),
        };
        if !matches!(end, AttemptEnd::Verified) {
            self.progress.rewind(written);
        }
        Ok(end)
    }

    /// Verifies what was written and, if right, renames it into place.
    async fn finish(
        &self,
        hasher: ContentHasher,
        written: u64,
    ) -> Result<AttemptEnd, DownloadError> {
        if written < self.file.size {
            return Ok(AttemptEnd::Interrupted(HubError::new(
                HubErrorKind::Network(NetworkErrorKind::Interrupted),
            )));
        }
        let actual = hasher.finish();
        if actual != self.file.etag {
            remove_file(&self.incomplete)?;
            return Ok(AttemptEnd::Corrupt { actual });
        }
        place(&self.incomplete, &self.destination)?;
        Ok(AttemptEnd::Verified)
    }

    /// One request: open the file from `offset` and append what arrives, hashing as it goes.
    async fn stream(
        &self,
        offset: u64,
        mut hasher: ContentHasher,
    ) -> Result<ContentHasher, StreamError> {
        let size = self.file.size;
        if offset == size && size > 0 {
            return Ok(hasher);
        }
        let range = (offset > 0).then_some((offset, None));
        let response = self
            .client
            .open_file(self.repo, self.commit, self.file.path.as_str(), range)
            .await
            .map_err(StreamError::Hub)?;
        let mut start = offset;
        match response.status().as_u16() {
            206 => {
                let (range_start, total) =
                    parse_content_range(&response).ok_or_else(|| self.bad_range(&response))?;
                if range_start != offset || total.is_some_and(|t| t != size) {
                    return Err(self.bad_range(&response));
                }
            }
            _ if offset > 0 => {
                // A 200 to a ranged request: the server ignored Range (§1.5). Start over.
                output::debug(|| format!("{}: server ignored Range; restarting", self.file.path));
                remove_file(&self.incomplete).map_err(StreamError::Fatal)?;
                self.progress.rewind(offset);
                hasher = ContentHasher::new(self.file.kind, size);
                start = 0;
            }
            _ => {}
        }
        if let Some(length) = response.content_length()
            && start + length != size
        {
            return Err(StreamError::Fatal(DownloadError::SizeMismatch {
                path: self.file.path.to_string(),
                expected: size,
                actual: start + length,
            }));
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.incomplete)
            .await
            .map_err(|e| StreamError::Fatal(CacheError::io("open", &self.incomplete, e).into()))?;
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut position = start;
        let mut response = response;
        let outcome = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    position += chunk.len() as u64;
                    if position > size {
                        break Err(StreamError::Fatal(DownloadError::SizeMismatch {
                            path: self.file.path.to_string(),
                            expected: size,
                            actual: position,
                        }));
                    }
                    if let Err(e) = writer.write_all(&chunk).await {
                        break Err(StreamError::Fatal(
                            CacheError::io("write", &self.incomplete, e).into(),
                        ));
                    }
                    hasher.update(&chunk);
                    self.progress.advance(chunk.len() as u64);
                }
                Ok(None) => break Ok(()),
                Err(error) => {
                    let url = crate::hub::client::strip_query(response.url());
                    break Err(StreamError::Hub(crate::hub::client::network_error_from(
                        &url, error,
                    )));
                }
            }
        };
        // Keep every byte that arrived, even after a cut: it is the next attempt's head start.
        if let Err(e) = writer.flush().await {
            return Err(StreamError::Fatal(
                CacheError::io("write", &self.incomplete, e).into(),
            ));
        }
        outcome.map(|()| hasher)
    }

    fn bad_range(&self, response: &reqwest::Response) -> StreamError {
        let detail = response
            .headers()
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("missing")
            .to_string();
        StreamError::Fatal(DownloadError::BadRange {
            path: self.file.path.to_string(),
            detail,
        })
    }
}

/// The integrity policy shared by both transfer paths (issue #6): after a hash mismatch the
/// bytes are gone and the file is fetched once more; a second mismatch is an error.
pub(crate) fn after_mismatch(
    file: &RemoteFile,
    mismatches: &mut u32,
    actual: String,
) -> Result<(), DownloadError> {
    *mismatches += 1;
    if *mismatches >= 2 {
        return Err(DownloadError::Integrity {
            path: file.path.to_string(),
            kind: file.kind.label(),
            expected: file.etag.clone(),
            actual,
        });
    }
    output::warn(format!(
        "{} did not match its {} ({} expected, got {actual}); downloading it again.",
        file.path,
        file.kind.label(),
        file.etag
    ));
    Ok(())
}

enum StreamError {
    /// Retry-worthy (or at least reportable as a Hub error): the attempt ends, the file stays.
    Hub(HubError),
    Fatal(DownloadError),
}

pub(crate) fn describe_interruption(error: &HubError) -> String {
    match &error.kind {
        HubErrorKind::Network(kind) => kind.describe().to_string(),
        HubErrorKind::SignedUrlRejected => {
            "the signed download URL was refused (expired?)".to_string()
        }
        _ => error
            .status()
            .map(|s| format!("the server answered {s}"))
            .unwrap_or_else(|| "the transfer failed".to_string()),
    }
}

/// `Content-Range: bytes START-END/TOTAL` → (START, TOTAL if known).
fn parse_content_range(response: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    parse_content_range_value(value)
}

pub fn parse_content_range_value(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start = start.trim().parse::<u64>().ok()?;
    let end = end.trim().parse::<u64>().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    Some((start, total))
}

async fn hash_prefix(
    path: &Path,
    len: u64,
    mut hasher: ContentHasher,
) -> Result<ContentHasher, DownloadError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || hash_file_prefix(&owned, len, &mut hasher).map(|()| hasher))
        .await
        .map_err(|e| DownloadError::Task(e.to_string()))?
        .map_err(|e| CacheError::io("read", path, e).into())
}

pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn remove_file(path: &Path) -> Result<(), DownloadError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CacheError::io("remove", path, e).into()),
    }
}

/// Renames the verified file into place, atomically. If another process placed the same
/// verified blob first (and took our `.incomplete` with it), that is a success too.
pub fn place(from: &Path, to: &Path) -> Result<(), DownloadError> {
    if let Some(parent) = to.parent() {
        crate::cache::create_dir_all(parent)?;
    }
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && to.is_file() => Ok(()),
        Err(e) => Err(CacheError::io("move the downloaded file to", to, e).into()),
    }
}

#[cfg(test)]
mod tests;
