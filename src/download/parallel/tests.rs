use super::*;

#[test]
fn chunks_tile_the_file() {
    assert_eq!(plan_chunks(10, 4), vec![(0, 4), (4, 8), (8, 10)]);
    assert_eq!(plan_chunks(8, 4), vec![(0, 4), (4, 8)]);
    assert!(plan_chunks(0, 4).is_empty());
}

#[test]
fn a_single_stream_prefix_marks_chunks_written() {
    assert_eq!(
        chunks_with_prefix(10, 4, 5),
        vec![[0, 4, 4], [4, 8, 1], [8, 10, 0]]
    );
    assert_eq!(
        chunks_with_prefix(10, 4, 0),
        vec![[0, 4, 0], [4, 8, 0], [8, 10, 0]]
    );
}

#[test]
fn sidecar_layouts_are_checked() {
    assert!(layout_is_valid(&[[0, 4, 4], [4, 10, 0]], 10));
    assert!(!layout_is_valid(&[[0, 4, 5], [4, 10, 0]], 10), "overfull");
    assert!(!layout_is_valid(&[[0, 4, 0], [5, 10, 0]], 10), "gap");
    assert!(!layout_is_valid(&[[0, 4, 0]], 10), "short");
    assert!(!layout_is_valid(&[], 0), "empty");
}

#[test]
fn the_threshold_follows_the_chunk_size() {
    let tuning = Tuning {
        connections_per_file: 8,
        chunk_size: 16 << 20,
    };
    assert!(!tuning.splits((32 << 20) - 1));
    assert!(tuning.splits(32 << 20));
    let single = Tuning {
        connections_per_file: 1,
        ..tuning
    };
    assert!(!single.splits(1 << 30));
}

#[test]
fn a_sidecar_round_trips_and_counts_bytes_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let incomplete = dir.path().join("blob.incomplete");
    let etag = "e".repeat(64);
    let opened = open_state(&incomplete, &etag, 10, 4).unwrap();
    assert_eq!(file_len(&incomplete), 10, "preallocated");
    assert_eq!(bytes_on_disk(&incomplete, &etag, 10), 0);
    opened.chunks[1].written.store(3, Ordering::Release);
    let shared = Shared {
        file: opened.file,
        incomplete: incomplete.clone(),
        sidecar: sidecar_path(&incomplete),
        etag: etag.clone(),
        size: 10,
        chunks: opened.chunks,
        next: AtomicUsize::new(0),
        cancelled: AtomicBool::new(false),
        signal: (Mutex::new(()), Condvar::new()),
        persist_lock: Mutex::new(()),
    };
    write_atomically(&shared.sidecar, &shared.sidecar_json().unwrap()).unwrap();
    assert_eq!(bytes_on_disk(&incomplete, &etag, 10), 3);
    let reopened = open_state(&incomplete, &etag, 10, 2).unwrap();
    let layout: Vec<_> = reopened
        .chunks
        .iter()
        .map(|c| (c.start, c.end, c.written.load(Ordering::Acquire)))
        .collect();
    assert_eq!(
        layout,
        vec![(0, 4, 0), (4, 8, 3), (8, 10, 0)],
        "the recorded layout wins over a new chunk size"
    );
    assert_eq!(
        bytes_on_disk(&incomplete, &"f".repeat(64), 10),
        10,
        "another blob's sidecar is ignored"
    );
}

#[test]
fn the_hasher_follows_written_prefixes_and_stops_on_cancel() {
    use super::super::verify::HashKind;
    let dir = tempfile::tempdir().unwrap();
    let incomplete = dir.path().join("blob.incomplete");
    // Preallocated: zeros until a worker writes. Bytes are written *while* the hasher runs, in
    // the wrong order, so a hasher that read ahead of the published counts would hash zeros.
    let opened = open_state(&incomplete, "x", 8, 4).unwrap();
    let shared = Arc::new(Shared {
        file: opened.file,
        incomplete: incomplete.clone(),
        sidecar: sidecar_path(&incomplete),
        etag: "x".into(),
        size: 8,
        chunks: opened.chunks,
        next: AtomicUsize::new(0),
        cancelled: AtomicBool::new(false),
        signal: (Mutex::new(()), Condvar::new()),
        persist_lock: Mutex::new(()),
    });
    let hashing = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            shared
                .hash_in_order(ContentHasher::new(HashKind::Sha256, 8))
                .map(ContentHasher::finish)
        })
    };
    // The second chunk lands first; the hasher must wait for the first.
    write_all_at(&shared.file, b"efgh", 4).unwrap();
    shared.chunks[1].written.store(4, Ordering::Release);
    shared.notify();
    std::thread::sleep(Duration::from_millis(50));
    assert!(!hashing.is_finished(), "the first chunk is not written yet");
    write_all_at(&shared.file, b"ab", 0).unwrap();
    shared.chunks[0].written.store(2, Ordering::Release);
    shared.notify();
    std::thread::sleep(Duration::from_millis(20));
    write_all_at(&shared.file, b"cd", 2).unwrap();
    shared.chunks[0].written.store(4, Ordering::Release);
    shared.notify();
    let mut expected = ContentHasher::new(HashKind::Sha256, 8);
    expected.update(b"abcdefgh");
    assert_eq!(hashing.join().unwrap().unwrap(), expected.finish());

    shared.chunks[0].written.store(0, Ordering::Release);
    let stuck = {
        let shared = shared.clone();
        std::thread::spawn(move || shared.hash_in_order(ContentHasher::new(HashKind::Sha256, 8)))
    };
    shared.cancel();
    assert!(stuck.join().unwrap().is_err(), "cancel ends the hasher");
}

#[test]
fn a_resumed_download_clears_sidecar_temporaries_left_by_a_killed_run() {
    let dir = tempfile::tempdir().unwrap();
    let incomplete = dir.path().join("abc.incomplete");
    let sidecar = sidecar_path(&incomplete);
    let orphan = dir.path().join(".abc.incomplete.chunks.deadbeef.tmp");
    let unrelated = dir.path().join(".other.incomplete.chunks.deadbeef.tmp");
    std::fs::write(&orphan, "{").unwrap();
    std::fs::write(&unrelated, "{").unwrap();
    open_state(&incomplete, &"a".repeat(64), 100, 64).unwrap();
    assert!(!orphan.exists(), "the killed run's temporary is gone");
    assert!(unrelated.exists(), "another blob's files are left alone");
    assert!(sidecar.exists());
}
