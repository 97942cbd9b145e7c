//! Large files over parallel byte ranges, proven from the emulator's request log
//! and the filesystem: every segment through its own resolve, a cut resumes only its segment, a
//! killed run's successor skips the bytes on disk, and corruption in one segment is never placed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hub_emulator::{Content, Fault, FaultAction, Repo, Scenario};

use crate::common::*;

const MIB: u64 = 1 << 20;
/// Just over 8 MiB: split into segments at `--chunk-size 1M`.
const BIG_SIZE: u64 = 8 * MIB + 123;
const ARGS: &[&str] = &[
    "download",
    "acme/big",
    "big.bin",
    "--chunk-size",
    "1M",
    "--connections",
    "4",
];

fn ctx() -> TestContext {
    TestContext::new(
        Scenario::new().repo(
            Repo::model("acme/big")
                .file("config.json", b"{}\n")
                .lfs(
                    "big.bin",
                    Content::Pattern {
                        seed: 5,
                        size: BIG_SIZE,
                    },
                )
                .lfs_plain(
                    "plain.bin",
                    Content::Pattern {
                        seed: 6,
                        size: 3 * MIB,
                    },
                ),
        ),
    )
}

fn repo_dir(ctx: &TestContext) -> PathBuf {
    ctx.cache().join("models--acme--big")
}

fn expected_sha() -> String {
    Content::Pattern {
        seed: 5,
        size: BIG_SIZE,
    }
    .sha256_hex()
}

fn assert_big_is_verified(ctx: &TestContext) {
    let repo = repo_dir(ctx);
    let commit = std::fs::read_to_string(repo.join("refs/main")).unwrap();
    let file = repo.join("snapshots").join(commit).join("big.bin");
    assert_eq!(sha256_file(&file), expected_sha());
    let leftovers: Vec<_> = std::fs::read_dir(repo.join("blobs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| name.contains(".incomplete"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

fn cdn_gets(ctx: &TestContext) -> Vec<RequestRecord> {
    ctx.cdn_requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect()
}

/// The requests' ranges form segments that tile the file: the first starts at 0, each other
/// one starts where an earlier one was cut, and each ends at the file's end or where another
/// starts (a split takes the back half of a segment).
fn assert_segments_tile(ranges: &BTreeSet<(u64, u64)>, size: u64) {
    let starts: BTreeSet<u64> = ranges.iter().map(|r| r.0).collect();
    assert!(starts.contains(&0), "{ranges:?}");
    for (_, end) in ranges {
        assert!(
            *end + 1 == size || starts.contains(&(end + 1)),
            "a range ends at the file's end or at another's start: {ranges:?}"
        );
    }
}

#[test]
fn a_large_file_is_fetched_as_segments_each_through_its_own_resolve() {
    let ctx = ctx();
    ctx.run(ARGS).success();
    assert_big_is_verified(&ctx);

    let resolves = hub_resolves(&ctx, "big.bin");
    let cdn = cdn_gets(&ctx);
    assert!(
        resolves.len() < 9,
        "one resolve per segment, fewer than the old one per 1 MiB chunk: {resolves:#?}"
    );
    assert!(resolves.len() >= 2, "the file is split: {resolves:#?}");
    assert_eq!(
        cdn.len(),
        resolves.len(),
        "one CDN request per resolve: {cdn:#?}"
    );
    let hub_ranges: BTreeSet<_> = resolves.iter().map(range_of).collect();
    let cdn_ranges: BTreeSet<_> = cdn.iter().map(range_of).collect();
    assert_eq!(
        hub_ranges, cdn_ranges,
        "the CDN sees the Range each URL was minted for"
    );
    // Each CDN URL was minted for its own range: no signed URL is used twice.
    let urls: BTreeSet<_> = cdn.iter().map(|r| r.path.clone()).collect();
    assert_eq!(urls.len(), cdn.len());
    assert!(
        hub_ranges.contains(&(0, BIG_SIZE - 1)),
        "the first asks for it all"
    );
    assert_segments_tile(&hub_ranges, BIG_SIZE);
    assert!(resolves.iter().all(|r| r.method == "GET"), "no HEAD");
    let listings = ctx
        .requests()
        .iter()
        .filter(|r| r.path.contains("/tree/") || r.path.contains("/paths-info/"))
        .count();
    assert_eq!(listings, 1, "one listing for the whole run");
}

#[test]
fn small_files_and_single_connection_mode_stream_on_one_connection() {
    let ctx = ctx();
    ctx.run(&[
        "download",
        "acme/big",
        "--chunk-size",
        "1M",
        "--connections",
        "1",
    ])
    .success();
    assert_big_is_verified(&ctx);
    let cdn = cdn_gets(&ctx);
    assert_eq!(cdn.len(), 2, "one request per file: {cdn:#?}");
    assert!(cdn.iter().all(|r| r.range.is_none()));
}

#[test]
fn a_classic_lfs_file_is_split_too() {
    let ctx = ctx();
    // Pinned: in adaptive mode the emulator's loopback CDN is a fast link, where one
    // connection fetches a file this small alone (docs/engine.md).
    ctx.run(&[
        "download",
        "acme/big",
        "plain.bin",
        "--chunk-size",
        "1M",
        "--connections",
        "4",
    ])
    .success();
    let ranges: BTreeSet<_> = cdn_gets(&ctx).iter().map(range_of).collect();
    assert!(ranges.len() >= 2, "{ranges:?}");
    assert_segments_tile(&ranges, 3 * MIB);
}

#[test]
fn a_cut_inside_one_segment_resumes_that_segment_only() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .path("X-Range=bytes%3D0-")
            .times(1)
            .action(FaultAction::CutAfter { bytes: 300_000 }),
    );
    let out = ctx.run(ARGS).success();
    assert!(out.stderr.contains("resuming bytes"), "{}", out.stderr);
    assert_big_is_verified(&ctx);

    let cdn = cdn_gets(&ctx);
    let ranges: Vec<(u64, u64)> = cdn.iter().map(range_of).collect();
    let resumed: Vec<_> = ranges
        .iter()
        .filter(|(a, _)| *a > 0 && *a <= 300_000)
        .collect();
    assert_eq!(resumed.len(), 1, "{ranges:#?}");
    let (from, to) = *resumed[0];
    let starts: BTreeSet<u64> = ranges.iter().map(|r| r.0).collect();
    assert!(
        to + 1 == BIG_SIZE || starts.contains(&(to + 1)),
        "only the rest of the cut segment: {ranges:#?}"
    );
    let others: Vec<_> = ranges.iter().filter(|(a, _)| *a > 300_000).collect();
    let distinct: BTreeSet<_> = others.iter().map(|r| r.0).collect();
    assert_eq!(
        distinct.len(),
        others.len(),
        "no other segment is fetched twice"
    );
    let resolves = hub_resolves(&ctx, "big.bin");
    assert!(
        resolves.iter().any(|r| range_of(r) == (from, to)),
        "the resumption went through a fresh resolve: {resolves:#?}"
    );
}

/// The sidecar's chunks as `(start, end, written)`.
fn sidecar_chunks(path: &Path) -> Option<Vec<(u64, u64, u64)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["chunks"]
        .as_array()?
        .iter()
        .map(|c| Some((c[0].as_u64()?, c[1].as_u64()?, c[2].as_u64()?)))
        .collect()
}

