use super::*;
use bytes::Bytes;

fn shared_for(dir: &Path, etag: &str, size: u64) -> Arc<Shared> {
    let incomplete = dir.join("blob.incomplete");
    let opened = open_state(&incomplete, etag, size).unwrap();
    Arc::new(Shared::new(
        opened,
        incomplete,
        etag.to_string(),
        size,
        ContentHasher::new(HashKind::Sha256, size),
    ))
}

fn layout(shared: &Shared) -> Vec<[u64; 3]> {
    shared.layout()
}

#[test]
fn a_single_stream_prefix_becomes_a_written_segment() {
    assert_eq!(layout_with_prefix(10, 5), vec![[0, 5, 5], [5, 10, 0]]);
    assert_eq!(layout_with_prefix(10, 0), vec![[0, 10, 0]]);
    assert_eq!(layout_with_prefix(10, 10), vec![[0, 10, 10]]);
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
        connections: Some(8),
        chunk_size: 16 << 20,
    };
    assert!(!tuning.splits((32 << 20) - 1));
    assert!(tuning.splits(32 << 20));
    assert_eq!(tuning.budget(), 16);
    let single = Tuning {
        connections: Some(1),
        ..tuning
    };
    assert!(!single.splits(1 << 30));
    let adaptive = Tuning {
        connections: None,
        ..tuning
    };
    assert!(adaptive.splits(1 << 30));
    assert_eq!(adaptive.budget(), MAX_CONNECTIONS);
}

#[test]
fn claims_take_free_segments_then_split_the_largest_remainder() {
    let dir = tempfile::tempdir().unwrap();
    let mib = 1 << 20;
    let shared = shared_for(dir.path(), &"e".repeat(64), 64 * mib);
    let unit = 4 * mib;
    let first = shared.claim(unit, 0, Split::Half).unwrap();
    assert!(!first.split, "the file starts as one free segment");
    assert_eq!((first.segment.start, first.segment.end()), (0, 64 * mib));
    let second = shared.claim(unit, 0, Split::Half).unwrap();
    assert!(
        second.split,
        "a second connection splits the first's segment"
    );
    assert_eq!(first.segment.end(), second.segment.start);
    assert_eq!(second.segment.end(), 64 * mib);
    assert_eq!(second.segment.start % unit, 0, "split points are aligned");
    // The first segment has written 20 MiB; the next split takes the larger remainder.
    first.segment.written.store(20 * mib, Ordering::Release);
    let third = shared.claim(unit, 0, Split::Half).unwrap();
    assert!(
        third.segment.start > second.segment.start,
        "{:?}",
        layout(&shared)
    );
    let tiles = layout(&shared);
    assert!(layout_is_valid(&tiles, 64 * mib), "{tiles:?}");
    assert_eq!(tiles.len(), 3);
}

#[test]
fn nothing_is_split_below_the_unit_and_finished_work_is_not_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let mib = 1 << 20;
    let shared = shared_for(dir.path(), &"e".repeat(64), 10 * mib);
    let unit = 4 * mib;
    let first = shared.claim(unit, 0, Split::Half).unwrap();
    first.segment.written.store(3 * mib, Ordering::Release);
    // 7 MiB left, less the buffer in flight: no split leaves 4 MiB on both sides.
    assert!(
        shared.claim(unit, 0, Split::Half).is_none(),
        "{:?}",
        layout(&shared)
    );
    assert!(!shared.has_work(unit, Split::Half));
    first.segment.written.store(10 * mib, Ordering::Release);
    first.segment.workers.store(0, Ordering::Release);
    assert!(shared.claim(unit, 0, Split::Half).is_none());
    assert!(shared.is_complete());
}

