//! `scripts/offline-tour.sh`: it finds the binaries wherever cargo put them
//! (`CARGO_TARGET_DIR`), and a failed emulator start is an error that prints the emulator's
//! output — never the environment (the old `export $(grep …)` with no match printed it all,
//! tokens included). `cargo` itself is replaced by a stub, so the test does not build.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const SECRET: &str = "hf_tour_secret_from_the_environment_0001";

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A target folder (given as CARGO_TARGET_DIR) holding the real hfget and `emulator`, and a
/// stub `cargo` that builds nothing and reports that folder.
fn stage(temp: &Path, emulator: &Path) -> (PathBuf, PathBuf) {
    let target = temp.join("elsewhere-target");
    let debug = target.join("debug");
    std::fs::create_dir_all(&debug).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hfget"), debug.join("hfget")).unwrap();
    std::os::unix::fs::symlink(emulator, debug.join("hub-emulator")).unwrap();
    let stubs = temp.join("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    write_executable(
        &stubs.join("cargo"),
        &format!(
            "#!/bin/sh\n[ \"$1\" = metadata ] && printf '{{\"packages\":[],\"target_directory\":\"{}\",\"version\":1}}\\n'\nexit 0\n",
            target.display()
        ),
    );
    (target, stubs)
}

fn run_tour(target: &Path, stubs: &Path, temp: &Path) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/offline-tour.sh");
    let path = format!(
        "{}:{}",
        stubs.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .arg(script)
        .env_clear()
        .env("PATH", path)
        .env("HOME", temp)
        .env("CARGO_TARGET_DIR", target)
        .env("HF_TOKEN", SECRET)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn a_failed_emulator_start_is_reported_without_printing_the_environment() {
    let temp = tempfile::tempdir().unwrap();
    let broken = temp.path().join("broken-emulator");
    write_executable(
        &broken,
        "#!/bin/sh\necho 'emulator: cannot bind' >&2\nexit 3\n",
    );
    let (target, stubs) = stage(temp.path(), &broken);
    let (code, text) = run_tour(&target, &stubs, temp.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("did not start") && text.contains("cannot bind"),
        "{text}"
    );
    assert!(
        !text.contains(SECRET),
        "the environment was printed:\n{text}"
    );
}

#[test]
fn the_tour_runs_with_cargo_target_dir_set() {
    let emulator = Path::new(env!("CARGO_BIN_EXE_hfget")).with_file_name("hub-emulator");
    if !emulator.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI builds the whole workspace, emulator binary included"
        );
        eprintln!(
            "skipping: {} is not built (cargo test --workspace builds it)",
            emulator.display()
        );
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let (target, stubs) = stage(temp.path(), &emulator);
    let (code, text) = run_tour(&target, &stubs, temp.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Emulated Hub at http://127.0.0.1:"), "{text}");
    assert!(text.contains("[dry-run] Will download"), "{text}");
    assert!(
        text.contains("gated_access_pending") || text.contains("pending"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");
}
