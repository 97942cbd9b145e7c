//! The resume record beside a segmented partial file (`<incomplete>.chunks`): which bytes of
//! each segment are written, so a later run fetches only the rest.

use super::*;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What the sidecar holds.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Sidecar {
    pub(super) version: u32,
    pub(super) etag: String,
    pub(super) size: u64,
    /// `[start, end (exclusive), bytes written from start]`, one per segment.
    pub(super) chunks: Vec<[u64; 3]>,
}

pub fn sidecar_path(incomplete: &Path) -> PathBuf {
    let mut name = incomplete.as_os_str().to_os_string();
    name.push(".chunks");
    PathBuf::from(name)
}

/// Bytes a partial download already holds, for the free-space check: the sidecar's count when
/// there is one (the `.incomplete` itself is preallocated to full size), else its length.
pub fn bytes_on_disk(incomplete: &Path, etag: &str, size: u64) -> u64 {
    match read_sidecar(&sidecar_path(incomplete), etag, size) {
        Some(chunks) => chunks.iter().map(|c| c[2]).sum(),
        None => file_len(incomplete).min(size),
    }
}

pub(super) fn read_sidecar(path: &Path, etag: &str, size: u64) -> Option<Vec<[u64; 3]>> {
    let text = std::fs::read_to_string(path).ok()?;
    let record: Sidecar = serde_json::from_str(&text).ok()?;
    let valid = record.version == SIDECAR_VERSION
        && record.etag == etag
        && record.size == size
        && layout_is_valid(&record.chunks, size);
    valid.then_some(record.chunks)
}

/// Segments must tile `[0, size)` in order, each with `written <= len`.
pub(super) fn layout_is_valid(chunks: &[[u64; 3]], size: u64) -> bool {
    let mut expected_start = 0;
    for &[start, end, written] in chunks {
        if start != expected_start || end <= start || written > end - start {
            return false;
        }
        expected_start = end;
    }
    expected_start == size && !chunks.is_empty()
}

/// The layout of a file with a written prefix of `prefix` bytes and no record: one segment, or
/// a finished prefix and the rest.
pub(super) fn layout_with_prefix(size: u64, prefix: u64) -> Vec<[u64; 3]> {
    let prefix = prefix.min(size);
    if prefix == 0 || prefix == size {
        return vec![[0, size, prefix]];
    }
    vec![[0, prefix, prefix], [prefix, size, 0]]
}

pub(super) struct Opened {
    pub(super) file: std::fs::File,
    pub(super) layout: Vec<[u64; 3]>,
}

/// Opens (or creates) the `.incomplete` and decides which bytes are already there: the
/// sidecar's record if it is valid for this blob and the file has full size, else the file's
/// length as a written prefix. Then writes the sidecar and preallocates. Blocking.
pub(super) fn open_state(
    incomplete: &Path,
    etag: &str,
    size: u64,
) -> Result<Opened, DownloadError> {
    let sidecar = sidecar_path(incomplete);
    // A run killed between writing the sidecar's temporary and renaming it left
    // `.<sidecar>.<random>.tmp`; whoever resumes the download (holding its lock, or using a
    // name private to this process) clears them.
    crate::cache::sweep_temporaries(&sidecar);
    let existing = file_len(incomplete);
    let layout = match read_sidecar(&sidecar, etag, size) {
        Some(chunks) if existing == size => chunks,
        _ if existing > size => {
            crate::cache::remove_file(incomplete)?;
            layout_with_prefix(size, 0)
        }
        _ => layout_with_prefix(size, existing),
    };
    if let Some(parent) = incomplete.parent() {
        crate::cache::create_dir_all(parent)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(incomplete)
        .map_err(|e| CacheError::io("open", incomplete, e))?;
    // The sidecar first, then the full length: a preallocated file always has a record of which
    // of its bytes are real.
    let record = Sidecar {
        version: SIDECAR_VERSION,
        etag: etag.to_string(),
        size,
        chunks: layout.clone(),
    };
    let text = serde_json::to_string(&record).map_err(|e| DownloadError::Task(e.to_string()))?;
    write_atomically(&sidecar, &text)?;
    preallocate(&file, size).map_err(|e| CacheError::io("allocate space for", incomplete, e))?;
    Ok(Opened { file, layout })
}

/// Reserves the blocks (so a full disk fails now) where the filesystem can, else just sets the
/// length.
pub(super) fn preallocate(file: &std::fs::File, size: u64) -> std::io::Result<()> {
    match fs4::FileExt::allocate(file, size) {
        Ok(()) => Ok(()),
        Err(e) if crate::cache::is_disk_full(&e) => Err(e),
        Err(_) => file.set_len(size),
    }
}

pub(super) fn write_atomically(path: &Path, text: &str) -> Result<(), DownloadError> {
    let temporary = crate::cache::temporary_sibling(path);
    std::fs::write(&temporary, text).map_err(|e| CacheError::io("write", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| CacheError::io("write", path, e).into())
}

pub(super) async fn persist(shared: &Arc<Shared>) -> Result<(), DownloadError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || persist_now(&shared))
        .await
        .map_err(task_error)?
}

/// Writes the sidecar. Blocking.
pub(super) fn persist_now(shared: &Shared) -> Result<(), DownloadError> {
    let _guard = shared.persist_lock.lock();
    if !shared.incomplete.exists() {
        return Ok(());
    }
    for segment in shared.segments() {
        segment
            .persisted
            .store(segment.written.load(Ordering::Acquire), Ordering::Release);
    }
    let text = shared.sidecar_json()?;
    shared.recorded_ms.store(now_ms(), Ordering::Release);
    write_atomically(&shared.sidecar, &text)
}

pub(super) fn discard(incomplete: &Path, sidecar: &Path) -> Result<(), DownloadError> {
    crate::cache::remove_file(sidecar)?;
    Ok(crate::cache::remove_file(incomplete)?)
}

pub(super) fn task_error(error: tokio::task::JoinError) -> DownloadError {
    DownloadError::Task(error.to_string())
}
