//! The cache-wide shared Xet blob store of huggingface_hub 2.x (`utils/_shared_blobs.py`), read
//! and garbage-collected the way Python does it, so that `cache ls` counts each payload once and
//! `cache rm`/`prune` free it when the last repo that links to it goes:
//!
//! ```text
//! <cache>/blobs/.huggingface-shared-blobs          marker, exactly "1\n"
//! <cache>/blobs/<2-hex>/<xet_hash>                 read-only payload (64-hex Xet hash)
//! <cache>/blobs/<2-hex>/<xet_hash>.refs            manifest: lines `models--org--m/blobs/<etag>`
//! <cache>/blobs/<2-hex>/<xet_hash>.lock            flock taken to publish, link and collect
//! <cache>/models--org--m/blobs/<etag>  ->  ../../blobs/<2-hex>/<xet_hash>   (relative symlink)
//! ```
//!
//! The manifest is a hint, never trusted: each line is checked against the filesystem, and a
//! missing or unreadable manifest means "keep the payload" (leak rather than delete).

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

pub const STORE_DIR: &str = "blobs";
pub const MARKER: &str = ".huggingface-shared-blobs";
const MARKER_CONTENT: &str = "1\n";
const REPO_TYPE_PLURALS: [&str; 4] = ["models", "datasets", "spaces", "kernels"];

/// `<cache>/blobs`.
pub fn store_dir(cache: &Path) -> PathBuf {
    cache.join(STORE_DIR)
}

/// Whether `<cache>/blobs` is a marked store of the layout version this code understands.
/// An unmarked `blobs` folder is not ours (nor Python's): it is then an unknown folder.
pub fn is_marked(cache: &Path) -> bool {
    let dir = store_dir(cache);
    let marker = dir.join(MARKER);
    let is_dir = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir());
    let is_file = std::fs::symlink_metadata(&marker).is_ok_and(|m| m.is_file());
    is_dir && is_file && std::fs::read_to_string(&marker).is_ok_and(|t| t == MARKER_CONTENT)
}

