//! The leases this process holds, so that an interrupted run (Ctrl-C, SIGTERM) removes them on
//! its way out: its tasks are not dropped before the process exits.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::release;

/// Leases this process holds, so an interrupted run (Ctrl-C) can remove them on its way out:
/// its tasks are not dropped before the process exits.
fn held() -> &'static Mutex<HashSet<(PathBuf, String)>> {
    static HELD: OnceLock<Mutex<HashSet<(PathBuf, String)>>> = OnceLock::new();
    HELD.get_or_init(|| Mutex::new(HashSet::new()))
}

pub(super) fn register_held(path: &Path, token: &str) {
    if let Ok(mut held) = held().lock() {
        held.insert((path.to_path_buf(), token.to_string()));
    }
}

pub(super) fn unregister_held(path: &Path) {
    if let Ok(mut held) = held().lock() {
        held.retain(|(p, _)| p != path);
    }
}

/// Removes every lease this process still holds (partial files stay, to be resumed).
pub fn release_all_held() {
    let leases: Vec<(PathBuf, String)> = match held().lock() {
        Ok(mut held) => held.drain().collect(),
        Err(_) => return,
    };
    for (path, token) in leases {
        release(&path, &token);
    }
}
