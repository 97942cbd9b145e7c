//! Hardening: every fault the emulator can inject, and what hfget does about it —
//! proven from the emulator's request log and the filesystem, never from timings.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hub_emulator::{Fault, FaultAction};

use crate::common::fixtures::*;
use crate::common::*;

fn ctx() -> TestContext {
    TestContext::new(standard_scenario())
}

fn model_requests(ctx: &TestContext) -> Vec<RequestRecord> {
    ctx.cdn_requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect()
}

/// The blob the snapshot's `model.safetensors` points to, after a successful download.
fn model_blob(ctx: &TestContext) -> PathBuf {
    let repo = ctx.cache().join("models--acme--tiny");
    let commit = std::fs::read_to_string(repo.join("refs/main")).unwrap();
    std::fs::canonicalize(
        repo.join("snapshots")
            .join(commit)
            .join("model.safetensors"),
    )
    .unwrap()
}

fn assert_blob_is_verified(ctx: &TestContext) {
    let blob = model_blob(ctx);
    let name = blob.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(sha256_file(&blob), name, "the blob's bytes match its name");
    assert_eq!(std::fs::metadata(&blob).unwrap().len(), LFS_SIZE);
}

/// Partial files anywhere below `dir` (`*.incomplete`), with their sizes.
fn incomplete_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".incomplete") {
                found.push((
                    path.clone(),
                    std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
                ));
            }
        }
    }
    found
}

/// Starts `hfget` in the background.
fn spawn(ctx: &TestContext, args: &[&str]) -> Child {
    ctx.command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hfget starts")
}

/// Waits until some `.incomplete` under `dir` holds at least `bytes` bytes.
fn wait_for_partial(dir: &Path, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if incomplete_files(dir).iter().any(|(_, size)| *size >= bytes) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no partial download appeared under {}", dir.display());
}

/// Lifts the faults, runs `args` again, and checks that it continued where the interrupted run
/// stopped: at least one request for the file, and every one starting past byte 0.
fn assert_next_run_resumes(ctx: &TestContext, args: &[&str]) {
    ctx.emulator.clear_faults();
    ctx.clear_requests();
    ctx.run(args).success();
    let gets = model_requests(ctx);
    assert!(
        !gets.is_empty() && gets.iter().all(|r| range_start(r).is_some_and(|s| s > 0)),
        "every request continues: {gets:#?}"
    );
}

fn range_start(record: &RequestRecord) -> Option<u64> {
    let range = record.range.as_deref()?;
    range
        .strip_prefix("bytes=")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

#[test]
fn api_server_errors_are_retried_with_a_notice() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_hub()
            .path("/revision/")
            .times(2)
            .action(FaultAction::Status { status: 503 }),
    );
    let out = ctx.run(&["download", "acme/tiny", "config.json"]).success();
    assert!(out.stderr.contains("retrying in"), "{}", out.stderr);
    let lookups = ctx
        .requests()
        .iter()
        .filter(|r| r.path.contains("/revision/"))
        .count();
    assert_eq!(lookups, 3);
}

#[test]
fn rate_limits_wait_for_the_announced_reset() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(
            Fault::on_hub()
                .path("/revision/")
                .times(1)
                .action(FaultAction::RateLimited {
                    retry_after_secs: 1,
                }),
        );
    let out = ctx.run(&["download", "acme/tiny", "config.json"]).success();
    let wait: f64 = out
        .stderr
        .split("retrying in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no wait announced: {}", out.stderr));
    assert!(wait >= 1.0, "waited at least the Retry-After: {wait}");
    assert!(out.stderr.contains("rate-limited"), "{}", out.stderr);
}

#[test]
fn not_found_is_never_retried() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", ALICE);
    ctx.run(&["download", "acme/nope"]).failure(3);
    let lookups = ctx
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/acme/nope/revision/main"))
        .count();
    assert_eq!(lookups, 1, "{:#?}", ctx.requests());
}

#[test]
fn a_cut_connection_resumes_with_range_within_the_run() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .times(1)
            .action(FaultAction::CutAfter { bytes: 1_000_000 }),
    );
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    assert!(out.stderr.contains("resuming from byte"), "{}", out.stderr);
    let gets = model_requests(&ctx);
    assert_eq!(gets.len(), 2, "{gets:#?}");
    let resumed = range_start(&gets[1]).expect("the second request is ranged");
    assert!(resumed > 0 && resumed <= 1_000_000, "resumed at {resumed}");
    assert_blob_is_verified(&ctx);
}

