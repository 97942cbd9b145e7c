use super::*;
use crate::hub::RepoType;

fn repo(dir: &Path) -> CacheRepo {
    CacheRepo::new(dir, &RepoId::new(RepoType::Model, "acme/tiny").unwrap())
}

#[test]
fn layout_matches_huggingface_hub() {
    let dir = tempfile::tempdir().unwrap();
    let cache = repo(dir.path());
    cache.prepare().unwrap();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    cache.write_ref("main", commit).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("models--acme--tiny/refs/main")).unwrap(),
        commit.as_bytes()
    );
    cache.write_ref("refs/pr/1", commit).unwrap();
    assert!(
        dir.path()
            .join("models--acme--tiny/refs/refs/pr/1")
            .is_file()
    );
    assert_eq!(
        cache.read_ref("refs/pr/1").unwrap().as_deref(),
        Some(commit)
    );

    std::fs::write(cache.blob_path("abc"), b"x").unwrap();
    let nested = RepoPath::new("a/b.bin").unwrap();
    cache.link_snapshot(commit, &nested, "abc").unwrap();
    let link = dir
        .path()
        .join(format!("models--acme--tiny/snapshots/{commit}/a/b.bin"));
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        PathBuf::from("../../../blobs/abc")
    );
    assert_eq!(std::fs::read(&link).unwrap(), b"x");
    assert!(cache.has_file(commit, &nested, 1));

    let missing = RepoPath::new("nope.txt").unwrap();
    cache.mark_missing(commit, &missing).unwrap();
    assert!(cache.is_marked_missing(commit, &missing));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("CACHEDIR.TAG")).unwrap(),
        CACHEDIR_TAG_CONTENT
    );
    assert_eq!(
        cache.lock_path("abc"),
        dir.path().join(".locks/models--acme--tiny/abc.lock")
    );
}

#[test]
fn refs_written_by_other_tools_with_a_newline_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let cache = repo(dir.path());
    std::fs::create_dir_all(dir.path().join("models--acme--tiny/refs")).unwrap();
    std::fs::write(dir.path().join("models--acme--tiny/refs/main"), "abc\n").unwrap();
    assert_eq!(cache.read_ref("main").unwrap().as_deref(), Some("abc"));
    assert_eq!(cache.read_ref("dev").unwrap(), None);
}
