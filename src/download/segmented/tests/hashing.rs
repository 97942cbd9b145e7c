//! The hasher thread and the writers: every byte hashed once, in order, and what is hashed is
//! what is on disk.

use super::*;

/// Cuts the file's one segment at `at`, nothing written yet: the two segments.
fn split_in_two(shared: &Shared, at: u64) -> Vec<Arc<Segment>> {
    {
        let mut segments = shared.segments.lock().unwrap();
        segments[0].end.store(at, Ordering::Release);
        segments.push(Arc::new(Segment::new(at, shared.size, 0)));
    }
    shared.segments()
}

#[test]
fn the_hasher_follows_written_prefixes_and_stops_on_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path(), "x", 8);
    let segments = split_in_two(&shared, 4);
    // Preallocated: zeros until a worker writes. Bytes are written *while* the hasher runs, in
    // the wrong order, so a hasher that read ahead of the published counts would hash zeros.
    let hashing = {
        let shared = shared.clone();
        std::thread::spawn(move || shared.hash_in_order())
    };
    // The second segment lands first; the hasher must wait for the first.
    write_all_at(&shared.file, b"efgh", 4).unwrap();
    segments[1].written.store(4, Ordering::Release);
    shared.notify();
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !hashing.is_finished(),
        "the first segment is not written yet"
    );
    // The first half of the first segment arrives in order: handed over, hashed from memory.
    let handed = block_on(shared.hand_to_hasher(0, Bytes::from_static(b"ab")));
    assert_eq!(handed, Some(0..2));
    write_all_at(&shared.file, b"ab", 0).unwrap();
    segments[0].written.store(2, Ordering::Release);
    shared.notify();
    std::thread::sleep(Duration::from_millis(20));
    write_all_at(&shared.file, b"cd", 2).unwrap();
    segments[0].written.store(4, Ordering::Release);
    shared.notify();
    assert_eq!(hashing.join().unwrap().unwrap(), sha256_of(b"abcdefgh"));
    let (from_memory, read_back) = shared.hash_paths();
    assert_eq!(from_memory, 2);
    assert_eq!(read_back, 6);

    let other = tempfile::tempdir().unwrap();
    let stuck = shared_for(other.path(), "y", 8);
    let waiting = {
        let stuck = stuck.clone();
        std::thread::spawn(move || stuck.hash_in_order())
    };
    stuck.cancel();
    assert!(waiting.join().unwrap().is_err(), "cancel ends the hasher");
}

#[test]
fn bytes_hashed_from_memory_are_not_hashed_again() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path(), "x", 6);
    let segment = shared.segments()[0].clone();
    write_all_at(&shared.file, b"abcdef", 0).unwrap();
    assert_eq!(shared.try_hash_here(0, b"abc"), Some(0..3));
    // A racing connection's copy of the same bytes.
    assert_eq!(shared.try_hash_here(0, b"abc"), None);
    // Overlapping: only "def" is new.
    assert_eq!(shared.try_hash_here(2, b"cdef"), Some(3..6));
    segment.written.store(6, Ordering::Release);
    let digest = shared.hash_in_order().unwrap();
    assert_eq!(digest, sha256_of(b"abcdef"));
    assert_eq!(shared.hash_paths(), (6, 0));
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn chunks_that_continue_the_hash_are_handed_over_and_the_rest_is_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path(), "x", 6);
    let segments = split_in_two(&shared, 4);
    let hand = |position, bytes: &'static [u8]| {
        block_on(shared.hand_to_hasher(position, Bytes::from_static(bytes)))
    };
    assert_eq!(hand(0, b"ab"), Some(0..2));
    assert_eq!(
        hand(4, b"ef"),
        None,
        "ahead of the hash: left to the read-back"
    );
    assert_eq!(hand(1, b"bcd"), Some(2..4), "overlapping: only what is new");
    for (segment, (bytes, at)) in segments.iter().zip([(&b"abcd"[..], 0), (&b"ef"[..], 4)]) {
        write_all_at(&shared.file, bytes, at).unwrap();
        segment.written.store(bytes.len() as u64, Ordering::Release);
    }
    assert_eq!(shared.hash_in_order().unwrap(), sha256_of(b"abcdef"));
    assert_eq!(shared.hash_paths(), (4, 2));
}

#[test]
fn a_connection_waits_while_the_hashers_queue_is_full_but_never_on_a_stopped_hasher() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path(), "x", 64);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hand = |position: u64| {
        runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_millis(50),
                shared.hand_to_hasher(position, Bytes::from(vec![b'z'; 8])),
            )
            .await
        })
    };
    for i in 0..4 {
        assert_eq!(hand(i * 8).unwrap(), Some(i * 8..i * 8 + 8));
    }
    assert!(
        hand(32).is_err(),
        "no place in the queue: the connection waits"
    );
    // A hasher that stopped with its queue full (here: cancelled) never leaves a connection
    // waiting for a place.
    shared.cancel();
    assert!(shared.hash_in_order().is_err());
    assert_eq!(hand(32).unwrap(), None);
}

