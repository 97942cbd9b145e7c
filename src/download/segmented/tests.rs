use super::*;
use crate::files::write_all_at;
use bytes::Bytes;
use std::path::Path;
use std::time::Duration;

fn shared_for(dir: &Path, etag: &str, size: u64) -> Arc<Shared> {
    let incomplete = dir.join("blob.incomplete");
    let opened = open_state(&incomplete, etag, size).unwrap();
    Arc::new(Shared::new(
        opened,
        incomplete,
        etag.to_string(),
        size,
        ContentHasher::new(HashKind::Sha256, size),
        crate::download::in_flight::InFlight::default().enter(),
    ))
}

fn layout(shared: &Shared) -> Vec<[u64; 3]> {
    shared.layout()
}

mod hashing;

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

/// A fast link (docs/engine.md): a new connection takes only the last eighth of what is left, and
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

/// Splits go to the lowest segment with at least half the largest remainder, so that the file
/// completes roughly in order and the read-back hasher keeps up.
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
