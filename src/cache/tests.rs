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
    cache.link_snapshot(commit, &nested, "abc", false).unwrap();
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

/// What a run `kill -9`ed between an atomic write and its rename leaves is swept once the file
/// is in place, even by a run that finds it already written; files that are not such
/// temporaries are left alone.
#[test]
fn temporaries_of_killed_writers_are_swept_once_the_file_is_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let cache = repo(dir.path());
    let commit = "0123456789abcdef0123456789abcdef01234567";
    cache.prepare().unwrap();
    cache.write_ref("main", commit).unwrap();
    let refs = dir.path().join("models--acme--tiny/refs");
    let planted = [
        (refs.join(".main.0badf00d.tmp"), false),
        (dir.path().join(".CACHEDIR.TAG.0badf00d.tmp"), false),
        // Another file's temporary, and names that are not `temporary_sibling`'s.
        (refs.join(".dev.0badf00d.tmp"), true),
        (refs.join(".main.notes.tmp"), true),
        (refs.join(".main.0badf00d0.tmp"), true),
    ];
    for (path, _) in &planted {
        std::fs::write(path, commit).unwrap();
    }
    // The ref already names the commit and the tag exists: nothing is written, all is swept.
    cache.prepare().unwrap();
    cache.write_ref("main", commit).unwrap();
    for (path, kept) in &planted {
        assert_eq!(path.exists(), *kept, "{}", path.display());
    }
    assert_eq!(cache.read_ref("main").unwrap().as_deref(), Some(commit));
}

/// Concurrent first runs all write the same listing, and each sweeps the others' temporaries
/// once its own is in place: every one of them must still succeed (a run failed with "Could not
/// write trees/….json: No such file or directory" in the soak when a swept writer only retried
/// once).
#[test]
fn concurrent_writers_that_sweep_each_other_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..200 {
        let path = dir.path().join(format!("trees/{round}.json"));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || write_shared(&path, b"the same listing"))
            })
            .collect();
        for writer in writers {
            writer.join().unwrap().unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"the same listing");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path().join("trees"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