#[test]
fn while_chunks_wait_in_the_hashers_queue_the_next_one_joins_it_instead_of_being_hashed_here() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path(), "x", 6);
    assert_eq!(
        block_on(shared.hand_to_hasher(0, Bytes::from_static(b"ab"))),
        Some(0..2)
    );
    assert_eq!(
        shared.try_hash_here(2, b"cd"),
        None,
        "hashing here would jump the queue"
    );
    assert_eq!(
        block_on(shared.hand_to_hasher(2, Bytes::from_static(b"cd"))),
        Some(2..4)
    );
    // The queue drained: hashing here resumes.
    let segment = shared.segments()[0].clone();
    write_all_at(&shared.file, b"abcd", 0).unwrap();
    segment.written.store(4, Ordering::Release);
    let hasher = {
        let shared = shared.clone();
        std::thread::spawn(move || shared.hash_in_order())
    };
    while !shared.handoff.is_empty() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut here = None;
    for _ in 0..1000 {
        here = shared.try_hash_here(4, b"ef");
        if here.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(here, Some(4..6));
    write_all_at(&shared.file, b"ef", 4).unwrap();
    segment.written.store(6, Ordering::Release);
    shared.notify();
    assert_eq!(hasher.join().unwrap().unwrap(), sha256_of(b"abcdef"));
    assert_eq!(shared.hash_paths(), (6, 0));
}

#[test]
fn the_read_back_never_hashes_what_a_connection_hashed_while_it_waited_for_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path(), "x", 8);
    write_all_at(&shared.file, b"abcdefgh", 0).unwrap();
    shared.segments()[0].written.store(8, Ordering::Release);
    // The connection holds the lock (it is hashing on arrival) while the hasher thread sees
    // written bytes at the hash position and waits for the lock to read them back.
    let mut held = shared.hash.lock().unwrap();
    let hasher = {
        let shared = shared.clone();
        std::thread::spawn(move || shared.hash_in_order())
    };
    std::thread::sleep(Duration::from_millis(50));
    shared.hash_in_memory(&mut held, 0, b"abcd");
    drop(held);
    assert_eq!(hasher.join().unwrap().unwrap(), sha256_of(b"abcdefgh"));
    assert_eq!(shared.hash_paths(), (4, 4));
}

#[test]
fn the_hash_moves_to_the_connection_once_every_core_has_a_fast_file() {
    let files = FastFiles::with_cores(2);
    let first = files.enter();
    assert!(
        !files.cpu_bound(),
        "one fast file, two cores: a core is free for its hash"
    );
    let second = files.enter();
    assert!(files.cpu_bound());
    drop(first);
    assert!(
        !files.cpu_bound(),
        "the other file's tail gets the free core"
    );
    drop(second);
}

fn sha256_of(bytes: &[u8]) -> String {
    let mut hasher = ContentHasher::new(HashKind::Sha256, bytes.len() as u64);
    hasher.update(bytes);
    hasher.finish()
}

#[test]
fn in_a_race_the_loser_never_overwrites_what_the_winner_wrote_and_hashed() {
    // A CDN that sends a different body on the slow connection ("what is verified
    // is what was written"): before each chunk was clipped to the frontier, the loser's
    // late bytes overwrote the winner's, and the digest checked bytes no longer on disk.
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path(), "x", 8);
    let segment = shared.segments()[0].clone();
    let winner = shared.try_hash_here(0, b"AAAAAA");
    assert_eq!(winner, Some(0..6), "next in line: hashed on arrival");
    assert_eq!(
        writer::place_chunk(&shared, &segment, 0, b"AAAAAA", winner).unwrap(),
        6
    );
    let late = shared.try_hash_here(0, b"bbbb");
    assert_eq!(late, None, "already hashed");
    assert_eq!(
        writer::place_chunk(&shared, &segment, 0, b"bbbb", late).unwrap(),
        0,
        "wholly behind the frontier: nothing written"
    );
    assert_eq!(
        writer::place_chunk(&shared, &segment, 4, b"bbbb", None).unwrap(),
        2,
        "only the part past the frontier is new"
    );
    assert!(segment.is_done());
    let on_disk = std::fs::read(&shared.incomplete).unwrap();
    assert_eq!(on_disk, b"AAAAAAbb");
    assert_eq!(shared.hash_in_order().unwrap(), sha256_of(&on_disk));
    assert!(!shared.rehash.load(Ordering::Acquire));
}

#[test]
fn bytes_hashed_on_arrival_but_written_by_another_connection_are_hashed_again_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_for(dir.path(), "x", 6);
    let segment = shared.segments()[0].clone();
    // The winner hands its chunk to the hasher, but the loser's writer gets there first.
    let winner = block_on(shared.hand_to_hasher(0, Bytes::from_static(b"AAAAAA")));
    assert_eq!(winner, Some(0..6));
    assert_eq!(
        writer::place_chunk(&shared, &segment, 0, b"bbbb", None).unwrap(),
        4
    );
    assert!(!shared.rehash.load(Ordering::Acquire));
    assert_eq!(
        writer::place_chunk(&shared, &segment, 0, b"AAAAAA", winner).unwrap(),
        2
    );
    assert_eq!(std::fs::read(&shared.incomplete).unwrap(), b"bbbbAA");
    assert!(
        shared.rehash.load(Ordering::Acquire),
        "the digest of AAAAAA is not the file's: it must be taken from the disk"
    );
}
