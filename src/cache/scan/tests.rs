use super::*;

const SHA256: &str = "c59d3c0480cc2d71d8f646e735e92da65450311eec46e81a5db8c7e6e8a92054";

#[test]
fn partial_names_of_hfget_and_python_are_recognised() {
    let cases = [
        (
            format!("{SHA256}.incomplete"),
            Some(PartialKind::Incomplete),
        ),
        (
            format!("{SHA256}.1a2b3c4d.incomplete"),
            Some(PartialKind::Incomplete),
        ),
        (
            format!("{SHA256}.incomplete.chunks"),
            Some(PartialKind::Sidecar),
        ),
        (
            format!(".{SHA256}.incomplete.chunks.0badf00d.tmp"),
            Some(PartialKind::Temporary),
        ),
        (
            format!(".{SHA256}.1a2b3c4d.shared"),
            Some(PartialKind::Temporary),
        ),
        (
            format!("{SHA256}.hfget-0123456789abcdef.incomplete"),
            Some(PartialKind::Incomplete),
        ),
        (format!("{SHA256}.lease"), Some(PartialKind::Lease)),
        (
            format!(".{SHA256}.lease.0badf00d.expired"),
            Some(PartialKind::Temporary),
        ),
        (SHA256.to_string(), None),
        ("notes.incomplete".to_string(), None),
    ];
    for (name, kind) in cases {
        let found = classify_partial(&name);
        assert_eq!(found.as_ref().map(|f| f.0), kind, "{name}");
        if let Some((_, etag)) = found {
            assert_eq!(etag, SHA256);
        }
    }
}

#[test]
fn a_repo_with_a_broken_link_or_a_dangling_ref_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("models--o--m");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    std::fs::create_dir_all(repo.join("snapshots").join(commit)).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), format!("{commit}\n")).unwrap();
    let inventory = scan(dir.path()).unwrap();
    assert!(inventory.repos.is_empty());
    assert!(
        inventory.warnings[0].contains("missing commit hashes"),
        "{:?}",
        inventory.warnings
    );
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    std::os::unix::fs::symlink(
        "../../blobs/nope",
        repo.join("snapshots").join(commit).join("f"),
    )
    .unwrap();
    let inventory = scan(dir.path()).unwrap();
    assert!(
        inventory.warnings[0].contains("Blob missing"),
        "{:?}",
        inventory.warnings
    );
}

#[test]
fn sizes_count_distinct_blobs_and_copies() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("datasets--o--d");
    let (a, b) = (
        "0123456789abcdef0123456789abcdef01234567",
        "1123456789abcdef0123456789abcdef01234567",
    );
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::write(repo.join("blobs").join(SHA256), vec![0u8; 100]).unwrap();
    for commit in [a, b] {
        let snapshot = repo.join("snapshots").join(commit);
        std::fs::create_dir_all(snapshot.join("sub")).unwrap();
        std::os::unix::fs::symlink(format!("../../blobs/{SHA256}"), snapshot.join("x")).unwrap();
        std::os::unix::fs::symlink(format!("../../../blobs/{SHA256}"), snapshot.join("sub/y"))
            .unwrap();
    }
    // A copy (no symlink support) counts as its own blob.
    std::fs::write(repo.join("snapshots").join(b).join("copy"), vec![0u8; 10]).unwrap();
    let inventory = scan(dir.path()).unwrap();
    let repo = &inventory.repos[0];
    assert_eq!(repo.id, "dataset/o/d");
    assert_eq!((repo.size_on_disk, repo.nb_files), (110, 2));
    assert_eq!(
        (repo.revisions[0].size_on_disk, repo.revisions[0].nb_files),
        (100, 2)
    );
    assert_eq!(
        (repo.revisions[1].size_on_disk, repo.revisions[1].nb_files),
        (110, 3)
    );
    assert_eq!(inventory.size_on_disk, 110);
}
