use super::*;

#[test]
fn normalize_resolves_dots_without_the_filesystem() {
    assert_eq!(
        normalize(Path::new("/c/models--a--b/blobs/../../blobs/ab/x")),
        PathBuf::from("/c/blobs/ab/x")
    );
}

/// A store as huggingface_hub 2.4.0 lays it out: marker, payload, manifest, relative link.
fn store_with_one_link(dir: &Path) -> (PathBuf, PathBuf) {
    let hash = format!("ab{}", "0".repeat(62));
    let store = dir.join("blobs");
    std::fs::create_dir_all(store.join("ab")).unwrap();
    std::fs::write(store.join(MARKER), "1\n").unwrap();
    let payload = store.join("ab").join(&hash);
    std::fs::write(&payload, b"payload").unwrap();
    std::fs::write(
        store.join("ab").join(format!("{hash}.refs")),
        "models--o--m/blobs/e1\nmodels--o--gone/blobs/e2\n../escape\n",
    )
    .unwrap();
    let repo_blobs = dir.join("models--o--m/blobs");
    std::fs::create_dir_all(&repo_blobs).unwrap();
    let link = repo_blobs.join("e1");
    std::os::unix::fs::symlink(format!("../../blobs/ab/{hash}"), &link).unwrap();
    (payload, link)
}

#[test]
fn a_marked_store_resolves_links_and_counts_only_valid_references() {
    let dir = tempfile::tempdir().unwrap();
    let (payload, link) = store_with_one_link(dir.path());
    assert!(is_marked(dir.path()));
    assert_eq!(link_target(&link, dir.path()), Some(payload.clone()));
    let refs = references(&payload, dir.path()).unwrap();
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), vec![link.clone()]);
    let entries = entries(dir.path());
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].size, entries[0].references), (7, Some(1)));
    let all: HashSet<PathBuf> = [link.clone()].into_iter().collect();
    assert_eq!(freed_if_deleted(&payload, dir.path(), &all), 7);
    assert_eq!(freed_if_deleted(&payload, dir.path(), &HashSet::new()), 0);
}

#[test]
fn sweep_keeps_a_linked_payload_and_collects_it_once_unlinked() {
    let dir = tempfile::tempdir().unwrap();
    let (payload, link) = store_with_one_link(dir.path());
    assert_eq!(sweep(&payload, dir.path()).unwrap(), 0);
    let manifest = std::fs::read_to_string(manifest_path(&payload)).unwrap();
    assert_eq!(manifest, "models--o--m/blobs/e1\n", "dead lines dropped");
    std::fs::remove_file(&link).unwrap();
    assert_eq!(sweep(&payload, dir.path()).unwrap(), 7);
    assert!(!payload.exists() && !manifest_path(&payload).exists());
}

#[test]
fn without_a_manifest_nothing_is_collected() {
    let dir = tempfile::tempdir().unwrap();
    let (payload, link) = store_with_one_link(dir.path());
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_file(manifest_path(&payload)).unwrap();
    assert_eq!(references(&payload, dir.path()), None);
    assert_eq!(sweep(&payload, dir.path()).unwrap(), 0);
    assert!(payload.exists(), "leak rather than delete");
}

#[test]
fn an_unmarked_blobs_folder_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    store_with_one_link(dir.path());
    std::fs::write(dir.path().join("blobs").join(MARKER), "2\n").unwrap();
    assert!(!is_marked(dir.path()));
    assert!(entries(dir.path()).is_empty());
}
