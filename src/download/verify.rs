//! Integrity: every file is hashed while it streams and compared with the name the Hub gave it
//! (docs/protocol.md §1.7): sha256 of the content for LFS files, the git blob sha1
//! (`sha1("blob <len>\0" + content)`) for the rest. Nothing that fails this check is ever placed
//! in the cache or the local folder.

use std::path::Path;

use super::error::DownloadError;
use super::events::Events;
use super::remote::RemoteFile;
use super::report::Warning;
use crate::cache::CacheError;

/// How a finished transfer ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    /// Verified and renamed into place.
    Placed,
    /// The digest did not match; the bytes (and `record`, if any) were removed.
    Corrupt { actual: String },
}

/// The one end of every transfer, single-stream or parallel: compares `digest` with the name
/// the Hub gave the file; places `incomplete` at `destination` if it matches (and removes the
/// progress `record`), discards both if it does not. Blocking: call from `spawn_blocking`.
pub fn settle(
    file: &RemoteFile,
    digest: String,
    incomplete: &Path,
    record: Option<&Path>,
    destination: &Path,
) -> Result<Settled, DownloadError> {
    if digest != file.etag {
        if let Some(record) = record {
            crate::cache::remove_file(record)?;
        }
        crate::cache::remove_file(incomplete)?;
        return Ok(Settled::Corrupt { actual: digest });
    }
    place(incomplete, destination)?;
    if let Some(record) = record {
        crate::cache::remove_file(record)?;
    }
    Ok(Settled::Placed)
}

/// The integrity policy shared by both transfer paths: after a hash mismatch the
/// bytes are gone and the file is fetched once more; a second mismatch is an error.
pub(crate) fn after_mismatch(
    file: &RemoteFile,
    mismatches: &mut u32,
    actual: String,
    events: &Events,
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
    events.warn(Warning::Mismatch {
        path: file.path.to_string(),
        kind: file.kind.label(),
        expected: file.etag.clone(),
        actual,
    });
    Ok(())
}

/// Renames the verified file into place, atomically. If another process placed the same
/// verified blob first (and took our `.incomplete` with it), that is a success too. Blocking.
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