#[test]
fn a_stalled_body_is_dropped_and_resumed() {
    let mut ctx = ctx();
    ctx.env("HF_HUB_DOWNLOAD_TIMEOUT", "1");
    ctx.emulator
        .add_fault(Fault::on_cdn().times(1).action(FaultAction::Stall {
            after_bytes: 500_000,
            millis: 4_000,
        }));
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    assert!(
        out.stderr.contains("did not answer in time"),
        "{}",
        out.stderr
    );
    let gets = model_requests(&ctx);
    assert!(
        gets.len() >= 2 && range_start(&gets[1]).is_some(),
        "{gets:#?}"
    );
    assert_blob_is_verified(&ctx);
}

#[test]
fn a_short_body_is_completed_with_a_range_request() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .times(1)
            .action(FaultAction::ShortBody { missing: 4096 }),
    );
    ctx.run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    let gets = model_requests(&ctx);
    assert_eq!(gets.len(), 2);
    assert!(range_start(&gets[1]).is_some());
    assert_blob_is_verified(&ctx);
}

#[test]
fn a_killed_process_leaves_a_partial_file_the_next_run_continues() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 1_000_000,
        }));
    let mut child = spawn(&ctx, &["download", "acme/tiny", "model.safetensors"]);
    wait_for_partial(&ctx.cache(), 300_000);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let partial: u64 = incomplete_files(&ctx.cache())
        .iter()
        .map(|(_, s)| *s)
        .max()
        .unwrap();
    assert!(partial > 0);

    assert_next_run_resumes(&ctx, &["download", "acme/tiny", "model.safetensors"]);
    assert_blob_is_verified(&ctx);
    assert!(incomplete_files(&ctx.cache()).is_empty());
}

#[test]
fn ctrl_c_exits_130_and_keeps_the_partial_file() {
    let ctx = ctx();
    let child = start_slow_download(&ctx);
    send_signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("run the same command again to resume")
    );
    assert!(!incomplete_files(&ctx.cache()).is_empty());

    assert_next_run_resumes(&ctx, &["download", "acme/tiny", "model.safetensors"]);
    assert_blob_is_verified(&ctx);
}

/// Container runtimes and batch schedulers stop a job with SIGTERM, a closed SSH session sends
/// SIGHUP. Before, hfget died of them without a word and left its lease behind, so a restarted
/// job elsewhere waited for the lease to expire.
#[test]
fn sigterm_and_sighup_stop_like_ctrl_c_and_release_the_lease() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let ctx = ctx();
        let child = start_slow_download(&ctx);
        let blobs = ctx.cache().join("models--acme--tiny/blobs");
        assert!(
            !leases(&blobs).is_empty(),
            "the running download holds a lease"
        );
        send_signal(&child, signal);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(
            stderr.contains(&format!("Stopped by SIG{signal}."))
                && stderr.contains("run the same command again to resume"),
            "{stderr}"
        );
        assert_eq!(leases(&blobs), Vec::<String>::new(), "SIG{signal}");
        assert!(!incomplete_files(&ctx.cache()).is_empty());

        assert_next_run_resumes(&ctx, &["download", "acme/tiny", "model.safetensors"]);
        assert_blob_is_verified(&ctx);
    }
}

/// `nohup hfget …` (SIGHUP ignored by the parent) must outlive a closed terminal: a handler
/// installed over the inherited "ignore" would stop it.
#[test]
fn a_sighup_ignored_by_the_parent_stays_ignored() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 1_000_000,
        }));
    let hfget = ctx.command(&[]).get_program().to_owned();
    let mut shell = std::process::Command::new("sh");
    shell.env_clear().envs(
        ctx.command(&[])
            .get_envs()
            .filter_map(|(k, v)| Some((k, v?))),
    );
    let child = shell
        .args([
            "-c",
            "trap '' HUP; exec \"$0\" download acme/tiny model.safetensors",
        ])
        .arg(&hfget)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_partial(&ctx.cache(), 300_000);
    send_signal(&child, "HUP");
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_blob_is_verified(&ctx);
}

/// Starts downloading the LFS file at 1 MB/s and returns once part of it is on disk.
fn start_slow_download(ctx: &TestContext) -> Child {
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 1_000_000,
        }));
    let child = spawn(ctx, &["download", "acme/tiny", "model.safetensors"]);
    wait_for_partial(&ctx.cache(), 300_000);
    child
}

