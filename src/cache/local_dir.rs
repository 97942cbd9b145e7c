//! `--local-dir` mode: plain files in a folder of the user's choosing, plus the bookkeeping
//! `huggingface_hub` keeps under `.cache/huggingface/` so a rerun skips unchanged files
//! (docs/protocol.md §2.5):
//!
//! ```text
//! <dir>/<path>
//! <dir>/.cache/huggingface/.gitignore                    ("*")
//! <dir>/.cache/huggingface/CACHEDIR.TAG
//! <dir>/.cache/huggingface/download/<path>.metadata      (commit\netag\ntimestamp\n)
//! <dir>/.cache/huggingface/download/<path>.lock
//! <dir>/.cache/huggingface/download/<path>.<etag>.incomplete
//! ```

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{CACHEDIR_TAG_CONTENT, CacheError, RepoPath, create_dir_all, write_atomic};

#[derive(Clone, Debug)]
pub struct LocalDir {
    root: PathBuf,
}

/// The three lines of a `.metadata` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    pub commit: String,
    pub etag: String,
    pub timestamp: f64,
}

impl LocalDir {
    pub fn new(root: &Path) -> LocalDir {
        LocalDir {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn huggingface_dir(&self) -> PathBuf {
        self.root.join(".cache").join("huggingface")
    }

    pub fn file_path(&self, path: &RepoPath) -> PathBuf {
        path.under(&self.root)
    }

    fn download_path(&self, path: &RepoPath, suffix: &str) -> PathBuf {
        let base = path.under(&self.huggingface_dir().join("download"));
        let name = base
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        base.with_file_name(format!("{name}{suffix}"))
    }

    pub fn metadata_path(&self, path: &RepoPath) -> PathBuf {
        self.download_path(path, ".metadata")
    }

    pub fn lock_path(&self, path: &RepoPath) -> PathBuf {
        self.download_path(path, ".lock")
    }

    pub fn incomplete_path(&self, path: &RepoPath, etag: &str) -> PathBuf {
        self.download_path(path, &format!(".{etag}.incomplete"))
    }

    pub fn tree_path(&self, commit: &str) -> PathBuf {
        self.huggingface_dir()
            .join("trees")
            .join(format!("{commit}.json"))
    }

    pub fn prepare(&self) -> Result<(), CacheError> {
        let dir = self.huggingface_dir();
        create_dir_all(&dir.join("download"))?;
        let gitignore = dir.join(".gitignore");
        if !gitignore.exists() {
            write_atomic(&gitignore, b"*")?;
        }
        let tag = dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            write_atomic(&tag, CACHEDIR_TAG_CONTENT.as_bytes())?;
        }
        Ok(())
    }

    /// Reads a file's metadata. As in Python, an unparsable file is deleted and ignored, and the
    /// metadata only counts if the file was not modified after it was written (1 s of slack for
    /// coarse mtimes).
    pub fn read_metadata(&self, path: &RepoPath) -> Option<Metadata> {
        let metadata_path = self.metadata_path(path);
        let text = std::fs::read_to_string(&metadata_path).ok()?;
        let mut lines = text.lines();
        let parsed = (|| {
            let commit = lines.next()?.trim().to_string();
            let etag = lines.next()?.trim().to_string();
            let timestamp = lines.next()?.trim().parse::<f64>().ok()?;
            Some(Metadata {
                commit,
                etag,
                timestamp,
            })
        })();
        let Some(metadata) = parsed else {
            let _ = std::fs::remove_file(&metadata_path);
            return None;
        };
        let modified = std::fs::metadata(self.file_path(path))
            .and_then(|m| m.modified())
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        (modified - 1.0 <= metadata.timestamp).then_some(metadata)
    }

    pub fn write_metadata(
        &self,
        path: &RepoPath,
        commit: &str,
        etag: &str,
    ) -> Result<(), CacheError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        write_atomic(
            &self.metadata_path(path),
            format!("{commit}\n{etag}\n{now}\n").as_bytes(),
        )
    }
}

/// Whether `dir` is the hub cache `cache` or lies inside it, once symlinks and `..` are
/// resolved. Plain files written there would replace a snapshot's links with copies, or land
/// beside the `models--*` folders, where `huggingface_hub` and `cache ls` misread them.
/// Neither folder needs to exist yet.
pub fn is_inside_cache(dir: &Path, cache: &Path) -> bool {
    resolved(dir).starts_with(resolved(cache))
}

/// `path` made absolute, one component at a time: symlinks followed (and `..` taken) where
/// the path exists, `..` taken by hand beyond that, where nothing can be a symlink.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut base = PathBuf::new();
    for component in absolute.components() {
        let next = base.join(component);
        match next.canonicalize() {
            Ok(canonical) => base = canonical,
            Err(_) if component == std::path::Component::ParentDir => {
                base.pop();
            }
            Err(_) => base = next,
        }
    }
    base
}

#[cfg(test)]
mod tests;
