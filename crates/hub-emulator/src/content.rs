//! Content generation and hashing, plus the small encoding helpers the routes share.
//!
//! `Content::Pattern` files are generated on the fly so that a 1 GB test file costs no memory:
//! every 8-byte word is `splitmix64(seed, word index)`, which gives random access by offset
//! (needed for `Range` and for the `Corrupt` fault). Hashes are computed by streaming the same
//! generator once at startup.

use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::scenario::Content;

/// One pseudo-random word: splitmix64 keyed by seed and word index.
fn word(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Writes the pattern bytes `[offset, offset + buf.len())` into `buf`.
pub(crate) fn pattern_fill(seed: u64, offset: u64, buf: &mut [u8]) {
    let mut pos = 0usize;
    let mut abs = offset;
    while pos < buf.len() {
        let w = word(seed, abs / 8).to_le_bytes();
        let within = (abs % 8) as usize;
        if within == 0 && buf.len() - pos >= 8 {
            buf[pos..pos + 8].copy_from_slice(&w);
            pos += 8;
            abs += 8;
        } else {
            let n = (8 - within).min(buf.len() - pos);
            buf[pos..pos + n].copy_from_slice(&w[within..within + n]);
            pos += n;
            abs += n as u64;
        }
    }
}

/// Every hash the Hub exposes for one file.
#[derive(Clone, Debug)]
pub(crate) struct Hashes {
    pub sha256: String,
    pub git_sha1: String,
}

/// Streams the content once through sha256 and the git blob sha1.
pub(crate) fn hashes(content: &Content) -> Hashes {
    let len = content.len();
    let mut sha256 = Sha256::new();
    let mut sha1 = Sha1::new();
    sha1.update(format!("blob {len}\0").as_bytes());
    match content {
        Content::Bytes(b) => {
            sha256.update(b);
            sha1.update(b);
        }
        Content::Pattern { seed, .. } => {
            let mut buf = vec![0u8; 1 << 20];
            let mut off = 0u64;
            while off < len {
                let n = ((len - off) as usize).min(buf.len());
                pattern_fill(*seed, off, &mut buf[..n]);
                sha256.update(&buf[..n]);
                sha1.update(&buf[..n]);
                off += n as u64;
            }
        }
    }
    Hashes {
        sha256: hex(&sha256.finalize()),
        git_sha1: hex(&sha1.finalize()),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub(crate) fn sha1_hex(data: &[u8]) -> String {
    hex(&Sha1::digest(data))
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Git blob sha1 of an in-memory blob.
pub(crate) fn git_blob_sha1(data: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex(&h.finalize())
}

/// The Git-LFS pointer file text for a blob.
pub(crate) fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

pub(crate) fn is_hex40(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Percent-decodes a path segment or query component (`plus_as_space` for form bodies).
pub(crate) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let h = (bytes[i + 1] as char).to_digit(16);
                let l = (bytes[i + 2] as char).to_digit(16);
                match (h, l) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes like Python's `quote(s, safe=keep)`: unreserved characters and `keep` stay.
pub(crate) fn percent_encode(s: &str, keep: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "-._~".contains(c) || (b < 128 && keep.contains(c)) {
            out.push(c);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses a query string into decoded `(key, value)` pairs.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(kv, true), String::new()),
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.000Z` for a unix timestamp (the Hub's date format, §3.1).
pub(crate) fn iso8601(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (or a bare date) into a unix timestamp.
pub(crate) fn parse_iso8601(s: &str) -> Option<u64> {
    let s = s.trim();
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00:00"));
    let mut dp = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (dp.next()??, dp.next()??, dp.next()??);
    let time = time.trim_end_matches('Z');
    let time = time.split(['.', '+']).next()?;
    let mut tp = time.split(':').map(|p| p.parse::<u64>().ok());
    let (hh, mm) = (tp.next()??, tp.next().flatten().unwrap_or(0));
    let ss = tp.next().flatten().unwrap_or(0);
    let days = days_from_civil(y, m as u32, d as u32);
    if days < 0 {
        return Some(0);
    }
    Some(days as u64 * 86_400 + hh * 3600 + mm * 60 + ss)
}

// Howard Hinnant's civil calendar algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_random_access_matches_sequential() {
        let mut all = vec![0u8; 100];
        pattern_fill(5, 0, &mut all);
        for off in 0..50 {
            let mut part = vec![0u8; 13];
            pattern_fill(5, off, &mut part);
            assert_eq!(&part[..], &all[off as usize..off as usize + 13]);
        }
    }

    #[test]
    fn git_sha1_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha1(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        let h = hashes(&Content::Bytes(b"hello\n".to_vec()));
        assert_eq!(h.git_sha1, "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(
            parse_iso8601("2023-11-14T22:13:20.000Z"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_iso8601("2023-11-14T22:13:20Z"), Some(1_700_000_000));
    }

    #[test]
    fn percent_round_trip() {
        assert_eq!(percent_encode("refs/pr/1", ""), "refs%2Fpr%2F1");
        assert_eq!(percent_decode("refs%2Fpr%2F1", false), "refs/pr/1");
        assert_eq!(percent_encode("a b/c.json", "/"), "a%20b/c.json");
    }
}
