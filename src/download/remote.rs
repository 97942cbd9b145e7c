//! The repository's files as the listing gives them ([`RemoteFile`]), checked before any of them
//! is trusted, and the `--include`/`--exclude` filter that selects among them.

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::error::DownloadError;
use crate::cache::RepoPath;
use crate::cache::relpath::find_collision;
use crate::hash::HashKind;
use crate::hub::TreeEntry;

/// `--include`/`--exclude`, with `huggingface_hub`'s semantics (`filter_repo_objects`): fnmatch
/// patterns where `*` also matches `/`, and a pattern ending in `/` means everything below it.
#[derive(Clone, Debug, Default)]
pub struct FileFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl FileFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<FileFilter, DownloadError> {
        Ok(FileFilter {
            include: build_set(include)?,
            exclude: build_set(exclude)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    pub fn matches(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(path))
            && !self.exclude.as_ref().is_some_and(|set| set.is_match(path))
    }
}

fn build_set(patterns: &[String]) -> Result<Option<GlobSet>, DownloadError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let normalized = if pattern.ends_with('/') {
            format!("{pattern}*")
        } else {
            pattern.clone()
        };
        let glob = Glob::new(&normalized).map_err(|e| DownloadError::BadPattern {
            pattern: pattern.clone(),
            reason: e.kind().to_string(),
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| DownloadError::BadPattern {
            pattern: patterns.join(" "),
            reason: e.to_string(),
        })
}

/// One file of the snapshot, as the listing describes it.
#[derive(Clone, Debug)]
pub struct RemoteFile {
    pub path: RepoPath,
    pub size: u64,
    /// The blob name: sha256 for LFS files, git blob sha1 otherwise (docs/protocol.md §1.7).
    pub etag: String,
    pub kind: HashKind,
}

impl RemoteFile {
    pub fn from_entry(entry: &TreeEntry) -> Result<RemoteFile, DownloadError> {
        let path = RepoPath::new(&entry.path)?;
        let (etag, size) = match &entry.lfs {
            Some(lfs) => (lfs.oid.to_ascii_lowercase(), lfs.size),
            None => (entry.oid.to_ascii_lowercase(), entry.size),
        };
        let valid_etag =
            matches!(etag.len(), 40 | 64) && etag.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid_etag {
            return Err(DownloadError::Hub(crate::hub::HubError::protocol(format!(
                "the listing gave {:?} an invalid object id {etag:?}",
                entry.path
            ))));
        }
        Ok(RemoteFile {
            kind: HashKind::for_etag(&etag),
            path,
            size,
            etag,
        })
    }
}

/// Turns listing entries into validated files. A single unsafe or colliding name refuses the
/// whole listing: a server that sends one hostile name is not trusted with the others.
pub fn remote_files(entries: &[TreeEntry]) -> Result<Vec<RemoteFile>, DownloadError> {
    let files = entries
        .iter()
        .filter(|entry| entry.is_file())
        .map(RemoteFile::from_entry)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((a, b)) = find_collision(files.iter().map(|f| &f.path)) {
        return Err(DownloadError::PathCollision(a, b));
    }
    Ok(files)
}

#[cfg(test)]
mod tests;