fn send_signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn leases(blobs: &Path) -> Vec<String> {
    std::fs::read_dir(blobs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| name.ends_with(".lease"))
        .collect()
}

#[test]
fn corrupted_bytes_are_discarded_and_fetched_again_once() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .times(1)
            .action(FaultAction::Corrupt { offset: 12_345 }),
    );
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    assert!(
        out.stderr.contains("did not match its sha256"),
        "{}",
        out.stderr
    );
    assert_blob_is_verified(&ctx);
}

#[test]
fn persistent_corruption_is_a_clear_error_and_nothing_is_cached() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Corrupt { offset: 77 }));
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .failure(8);
    assert!(
        out.stderr.contains("failed its integrity check twice"),
        "{}",
        out.stderr
    );
    let blobs = ctx.cache().join("models--acme--tiny/blobs");
    let names: Vec<String> = std::fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        names.iter().all(|n| n.len() != 64),
        "no sha256-named blob was placed: {names:?}"
    );
    assert!(
        incomplete_files(&ctx.cache()).is_empty(),
        "corrupt bytes are not kept for resuming"
    );
}

/// Found at stop 19: a CDN that lacked a blob (404 `NoSuchKey`, as S3 answers) was reported as
/// "the repository was not found", which sends the user to check names and tokens.
#[test]
fn a_blob_missing_from_the_cdn_is_never_called_a_missing_repository() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Status { status: 404 }));
    let out = ctx.run(&["download", "acme/tiny", "model.safetensors"]);
    assert_eq!(out.code, 7, "the Hub's side failed: {}", out.stderr);
    assert!(
        !out.stderr.contains("repository was not found"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("has no file at the address the Hub sent this download to (HTTP 404)")
            && out.stderr.contains("the download host 127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("X-Amz") && !out.stderr.contains("Signature"),
        "the signed URL's query is not shown: {}",
        out.stderr
    );
}

#[test]
fn a_refused_signed_url_is_resolved_again_and_never_called_an_auth_problem() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_cdn()
            .times(1)
            .action(FaultAction::Status { status: 403 }),
    );
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    assert!(
        out.stderr.contains("signed download URL was refused"),
        "{}",
        out.stderr
    );
    let resolves = ctx
        .requests()
        .iter()
        .filter(|r| r.path.contains("/resolve/") && r.path.contains("model.safetensors"))
        .count();
    assert_eq!(resolves, 2, "a fresh signed URL was minted");
    assert_blob_is_verified(&ctx);

    let ctx = self::ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Status { status: 403 }));
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .failure(7);
    assert!(
        out.stderr.contains("not a permission problem"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("doctor"),
        "no access diagnosis for a CDN refusal: {}",
        out.stderr
    );
}

#[test]
fn a_server_that_ignores_range_is_handled() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    let blob = model_blob(&ctx);
    let bytes = std::fs::read(&blob).unwrap();
    let etag = blob.file_name().unwrap().to_string_lossy().to_string();
    std::fs::remove_file(&blob).unwrap();
    let partial = blob.with_file_name(format!("{etag}.incomplete"));
    std::fs::write(&partial, &bytes[..1000]).unwrap();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::IgnoreRange));
    ctx.clear_requests();
    ctx.run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    assert_eq!(std::fs::read(&blob).unwrap(), bytes);
}

#[test]
fn html_where_json_was_expected_is_a_clear_error() {
    let ctx = ctx();
    ctx.emulator.add_fault(
        Fault::on_hub()
            .path("/revision/")
            .action(FaultAction::HtmlError { status: 200 }),
    );
    let out = ctx.run(&["download", "acme/tiny"]).failure(8);
    assert!(
        out.stderr.contains("HTML page where JSON was expected"),
        "{}",
        out.stderr
    );
    assert!(
        !ctx.cache().join("models--acme--tiny/snapshots").exists(),
        "nothing half-done is presented"
    );
}

#[test]
fn concurrent_processes_download_each_blob_once() {
    let ctx = ctx();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 4_000_000,
        }));
    let children: Vec<Child> = (0..3)
        .map(|_| spawn(&ctx, &["download", "acme/tiny"]))
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for output in &outputs {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let paths: Vec<String> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .collect();
    assert!(paths.windows(2).all(|w| w[0] == w[1]));
    let cdn_gets = model_requests(&ctx).len();
    assert_eq!(cdn_gets, 1, "the LFS blob crossed the network once");
    for small in ["README.md", "config.json", "notes.txt"] {
        let fetched = ctx
            .requests()
            .iter()
            .filter(|r| {
                r.method == "GET"
                    && r.path.starts_with("/api/resolve-cache/")
                    && r.path.contains(small)
            })
            .count();
        assert_eq!(fetched, 1, "{small} fetched once");
    }
    assert_blob_is_verified(&ctx);
}

