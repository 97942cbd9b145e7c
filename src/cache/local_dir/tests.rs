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