pub fn is_xet_hash(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `a/./b/../c` → `a/c` without touching the filesystem (Python's `os.path.abspath`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `models--org--m/blobs/<name>` when `blob` is a repo blob entry of this cache.
fn relative_blob_path(blob: &Path, cache: &Path) -> Option<String> {
    let relative = normalize(blob).strip_prefix(cache).ok()?.to_path_buf();
    let parts: Vec<&str> = relative.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
    let [folder, "blobs", name] = parts.as_slice() else {
        return None;
    };
    let (kind, rest) = folder.split_once("--")?;
    let valid = REPO_TYPE_PLURALS.contains(&kind) && !rest.is_empty() && !name.is_empty();
    let text = format!("{folder}/blobs/{name}");
    (valid && !text.contains(['\n', '\r'])).then_some(text)
}

/// The store payload a repo blob links to, if it is a managed shared symlink (whether or not
/// the payload still exists).
fn link_target_unchecked(blob: &Path, cache: &Path) -> Option<PathBuf> {
    relative_blob_path(blob, cache)?;
    let metadata = std::fs::symlink_metadata(blob).ok()?;
    if !metadata.file_type().is_symlink() {
        return None;
    }
    let link = std::fs::read_link(blob).ok()?;
    let parent = blob.parent()?;
    let target = normalize(&parent.join(link));
    let relative = target.strip_prefix(store_dir(cache)).ok()?;
    let parts: Vec<&str> = relative.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
    let [prefix, hash] = parts.as_slice() else {
        return None;
    };
    (is_xet_hash(hash) && hash.starts_with(prefix) && prefix.len() == 2)
        .then(|| store_dir(cache).join(prefix).join(hash))
}

/// The store payload `blob` links to, when it is a valid shared symlink whose payload exists
/// (Python's `shared_blob_target`). Callers check [`is_marked`] once first.
pub fn link_target(blob: &Path, cache: &Path) -> Option<PathBuf> {
    link_target_unchecked(blob, cache)
        .filter(|t| std::fs::symlink_metadata(t).is_ok_and(|m| m.is_file()))
}

/// One payload of the store.
#[derive(Clone, Debug)]
pub struct StoreEntry {
    pub path: PathBuf,
    pub size: u64,
    /// Repo blobs that still link to it (`None`: manifest missing or unreadable, so unknown).
    pub references: Option<usize>,
}

/// Every payload of a marked store, with its size and how many valid references it has.
pub fn entries(cache: &Path) -> Vec<StoreEntry> {
    let mut found = Vec::new();
    if !is_marked(cache) {
        return found;
    }
    let Ok(prefixes) = std::fs::read_dir(store_dir(cache)) else {
        return found;
    };
    for prefix in prefixes.flatten() {
        let name = prefix.file_name().to_string_lossy().into_owned();
        let is_prefix = name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_prefix || !prefix.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(prefix.path()) else {
            continue;
        };
        for file in files.flatten() {
            let hash = file.file_name().to_string_lossy().into_owned();
            let Ok(metadata) = std::fs::symlink_metadata(file.path()) else {
                continue;
            };
            if is_xet_hash(&hash) && hash.starts_with(&name) && metadata.is_file() {
                let path = file.path();
                let references = references(&path, cache).map(|r| r.len());
                found.push(StoreEntry {
                    path,
                    size: metadata.len(),
                    references,
                });
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

fn manifest_path(store_path: &Path) -> PathBuf {
    sibling_with_suffix(store_path, ".refs")
}

fn lock_path(store_path: &Path) -> PathBuf {
    sibling_with_suffix(store_path, ".lock")
}

fn sibling_with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The repo blobs listed in the manifest that really link to `store_path`. `None` when the
/// manifest is missing or unreadable, or a listed link cannot be read: then nothing may be
/// collected (Python's `_read_valid_manifest_references`).
pub fn references(store_path: &Path, cache: &Path) -> Option<HashSet<PathBuf>> {
    let manifest = manifest_path(store_path);
    if !std::fs::symlink_metadata(&manifest).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let text = std::fs::read_to_string(&manifest).ok()?;
    let mut found = HashSet::new();
    for line in text.lines() {
        let relative = Path::new(line);
        if relative.is_absolute() || relative.components().any(|c| c == Component::ParentDir) {
            continue;
        }
        let candidate = cache.join(relative);
        if relative_blob_path(&candidate, cache).is_none() {
            continue;
        }
        match std::fs::symlink_metadata(&candidate) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => return None,
            Ok(_) => {}
        }
        if link_target_unchecked(&candidate, cache).as_deref() == Some(store_path) {
            found.insert(candidate);
        }
    }
    Some(found)
}

/// Bytes deleting `blobs` would free from `store_path`: its size when every valid reference is
/// among them, else nothing (Python's `expected_shared_blob_freed_size`).
pub fn freed_if_deleted(store_path: &Path, cache: &Path, blobs: &HashSet<PathBuf>) -> u64 {
    match references(store_path, cache) {
        Some(refs) if !refs.is_empty() && refs.is_subset(blobs) => {
            std::fs::symlink_metadata(store_path).map_or(0, |m| m.len())
        }
        _ => 0,
    }
}

/// Collects one payload if no valid reference is left, under its lock (the one Python takes to
/// publish and link, so a link being made now is never lost). Otherwise rewrites the manifest
/// without the dead lines. Returns the bytes freed. Blocking.
pub fn sweep(store_path: &Path, cache: &Path) -> std::io::Result<u64> {
    let lock = lock_path(store_path);
    // A planted symlink must not redirect the lock (Python opens it with O_NOFOLLOW).
    if std::fs::symlink_metadata(&lock).is_ok_and(|m| !m.is_file()) {
        return Ok(0);
    }
    let lock_file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o666)
        .open(&lock)?;
    lock_file.lock()?;
    let Some(references) = references(store_path, cache) else {
        return Ok(0);
    };
    let manifest = manifest_path(store_path);
    if !references.is_empty() {
        let mut lines: Vec<String> = references
            .iter()
            .filter_map(|r| relative_blob_path(r, cache))
            .collect();
        lines.sort();
        let temporary = super::temporary_sibling(&manifest);
        let mut file = std::fs::File::create(&temporary)?;
        for line in &lines {
            writeln!(file, "{line}")?;
        }
        file.sync_all()?;
        std::fs::rename(&temporary, &manifest)?;
        return Ok(0);
    }
    let metadata = std::fs::symlink_metadata(store_path)?;
    if !metadata.is_file() {
        return Ok(0);
    }
    std::fs::remove_file(store_path)?;
    let _ = std::fs::remove_file(&manifest);
    Ok(metadata.len())
}

#[cfg(test)]
mod tests;