#[test]
fn a_stalled_or_dragging_last_range_is_raced_once() {
    let dir = tempfile::tempdir().unwrap();
    let mib = 1 << 20;
    let shared = shared_for(dir.path(), &"e".repeat(64), 4 * mib);
    let unit = 4 * mib;
    let owner = shared.claim(unit, 1_000, Split::Half).unwrap();
    let race_after = RACE_AFTER.as_millis() as u64;
    owner.segment.written.store(2 * mib, Ordering::Release);
    owner
        .segment
        .last_progress_ms
        .store(1_900, Ordering::Release);
    // 2 MiB in 0.9 s: the other 2 MiB take another 0.9 s; and it was measured too briefly.
    assert!(
        shared.stalled_segment(unit, 1_900, Split::Half).is_none(),
        "not yet"
    );
    // 2 MiB in 1.5 s, fine; 0 MiB for RACE_AFTER: stalled.
    owner
        .segment
        .last_progress_ms
        .store(2_500, Ordering::Release);
    assert!(
        shared.stalled_segment(unit, 2_500, Split::Half).is_none(),
        "flowing"
    );
    assert!(
        shared
            .stalled_segment(unit, 2_500 + race_after, Split::Half)
            .is_some_and(|s| Arc::ptr_eq(&s, &owner.segment)),
        "stalled"
    );
    // Flowing, but slowly: 64 KiB in 2 s leaves a minute for the rest. That drags only if
    // other connections went faster (a racer would be no faster on a uniformly slow link).
    let crawler = Segment::new(0, 4 * mib, 0);
    crawler.taken(0);
    crawler.written.store(64 << 10, Ordering::Release);
    crawler.last_progress_ms.store(2_000, Ordering::Release);
    let its_rate = (64 << 10) as f64 / 2_000.0;
    assert!(crawler.is_dragging(2_000, its_rate * 5.0), "dragging");
    assert!(
        !crawler.is_dragging(2_000, its_rate * 2.0),
        "like the others"
    );
    let racer = shared.join_race(&owner.segment, 5_000).unwrap();
    assert!(Arc::ptr_eq(&racer.segment, &owner.segment));
    assert!(
        shared.join_race(&owner.segment, 5_000).is_none(),
        "one racer at a time"
    );
    assert!(
        shared.stalled_segment(unit, 100_000, Split::Half).is_none(),
        "already raced"
    );
}

#[test]
fn a_sidecar_round_trips_and_counts_bytes_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let etag = "e".repeat(64);
    let shared = shared_for(dir.path(), &etag, 10);
    let incomplete = dir.path().join("blob.incomplete");
    assert_eq!(file_len(&incomplete), 10, "preallocated");
    assert_eq!(bytes_on_disk(&incomplete, &etag, 10), 0);
    // Two connections: the file is split; the second segment has 3 bytes.
    let _first = shared.claim(2, 0, Split::Half).unwrap();
    // A 10-byte file cannot be split at 2-byte units past a 512 KiB buffer; build it by hand.
    {
        let mut segments = shared.segments.lock().unwrap();
        segments[0].end.store(4, Ordering::Release);
        segments.push(Arc::new(Segment::new(4, 10, 3)));
    }
    persist_now(&shared).unwrap();
    assert_eq!(bytes_on_disk(&incomplete, &etag, 10), 3);
    let reopened = open_state(&incomplete, &etag, 10).unwrap();
    assert_eq!(
        reopened.layout,
        vec![[0, 4, 0], [4, 10, 3]],
        "the recorded layout is what the next run continues"
    );
    assert_eq!(
        bytes_on_disk(&incomplete, &"f".repeat(64), 10),
        10,
        "another blob's sidecar is ignored"
    );
}

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
    // A CDN that sends a different body on the slow connection (issue #9, "what is verified
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

#[test]
fn a_resumed_download_clears_sidecar_temporaries_left_by_a_killed_run() {
    let dir = tempfile::tempdir().unwrap();
    let incomplete = dir.path().join("abc.incomplete");
    let sidecar = sidecar_path(&incomplete);
    let orphan = dir.path().join(".abc.incomplete.chunks.deadbeef.tmp");
    let unrelated = dir.path().join(".other.incomplete.chunks.deadbeef.tmp");
    std::fs::write(&orphan, "{").unwrap();
    std::fs::write(&unrelated, "{").unwrap();
    open_state(&incomplete, &"a".repeat(64), 100).unwrap();
    assert!(!orphan.exists(), "the killed run's temporary is gone");
    assert!(unrelated.exists(), "another blob's files are left alone");
    assert!(sidecar.exists());
}

