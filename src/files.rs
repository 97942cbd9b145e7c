//! Filesystem steps every module takes the same way: remove a file that may already be gone,
//! and run blocking filesystem work off the async workers.

use std::io;
use std::path::Path;

/// Removes `path`; a file that is already gone is not an error (another run, or an earlier
/// step of this one, removed it). Blocking.
pub(crate) fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A blocking task that did not finish: it panicked, or the runtime is shutting down.
#[derive(Debug, thiserror::Error)]
#[error("a background task failed: {0}")]
pub struct TaskFailed(String);

/// Runs filesystem (or keyring) work on tokio's blocking pool, so the async workers keep
/// serving the network while it waits on the disk.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TaskFailed> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| TaskFailed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_missing_file_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone");
        remove_if_exists(&path).unwrap();
        std::fs::write(&path, b"x").unwrap();
        remove_if_exists(&path).unwrap();
        assert!(!path.exists());
        // A folder is not a file: the error stands.
        assert!(remove_if_exists(dir.path()).is_err());
    }
}
