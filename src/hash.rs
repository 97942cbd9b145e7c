//! Content hashes: what names a file on the Hub, and how hfget checks what it wrote.
//!
//! The Hub names an LFS file by the sha256 of its content and any other file by its git blob
//! sha1 (`sha1("blob <len>\0" + content)`); see docs/protocol.md §1.7. Downloads hash while
//! they stream, resumes re-hash the prefix they keep, and `cache verify` re-hashes blobs: all of
//! them through this module.

use sha1::Sha1;
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashKind {
    Sha256,
    GitSha1,
}

impl HashKind {
    /// The kind that names a blob: 64 hex characters is a sha256, 40 a git sha1.
    pub fn for_etag(etag: &str) -> HashKind {
        if etag.len() == 64 {
            HashKind::Sha256
        } else {
            HashKind::GitSha1
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            HashKind::Sha256 => "sha256",
            HashKind::GitSha1 => "git blob sha1",
        }
    }
}

pub enum ContentHasher {
    Sha256(Box<Sha256>),
    GitSha1(Box<Sha1>),
}

impl ContentHasher {
    /// A hasher for a file of `size` bytes (the git header needs the size up front).
    pub fn new(kind: HashKind, size: u64) -> ContentHasher {
        match kind {
            HashKind::Sha256 => ContentHasher::Sha256(Box::new(Sha256::new())),
            HashKind::GitSha1 => {
                let mut hasher = Sha1::new();
                hasher.update(format!("blob {size}\0").as_bytes());
                ContentHasher::GitSha1(Box::new(hasher))
            }
        }
    }

    /// Hashes `bytes` a [`PREFETCH_AHEAD`] piece at a time, asking the CPU for the next piece
    /// before hashing this one.
    ///
    /// Why (docs/engine.md, "Hashing"): the bytes are rarely in the core's own cache. A chunk came out of the
    /// socket on another core (the file's hasher thread), or was copied in by the kernel a few
    /// hundred KiB ago. On the 2-core benchmark VM (Xeon, SHA-NI) SHA-256 ran at 1.9 GB/s over
    /// a buffer in L1 but at 1.37 GB/s over chunks another thread had just filled: the hardware
    /// prefetcher did not keep up with SHA-NI. Asking for the next KiB while hashing this one
    /// gave 1.78-1.85 GB/s (3 passes over 1 GB in 400 KiB chunks, twice; splitting without
    /// asking gave 1.36 GB/s). Asking changes no result: only when the bytes arrive.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut pieces = bytes.chunks(PREFETCH_AHEAD).peekable();
        while let Some(piece) = pieces.next() {
            if let Some(next) = pieces.peek() {
                prefetch(next);
            }
            match self {
                ContentHasher::Sha256(h) => h.update(piece),
                ContentHasher::GitSha1(h) => h.update(piece),
            }
        }
    }

    /// The lowercase hex digest.
    pub fn finish(self) -> String {
        match self {
            ContentHasher::Sha256(h) => hex(&h.finalize()),
            ContentHasher::GitSha1(h) => hex(&h.finalize()),
        }
    }
}

/// How far ahead [`ContentHasher::update`] asks for bytes: 1 KiB measured best (2 KiB gave
/// 1.67 GB/s).
const PREFETCH_AHEAD: usize = 1024;

/// Brings `bytes` towards the core: one load per 64-byte cache line. The loads' misses overlap
/// each other and the hashing of the piece before (the CPU runs ahead of a load whose value
/// nothing waits for); `black_box` keeps them from being optimised away. Measured as good as
/// the x86 prefetch instruction (1.78 against 1.83 GB/s), with no `unsafe` and on any CPU.
fn prefetch(bytes: &[u8]) {
    let folded = bytes
        .iter()
        .step_by(64)
        .fold(0u8, |folded, byte| folded ^ byte);
    std::hint::black_box(folded);
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Hashes `len` bytes of a file from its start (used to continue a resumed download's hash, and
/// to adopt an existing local file). Blocking: call from `spawn_blocking`.
pub fn hash_file_prefix(
    path: &std::path::Path,
    len: u64,
    hasher: &mut ContentHasher,
) -> std::io::Result<()> {
    let total = hash_file_reporting(path, len, hasher, |_| {})?;
    if total != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("expected {len} bytes, found {total}"),
        ));
    }
    Ok(())
}

/// Hashes up to `len` bytes of a file from its start, telling `on_read` how many bytes each read
/// brought (progress bars), and returns how many there were: a shorter file is not an error
/// here. Blocking: call from `spawn_blocking`.
pub fn hash_file_reporting(
    path: &std::path::Path,
    len: u64,
    hasher: &mut ContentHasher,
    mut on_read: impl FnMut(u64),
) -> std::io::Result<u64> {
    use std::io::Read;
    let mut reader = std::fs::File::open(path)?.take(len);
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            return Ok(total);
        }
        hasher.update(&buffer[..read]);
        on_read(read as u64);
        total += read as u64;
    }
}

#[cfg(test)]
mod tests;