#[test]
fn growth_doubles_while_it_pays_and_stops_when_it_does_not() {
    let mut growth = Growth::new(true, false);
    let window = |mb_per_s: f64| (mb_per_s * 1e6 * GROWTH_WINDOW.as_secs_f64()) as u64;
    let mut bytes = 0;
    assert_eq!(
        growth.sample(bytes, true, 8, 32),
        0,
        "the first sample is a baseline"
    );
    bytes += window(10.0);
    assert_eq!(
        growth.sample(bytes, false, 8, 32),
        0,
        "no verdict while connections wait for their first byte"
    );
    bytes += window(100.0);
    assert_eq!(growth.sample(bytes, true, 8, 32), 8, "8 → 16");
    bytes += window(120.0);
    assert_eq!(growth.sample(bytes, true, 16, 32), 0, "settling");
    bytes += window(150.0);
    assert_eq!(
        growth.sample(bytes, true, 16, 32),
        16,
        "1.5× faster: worth another doubling, 16 → 32"
    );
    bytes += window(160.0);
    assert_eq!(growth.sample(bytes, true, 32, 32), 0, "settling");
    bytes += window(170.0);
    assert_eq!(growth.sample(bytes, true, 32, 32), 0, "no gain: stop");
    bytes += window(900.0);
    assert_eq!(growth.sample(bytes, true, 32, 32), 0, "stopped for good");
    let mut pinned = Growth::new(false, false);
    assert_eq!(pinned.sample(0, true, 4, 32), 0);
    assert_eq!(pinned.sample(1 << 30, true, 4, 32), 0);
}

/// A CDN that caps every connection: doubling the connections doubles the bytes, so the next
/// step is ×4 (issue #9: 25 MB/s per connection).
#[test]
fn growth_that_pays_in_proportion_takes_a_bigger_step() {
    let mut growth = Growth::new(true, false);
    let window = |mb_per_s: f64| (mb_per_s * 1e6 * GROWTH_WINDOW.as_secs_f64()) as u64;
    let mut bytes = 0;
    growth.sample(bytes, true, 4, 64);
    bytes += window(100.0);
    assert_eq!(growth.sample(bytes, true, 4, 64), 4, "4 → 8");
    bytes += window(150.0);
    assert_eq!(growth.sample(bytes, true, 8, 64), 0, "settling");
    bytes += window(195.0);
    assert_eq!(
        growth.sample(bytes, true, 8, 64),
        24,
        "1.95× for 2×: 8 → 32"
    );
    bytes += window(500.0);
    assert_eq!(growth.sample(bytes, true, 32, 64), 0, "settling");
    bytes += window(780.0);
    assert_eq!(
        growth.sample(bytes, true, 32, 64),
        32,
        "4× for 4×: ×4 again, up to the limit"
    );
    bytes += window(800.0);
    growth.sample(bytes, true, 64, 64);
    bytes += window(1600.0);
    assert_eq!(growth.sample(bytes, true, 64, 64), 0, "at the limit");
}

#[test]
fn without_room_for_a_resolve_claims_take_free_segments_but_never_split() {
    let dir = tempfile::tempdir().unwrap();
    let mib = 1 << 20;
    let shared = shared_for(dir.path(), &"f".repeat(64), 64 * mib);
    let first = shared.claim(4 * mib, 0, Split::Never).unwrap();
    assert!(!first.split, "the free segment needs its resolve anyway");
    assert!(
        shared.claim(4 * mib, 0, Split::Never).is_none(),
        "a split is optional: {:?}",
        layout(&shared)
    );
    assert!(
        shared
            .claim(4 * mib, 0, Split::Half)
            .is_some_and(|c| c.split)
    );
}

/// A fast link (issue #9 docs/protocol.md §6): a new connection takes only the last eighth of what is left, and
/// a connection that finished takes no more work.
#[test]
fn on_a_fast_link_a_probe_takes_the_last_eighth_and_finished_connections_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mib = 1 << 20;
    let shared = shared_for(dir.path(), &"d".repeat(64), 256 * mib);
    let unit = 4 * mib;
    let first = shared.claim(unit, 0, Split::Half).unwrap();
    shared.fast.store(true, Ordering::Release);
    assert_eq!(shared.split_now(false, true), Split::Never);
    assert_eq!(shared.split_now(true, false), Split::Never, "no quota room");
    assert_eq!(shared.split_now(true, true), Split::BackEighth);
    let probe = shared.claim(unit, 0, Split::BackEighth).unwrap();
    assert!(probe.split);
    let left = 256 * mib - SPLIT_MARGIN;
    assert!(
        (256 * mib - probe.segment.start) >= left / 8
            && (256 * mib - probe.segment.start) < left / 8 + unit,
        "the last eighth, rounded to the unit: {:?}",
        layout(&shared)
    );
    assert_eq!(probe.segment.start % unit, 0);
    assert_eq!(first.segment.end(), probe.segment.start);
    assert!(
        shared.claim(unit, 0, Split::Never).is_none(),
        "a finished connection on a fast link takes nothing from a running one"
    );
    shared.fast.store(false, Ordering::Release);
    assert_eq!(shared.split_now(false, true), Split::Half);
}

