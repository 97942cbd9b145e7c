//! `hfget cache ls | rm | prune | verify` on a cache that hfget and Python filled
//! together: several revisions, a detached one, a stale partial, a partial held by a live lock,
//! a shared Xet store entry laid out as huggingface_hub 2.x writes it (`_shared_blobs.py`), and
//! another tool's files. Python interop checks run when HFGET_TEST_PYTHON is set (CI sets it).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::common::fixtures::*;
use crate::common::*;
use crate::hfget_snapshot;

const TINY: &str = "models--acme--tiny";
/// The blob a stale partial download would become (hfget's `<etag>.incomplete` name).
const STALE_ETAG: &str = "5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e";
/// The blob a running download is writing (its lock is held by this test process).
const LIVE_ETAG: &str = "11fe11fe11fe11fe11fe11fe11fe11fe11fe11fe11fe11fe11fe11fe11fe11fe";
/// A Xet hash whose payload no repo links to anymore.
const LOST_XET: &str = "cd00000000000000000000000000000000000000000000000000000000000001";
/// The Xet hash the LFS file of acme/tiny is published under in the shared store.
const TINY_XET: &str = "ab00000000000000000000000000000000000000000000000000000000000002";

/// The standard cast plus `acme/history`, whose older commit `old` becomes a detached revision.
fn scenario() -> Scenario {
    standard_scenario().repo(
        hub_emulator::Repo::model("acme/history")
            .file("README.md", b"# history\n")
            .file("weights.txt", b"first weights\n")
            .tag("old")
            .commit()
            .file("weights.txt", b"second weights\n")
            .branch("main"),
    )
}

fn tiny(ctx: &TestContext) -> PathBuf {
    ctx.cache().join(TINY)
}

fn commit_of(ctx: &TestContext, reference: &str) -> String {
    std::fs::read_to_string(tiny(ctx).join("refs").join(reference)).unwrap()
}

/// Sets a file's modification time `age` in the past.
fn age(path: &Path, age: Duration) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// Moves a repo blob into the shared store and links it back, step for step as
/// huggingface_hub 2.4.0's `publish_blob_to_shared_store` does: marker `1\n`, payload
/// `blobs/<2-hex>/<xet>` made read-only, a `.refs` manifest line, an empty `.lock`, and the repo
/// blob replaced by a relative symlink.
fn publish_shared(cache: &Path, folder: &str, blob: &str, xet: &str) {
    use std::os::unix::fs::PermissionsExt;
    let store = cache.join("blobs");
    std::fs::create_dir_all(store.join(&xet[..2])).unwrap();
    std::fs::write(store.join(".huggingface-shared-blobs"), "1\n").unwrap();
    let payload = store.join(&xet[..2]).join(xet);
    let repo_blob = cache.join(folder).join("blobs").join(blob);
    std::fs::write(payload.with_file_name(format!("{xet}.lock")), "").unwrap();
    let manifest = payload.with_file_name(format!("{xet}.refs"));
    let mut lines = std::fs::read_to_string(&manifest).unwrap_or_default();
    lines.push_str(&format!("{folder}/blobs/{blob}\n"));
    std::fs::write(&manifest, lines).unwrap();
    if !payload.exists() {
        std::fs::rename(&repo_blob, &payload).unwrap();
        std::fs::set_permissions(&payload, std::fs::Permissions::from_mode(0o400)).unwrap();
    } else {
        std::fs::remove_file(&repo_blob).unwrap();
    }
    std::os::unix::fs::symlink(format!("../../blobs/{}/{xet}", &xet[..2]), &repo_blob).unwrap();
}

