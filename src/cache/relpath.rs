//! Paths inside a repository, validated before they touch the filesystem.
//!
//! A listing comes from the network; a hostile or broken server could send `../../.bashrc`,
//! `/etc/passwd`, `a\..\b` or a NUL byte. Every repo path goes through [`RepoPath::new`] before it
//! is joined to a folder, so nothing is ever written outside the cache or `--local-dir`
//! (`huggingface_hub` refuses the same shapes, docs/protocol.md §2.5).

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "The Hub listed a file named {name:?}, which hfget refuses to write: {reason}. Ask the repository owner to rename it."
)]
pub struct UnsafePath {
    pub name: String,
    pub reason: &'static str,
}

/// A relative, normalised, `/`-separated path that stays inside whatever folder it is joined to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoPath(String);

impl RepoPath {
    pub fn new(name: &str) -> Result<RepoPath, UnsafePath> {
        let refuse = |reason| UnsafePath {
            name: name.to_string(),
            reason,
        };
        if name.is_empty() {
            return Err(refuse("it is empty"));
        }
        if name.contains('\0') {
            return Err(refuse("it contains a NUL byte"));
        }
        if name.chars().any(|c| c.is_control()) {
            return Err(refuse("it contains a control character"));
        }
        if name.contains('\\') {
            return Err(refuse("it contains a backslash"));
        }
        if name.starts_with('/') {
            return Err(refuse("it is an absolute path"));
        }
        let bytes = name.as_bytes();
        if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
            return Err(refuse("it starts with a drive letter"));
        }
        for segment in name.split('/') {
            match segment {
                "" => return Err(refuse("it has an empty path segment")),
                "." => return Err(refuse("it has a '.' path segment")),
                ".." => return Err(refuse("it has a '..' path segment")),
                _ => {}
            }
        }
        Ok(RepoPath(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as a relative filesystem path (segments joined natively).
    pub fn to_relative(&self) -> PathBuf {
        self.0.split('/').collect()
    }

    /// `base/<this path>`: always inside `base`, by construction.
    pub fn under(&self, base: &Path) -> PathBuf {
        base.join(self.to_relative())
    }

    /// How many folders deep the file is (`a/b/c.bin` → 2).
    pub fn depth(&self) -> usize {
        self.0.matches('/').count()
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Paths that would land on the same file on a case-insensitive or normalising filesystem
/// (`Model.bin` and `model.bin`) are refused as a pair: writing both would silently keep one.
pub fn find_collision<'a>(
    paths: impl IntoIterator<Item = &'a RepoPath>,
) -> Option<(String, String)> {
    let mut seen = std::collections::HashMap::new();
    for path in paths {
        let key = path.as_str().to_lowercase();
        if let Some(previous) = seen.insert(key, path.as_str())
            && previous != path.as_str()
        {
            return Some((previous.to_string(), path.as_str().to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests;
