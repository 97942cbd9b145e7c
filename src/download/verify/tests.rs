use super::*;

#[test]
fn git_blob_sha1_matches_git_hash_object() {
    // `printf 'hello\n' | git hash-object --stdin`
    let mut hasher = ContentHasher::new(HashKind::GitSha1, 6);
    hasher.update(b"hello\n");
    assert_eq!(hasher.finish(), "ce013625030ba8dba906f756967f9e9ca394464a");
}

#[test]
fn sha256_of_content() {
    let mut hasher = ContentHasher::new(HashKind::Sha256, 3);
    hasher.update(b"abc");
    assert_eq!(
        hasher.finish(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(HashKind::for_etag(&"a".repeat(64)), HashKind::Sha256);
    assert_eq!(HashKind::for_etag(&"a".repeat(40)), HashKind::GitSha1);
}