/// A small tmpfs, unmounted on drop. Needs root (CI and the dev machines run as root).
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// `None` (with a note) when this is not root outside CI; under CI it must work.
    fn new(path: PathBuf, size: &str) -> Option<SmallDisk> {
        let uid = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if uid.as_deref().ok() != Some("0") && std::env::var_os("CI").is_none() {
            eprintln!("skipping: mounting a small tmpfs needs root (CI runs this test as root)");
            return None;
        }
        std::fs::create_dir_all(&path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs needs root; run the tests as root (CI does)"
        );
        Some(SmallDisk(path))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn the_free_space_preflight_fails_fast_with_numbers() {
    let ctx = ctx();
    let Some(disk) = SmallDisk::new(ctx.path("small"), "2m") else {
        return;
    };
    let out = ctx
        .run(&[
            "download",
            "acme/tiny",
            "--cache-dir",
            disk.0.to_str().unwrap(),
        ])
        .failure(9);
    assert!(
        out.stderr.contains("Not enough disk space"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("needs 3.00 MiB more"), "{}", out.stderr);
    assert!(
        model_requests(&ctx).is_empty(),
        "failed before the first byte"
    );
}

#[test]
fn running_out_of_space_midway_is_clear_and_resumable() {
    let ctx = ctx();
    let Some(disk) = SmallDisk::new(ctx.path("small"), "4m") else {
        return;
    };
    let cache = disk.0.to_str().unwrap().to_string();
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 1_000_000,
        }));
    let child = spawn(
        &ctx,
        &[
            "download",
            "acme/tiny",
            "model.safetensors",
            "--cache-dir",
            &cache,
        ],
    );
    wait_for_partial(&disk.0, 200_000);
    // Fill what is left of the disk while the download runs.
    let filler = disk.0.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(9), "{stderr}");
    assert!(stderr.contains("disk is full"), "{stderr}");
    let kept: u64 = incomplete_files(&disk.0)
        .iter()
        .map(|(_, s)| *s)
        .max()
        .unwrap_or(0);
    assert!(kept > 0, "what was downloaded is kept");

    std::fs::remove_file(&filler).unwrap();
    assert_next_run_resumes(
        &ctx,
        &[
            "download",
            "acme/tiny",
            "model.safetensors",
            "--cache-dir",
            &cache,
        ],
    );
}

#[test]
fn without_file_locks_concurrent_processes_stay_correct() {
    // Filesystems where flock is broken (HFGET_NO_FILE_LOCKS): each process writes its own
    // partial file, so blobs may be fetched more than once, but never mixed.
    let mut ctx = ctx();
    ctx.env("HFGET_NO_FILE_LOCKS", "1");
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 4_000_000,
        }));
    let children: Vec<Child> = (0..3)
        .map(|_| spawn(&ctx, &["download", "acme/tiny"]))
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_blob_is_verified(&ctx);
    assert!(
        incomplete_files(&ctx.cache()).is_empty(),
        "no private partial file left behind"
    );
    assert!(
        !ctx.cache().join(".locks/models--acme--tiny").exists(),
        "no lock was taken"
    );
}

/// A run `kill -9`ed between placing a blob and removing its lease leaves the lease behind, and
/// later runs find the blob in place, so never claim it. The next run sweeps it (the CI soak
/// `shared_cache::soak_random_kills_on_two_machines` found such a lease after a kill). Before
/// the fix the lease stayed forever.
#[test]
fn a_lease_left_next_to_a_placed_blob_by_a_killed_run_is_swept() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    let blob = model_blob(&ctx);
    let etag = blob.file_name().unwrap().to_string_lossy().to_string();
    let lease = blob.with_file_name(format!("{etag}.lease"));
    // A process of this machine that is gone: its pid names no live process.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let owner = serde_json::json!({
        "version": 1,
        "host": "this-machine",
        "boot_id": std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim(),
        "pid_ns": std::fs::read_link("/proc/self/ns/pid").unwrap().to_string_lossy(),
        "pid": pid,
        "process_start": 1,
        "token": "hfget-00000000000000ab",
        "file": "model.safetensors",
        "size": LFS_SIZE,
    });
    std::fs::write(&lease, format!("{owner}\nbeat {:020}\n", 3)).unwrap();
    ctx.run(&["download", "acme/tiny"]).success();
    assert!(!lease.exists(), "the dead owner's lease is still there");
    assert_blob_is_verified(&ctx);
}

