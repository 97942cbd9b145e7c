use super::*;

#[test]
fn metadata_round_trip_and_staleness() {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalDir::new(dir.path());
    local.prepare().unwrap();
    let path = RepoPath::new("sub/model.bin").unwrap();
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::fs::write(local.file_path(&path), b"x").unwrap();
    local.write_metadata(&path, "c0ffee", "e7a9").unwrap();
    assert_eq!(
        local.metadata_path(&path),
        dir.path()
            .join(".cache/huggingface/download/sub/model.bin.metadata")
    );
    let metadata = local.read_metadata(&path).unwrap();
    assert_eq!(
        (metadata.commit.as_str(), metadata.etag.as_str()),
        ("c0ffee", "e7a9")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".cache/huggingface/.gitignore")).unwrap(),
        "*"
    );

    std::fs::write(local.metadata_path(&path), "garbage").unwrap();
    assert!(local.read_metadata(&path).is_none());
    assert!(
        !local.metadata_path(&path).exists(),
        "bad metadata is deleted"
    );
}

#[cfg(unix)]
#[test]
fn a_folder_inside_the_cache_is_recognised_through_symlinks_and_dot_dot() {
    let temp = tempfile::tempdir().unwrap();
    let cache = temp.path().join("hf/hub");
    let snapshot = cache.join("models--acme--tiny/snapshots/abc");
    std::fs::create_dir_all(&snapshot).unwrap();
    let link = temp.path().join("link-to-hub");
    std::os::unix::fs::symlink(&cache, &link).unwrap();
    assert!(is_inside_cache(&snapshot, &cache));
    assert!(is_inside_cache(&cache, &cache));
    assert!(is_inside_cache(&link.join("models--acme--tiny"), &cache));
    assert!(is_inside_cache(
        &temp.path().join("hf/hub/not-yet/deeper"),
        &cache
    ));
    assert!(is_inside_cache(
        &temp.path().join("elsewhere/../hf/hub/x"),
        &cache
    ));
    assert!(is_inside_cache(
        &temp.path().join("hf/missing/../hub"),
        &cache
    ));
    assert!(!is_inside_cache(&temp.path().join("hf"), &cache));
    assert!(!is_inside_cache(&temp.path().join("hf/hub-models"), &cache));
    assert!(!is_inside_cache(&temp.path().join("hf/hub/../out"), &cache));
    assert!(!is_inside_cache(
        &temp.path().join("out"),
        &cache.join("not-yet")
    ));
}
