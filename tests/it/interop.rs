//! Interop with a real client we did not write: the pinned `huggingface_hub` (see .ci/run).
//! Skipped (with a note) when HFGET_TEST_PYTHON is not set; CI sets it and requires it.

use std::path::Path;
use std::process::Command;

use crate::common::fixtures::*;
use crate::common::*;

/// Runs a Python snippet with `huggingface_hub` against this context's cache and emulator.
pub fn python(ctx: &TestContext, python: &Path, script: &str, offline: bool) -> String {
    python_with(ctx, python, script, offline, false)
}

/// [`python`], with hf_xet on when `xet`. Off by default: the emulator serves Xet-backed files
/// through the plain-HTTP bridge, and only a scenario with a Xet server answers hf_xet's CAS
/// protocol (docs/protocol.md §6).
pub fn python_with(
    ctx: &TestContext,
    python: &Path,
    script: &str,
    offline: bool,
    xet: bool,
) -> String {
    let mut command = Command::new(python);
    command
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("HOME", ctx.home())
        .env("HF_HOME", ctx.hf_home())
        .env("HF_ENDPOINT", ctx.emulator.hub_url())
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("HF_HUB_DISABLE_UPDATE_CHECK", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("PYTHONWARNINGS", "error::UserWarning:huggingface_hub");
    if !xet {
        command.env("HF_HUB_DISABLE_XET", "1");
    }
    if offline {
        command.env("HF_HUB_OFFLINE", "1");
    }
    let output = command.output().expect("python runs");
    assert!(
        output.status.success(),
        "python failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn python_reads_an_hfget_cache_offline_and_scan_cache_dir_is_clean() {
    let Some(interpreter) = crate::common::python() else {
        return;
    };
    let ctx = TestContext::new(standard_scenario());
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.run(&["download", "acme/tiny", "--revision", "v1"])
        .success();
    ctx.run(&["download", "datasets/acme/data"]).success();
    ctx.clear_requests();
    let script = r#"
import hashlib, os
from huggingface_hub import hf_hub_download, snapshot_download, scan_cache_dir, try_to_load_from_cache
snap = snapshot_download("acme/tiny", local_files_only=True)
files = sorted(os.path.relpath(os.path.join(d, f), snap) for d, _, fs in os.walk(snap) for f in fs)
print("snapshot", files)
for name in files:
    path = hf_hub_download("acme/tiny", name, local_files_only=True)
    with open(path, "rb") as fh:
        print(name, hashlib.sha256(fh.read()).hexdigest())
old = hf_hub_download("acme/tiny", "config.json", revision="v1", local_files_only=True)
print("v1", open(old).read().strip())
data = snapshot_download("acme/data", repo_type="dataset", local_files_only=True)
print("dataset", sorted(os.listdir(data)))
report = scan_cache_dir()
print("warnings", len(report.warnings), [str(w) for w in report.warnings])
print("repos", sorted((r.repo_type, r.repo_id, r.nb_files) for r in report.repos))
"#;
    let out = python(&ctx, &interpreter, script, true);
    assert!(
        out.contains(
            "snapshot ['README.md', 'config.json', 'model.safetensors', 'nested/deeper/notes.txt']"
        ),
        "{out}"
    );
    assert!(out.contains("v1 {\"hidden_size\": 8}"), "{out}");
    assert!(out.contains("dataset ['README.md', 'data']"), "{out}");
    assert!(out.contains("warnings 0 []"), "{out}");
    assert!(
        out.contains("('model', 'acme/tiny', 5)"),
        "v1 and main share 4 blobs + 1 changed config: {out}"
    );
    // The sha256 Python computes for the LFS file is its blob name in hfget's cache.
    let snapshot = std::fs::read_link(
        ctx.cache()
            .join("models--acme--tiny/snapshots")
            .join(
                std::fs::read_to_string(ctx.cache().join("models--acme--tiny/refs/main")).unwrap(),
            )
            .join("model.safetensors"),
    )
    .unwrap();
    let blob = snapshot.file_name().unwrap().to_string_lossy().to_string();
    assert!(out.contains(&format!("model.safetensors {blob}")), "{out}");
    assert!(ctx.requests().is_empty(), "Python was offline");
}

#[test]
fn hfget_reuses_a_cache_filled_by_python_without_file_requests() {
    let Some(interpreter) = crate::common::python() else {
        return;
    };
    let ctx = TestContext::new(standard_scenario());
    let script = r#"
from huggingface_hub import snapshot_download
print(snapshot_download("acme/tiny"))
print(snapshot_download("acme/data", repo_type="dataset"))
"#;
    let printed = python(&ctx, &interpreter, script, false);
    assert!(
        !ctx.cdn_requests().is_empty(),
        "Python really downloaded from the emulator"
    );
    ctx.clear_requests();

    let out = ctx.run(&["download", "acme/tiny"]).success();
    assert_eq!(
        out.stdout_line(),
        printed.lines().next().unwrap(),
        "same snapshot folder"
    );
    let out = ctx
        .run(&["download", "datasets/acme/data", "--json"])
        .success();
    assert!(
        out.json()["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "cached")
    );
    assert!(
        ctx.file_requests().is_empty(),
        "no file request: {:#?}",
        ctx.file_requests()
    );

    // Single files too, pinned or not.
    ctx.run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    assert!(ctx.file_requests().is_empty(), "{:#?}", ctx.file_requests());
    let _ = LFS_SIZE;
}

#[test]
fn python_uses_a_token_file_written_by_hfget() {
    let Some(interpreter) = crate::common::python() else {
        return;
    };
    let ctx = TestContext::new(standard_scenario());
    ctx.run_with_stdin(&["login", "--store", "file"], ALICE)
        .success();
    let out = python(
        &ctx,
        &interpreter,
        "from huggingface_hub import whoami\nprint(whoami()['name'])",
        false,
    );
    assert_eq!(out.trim(), "alice");
}

/// A repository with no files downloaded fine, but the offline rerun said "not in the cache":
/// no ref was written, since nothing was placed. Its listing says it is complete.
#[test]
fn an_empty_repository_is_served_offline_after_its_download() {
    let ctx = TestContext::new(standard_scenario().repo(hub_emulator::Repo::model("acme/empty")));
    let online = ctx.run(&["download", "acme/empty"]).success();
    let snapshot = online.stdout_line().to_string();
    assert!(Path::new(&snapshot).is_dir(), "{snapshot}");
    assert!(ctx.cache().join("models--acme--empty/refs/main").is_file());
    ctx.clear_requests();
    let out = ctx
        .command(&["download", "acme/empty"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), snapshot);
    assert!(ctx.requests().is_empty(), "offline means no request");
    let Some(interpreter) = crate::common::python() else {
        return;
    };
    let script = r#"
from huggingface_hub import snapshot_download, scan_cache_dir
print("snapshot", snapshot_download("acme/empty", local_files_only=True))
report = scan_cache_dir()
print("warnings", len(report.warnings), [str(w) for w in report.warnings])
"#;
    let out = python(&ctx, &interpreter, script, true);
    assert!(out.contains(&format!("snapshot {snapshot}")), "{out}");
    assert!(out.contains("warnings 0 []"), "{out}");
}

/// `HF_HUB_DISABLE_SYMLINKS=1`: snapshots hold hard links to their blobs (no extra space), a
/// warning says so, and Python reads the snapshot offline as plain files.
#[test]
fn a_cache_without_symlinks_holds_hard_links_that_python_reads() {
    let Some(interpreter) = crate::common::python() else {
        return;
    };
    let ctx = TestContext::new(standard_scenario());
    let out = Outcome::from(
        ctx.command(&["download", "acme/tiny"])
            .env("HF_HUB_DISABLE_SYMLINKS", "1")
            .output()
            .unwrap(),
    );
    assert!(out.stderr.contains("hard links"), "{}", out.stderr);
    out.success();
    let commit = std::fs::read_to_string(ctx.cache().join("models--acme--tiny/refs/main")).unwrap();
    let file = ctx
        .cache()
        .join("models--acme--tiny/snapshots")
        .join(&commit)
        .join("model.safetensors");
    let metadata = std::fs::symlink_metadata(&file).unwrap();
    assert!(metadata.is_file(), "a plain file, not a symlink");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        metadata.nlink(),
        2,
        "the blob and the snapshot share one inode"
    );
    ctx.clear_requests();
    let script = r#"
import hashlib
from huggingface_hub import hf_hub_download
path = hf_hub_download("acme/tiny", "model.safetensors", local_files_only=True)
print("sha", hashlib.sha256(open(path, "rb").read()).hexdigest())
"#;
    let out = python(&ctx, &interpreter, script, true);
    let blobs: Vec<String> = std::fs::read_dir(ctx.cache().join("models--acme--tiny/blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| name.len() == 64)
        .collect();
    assert!(
        blobs.iter().any(|b| out.contains(&format!("sha {b}"))),
        "{out} {blobs:?}"
    );
    assert!(ctx.requests().is_empty(), "Python was offline");
}