/// A run killed between creating a snapshot symlink's temporary and renaming it leaves
/// `.<name>.<random>.tmp` in `snapshots/<commit>/`. The next run removes one that is clearly a
/// dead run's (older than 10 s), and leaves a fresh one alone: it may be a live run's, between
/// its two calls. Before the fix they stayed forever.
#[test]
fn a_dead_runs_snapshot_link_temporary_is_swept_by_the_next_run() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    let repo = ctx.cache().join("models--acme--tiny");
    let commit = std::fs::read_to_string(repo.join("refs/main")).unwrap();
    let snapshot = repo.join("snapshots").join(commit.trim());
    let stale = snapshot.join(".config.json.0badc0de.tmp");
    let fresh = snapshot.join(".README.md.0000cafe.tmp");
    for temporary in [&stale, &fresh] {
        std::os::unix::fs::symlink("../../blobs/nothing", temporary).unwrap();
    }
    let touched = std::process::Command::new("touch")
        .args(["-h", "-d", "1 minute ago"])
        .arg(&stale)
        .status()
        .unwrap();
    assert!(touched.success());
    ctx.run(&["download", "acme/tiny"]).success();
    assert!(
        std::fs::symlink_metadata(&stale).is_err(),
        "the dead run's temporary is gone"
    );
    assert!(
        std::fs::symlink_metadata(&fresh).is_ok(),
        "a fresh one may be a live run's"
    );
}

/// A run `kill -9`ed between writing the listing cache's temporary and renaming it leaves
/// `trees/.<commit>.json.<random>.tmp`, and every later run finds the listing in place, so never
/// writes it again. The next run sweeps the temporary (the CI soak
/// `shared_cache::soak_random_kills_on_two_machines` found one after a kill); the listing it
/// reads is not rewritten. Before the fix the temporary stayed forever.
#[test]
fn a_listing_temporary_left_by_a_killed_run_is_swept() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    let repo = ctx.cache().join("models--acme--tiny");
    let commit = std::fs::read_to_string(repo.join("refs/main")).unwrap();
    let listing = repo.join("trees").join(format!("{commit}.json"));
    let written = std::fs::read(&listing).unwrap();
    let temporary = listing.with_file_name(format!(".{commit}.json.0badf00d.tmp"));
    std::fs::write(&temporary, &written[..written.len() / 2]).unwrap();
    // Not a temporary of this listing: left alone.
    let other = listing.with_file_name(format!(".{commit}.json.notes.tmp"));
    std::fs::write(&other, b"mine").unwrap();
    let listed_before = ctx.requests().len();
    ctx.run(&["download", "acme/tiny"]).success();
    assert!(
        !temporary.exists(),
        "the killed run's temporary is still there"
    );
    assert!(
        other.exists(),
        "a file that is no listing temporary was removed"
    );
    assert_eq!(std::fs::read(&listing).unwrap(), written);
    assert!(
        ctx.requests()[listed_before..]
            .iter()
            .all(|r| !r.path.contains("/tree/")),
        "the second run read the cached listing"
    );
}

/// A run `kill -9`ed while probing whether locks work in blobs/ leaves
/// `.hfget-lock-probe.<boot id>.<pid>`; a run probes only when it claims a blob, so runs that
/// find every blob in place never looked (the CI soak
/// `shared_cache::soak_random_kills_on_two_machines` found one after a kill). The next run
/// removes the dead process's probe, never a live one's. Before the fix it stayed forever.
#[test]
fn a_lock_probe_left_by_a_killed_run_is_swept_by_a_run_that_claims_nothing() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    let blobs = model_blob(&ctx).parent().unwrap().to_path_buf();
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let probe = |pid: u32| blobs.join(format!(".hfget-lock-probe.{}.{pid}", &boot_id[..8]));
    std::fs::write(probe(dead_pid), b"").unwrap();
    // This test's own process is alive: its probe is kept.
    std::fs::write(probe(std::process::id()), b"").unwrap();
    ctx.run(&["download", "acme/tiny"]).success();
    assert!(
        !probe(dead_pid).exists(),
        "the dead run's probe is still there"
    );
    assert!(
        probe(std::process::id()).exists(),
        "a live process's probe was removed"
    );
    let _ = std::fs::remove_file(probe(std::process::id()));
}
