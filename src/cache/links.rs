//! How a snapshot holds its files: symlinks into `blobs/` where the filesystem makes them, the
//! files themselves where it cannot (exFAT and FAT drives, Windows without developer mode), as
//! huggingface_hub does (docs/cache-layout.md, "Caches without symlinks").
//!
//! The answer comes from trying, once per cache folder and process: make a relative symlink
//! and read it back. Trying matters more than asking: Wine reports success for a symlink it
//! never creates, and a FUSE filesystem may answer `ENOSYS` only when asked.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

/// How `snapshots/<commit>/<path>` refers to its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkMode {
    /// A relative symlink to `blobs/<etag>`: the layout huggingface_hub prefers.
    Symlink,
    /// A hard link to `blobs/<etag>`: the snapshot file *is* the blob, so a file shared by two
    /// revisions is stored once, and Python reads it as a plain file.
    HardLink,
    /// The file itself: a freshly downloaded blob is moved into the snapshot (no copy, no extra
    /// space), a blob that was already in `blobs/` is copied (it may serve other revisions).
    Copy,
}

impl LinkMode {
    /// What this mode costs on disk against symlinks, for the note a download prints.
    pub fn costs_space(self) -> bool {
        self == LinkMode::Copy
    }
}

/// The verdicts of this process, by cache folder and whether symlinks were allowed.
type Verdicts = HashMap<(PathBuf, bool), LinkMode>;
static PROBED: LazyLock<Mutex<Verdicts>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// How snapshots in `cache_dir` hold their files. `symlinks_allowed` is false when the user
/// turned symlinks off (`HF_HUB_DISABLE_SYMLINKS`): then only hard links are tried. Blocking
/// (it writes a few empty files the first time).
pub fn mode_for(cache_dir: &Path, symlinks_allowed: bool) -> LinkMode {
    let key = (cache_dir.to_path_buf(), symlinks_allowed);
    if let Some(mode) = PROBED.lock().ok().and_then(|m| m.get(&key).copied()) {
        return mode;
    }
    let mode = probe(cache_dir, symlinks_allowed);
    if let Ok(mut probed) = PROBED.lock() {
        probed.insert(key, mode);
    }
    mode
}

/// Tries a symlink, then a hard link, in a private folder of `dir` that is removed afterwards.
/// A folder that cannot even be written is left to the download to report: the verdict is
/// then the default, symlinks.
fn probe(dir: &Path, symlinks_allowed: bool) -> LinkMode {
    let scratch = dir.join(format!(
        ".hfget-link-probe-{:016x}",
        crate::random::random_u64()
    ));
    if std::fs::create_dir_all(&scratch).is_err() {
        return LinkMode::Symlink;
    }
    let source = scratch.join("source");
    let unwritable = std::fs::write(&source, b"probe").is_err();
    let mode = if unwritable || (symlinks_allowed && symlink_works(&scratch)) {
        LinkMode::Symlink
    } else if hard_link_works(&source, &scratch.join("hard")) {
        LinkMode::HardLink
    } else {
        LinkMode::Copy
    };
    let _ = std::fs::remove_dir_all(&scratch);
    mode
}

/// A relative link made, seen as a link, and read through.
fn symlink_works(scratch: &Path) -> bool {
    let link = scratch.join("link");
    crate::files::symlink_file(Path::new("source"), &link).is_ok()
        && std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink())
        && std::fs::read(&link).is_ok_and(|bytes| bytes == b"probe")
}

fn hard_link_works(source: &Path, link: &Path) -> bool {
    std::fs::hard_link(source, link).is_ok()
        && std::fs::read(link).is_ok_and(|bytes| bytes == b"probe")
        && crate::files::same_file(source, link).unwrap_or(false)
}

/// Places `blob` at `destination` as `mode` says (never [`LinkMode::Symlink`], which
/// [`super::CacheRepo::link_snapshot`] makes itself), through a temporary sibling so that the
/// snapshot never shows a partial file. `fresh`: this run just downloaded the blob, so a copy
/// may take it instead. Returns the bytes written anew (a copy's size). Blocking.
pub(crate) fn place_file(
    mode: LinkMode,
    blob: &Path,
    destination: &Path,
    fresh: bool,
) -> io::Result<u64> {
    if crate::files::same_file(blob, destination).unwrap_or(false) {
        return Ok(0);
    }
    match mode {
        LinkMode::Copy if fresh => {
            std::fs::rename(blob, destination)?;
            Ok(0)
        }
        LinkMode::HardLink => {
            let temporary = super::temporary_sibling(destination);
            std::fs::hard_link(blob, &temporary)?;
            rename_into_place(&temporary, destination).map(|()| 0)
        }
        LinkMode::Copy | LinkMode::Symlink => {
            let temporary = super::temporary_sibling(destination);
            let copied = std::fs::copy(blob, &temporary);
            let copied = match copied {
                Ok(bytes) => bytes,
                Err(error) => {
                    let _ = crate::files::remove_if_exists(&temporary);
                    return Err(error);
                }
            };
            rename_into_place(&temporary, destination).map(|()| copied)
        }
    }
}

fn rename_into_place(temporary: &Path, destination: &Path) -> io::Result<()> {
    std::fs::rename(temporary, destination).inspect_err(|_| {
        let _ = crate::files::remove_if_exists(temporary);
    })?;
    // A rename between two names of one file does nothing and succeeds (rename(2)): the
    // temporary is then still there.
    crate::files::remove_if_exists(temporary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normal_folder_makes_symlinks_and_disabling_them_leaves_hard_links() -> std::io::Result<()>
    {
        let dir = tempfile::tempdir()?;
        assert_eq!(probe(dir.path(), true), LinkMode::Symlink);
        assert_eq!(probe(dir.path(), false), LinkMode::HardLink);
        // The probe leaves nothing behind.
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
        Ok(())
    }

    #[test]
    fn a_fresh_blob_is_moved_and_an_old_one_copied() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let blob = dir.path().join("blob");
        std::fs::write(&blob, b"bytes")?;
        let kept = dir.path().join("kept");
        assert_eq!(place_file(LinkMode::Copy, &blob, &kept, false)?, 5);
        assert!(blob.exists());
        let moved = dir.path().join("moved");
        assert_eq!(place_file(LinkMode::Copy, &blob, &moved, true)?, 0);
        assert!(!blob.exists());
        assert_eq!(std::fs::read(&moved)?, b"bytes");
        assert_eq!(std::fs::read(&kept)?, b"bytes");
        Ok(())
    }

    #[test]
    fn a_hard_link_over_itself_leaves_no_temporary() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let blob = dir.path().join("blob");
        std::fs::write(&blob, b"bytes")?;
        let linked = dir.path().join("linked");
        place_file(LinkMode::HardLink, &blob, &linked, true)?;
        assert!(crate::files::same_file(&blob, &linked)?);
        // Again, over the same file, and over a stale copy.
        place_file(LinkMode::HardLink, &blob, &linked, true)?;
        std::fs::remove_file(&linked)?;
        std::fs::write(&linked, b"stale")?;
        place_file(LinkMode::HardLink, &blob, &linked, false)?;
        assert_eq!(std::fs::read(&linked)?, b"bytes");
        let names = std::fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<Vec<_>>>()?;
        assert_eq!(names.len(), 2, "{names:?}");
        Ok(())
    }
}
