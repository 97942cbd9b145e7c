//! Large files over parallel byte ranges (issue #5), proven from the emulator's request log and
//! the filesystem: every range through its own resolve, a cut resumes only its chunk, a killed
//! run's successor skips finished chunks, and corruption in one chunk is never placed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hub_emulator::{Content, Fault, FaultAction, Repo, Scenario};

use crate::common::*;

const MIB: u64 = 1 << 20;
/// Nine 1 MiB chunks, the last one short.
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

/// `bytes=A-B` → (A, B).
fn range_of(record: &RequestRecord) -> (u64, u64) {
    let range = record.range.as_deref().expect("a ranged request");
    let (a, b) = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .expect("bytes=A-B");
    (a.parse().unwrap(), b.parse().unwrap())
}

fn hub_resolves(ctx: &TestContext, name: &str) -> Vec<RequestRecord> {
    ctx.requests()
        .into_iter()
        .filter(|r| {
            r.origin == Origin::Hub
                && r.path.contains("/resolve/")
                && r.path.ends_with(&format!("/{name}"))
        })
        .collect()
}

fn cdn_gets(ctx: &TestContext) -> Vec<RequestRecord> {
    ctx.cdn_requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect()
}

fn chunk_starts() -> Vec<u64> {
    (0..9).map(|i| i * MIB).collect()
}

#[test]
fn a_large_file_is_fetched_as_ranges_each_through_its_own_resolve() {
    let ctx = ctx();
    ctx.run(ARGS).success();
    assert_big_is_verified(&ctx);

    let resolves = hub_resolves(&ctx, "big.bin");
    let cdn = cdn_gets(&ctx);
    assert_eq!(resolves.len(), 9, "one resolve per chunk: {resolves:#?}");
    assert_eq!(cdn.len(), 9, "one CDN request per chunk: {cdn:#?}");
    let hub_ranges: BTreeSet<_> = resolves.iter().map(range_of).collect();
    let cdn_ranges: BTreeSet<_> = cdn.iter().map(range_of).collect();
    assert_eq!(
        hub_ranges, cdn_ranges,
        "the CDN sees the Range each URL was minted for"
    );
    // Each CDN URL was minted for its own range: no signed URL is used twice.
    let urls: BTreeSet<_> = cdn.iter().map(|r| r.path.clone()).collect();
    assert_eq!(urls.len(), 9);
    let mut expected = 0;
    for (start, end) in &hub_ranges {
        assert_eq!(*start, expected, "the ranges tile the file");
        expected = end + 1;
    }
    assert_eq!(expected, BIG_SIZE);
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
    ctx.run(&["download", "acme/big", "plain.bin", "--chunk-size", "1M"])
        .success();
    let ranges: BTreeSet<_> = cdn_gets(&ctx).iter().map(range_of).collect();
    assert_eq!(
        ranges,
        BTreeSet::from([(0, MIB - 1), (MIB, 2 * MIB - 1), (2 * MIB, 3 * MIB - 1)])
    );
}

#[test]
fn a_cut_inside_one_chunk_resumes_that_chunk_only() {
    let ctx = ctx();
    let start = 3 * MIB;
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .path(&format!("X-Range=bytes%3D{start}-"))
            .times(1)
            .action(FaultAction::CutAfter { bytes: 300_000 }),
    );
    let out = ctx.run(ARGS).success();
    assert!(out.stderr.contains("resuming bytes"), "{}", out.stderr);
    assert_big_is_verified(&ctx);

    let cdn = cdn_gets(&ctx);
    assert_eq!(cdn.len(), 10, "nine chunks and one resumption: {cdn:#?}");
    for chunk in chunk_starts().into_iter().filter(|s| *s != start) {
        let fetched = cdn.iter().filter(|r| range_of(r).0 == chunk).count();
        assert_eq!(fetched, 1, "chunk at {chunk} is fetched once");
    }
    let resumed: Vec<_> = cdn
        .iter()
        .map(range_of)
        .filter(|(a, _)| *a > start && *a < start + MIB)
        .collect();
    assert_eq!(resumed.len(), 1, "{cdn:#?}");
    let (from, to) = resumed[0];
    assert!(
        from <= start + 300_000,
        "resumed after the bytes kept: {from}"
    );
    assert_eq!(to, start + MIB - 1, "only the rest of the chunk");
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
fn a_killed_run_leaves_chunks_the_next_run_does_not_fetch_again() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 1_500_000,
        }));
    // Partials are named per owner (`<sha>.hfget-<token>.incomplete`, issue #12).
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
        let done = find_sidecar()
            .and_then(|sidecar| sidecar_chunks(&sidecar))
            .map(|chunks| chunks.iter().filter(|(s, e, w)| e - s == *w).count())
            .unwrap_or(0);
        if done >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no chunk finished in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();

    let state = find_sidecar()
        .and_then(|sidecar| sidecar_chunks(&sidecar))
        .expect("the sidecar survives the kill");
    let complete: BTreeSet<u64> = state
        .iter()
        .filter(|(s, e, w)| e - s == *w)
        .map(|(s, _, _)| *s)
        .collect();
    assert!(complete.len() >= 2 && complete.len() < 9, "{state:?}");

    ctx.emulator.clear_faults();
    ctx.clear_requests();
    ctx.run(ARGS).success();
    assert_big_is_verified(&ctx);
    assert!(
        find_sidecar().is_none(),
        "the sidecar goes once the blob is placed"
    );

    let cdn = cdn_gets(&ctx);
    for record in &cdn {
        let (from, to) = range_of(record);
        let chunk = from / MIB * MIB;
        assert!(
            !complete.contains(&chunk),
            "chunk at {chunk} was complete but fetched again: {record:?}"
        );
        let written = state
            .iter()
            .find(|(s, _, _)| *s == chunk)
            .map(|(_, _, w)| *w)
            .unwrap();
        assert_eq!(
            from,
            chunk + written,
            "a partial chunk continues after its bytes"
        );
        assert_eq!(to, (chunk + MIB).min(BIG_SIZE) - 1);
    }
    assert_eq!(cdn.len(), 9 - complete.len());
}

#[test]
fn corruption_in_one_chunk_is_detected_and_the_file_fetched_again() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .path(&format!("X-Range=bytes%3D{}-", 5 * MIB))
            .times(1)
            .action(FaultAction::Corrupt {
                offset: 5 * MIB + 4321,
            }),
    );
    let out = ctx.run(ARGS).success();
    assert!(out.stderr.contains("did not match"), "{}", out.stderr);
    assert_big_is_verified(&ctx);
    assert_eq!(cdn_gets(&ctx).len(), 18, "the whole file once more");
}

#[test]
fn persistent_corruption_in_a_chunk_is_never_placed() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .path(&format!("X-Range=bytes%3D{}-", 2 * MIB))
            .action(FaultAction::Corrupt {
                offset: 2 * MIB + 1,
            }),
    );
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