#[test]
fn a_fast_links_probe_that_does_not_pay_ends_growth_and_one_that_pays_resumes_it() {
    let window = |mb_per_s: f64| (mb_per_s * 1e6 * GROWTH_WINDOW.as_secs_f64()) as u64;
    let mut idle = Growth::new(true, true);
    let mut bytes = 0;
    idle.sample(bytes, true, 1, 32);
    bytes += window(700.0);
    assert_eq!(
        idle.sample(bytes, true, 1, 32),
        1,
        "one probe, not a doubling"
    );
    bytes += window(700.0);
    assert_eq!(idle.sample(bytes, true, 2, 32), 0, "settling");
    bytes += window(750.0);
    assert_eq!(
        idle.sample(bytes, true, 2, 32),
        0,
        "1.07×: the probe did not pay"
    );
    assert!(idle.is_fast(), "the file stays on one connection");
    bytes += window(5000.0);
    assert_eq!(idle.sample(bytes, true, 2, 32), 0, "stopped for good");

    let mut paying = Growth::new(true, true);
    let mut bytes = 0;
    paying.sample(bytes, true, 1, 32);
    bytes += window(300.0);
    assert_eq!(paying.sample(bytes, true, 1, 32), 1);
    bytes += window(400.0);
    paying.sample(bytes, true, 2, 32);
    bytes += window(590.0);
    assert_eq!(
        paying.sample(bytes, true, 2, 32),
        6,
        "1.97× for 2×: the link was the limit; ×4, 2 → 8"
    );
    assert!(!paying.is_fast());
    assert!(!Growth::new(false, true).is_fast(), "pinned is never fast");
}

/// Splits go to the lowest segment with at least half the largest remainder, so that the file
/// completes roughly in order and the read-back hasher keeps up (issue #9, case 7).
#[test]
fn splits_favour_the_lowest_segment_that_still_has_much_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mib = 1 << 20;
    let shared = shared_for(dir.path(), &"c".repeat(64), 64 * mib);
    let unit = 4 * mib;
    let first = shared.claim(unit, 0, Split::Half).unwrap();
    let second = shared.claim(unit, 0, Split::Half).unwrap();
    assert_eq!(second.segment.start, 36 * mib);
    // Both would leave 12 MiB to a split: the lower one is split (the largest-first rule took
    // the one at 52 MiB).
    first.segment.written.store(8 * mib, Ordering::Release);
    let third = shared.claim(unit, 0, Split::Half).unwrap();
    assert_eq!(third.segment.start, 24 * mib, "{:?}", layout(&shared));
    // The lower segments have less than half the largest remainder left: that one is split.
    first.segment.written.store(20 * mib, Ordering::Release);
    let fourth = shared.claim(unit, 0, Split::Half).unwrap();
    assert_eq!(fourth.segment.start, 52 * mib, "{:?}", layout(&shared));
}

#[test]
fn a_fast_link_on_a_busy_machine_gets_no_probe() {
    let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n";
    let before = CpuTimes::parse(stat).unwrap();
    assert_eq!((before.idle, before.total), (850, 1000));
    let later = CpuTimes::parse("cpu  290 0 150 805 50 5 0 0 0 0\n").unwrap();
    let idle = later.idle_share_since(before);
    assert!((idle - 5.0 / 300.0).abs() < 1e-9, "{idle}");
    assert!(CpuTimes::parse("intr 1 2 3\n").is_none());

    let window = |mb_per_s: f64| (mb_per_s * 1e6 * GROWTH_WINDOW.as_secs_f64()) as u64;
    let mut busy = Growth::new(true, true);
    busy.sample(0, true, 1, 32);
    busy.machine_idle(idle);
    assert!(!busy.may_probe());
    assert_eq!(busy.sample(window(700.0), true, 1, 32), 0, "no probe");

    let mut spare = Growth::new(true, true);
    spare.sample(0, true, 1, 32);
    spare.machine_idle(0.4);
    assert_eq!(spare.sample(window(700.0), true, 1, 32), 1, "a probe");
    let mut normal = Growth::new(true, false);
    normal.machine_idle(0.0);
    assert!(!normal.may_probe(), "only a fast link probes");
}