/// The LFS blob of acme/tiny (its sha256 name).
fn lfs_blob(ctx: &TestContext) -> String {
    let link = tiny(ctx)
        .join("snapshots")
        .join(commit_of(ctx, "main"))
        .join("model.safetensors");
    std::fs::read_link(link)
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A cache hfget filled (main, v1, and dev detached by removing its ref), plus the pieces issue
/// #11 names. Returns the lock file held for the live partial: keep it alive.
fn mixed_cache(ctx: &TestContext) -> File {
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.run(&["download", "acme/tiny", "--revision", "v1"])
        .success();
    ctx.run(&["download", "datasets/acme/data"]).success();
    ctx.run(&["download", "acme/tiny", "config.json", "--revision", "dev"])
        .success();
    // An older commit whose ref is gone: a detached revision.
    ctx.run(&["download", "acme/history"]).success();
    ctx.run(&["download", "acme/history", "--revision", "old"])
        .success();
    std::fs::remove_file(ctx.cache().join("models--acme--history/refs/old")).unwrap();
    let blobs = tiny(ctx).join("blobs");
    // A stale partial (and its sidecar) from a run killed an hour ago.
    let stale = blobs.join(format!("{STALE_ETAG}.incomplete"));
    std::fs::write(&stale, vec![7u8; 1000]).unwrap();
    age(&stale, Duration::from_secs(3600));
    let sidecar = blobs.join(format!("{STALE_ETAG}.incomplete.chunks"));
    std::fs::write(&sidecar, "{}").unwrap();
    age(&sidecar, Duration::from_secs(3600));
    // A partial a running download holds: its lock is flocked by this process.
    std::fs::write(
        blobs.join(format!("{LIVE_ETAG}.incomplete")),
        vec![1u8; 500],
    )
    .unwrap();
    let lock_path = ctx
        .cache()
        .join(".locks")
        .join(TINY)
        .join(format!("{LIVE_ETAG}.lock"));
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let lock = File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    // The LFS file lives in the shared Xet store; one more payload no repo links to.
    publish_shared(&ctx.cache(), TINY, &lfs_blob(ctx), TINY_XET);
    let lost = ctx.cache().join("blobs/cd").join(LOST_XET);
    std::fs::create_dir_all(lost.parent().unwrap()).unwrap();
    std::fs::write(&lost, vec![9u8; 2048]).unwrap();
    std::fs::write(lost.with_file_name(format!("{LOST_XET}.refs")), "").unwrap();
    // Another tool's files.
    std::fs::create_dir_all(ctx.cache().join("llama.cpp")).unwrap();
    std::fs::write(ctx.cache().join("llama.cpp/manifest.json"), "{}").unwrap();
    lock
}

#[test]
fn ls_shows_repos_partials_shared_store_and_other_files() {
    let ctx = TestContext::new(scenario());
    let _lock = mixed_cache(&ctx);
    let out = ctx.run(&["cache", "ls"]).success();
    hfget_snapshot!(ctx, out);
    let out = ctx.run(&["cache", "ls", "--revisions"]).success();
    hfget_snapshot!(ctx, out);
    let out = ctx.run(&["cache", "ls", "--show-warnings"]).success();
    assert!(
        out.stderr.contains("llama.cpp is not a repo folder"),
        "{}",
        out.stderr
    );
}

#[test]
fn ls_json_has_integer_sizes_rfc3339_times_and_partial_liveness() {
    let ctx = TestContext::new(scenario());
    let _lock = mixed_cache(&ctx);
    let json = ctx.run(&["cache", "ls", "--json"]).success().json();
    let repos = json["repos"].as_array().unwrap();
    let ids: Vec<&str> = repos.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["dataset/acme/data", "model/acme/history", "model/acme/tiny"],
        "the store is no repo"
    );
    let tiny = &repos[2];
    assert_eq!(tiny["repo_type"], "model");
    assert_eq!(tiny["repo_id"], "acme/tiny");
    assert!(tiny["size_on_disk"].as_u64().unwrap() > LFS_SIZE);
    assert_eq!(tiny["refs"], serde_json::json!(["dev", "main", "v1"]));
    let time = tiny["last_modified"].as_str().unwrap();
    assert!(
        time.len() == 20 && time.ends_with('Z') && &time[10..11] == "T",
        "{time}"
    );
    let revisions = tiny["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 2);
    let history = repos[1]["revisions"].as_array().unwrap();
    assert!(
        history.iter().any(|r| r["refs"] == serde_json::json!([])),
        "detached"
    );
    for revision in revisions {
        assert!(revision["size_on_disk"].is_u64() && revision["nb_files"].is_u64());
    }
    let partials = json["partial_downloads"].as_array().unwrap();
    let state = |etag: &str, kind: &str| {
        partials
            .iter()
            .find(|p| p["etag"] == etag && p["kind"] == kind)
            .map(|p| p["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state(STALE_ETAG, "incomplete").as_deref(), Some("stale"));
    assert_eq!(state(STALE_ETAG, "sidecar").as_deref(), Some("stale"));
    assert_eq!(state(LIVE_ETAG, "incomplete").as_deref(), Some("live"));
    assert_eq!(json["shared_store"]["nb_blobs"], 2);
    assert_eq!(
        json["shared_store"]["unreferenced"][0]["size_on_disk"],
        2048
    );
    assert_eq!(json["others"][0]["is_dir"], true);
    // Physical total: the shared payload once, plus the payload nobody links to.
    let repo_sum: u64 = repos
        .iter()
        .map(|r| r["size_on_disk"].as_u64().unwrap())
        .sum();
    assert_eq!(json["size_on_disk"].as_u64().unwrap(), repo_sum + 2048);
}

#[test]
fn ls_filters_sorts_and_limits_like_hf() {
    let ctx = TestContext::new(scenario());
    let _lock = mixed_cache(&ctx);
    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["cache", "ls", "--json"];
        all.extend_from_slice(args);
        ctx.run(&all).success().json()["repos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&["-f", "type=dataset"]), ["dataset/acme/data"]);
    assert_eq!(ids(&["-f", "size>1MB"]), ["model/acme/tiny"]);
    assert_eq!(
        ids(&["-f", "size<1KiB"]),
        ["dataset/acme/data", "model/acme/history"]
    );
    assert_eq!(ids(&["-f", "accessed>7d"]), Vec::<String>::new());
    assert_eq!(ids(&["-f", "refs=dev"]), ["model/acme/tiny"]);
    assert_eq!(
        ids(&["--sort", "size", "--limit", "1"]),
        ["model/acme/tiny"]
    );
    assert_eq!(
        ids(&["--sort", "name:desc"]),
        ["model/acme/tiny", "model/acme/history", "dataset/acme/data"]
    );
    // Revision rows are filtered one by one.
    let json = ctx
        .run(&["cache", "ls", "--revisions", "-f", "size>1MB", "--json"])
        .success()
        .json();
    assert_eq!(json["repos"].as_array().unwrap().len(), 1);
    assert_eq!(json["repos"][0]["revisions"].as_array().unwrap().len(), 2);
    // Oldest first, tiny's v1 and main are split by the dataset: still one object per repo.
    for revision in ["v1", "main"] {
        let snapshot = tiny(&ctx).join("snapshots").join(commit_of(&ctx, revision));
        for file in [
            "README.md",
            "config.json",
            "model.safetensors",
            "nested/deeper/notes.txt",
        ] {
            let blob = std::fs::canonicalize(snapshot.join(file)).unwrap();
            let old = if revision == "v1" || file != "config.json" {
                3600
            } else {
                0
            };
            age(&blob, Duration::from_secs(old));
        }
    }
    for entry in std::fs::read_dir(ctx.cache().join("datasets--acme--data/blobs")).unwrap() {
        age(&entry.unwrap().path(), Duration::from_secs(1800));
    }
    let json = ctx
        .run(&[
            "cache",
            "ls",
            "--revisions",
            "--sort",
            "modified:asc",
            "--json",
        ])
        .success()
        .json();
    let ids: Vec<&str> = json["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let bad = ctx.run(&["cache", "ls", "-f", "colour=red"]).failure(2);
    assert!(
        bad.stderr.contains("unknown key `colour`"),
        "{}",
        bad.stderr
    );
    let bad = ctx.run(&["cache", "ls", "-f", "size>1XB"]).failure(2);
    assert!(bad.stderr.contains("unknown size unit"), "{}", bad.stderr);
}

#[test]
fn ls_of_a_missing_cache_says_so() {
    let ctx = TestContext::new(scenario());
    let out = ctx.run(&["cache", "ls"]).failure(3);
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
}

#[test]
fn rm_asks_refuses_off_a_terminal_and_dry_run_deletes_nothing() {
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    let out = ctx.run(&["cache", "rm", "acme/tiny"]).failure(2);
    assert!(out.stderr.contains("Pass -y"), "{}", out.stderr);
    let out = ctx
        .run(&["cache", "rm", "acme/tiny", "--dry-run"])
        .success();
    hfget_snapshot!(ctx, out);
    assert!(tiny(&ctx).join("snapshots").exists());
    let out = ctx.run(&["cache", "rm", "acme/nope", "-y"]).failure(3);
    assert!(
        out.stderr.contains("model/acme/nope is not in the cache"),
        "{}",
        out.stderr
    );
}

#[test]
fn rm_a_revision_keeps_blobs_other_revisions_use() {
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.run(&["download", "acme/tiny", "--revision", "v1"])
        .success();
    let v1 = commit_of(&ctx, "v1");
    let out = ctx.run(&["cache", "rm", &v1, "-y"]).success();
    assert!(out.stdout.contains("Deleted 1 revision"), "{}", out.stdout);
    assert!(!tiny(&ctx).join("snapshots").join(&v1).exists());
    assert!(!tiny(&ctx).join("refs/v1").exists());
    // main still has every file, through intact links.
    let main = tiny(&ctx).join("snapshots").join(commit_of(&ctx, "main"));
    for file in [
        "README.md",
        "config.json",
        "model.safetensors",
        "nested/deeper/notes.txt",
    ] {
        assert!(main.join(file).is_file(), "{file} still readable");
    }
    ctx.run(&["cache", "verify", "acme/tiny"]).success();
}

#[test]
fn rm_one_file_by_hf_uri_and_a_whole_repo_in_the_three_spellings() {
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.run(&["download", "datasets/acme/data"]).success();
    ctx.run(&["download", "acme/app", "--repo-type", "space"])
        .success();
    let out = ctx
        .run(&["cache", "rm", "hf://acme/tiny/model.safetensors", "-y"])
        .success();
    assert!(out.stdout.contains("1 file"), "{}", out.stdout);
    let main = tiny(&ctx).join("snapshots").join(commit_of(&ctx, "main"));
    assert!(!main.join("model.safetensors").exists());
    assert!(main.join("config.json").is_file());
    let blobs = std::fs::read_dir(tiny(&ctx).join("blobs")).unwrap().count();
    assert_eq!(blobs, 3, "the LFS blob went with its only file");
    ctx.run(&[
        "cache",
        "rm",
        "model/acme/tiny",
        "datasets/acme/data",
        "hf://spaces/acme/app",
        "-y",
    ])
    .success();
    let json = ctx.run(&["cache", "ls", "--json"]).success().json();
    assert_eq!(json["repos"], serde_json::json!([]));
}

#[test]
fn rm_never_deletes_what_a_live_download_holds() {
    let ctx = TestContext::new(scenario());
    let _lock = mixed_cache(&ctx);
    let out = ctx.run(&["cache", "rm", "acme/tiny", "-y"]).success();
    assert!(
        out.stdout.contains("a running download holds its lock"),
        "{}",
        out.stdout
    );
    let live = tiny(&ctx)
        .join("blobs")
        .join(format!("{LIVE_ETAG}.incomplete"));
    assert!(live.exists(), "the live partial is kept");
    assert!(
        !tiny(&ctx)
            .join("blobs")
            .join(format!("{STALE_ETAG}.incomplete"))
            .exists()
    );
    assert!(
        tiny(&ctx).join("snapshots").is_dir(),
        "Python needs snapshots/"
    );
    assert_eq!(
        std::fs::read_dir(tiny(&ctx).join("snapshots"))
            .unwrap()
            .count(),
        0
    );
    // The shared payload had only tiny's link: collected.
    assert!(!ctx.cache().join("blobs/ab").join(TINY_XET).exists());
    assert!(
        ctx.cache().join("llama.cpp/manifest.json").exists(),
        "other tools' files stay"
    );
}

#[test]
fn prune_removes_detached_stale_orphans_and_unreferenced_shared_blobs() {
    let ctx = TestContext::new(scenario());
    let _lock = mixed_cache(&ctx);
    let orphan = tiny(&ctx).join("blobs").join("0".repeat(40));
    std::fs::write(&orphan, "orphan").unwrap();
    age(&orphan, Duration::from_secs(3600));
    let out = ctx.run(&["cache", "prune", "--dry-run"]).success();
    hfget_snapshot!(ctx, out);
    assert!(orphan.exists(), "dry run");
    let out = ctx.run(&["cache", "prune", "-y"]).success();
    assert!(
        out.stdout.contains("Deleted 1 detached revision"),
        "{}",
        out.stdout
    );
    let blobs = tiny(&ctx).join("blobs");
    assert!(!orphan.exists());
    assert!(!blobs.join(format!("{STALE_ETAG}.incomplete")).exists());
    assert!(
        !blobs
            .join(format!("{STALE_ETAG}.incomplete.chunks"))
            .exists()
    );
    assert!(
        blobs.join(format!("{LIVE_ETAG}.incomplete")).exists(),
        "held: kept"
    );
    assert!(!ctx.cache().join("blobs/cd").join(LOST_XET).exists());
    assert!(
        ctx.cache().join("blobs/ab").join(TINY_XET).exists(),
        "still linked"
    );
    let json = ctx.run(&["cache", "ls", "--json"]).success().json();
    assert_eq!(json["repos"][1]["revisions"].as_array().unwrap().len(), 1);
    let out = ctx.run(&["cache", "prune", "-y"]).success();
    assert!(out.stdout.contains("Nothing to prune"), "{}", out.stdout);
    // Everything that is left still verifies.
    ctx.run(&["cache", "verify", "acme/tiny"]).success();
    ctx.run(&["cache", "verify", "acme/tiny", "--revision", "v1"])
        .success();
}

#[test]
fn prune_keeps_a_partial_written_moments_ago_even_with_its_lock_free() {
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    let fresh = tiny(&ctx)
        .join("blobs")
        .join(format!("{STALE_ETAG}.1234abcd.incomplete"));
    std::fs::write(&fresh, "bytes").unwrap();
    let out = ctx.run(&["cache", "prune", "-y"]).success();
    assert!(
        out.stdout.contains("written in the last 10 minutes"),
        "{}",
        out.stdout
    );
    assert!(fresh.exists());
}

/// Flips one byte of a blob (as root the read-only bit does not stop a test).
fn flip_byte(path: &Path, offset: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let real = std::fs::canonicalize(path).unwrap();
    let mut file = File::options().read(true).write(true).open(real).unwrap();
    let mut byte = [0u8];
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.read_exact(&mut byte).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&[byte[0] ^ 0x01]).unwrap();
}

#[test]
fn verify_catches_a_flipped_byte_and_repair_fetches_it_again() {
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    let main = tiny(&ctx).join("snapshots").join(commit_of(&ctx, "main"));
    flip_byte(&main.join("model.safetensors"), LFS_SIZE / 2);
    flip_byte(&main.join("config.json"), 0);
    let out = ctx.run(&["cache", "verify", "acme/tiny"]).failure(8);
    hfget_snapshot!(ctx, out);
    let json = ctx
        .run(&["cache", "verify", "acme/tiny", "--json"])
        .failure(8)
        .json();
    let bad: Vec<&str> = json["bad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["path"].as_str().unwrap())
        .collect();
    assert_eq!(bad, ["config.json", "model.safetensors"]);
    assert_eq!(json["bad"][1]["algorithm"], "sha256");
    assert_eq!(json["bad"][0]["algorithm"], "git-sha1");
    ctx.clear_requests();
    let out = ctx
        .run(&["cache", "verify", "acme/tiny", "--repair"])
        .success();
    assert!(
        out.stdout.contains("repaired model.safetensors"),
        "{}",
        out.stdout
    );
    assert!(!ctx.cdn_requests().is_empty(), "downloaded again");
    assert_eq!(
        sha256_file(&main.join("model.safetensors")),
        lfs_blob(&ctx),
        "the blob is whole again"
    );
    ctx.run(&["cache", "verify", "acme/tiny"]).success();
}

#[test]
fn verify_missing_and_extra_files_fail_only_when_asked() {
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny", "--include", "*.json"])
        .success();
    let out = ctx.run(&["cache", "verify", "acme/tiny"]).success();
    assert!(
        out.stderr
            .contains("3 files of the revision are not on disk"),
        "{}",
        out.stderr
    );
    let out = ctx
        .run(&["cache", "verify", "acme/tiny", "--fail-on-missing-files"])
        .failure(8);
    assert!(out.stdout.contains("model.safetensors"), "{}", out.stdout);
    // A local folder with a file of its own.
    let dir = ctx.path("tiny");
    ctx.run(&[
        "download",
        "acme/tiny",
        "--local-dir",
        dir.to_str().unwrap(),
    ])
    .success();
    std::fs::write(dir.join("notes-of-mine.txt"), "mine").unwrap();
    let local = dir.to_str().unwrap();
    ctx.run(&["cache", "verify", "acme/tiny", "--local-dir", local])
        .success();
    let out = ctx
        .run(&[
            "cache",
            "verify",
            "acme/tiny",
            "--local-dir",
            local,
            "--fail-on-extra-files",
        ])
        .failure(8);
    assert!(out.stdout.contains("notes-of-mine.txt"), "{}", out.stdout);
    flip_byte(&dir.join("README.md"), 0);
    let out = ctx
        .run(&["cache", "verify", "acme/tiny", "--local-dir", local])
        .failure(8);
    assert!(out.stdout.contains("README.md"), "{}", out.stdout);
    ctx.run(&[
        "cache",
        "verify",
        "acme/tiny",
        "--local-dir",
        local,
        "--repair",
    ])
    .success();
}

#[test]
fn verify_offline_uses_the_cached_listing_or_the_blob_names() {
    let mut ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.env("HF_HUB_OFFLINE", "1");
    ctx.clear_requests();
    let json = ctx
        .run(&["cache", "verify", "acme/tiny", "--json"])
        .success()
        .json();
    assert_eq!(json["listing"], "cached-tree");
    let commit = commit_of(&ctx, "main");
    std::fs::remove_file(tiny(&ctx).join("trees").join(format!("{commit}.json"))).unwrap();
    let main = tiny(&ctx).join("snapshots").join(&commit);
    flip_byte(&main.join("nested/deeper/notes.txt"), 1);
    let out = ctx.run(&["cache", "verify", "acme/tiny"]).failure(8);
    assert!(
        out.stderr.contains("Offline and no cached listing"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("nested/deeper/notes.txt"),
        "{}",
        out.stdout
    );
    assert!(ctx.requests().is_empty(), "offline: no request");
}

#[test]
fn verify_of_a_repo_not_in_the_cache_says_how_to_get_it() {
    let ctx = TestContext::new(scenario());
    std::fs::create_dir_all(ctx.cache()).unwrap();
    let out = ctx.run(&["cache", "verify", "acme/tiny"]).failure(3);
    assert!(
        out.stderr.contains("hfget download acme/tiny"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Python 2.4.0 agrees

/// Python's `scan_cache_dir()` of the context's cache, as JSON.
const SCAN: &str = r#"
import json, datetime
from huggingface_hub import scan_cache_dir
from huggingface_hub.utils import _shared_blobs
info = scan_cache_dir()
t = lambda ts: datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({
  "size_on_disk": info.size_on_disk,
  "warnings": [str(w) for w in info.warnings],
  "incomplete": sorted([str(f.file_path), f.size_on_disk] for f in info.incomplete_files),
  "unreferenced": sorted(str(p) for p in _shared_blobs.unreferenced_shared_blobs(info.cache_dir)),
  "repos": sorted(({
    "id": r.cache_id, "repo_type": r.repo_type, "repo_id": r.repo_id,
    "size_on_disk": r.size_on_disk, "nb_files": r.nb_files,
    "refs": sorted(r.refs), "last_accessed": t(r.last_accessed), "last_modified": t(r.last_modified),
    "revisions": sorted(({"commit": v.commit_hash, "refs": sorted(v.refs), "size_on_disk": v.size_on_disk,
                          "nb_files": v.nb_files, "last_modified": t(v.last_modified)} for v in r.revisions),
                         key=lambda v: v["commit"]),
  } for r in info.repos), key=lambda r: r["id"]),
}))
"#;

fn python_scan(ctx: &TestContext, interpreter: &Path) -> serde_json::Value {
    serde_json::from_str(crate::interop::python(ctx, interpreter, SCAN, true).trim()).unwrap()
}

/// hfget's `ls --json`, reduced to what Python reports.
fn hfget_scan(ctx: &TestContext) -> serde_json::Value {
    let json = ctx.run(&["cache", "ls", "--json"]).success().json();
    let repos: Vec<serde_json::Value> = json["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut revisions: Vec<serde_json::Value> = r["revisions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    serde_json::json!({"commit": v["commit"], "refs": v["refs"],
                        "size_on_disk": v["size_on_disk"], "nb_files": v["nb_files"],
                        "last_modified": v["last_modified"]})
                })
                .collect();
            revisions.sort_by_key(|v| v["commit"].as_str().unwrap().to_string());
            serde_json::json!({"id": r["id"], "repo_type": r["repo_type"], "repo_id": r["repo_id"],
                "size_on_disk": r["size_on_disk"], "nb_files": r["nb_files"], "refs": r["refs"],
                "last_accessed": r["last_accessed"], "last_modified": r["last_modified"],
                "revisions": revisions})
        })
        .collect();
    let mut incomplete: Vec<serde_json::Value> = json["partial_downloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "incomplete")
        .map(|p| serde_json::json!([p["path"], p["size"]]))
        .collect();
    incomplete.sort_by_key(|p| p[0].as_str().unwrap().to_string());
    let unreferenced: Vec<serde_json::Value> = json["shared_store"]["unreferenced"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["path"].clone())
        .collect();
    serde_json::json!({"size_on_disk": json["size_on_disk"], "repos": repos,
        "incomplete": incomplete, "unreferenced": unreferenced,
        "warnings": json["warnings"].as_array().unwrap().len()})
}

#[test]
fn ls_agrees_with_python_scan_cache_dir_and_rm_prune_leave_python_a_valid_cache() {
    let Some(interpreter) = crate::common::python() else {
        return;
    };
    let ctx = TestContext::new(scenario());
    // Python fills part of the cache too: a dataset, and a repo hfget also writes into.
    crate::interop::python(
        &ctx,
        &interpreter,
        "from huggingface_hub import snapshot_download, hf_hub_download\n\
         snapshot_download('acme/data', repo_type='dataset')\n\
         hf_hub_download('acme/tiny', 'config.json', revision='dev')\n",
        false,
    );
    let _lock = mixed_cache(&ctx);
    // Python itself publishes the dataset's README into the shared store (its own code path,
    // beside the entry `publish_shared` laid out by hand).
    crate::interop::python(
        &ctx,
        &interpreter,
        "import os\n\
         from huggingface_hub.constants import HF_HUB_CACHE\n\
         from huggingface_hub.utils import _shared_blobs\n\
         blobs = os.path.join(HF_HUB_CACHE, 'datasets--acme--data', 'blobs')\n\
         for name in os.listdir(blobs):\n\
         \x20   path = os.path.join(blobs, name)\n\
         \x20   if open(path, 'rb').read() == b'# data\\n':\n\
         \x20       assert _shared_blobs.publish_blob_to_shared_store(blob_path=path, xet_hash='ef' + '3' * 62, cache_dir=HF_HUB_CACHE, expected_size=os.path.getsize(path))\n",
        true,
    );
    let published = ctx
        .cache()
        .join("blobs/ef")
        .join(format!("ef{}", "3".repeat(62)));
    assert!(published.is_file(), "Python published into the store");
    let compare = |ctx: &TestContext| {
        let ours = hfget_scan(ctx);
        let mut theirs = python_scan(ctx, &interpreter);
        let warnings = theirs["warnings"].as_array().unwrap().len();
        theirs["warnings"] = serde_json::json!(warnings);
        assert_eq!(ours, theirs, "hfget cache ls --json vs scan_cache_dir()");
    };
    compare(&ctx);
    let python_warnings = python_scan(&ctx, &interpreter)["warnings"].clone();
    assert_eq!(
        python_warnings.as_array().unwrap().len(),
        1,
        "only llama.cpp/: {python_warnings}"
    );

    std::fs::remove_dir_all(ctx.cache().join("llama.cpp")).unwrap();
    ctx.run(&["cache", "prune", "-y"]).success();
    compare(&ctx);
    let v1 = commit_of(&ctx, "v1");
    ctx.run(&["cache", "rm", &v1, "hf://acme/tiny/README.md", "-y"])
        .failure(2);
    ctx.run(&["cache", "rm", &v1, "-y"]).success();
    ctx.run(&["cache", "rm", "datasets/acme/data", "-y"])
        .success();
    assert!(
        !published.exists(),
        "its only repo gone, the payload is collected"
    );
    compare(&ctx);
    let after = python_scan(&ctx, &interpreter);
    assert_eq!(after["warnings"], serde_json::json!([]), "{after}");
    let loads = crate::interop::python(
        &ctx,
        &interpreter,
        "from huggingface_hub import hf_hub_download\n\
         for name in ['README.md', 'config.json', 'model.safetensors', 'nested/deeper/notes.txt']:\n\
         \x20   print(open(hf_hub_download('acme/tiny', name, local_files_only=True), 'rb').read()[:4])\n",
        true,
    );
    assert_eq!(loads.lines().count(), 4, "{loads}");
}

#[test]
fn a_running_download_survives_prune_and_rm_of_its_repo() {
    use hub_emulator::{Fault, FaultAction};
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny", "README.md"]).success();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 1_000_000,
        }));
    let download = ctx
        .command(&[
            "download",
            "acme/tiny",
            "model.safetensors",
            "--connections",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let blobs = tiny(&ctx).join("blobs");
    let started = std::time::Instant::now();
    let partial = loop {
        let found = std::fs::read_dir(&blobs)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".incomplete"));
        if let Some(path) = found.filter(|p| std::fs::metadata(p).unwrap().len() > 0) {
            break path;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let json = ctx.run(&["cache", "ls", "--json"]).success().json();
    assert_eq!(json["partial_downloads"][0]["state"], "live", "{json}");
    let out = ctx.run(&["cache", "prune", "-y"]).success();
    assert!(
        out.stdout.contains("a running download holds its lock"),
        "{}",
        out.stdout
    );
    let out = ctx.run(&["cache", "rm", "acme/tiny", "-y"]).success();
    assert!(
        out.stdout.contains("a running download holds its lock"),
        "{}",
        out.stdout
    );
    assert!(partial.exists(), "never deleted under a live download");
    let finished = download.wait_with_output().unwrap();
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    ctx.run(&["cache", "verify", "acme/tiny"]).success();
}

#[test]
fn verify_names_an_empty_or_truncated_file() {
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    let main = tiny(&ctx).join("snapshots").join(commit_of(&ctx, "main"));
    let truncate = |name: &str, len: u64| {
        let real = std::fs::canonicalize(main.join(name)).unwrap();
        File::options()
            .write(true)
            .open(real)
            .unwrap()
            .set_len(len)
            .unwrap();
    };
    truncate("model.safetensors", 1024);
    truncate("README.md", 0);
    let json = ctx
        .run(&["cache", "verify", "acme/tiny", "--json"])
        .failure(8)
        .json();
    let problems: Vec<(&str, &str)> = json["bad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["path"].as_str().unwrap(), b["problem"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [
            ("README.md", "wrong size"),
            ("model.safetensors", "wrong size")
        ]
    );
    assert_eq!(json["bad"][1]["actual"], "1024 bytes");
}

/// Runs `hfget ARGS` on a pseudo-terminal (util-linux `script`), typing `input`.
fn run_on_terminal(ctx: &TestContext, args: &str, input: &str) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut command = std::process::Command::new("script");
    command
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_hfget")),
            "/dev/null",
        ])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (key, value) in ctx.command(&[]).get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    let mut child = command.spawn().expect("script runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn rm_asks_on_a_terminal_and_only_yes_deletes() {
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    let shown = run_on_terminal(&ctx, "cache rm acme/tiny", "n\n");
    assert!(shown.contains("Proceed with deletion? [y/N]"), "{shown:?}");
    assert!(shown.contains("Nothing was deleted."), "{shown:?}");
    assert!(tiny(&ctx).exists());
    let shown = run_on_terminal(&ctx, "cache rm acme/tiny", "y\n");
    assert!(
        shown.contains("Deleted 1 repo; freed 3.00 MiB."),
        "{shown:?}"
    );
    assert!(!tiny(&ctx).exists());
}

#[test]
fn ctrl_c_at_the_prompt_deletes_nothing_and_says_so() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let ctx = TestContext::new(scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    let mut command = std::process::Command::new("script");
    command
        .args([
            "-qec",
            &format!("{} cache rm acme/tiny", env!("CARGO_BIN_EXE_hfget")),
            "/dev/null",
        ])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (key, value) in ctx.command(&[]).get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let mut child = command.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 256];
    // Type Ctrl-C only once the question is on the screen.
    while !String::from_utf8_lossy(&seen).contains("[y/N]") {
        let read = stdout.read(&mut buffer).unwrap();
        assert!(read > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buffer[..read]);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    let shown = String::from_utf8_lossy(&seen);
    assert!(
        shown.contains("What was already deleted stays deleted"),
        "{shown:?}"
    );
    assert_eq!(status.code(), Some(130), "{shown:?}");
    assert!(tiny(&ctx).join("snapshots").exists(), "nothing deleted");
}