#[test]
fn a_killed_run_leaves_segments_the_next_run_does_not_fetch_again() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 1_500_000,
        }));
    // Partials are named per owner (`<sha>.hfget-<token>.incomplete`).
    let blobs = repo_dir(&ctx).join("blobs");
    let find_sidecar = || {
        std::fs::read_dir(&blobs).ok().and_then(|entries| {
            entries.flatten().map(|e| e.path()).find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                name.starts_with(&expected_sha()) && name.ends_with(".incomplete.chunks")
            })
        })
    };
    let mut child = ctx
        .command(ARGS)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hfget starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let written: u64 = find_sidecar()
            .and_then(|sidecar| sidecar_chunks(&sidecar))
            .map(|chunks| chunks.iter().map(|(_, _, w)| *w).sum())
            .unwrap_or(0);
        if written >= 2 * MIB {
            break;
        }
        assert!(Instant::now() < deadline, "no progress recorded in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();

    let state = find_sidecar()
        .and_then(|sidecar| sidecar_chunks(&sidecar))
        .expect("the sidecar survives the kill");
    let written: u64 = state.iter().map(|(_, _, w)| *w).sum();
    assert!((2 * MIB..BIG_SIZE).contains(&written), "{state:?}");
    assert!(
        state.len() >= 2,
        "the killed run had split the file: {state:?}"
    );

    ctx.emulator.clear_faults();
    ctx.clear_requests();
    ctx.run(ARGS).success();
    assert_big_is_verified(&ctx);
    assert!(
        find_sidecar().is_none(),
        "the sidecar goes once the blob is placed"
    );

    let cdn = cdn_gets(&ctx);
    assert!(!cdn.is_empty());
    for record in &cdn {
        let (from, to) = range_of(record);
        for (start, _, done) in &state {
            let kept = (*start, start + done);
            assert!(
                to < kept.0 || from >= kept.1,
                "bytes {kept:?} were on disk but fetched again: {record:?}"
            );
        }
    }
    let segment_rests: BTreeSet<u64> = state
        .iter()
        .filter(|(s, e, w)| e - s > *w)
        .map(|(s, _, w)| s + w)
        .collect();
    assert!(
        cdn.iter().any(|r| segment_rests.contains(&range_of(r).0)),
        "the next run continues each segment after its bytes: {state:?} {cdn:#?}"
    );
}

#[test]
fn corruption_in_one_segment_is_detected_and_the_file_fetched_again() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .path("X-Range=bytes%3D0-")
            .times(1)
            .action(FaultAction::Corrupt { offset: 4321 }),
    );
    let out = ctx.run(ARGS).success();
    assert!(out.stderr.contains("did not match"), "{}", out.stderr);
    assert_big_is_verified(&ctx);
    let from_zero = cdn_gets(&ctx).iter().filter(|r| range_of(r).0 == 0).count();
    assert_eq!(from_zero, 2, "the whole file once more");
}

#[test]
fn persistent_corruption_in_a_chunk_is_never_placed() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Corrupt {
            offset: 2 * MIB + 1,
        }));
    let out = ctx.run(ARGS);
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("integrity check"), "{}", out.stderr);
    let blobs = repo_dir(&ctx).join("blobs");
    assert!(
        !blobs.join(expected_sha()).exists(),
        "nothing corrupt is placed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&blobs)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.contains(".incomplete"))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        leftovers.is_empty(),
        "corrupt bytes are not kept: {leftovers:?}"
    );
}

#[test]
fn a_server_that_ignores_range_falls_back_to_one_stream() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::IgnoreRange));
    ctx.run(ARGS).success();
    assert_big_is_verified(&ctx);
}
