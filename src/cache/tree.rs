//! The per-commit listing cache, `trees/<commit>.json`, in the format huggingface_hub 2.x reads
//! and writes (`_tree_cache.py`, format_version 1). A commit never changes, so its listing is
//! cached forever: a later run at the same commit needs no listing request, and a run pinned to
//! a commit hash needs no request at all.
//!
//! It uses the Hub's listing types (`hub::api::TreeEntry`) on purpose: the file *is* the Hub's
//! listing, stored as the Hub sent it, so a cache-side copy of those types would only add a
//! conversion that can drift. The edge is one-way: `hub` imports nothing from `cache`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{CacheError, write_shared};
use crate::hub::api::{LfsInfo, TreeEntry};

const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct TreeFile {
    format_version: u32,
    files: BTreeMap<String, TreeFileEntry>,
}

#[derive(Serialize, Deserialize)]
struct TreeFileEntry {
    size: u64,
    blob_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    lfs_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    lfs_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    xet_hash: Option<String>,
}

/// Reads a cached listing; anything unreadable or of another format counts as absent, as in
/// Python (a newer writer's format is simply re-fetched).
pub fn read(path: &Path) -> Option<Vec<TreeEntry>> {
    let text = std::fs::read_to_string(path).ok()?;
    let file: TreeFile = serde_json::from_str(&text).ok()?;
    if file.format_version != FORMAT_VERSION {
        return None;
    }
    Some(
        file.files
            .into_iter()
            .map(|(path, entry)| TreeEntry {
                kind: "file".to_string(),
                path,
                oid: entry.blob_id,
                size: entry.size,
                lfs: entry.lfs_sha256.map(|oid| LfsInfo {
                    oid,
                    size: entry.lfs_size.unwrap_or(entry.size),
                }),
                xet_hash: entry.xet_hash,
            })
            .collect(),
    )
}

/// Writes the listing (sorted, one-space indent like Python's `json.dump(indent=1)`).
pub fn write(path: &Path, entries: &[TreeEntry]) -> Result<(), CacheError> {
    let files = entries
        .iter()
        .map(|entry| {
            (
                entry.path.clone(),
                TreeFileEntry {
                    size: entry.size,
                    blob_id: entry.oid.clone(),
                    lfs_sha256: entry.lfs.as_ref().map(|l| l.oid.clone()),
                    lfs_size: entry.lfs.as_ref().map(|l| l.size),
                    // Python drops listings whose Xet hashes are not 64-hex; keep only valid ones.
                    xet_hash: entry
                        .xet_hash
                        .clone()
                        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())),
                },
            )
        })
        .collect();
    let file = TreeFile {
        format_version: FORMAT_VERSION,
        files,
    };
    let mut buffer = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut buffer, formatter);
    file.serialize(&mut serializer)
        .map_err(|e| CacheError::io("encode", path, std::io::Error::other(e)))?;
    // Concurrent runs at a new commit all write its listing (the same bytes).
    write_shared(path, &buffer)
}

#[cfg(test)]
mod tests;
