//! `--local-dir` when the blob is already in the cache: copy it instead of downloading it, with
//! the same promises a download makes. The copy grows in the local folder's own
//! `.cache/huggingface/download/<path>.<etag>.incomplete` (one name per file, under its lock),
//! so an interrupted copy is continued by the next run instead of being left behind as a
//! randomly named temporary file; the result is hashed against the etag before it is renamed
//! into place, and moves the progress bars like a download.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::DownloadError;
use super::remote::RemoteFile;
use super::report::Meter;
use super::verify::place;
use crate::cache::CacheError;
use crate::hash::{ContentHasher, hash_file_prefix};

const BUFFER: usize = 1 << 20;

pub struct LocalCopy {
    pub blob: PathBuf,
    pub incomplete: PathBuf,
    pub destination: PathBuf,
    pub file: RemoteFile,
    pub meter: Meter,
}

impl LocalCopy {
    /// Copies (or continues copying) the blob and places it. Blocking: run it off the async
    /// workers. A resumed prefix that does not hash out is dropped and the copy starts over
    /// once; a blob that does not match its own name is an integrity error.
    pub fn run(&self) -> Result<(), DownloadError> {
        if let Some(parent) = self.incomplete.parent() {
            crate::cache::create_dir_all(parent)?;
        }
        let resumed = self.copy_rest()?;
        if self.hash_is_wrong()? {
            crate::cache::remove_file(&self.incomplete)?;
            if resumed == 0 {
                return Err(self.corrupt_blob());
            }
            // The partial file was not this blob's prefix after all (say, a cut download of
            // the same etag that was corrupted): start over from the blob, once.
            self.meter.rewind(self.file.size);
            self.copy_rest()?;
            if self.hash_is_wrong()? {
                crate::cache::remove_file(&self.incomplete)?;
                return Err(self.corrupt_blob());
            }
        }
        remove_stale_temporaries(&self.destination);
        place(&self.incomplete, &self.destination)
    }

    fn corrupt_blob(&self) -> DownloadError {
        DownloadError::Integrity {
            path: self.file.path.to_string(),
            kind: self.file.kind.label(),
            expected: self.file.etag.clone(),
            actual: format!("other content in the cached blob {}", self.blob.display()),
        }
    }

    /// Appends what the partial file lacks; returns how many bytes it already held.
    fn copy_rest(&self) -> Result<u64, DownloadError> {
        let size = self.file.size;
        let mut output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.incomplete)
            .map_err(|e| CacheError::io("write", &self.incomplete, e))?;
        let mut offset = output
            .metadata()
            .map_err(|e| CacheError::io("read", &self.incomplete, e))?
            .len();
        if offset > size {
            output
                .set_len(0)
                .map_err(|e| CacheError::io("truncate", &self.incomplete, e))?;
            offset = 0;
        }
        let resumed = offset;
        self.meter.advance_resumed(resumed);
        let mut input =
            File::open(&self.blob).map_err(|e| CacheError::io("read", &self.blob, e))?;
        input
            .seek(SeekFrom::Start(offset))
            .map_err(|e| CacheError::io("read", &self.blob, e))?;
        let mut buffer = vec![0u8; BUFFER];
        while offset < size {
            let read = input
                .read(&mut buffer)
                .map_err(|e| CacheError::io("read", &self.blob, e))?;
            if read == 0 {
                break;
            }
            output
                .write_all(&buffer[..read])
                .map_err(|e| CacheError::io("write", &self.incomplete, e))?;
            offset += read as u64;
            self.meter.advance(read as u64);
        }
        output
            .flush()
            .map_err(|e| CacheError::io("write", &self.incomplete, e))?;
        Ok(resumed)
    }

    fn hash_is_wrong(&self) -> Result<bool, DownloadError> {
        let mut hasher = ContentHasher::new(self.file.kind, self.file.size);
        match hash_file_prefix(&self.incomplete, self.file.size, &mut hasher) {
            Ok(()) => Ok(hasher.finish() != self.file.etag),
            // Shorter than promised: the blob itself is short.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(true),
            Err(e) => Err(CacheError::io("read", &self.incomplete, e).into()),
        }
    }
}

/// Earlier hfget versions copied through `.<name>.<8 hex>.tmp` beside the destination and left
/// it behind when interrupted; nothing else writes such names there. Best effort.
fn remove_stale_temporaries(destination: &Path) {
    let (Some(parent), Some(name)) = (destination.parent(), destination.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let stale = entry_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .is_some_and(|hex| hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
