//! Before `cache verify --repair` downloads files again: removing what is bad, so that the
//! download cannot take the damaged copy for a finished one.
//!
//! - In the cache, a snapshot file is a link to `blobs/<etag>`. A blob with the wrong bytes is
//!   as wrong for every revision that links to it, so the blob goes with the link; the download
//!   writes both again. A blob that is a link into the shared Xet store (docs/cache-layout.md)
//!   is only a link: the shared payload is left to `cache prune`, since other repositories may
//!   use it.
//! - In a `--local-dir` folder, the file and its `.cache/huggingface/…/<file>.metadata` record go.
//!
//! Removal is best effort: a file that is already gone is what was wanted, and one that cannot be
//! removed makes the download fail with its own, precise error.

use std::path::Path;

use super::audit::Subject;
use super::{RepoPath, UnsafePath, shared_store};

/// The repo paths of `names`, refusing any that would leave the folder.
pub fn repo_paths(names: &[String]) -> Result<Vec<RepoPath>, UnsafePath> {
    names.iter().map(|name| RepoPath::new(name)).collect()
}

/// Removes `paths` of `subject` (and, in the cache, the blobs they link to). Blocking.
pub fn remove_bad(subject: &Subject, paths: &[RepoPath]) {
    for path in paths {
        let file = path.under(&subject.root);
        match &subject.local_dir {
            Some(local) => {
                remove_if_present(&file);
                remove_if_present(&local.metadata_path(path));
            }
            None => {
                if let Ok(target) = std::fs::read_link(&file)
                    && let Some(parent) = file.parent()
                {
                    // `blobs/<etag>` of this repository; when that is itself a link into the
                    // shared store, only the link goes.
                    remove_if_present(&shared_store::normalize(&parent.join(target)));
                }
                remove_if_present(&file);
            }
        }
    }
}

fn remove_if_present(path: &Path) {
    let _ = std::fs::remove_file(path);
}
