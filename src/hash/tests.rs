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

/// docs/engine.md, "Hashing": `update` hashes in 1 KiB pieces, touching the next one first; every byte must
/// still be hashed once, in order, whatever the lengths and wherever the calls split them.
#[test]
fn hashing_in_pieces_gives_the_digest_of_the_whole() {
    let content: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    for len in [0, 1, 63, 64, 1023, 1024, 1025, 2048, 3000, 100_000] {
        let bytes = &content[..len];
        let expected_sha256 = hex(&Sha256::digest(bytes));
        let mut git = Sha1::new();
        git.update(format!("blob {len}\0").as_bytes());
        git.update(bytes);
        let expected_sha1 = hex(&git.finalize());
        for split in [0, len / 3, len.saturating_sub(1)] {
            let (first, rest) = bytes.split_at(split);
            for (kind, expected) in [
                (HashKind::Sha256, &expected_sha256),
                (HashKind::GitSha1, &expected_sha1),
            ] {
                let mut hasher = ContentHasher::new(kind, len as u64);
                hasher.update(first);
                hasher.update(rest);
                assert_eq!(
                    &hasher.finish(),
                    expected,
                    "{kind:?}, {len} bytes split at {split}"
                );
            }
        }
    }
}
