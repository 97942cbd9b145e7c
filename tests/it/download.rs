//! `hfget download` against the emulator: cache layout, requests made, flags, resume, errors.

use std::path::Path;

use crate::common::fixtures::*;
use crate::common::*;

fn ctx() -> TestContext {
    TestContext::new(standard_scenario())
}

fn snapshot_dir(ctx: &TestContext, repo_folder: &str) -> std::path::PathBuf {
    let outcome_commit =
        std::fs::read_to_string(ctx.cache().join(repo_folder).join("refs/main")).unwrap();
    ctx.cache()
        .join(repo_folder)
        .join("snapshots")
        .join(outcome_commit)
}

#[test]
fn snapshot_download_fills_the_huggingface_cache_layout() {
    let ctx = ctx();
    let out = ctx.run(&["download", "acme/tiny"]).success();
    let repo = ctx.cache().join("models--acme--tiny");
    let commit = std::fs::read_to_string(repo.join("refs/main")).unwrap();
    assert_eq!(
        commit.len(),
        40,
        "ref is a bare commit hash without newline: {commit:?}"
    );
    let snapshot = repo.join("snapshots").join(&commit);
    assert_eq!(
        out.stdout_line(),
        snapshot.display().to_string(),
        "stdout carries only the path"
    );

    for (name, depth) in [
        ("README.md", 0),
        ("config.json", 0),
        ("nested/deeper/notes.txt", 2),
        ("model.safetensors", 0),
    ] {
        let link = snapshot.join(name);
        let target =
            std::fs::read_link(&link).unwrap_or_else(|e| panic!("{name} is a symlink: {e}"));
        let expected_prefix = "../".repeat(depth + 2) + "blobs/";
        assert!(
            target.to_string_lossy().starts_with(&expected_prefix),
            "{name} -> {}",
            target.display()
        );
        assert!(link.is_file(), "{name} resolves");
    }
    assert_eq!(
        std::fs::read(snapshot.join("config.json")).unwrap(),
        b"{\"hidden_size\": 16}\n"
    );
    let model = snapshot.join("model.safetensors");
    assert_eq!(std::fs::metadata(&model).unwrap().len(), LFS_SIZE);
    let blob_name = std::fs::read_link(&model)
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert_eq!(blob_name.len(), 64, "LFS blobs are named by sha256");
    assert_eq!(sha256_file(&model), blob_name);
    assert!(ctx.cache().join("CACHEDIR.TAG").is_file());
    assert!(repo.join(format!("trees/{commit}.json")).is_file());
    let leftovers: Vec<_> = std::fs::read_dir(repo.join("blobs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
        .collect();
    assert!(leftovers.is_empty(), "no .incomplete left behind");
}

#[test]
fn one_revision_request_one_paginated_listing_and_no_head_per_file() {
    let mut ctx = ctx();
    // With a token, so that "the CDN never sees the token" below can fail (it ran
    // anonymously, where no request carries one).
    ctx.env("HF_TOKEN", ALICE);
    ctx.run(&["download", "acme/tiny"]).success();
    let requests = ctx.requests();
    let heads = requests.iter().filter(|r| r.method == "HEAD").count();
    assert_eq!(heads, 0, "no HEAD: the listing gives size and etag");
    let revision = requests
        .iter()
        .filter(|r| r.path.contains("/revision/"))
        .count();
    assert_eq!(revision, 1);
    let pages = requests
        .iter()
        .filter(|r| r.path.contains("/tree/"))
        .count();
    assert_eq!(
        pages, 3,
        "4 files and 2 folders at page size 2 → several pages, all followed"
    );
    let bearer = format!("Bearer {ALICE}");
    assert!(
        requests
            .iter()
            .filter(|r| r.origin == Origin::Hub)
            .all(|r| r.authorization.as_deref() == Some(bearer.as_str())),
        "every Hub request carries the token: {requests:#?}"
    );
    let cdn: Vec<_> = ctx.cdn_requests();
    assert_eq!(cdn.len(), 1, "the one LFS file goes to the CDN");
    assert!(
        cdn.iter().all(|r| r.authorization.is_none()),
        "the CDN never sees the token"
    );
}

#[test]
fn rerun_on_a_complete_cache_costs_one_request() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.clear_requests();
    let out = ctx.run(&["download", "acme/tiny"]).success();
    assert!(out.stderr.contains("Up to date"), "{}", out.stderr);
    let requests = ctx.requests();
    assert_eq!(requests.len(), 1, "only the revision lookup: {requests:#?}");
    assert!(requests[0].path.contains("/revision/main"));

    // Pinned to a commit hash, not even that.
    let commit = std::fs::read_to_string(ctx.cache().join("models--acme--tiny/refs/main")).unwrap();
    ctx.clear_requests();
    ctx.run(&["download", "acme/tiny", "--revision", &commit])
        .success();
    assert!(ctx.requests().is_empty(), "{:#?}", ctx.requests());
}

#[test]
fn offline_mode_serves_from_cache_with_zero_requests() {
    let mut ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.clear_requests();
    ctx.env("HF_HUB_OFFLINE", "1");
    let out = ctx.run(&["download", "acme/tiny"]).success();
    assert!(out.stdout_line().ends_with(
        &std::fs::read_to_string(ctx.cache().join("models--acme--tiny/refs/main")).unwrap()
    ));
    let single = ctx.run(&["download", "acme/tiny", "config.json"]).success();
    assert!(single.stdout_line().ends_with("/config.json"));
    assert!(ctx.requests().is_empty());

    let missing = ctx
        .run(&["download", "acme/data", "--repo-type", "dataset"])
        .failure(10);
    assert!(
        missing.stderr.contains("HF_HUB_OFFLINE"),
        "{}",
        missing.stderr
    );
    assert!(ctx.requests().is_empty());
}

#[test]
fn single_file_prints_the_file_path() {
    let ctx = ctx();
    let out = ctx.run(&["download", "acme/tiny", "config.json"]).success();
    let path = Path::new(out.stdout_line());
    assert!(path.ends_with("config.json"));
    assert_eq!(std::fs::read(path).unwrap(), b"{\"hidden_size\": 16}\n");
    assert!(
        !ctx.requests().iter().any(|r| r.path.contains("/tree/")),
        "named files use paths-info, not the listing"
    );
}

#[test]
fn revisions_branches_tags_prs_and_hf_uris() {
    let ctx = ctx();
    let v1 = ctx
        .run(&["download", "acme/tiny", "config.json", "--revision", "v1"])
        .success();
    assert_eq!(
        std::fs::read(v1.stdout_line()).unwrap(),
        b"{\"hidden_size\": 8}\n"
    );
    assert!(ctx.cache().join("models--acme--tiny/refs/v1").is_file());

    let pr = ctx
        .run(&["download", "hf://acme/tiny@refs/pr/1/config.json"])
        .success();
    assert_eq!(
        std::fs::read(pr.stdout_line()).unwrap(),
        b"{\"hidden_size\": 16}\n"
    );
    assert!(
        ctx.cache()
            .join("models--acme--tiny/refs/refs/pr/1")
            .is_file(),
        "refs/pr/1 nests"
    );

    let data = ctx
        .run(&["download", "datasets/acme/data", "--json"])
        .success()
        .json();
    assert_eq!(data["repo_type"], "dataset");
    assert!(ctx.cache().join("datasets--acme--data").is_dir());
    let files: Vec<_> = data["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files, vec!["README.md", "data/train.csv"]);
}

#[test]
fn include_exclude_and_dry_run() {
    let ctx = ctx();
    let out = ctx
        .run(&[
            "download",
            "acme/tiny",
            "--include",
            "*.json",
            "--include",
            "*.md",
            "--exclude",
            "README*",
            "--json",
        ])
        .success();
    let names: Vec<String> = out.json()["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["config.json"]);

    let dry = ctx.run(&["download", "acme/tiny", "--dry-run"]).success();
    assert!(
        dry.stdout
            .contains("[dry-run] Will download 3 files (out of 4)"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("model.safetensors"));
    assert!(ctx.cdn_requests().is_empty(), "dry run transfers nothing");
    let one = ctx
        .run(&["download", "acme/tiny", "README.md", "--dry-run"])
        .success();
    assert!(
        one.stdout.contains("Will download 1 file (out of 1)"),
        "{}",
        one.stdout
    );

    // As with `hf download`, a filter that matches nothing warns and succeeds
    // (scripts looping over repos keep going); the printed folder exists, JSON lists no files.
    let none = ctx
        .run(&["download", "acme/tiny", "--include", "*.gguf"])
        .success();
    assert!(
        none.stderr.contains("no file of acme/tiny matches"),
        "{}",
        none.stderr
    );
    assert!(Path::new(none.stdout_line()).is_dir(), "{}", none.stdout);
    assert!(!none.stderr.contains("Up to date"), "{}", none.stderr);
    let none = ctx
        .run(&["download", "acme/tiny", "--include", "*.gguf", "--json"])
        .success();
    assert_eq!(none.json()["files"], serde_json::json!([]));
    // The warning is in the report too, by a name scripts can match and with its sentence.
    let warnings = &none.json()["warnings"];
    assert_eq!(warnings[0]["kind"], "nothing_matches", "{}", none.stdout);
    assert!(
        warnings[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("no file of acme/tiny matches")),
        "{}",
        none.stdout
    );
    assert_eq!(
        warnings.as_array().map(Vec::len),
        Some(1),
        "{}",
        none.stdout
    );
}

#[test]
fn local_dir_writes_plain_files_and_metadata_and_skips_on_rerun() {
    let ctx = ctx();
    let dir = ctx.path("out");
    let dir_str = dir.display().to_string();
    let out = ctx
        .run(&["download", "acme/tiny", "--local-dir", &dir_str])
        .success();
    assert_eq!(out.stdout_line(), dir_str);
    assert_eq!(
        std::fs::read(dir.join("config.json")).unwrap(),
        b"{\"hidden_size\": 16}\n"
    );
    assert!(
        !std::fs::symlink_metadata(dir.join("model.safetensors"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let metadata =
        std::fs::read_to_string(dir.join(".cache/huggingface/download/model.safetensors.metadata"))
            .unwrap();
    let lines: Vec<&str> = metadata.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1], sha256_file(&dir.join("model.safetensors")));
    assert_eq!(
        std::fs::read_to_string(dir.join(".cache/huggingface/.gitignore")).unwrap(),
        "*"
    );

    ctx.clear_requests();
    let again = ctx
        .run(&["download", "acme/tiny", "--local-dir", &dir_str])
        .success();
    assert!(
        again.stderr.contains("0 files downloaded"),
        "{}",
        again.stderr
    );
    assert!(ctx.file_requests().is_empty(), "{:#?}", ctx.file_requests());
}

#[test]
fn force_downloads_again() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    ctx.clear_requests();
    ctx.run(&["download", "acme/tiny", "model.safetensors", "--force"])
        .success();
    assert_eq!(ctx.cdn_requests().len(), 1);
}

#[test]
fn bad_input_fails_before_any_request() {
    let ctx = ctx();
    for args in [
        vec!["download", "not/a/repo/id"],
        vec!["download", "acme/ti ny"],
        vec!["download", "acme/tiny", "--revision", ""],
        vec!["download", "acme/tiny", "--revision", "a..b"],
        vec!["download", "acme/tiny", "--repo-type", "kernelz"],
        vec!["download", "datasets/acme/data", "--repo-type", "space"],
        vec!["download", "acme/tiny", "../etc/passwd"],
        vec!["download", "hf://acme/tiny@v1", "--revision", "main"],
    ] {
        let out = ctx.run(&args);
        assert_eq!(out.code, 2, "{args:?}\n{}", out.stderr);
        assert!(!out.stderr.trim().is_empty());
    }
    assert!(ctx.requests().is_empty(), "{:#?}", ctx.requests());
}

#[test]
fn missing_file_names_the_closest_matches_and_records_no_exist() {
    let ctx = ctx();
    let out = ctx.run(&["download", "acme/tiny", "confg.json"]).failure(3);
    assert!(
        out.stderr.contains("Did you mean 'config.json'"),
        "{}",
        out.stderr
    );
    let commit = std::fs::read_to_string(ctx.cache().join("models--acme--tiny/refs/main")).unwrap();
    assert!(
        ctx.cache()
            .join(format!("models--acme--tiny/.no_exist/{commit}/confg.json"))
            .is_file()
    );
}

#[test]
fn resumes_a_partial_blob_left_by_a_killed_run() {
    let ctx = ctx();
    // Learn the blob name, then plant the first half of it as a leftover .incomplete.
    ctx.run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    let repo = ctx.cache().join("models--acme--tiny");
    let snapshot = snapshot_dir(&ctx, "models--acme--tiny");
    let blob = std::fs::canonicalize(snapshot.join("model.safetensors")).unwrap();
    let bytes = std::fs::read(&blob).unwrap();
    let etag = blob.file_name().unwrap().to_string_lossy().to_string();
    std::fs::remove_file(&blob).unwrap();
    std::fs::remove_file(snapshot.join("model.safetensors")).unwrap();
    let half = bytes.len() / 2;
    std::fs::write(
        repo.join(format!("blobs/{etag}.incomplete")),
        &bytes[..half],
    )
    .unwrap();
    ctx.clear_requests();

    ctx.run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    let cdn = ctx.cdn_requests();
    assert_eq!(cdn.len(), 1);
    assert_eq!(
        cdn[0].range.as_deref(),
        Some(format!("bytes={half}-").as_str())
    );
    assert_eq!(std::fs::read(&blob).unwrap(), bytes);
}

#[test]
fn local_dir_copies_blobs_already_in_the_cache_without_downloading() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.clear_requests();
    let dir = ctx.path("copy");
    let out = ctx
        .run(&[
            "download",
            "acme/tiny",
            "--local-dir",
            dir.to_str().unwrap(),
            "--json",
        ])
        .success();
    assert!(
        out.json()["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "copied-from-cache")
    );
    assert!(
        out.stderr.contains("4 copied from the cache") && out.stderr.starts_with("Done:"),
        "{}",
        out.stderr
    );
    assert!(ctx.file_requests().is_empty(), "{:#?}", ctx.file_requests());
    assert_eq!(sha256_file(&dir.join("model.safetensors")).len(), 64);
    assert!(
        !std::fs::symlink_metadata(dir.join("config.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn renamed_and_differently_cased_ids_follow_the_hubs_redirect() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", ALICE);
    // The old name 307s to the new one, on the API and on resolve; the token stays on these
    // same-origin hops, and the cache keeps the name the user asked for, as Python does (§2.2).
    let out = ctx.run(&["download", "acme/old-name"]).success();
    assert!(
        out.stdout_line().contains("models--acme--old-name"),
        "{}",
        out.stdout
    );
    assert!(ctx.requests().iter().any(|r| r.status == 307));
    assert!(
        ctx.requests()
            .iter()
            .filter(|r| r.origin == Origin::Hub)
            .all(|r| r.authorization.is_some())
    );
    let config = Path::new(out.stdout_line()).join("config.json");
    assert_eq!(std::fs::read(config).unwrap(), b"{\"renamed\": true}\n");
    ctx.run(&["download", "ACME/Tiny", "config.json"]).success();
}

#[test]
fn an_unreachable_hub_falls_back_to_what_is_cached() {
    let mut ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    let cached = ctx.run(&["download", "acme/tiny"]).success().stdout;
    ctx.env("HF_ENDPOINT", "http://127.0.0.1:9");
    let out = ctx.run(&["download", "acme/tiny"]).success();
    assert_eq!(out.stdout, cached);
    assert!(
        out.stderr.contains("using what an earlier run cached"),
        "{}",
        out.stderr
    );
    // Nothing cached for this repo: the network error stands.
    let out = ctx.run(&["download", "datasets/acme/data"]).failure(6);
    assert!(out.stderr.contains("could not reach"), "{}", out.stderr);
}

#[test]
fn quiet_prints_only_the_path() {
    let ctx = ctx();
    let out = ctx.run(&["-q", "download", "acme/tiny"]).success();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert!(out.stdout_line().contains("snapshots"));
    let out = ctx
        .run(&["download", "--quiet", "acme/tiny", "config.json"])
        .success();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn spaces_by_prefix_and_by_flag() {
    let ctx = ctx();
    let out = ctx
        .run(&["download", "spaces/acme/app", "app.py"])
        .success();
    assert!(
        out.stdout_line().contains("spaces--acme--app"),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read(out.stdout_line()).unwrap(), b"print('hi')\n");
    ctx.run(&["download", "acme/app", "--repo-type", "space"])
        .success();
    ctx.run(&["download", "acme/app", "--type", "space", "--json"])
        .success();
}

#[test]
fn the_token_flag_is_used_for_this_command_only() {
    let ctx = ctx();
    ctx.run(&["download", "acme/secret", "--token", ALICE])
        .success();
    let secret_requests: Vec<_> = ctx
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("acme/secret"))
        .collect();
    assert!(
        secret_requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {ALICE}") as &str))
    );
    // Without it the private repo is invisible again (and explained).
    ctx.run(&["download", "acme/secret"]).failure(3);
}

/// `--token ""` (an unset variable) is refused, never read as "no flag" and
/// silently replaced by HF_TOKEN or the stored login.
#[test]
fn an_empty_token_flag_is_refused_not_replaced() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", ALICE);
    for args in [
        &["download", "acme/secret", "--token", ""][..],
        &["download", "acme/secret", "--token", "  "],
        &["doctor", "acme/secret", "--token", ""],
    ] {
        let out = ctx.run(args).failure(2);
        assert!(out.stderr.contains("the token is empty"), "{}", out.stderr);
    }
    // The same class: an empty folder flag would write into the current folder.
    for flag in ["--local-dir", "--cache-dir"] {
        let out = ctx.run(&["download", "acme/tiny", flag, ""]).failure(2);
        assert!(out.stderr.contains("the folder is empty"), "{}", out.stderr);
    }
    assert!(ctx.requests().is_empty(), "refused before any request");

    // A token no header can carry is a token problem (exit 4), not "the Hub's answers look
    // wrong" (exit 8), and nothing is sent.
    ctx.remove_env("HF_TOKEN");
    let out = ctx
        .run(&[
            "download",
            "acme/tiny",
            "--token",
            "hf_pasted_with_a_\u{7}_bell_character",
        ])
        .failure(4);
    assert!(
        out.stderr.contains("the token cannot be sent"),
        "{}",
        out.stderr
    );
    assert!(ctx.requests().is_empty(), "nothing was sent");
}

/// Runs hfget in a pseudo-terminal (util-linux `script`), so stderr is a TTY: progress bars
/// and colours behave as a user sees them.
fn run_in_terminal(ctx: &TestContext, args: &str, extra_env: &[(&str, &str)]) -> String {
    let mut command = std::process::Command::new("script");
    command
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_hfget")),
            "/dev/null",
        ])
        .env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (key, value) in ctx.command(&[]).get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    command.env("TERM", "xterm-256color");
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = command.output().expect("script runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn progress_bars_show_on_a_terminal_unless_disabled() {
    use hub_emulator::{Fault, FaultAction};
    let mut ctx = ctx();
    ctx.remove_env("NO_COLOR");
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 3_000_000,
        }));
    let shown = run_in_terminal(&ctx, "download acme/tiny model.safetensors", &[]);
    assert!(
        shown.contains("MiB/3.00 MiB"),
        "a bar with bytes/total: {shown:?}"
    );
    let hidden = run_in_terminal(
        &ctx,
        "download acme/tiny model.safetensors --force",
        &[("HF_HUB_DISABLE_PROGRESS_BARS", "1")],
    );
    assert!(!hidden.contains("MiB/3.00 MiB"), "{hidden:?}");
    assert!(
        hidden.contains("snapshots"),
        "the path is still printed: {hidden:?}"
    );
}

/// Every frame's `(overall, file)` byte counts, in MiB, from a terminal recording of one file
/// of `total` (as the bars print it) with its own bar (the overall bar is drawn first in each
/// frame).
fn bar_pairs(recording: &str, total: &str, file: &str) -> Vec<(f64, f64)> {
    let mut overall = None;
    let mut pairs = Vec::new();
    for (at, _) in recording.match_indices(&format!("/{total}")) {
        let before = &recording[..at];
        let Some(open) = before.rfind('[') else {
            continue;
        };
        let Some(close) = before.rfind("] ") else {
            continue;
        };
        let mut amount = before[close + 2..].split(' ');
        let (Some(number), Some(unit)) = (amount.next(), amount.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<f64>() else {
            continue;
        };
        let mib = match unit {
            "MiB" => number,
            "KiB" => number / 1024.0,
            "B" => number / (1024.0 * 1024.0),
            _ => continue,
        };
        if before[..open].trim_end().ends_with("1 file") {
            overall = Some(mib);
        } else if before[..open].contains(file)
            && let Some(overall) = overall.take()
        {
            pairs.push((overall, mib));
        }
    }
    pairs
}

#[test]
fn the_overall_bar_keeps_up_with_the_file_bars() {
    // indicatif's steady tick stopped `inc` from drawing the overall bar: it lagged the file
    // bar by up to 200 ms (110 MiB at 1 GB/s, seen in a real terminal). One connection: the
    // bars may differ by the one chunk (at most 256 KiB here) between their two updates.
    use hub_emulator::{Content, Fault, FaultAction, Repo};
    let size = 12 << 20;
    let mut ctx = TestContext::new(
        Scenario::new()
            .repo(Repo::model("acme/big").lfs("big.bin", Content::Pattern { seed: 9, size })),
    );
    ctx.remove_env("NO_COLOR");
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 3_000_000,
        }));
    let shown = run_in_terminal(&ctx, "download acme/big big.bin --connections 1", &[]);
    let pairs = bar_pairs(&shown, "12.00 MiB", "big.bin");
    assert!(
        pairs.len() >= 5,
        "frames with both bars: {pairs:?}\n{shown:?}"
    );
    for (overall, file) in &pairs {
        assert!(
            (overall - file).abs() <= 0.26,
            "one file: both bars show the same bytes, frame by frame: {pairs:?}"
        );
    }
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let mut ctx = ctx();
    ctx.remove_env("NO_COLOR");
    let coloured = run_in_terminal(&ctx, "download acme/tiny nope.txt", &[]);
    assert!(coloured.contains("\u{1b}[1;31merror:"), "{coloured:?}");
    let plain = run_in_terminal(&ctx, "download acme/tiny nope.txt", &[("NO_COLOR", "1")]);
    assert!(
        plain.contains("error:") && !plain.contains("\u{1b}[1;31m"),
        "{plain:?}"
    );
    // Piped (not a terminal): never coloured.
    let piped = ctx.run(&["download", "acme/tiny", "nope.txt"]);
    assert!(!piped.stderr.contains('\u{1b}'), "{}", piped.stderr);
}

#[test]
fn an_unusable_endpoint_is_a_configuration_error() {
    let mut ctx = ctx();
    for endpoint in ["ftp://mirror.example", "not a url"] {
        ctx.env("HF_ENDPOINT", endpoint);
        let out = ctx.run(&["download", "acme/tiny"]).failure(2);
        assert!(
            out.stderr.contains("HF_ENDPOINT is not usable"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn completions_and_version() {
    let ctx = ctx();
    for shell in ["bash", "zsh", "fish"] {
        let out = ctx.run(&["completions", shell]).success();
        assert!(
            out.stdout.contains("download") && out.stdout.contains("doctor"),
            "{shell}"
        );
    }
    let out = ctx.run(&["--version"]).success();
    assert_eq!(
        out.stdout_line(),
        concat!("hfget ", env!("CARGO_PKG_VERSION"))
    );
    assert!(ctx.requests().is_empty());
}

/// A snapshot folder holding some files is not the repository. Offline (exit 10)
/// or with the Hub unreachable (exit 6), hfget names what is missing instead of printing the
/// folder as "up to date".
#[test]
fn an_incomplete_snapshot_is_never_served_as_complete() {
    let mut ctx = ctx();
    // A listing is recorded (the filter needs it), but only the JSON files are fetched.
    ctx.run(&["download", "acme/tiny", "--include", "*.json"])
        .success();
    ctx.env("HF_HUB_OFFLINE", "1");
    let out = ctx.run(&["download", "acme/tiny"]).failure(10);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("3 of the 4 files of acme/tiny are not in the cache")
            && out.stderr.contains("'README.md'")
            && out.stderr.contains("'model.safetensors'")
            && out.stderr.contains("'nested/deeper/notes.txt'"),
        "{}",
        out.stderr
    );
    // What is there is still served.
    ctx.run(&["download", "acme/tiny", "--include", "*.json"])
        .success();

    // Unreachable instead of offline: the network error and its code stand, with the reason
    // the cache could not stand in.
    ctx.remove_env("HF_HUB_OFFLINE");
    ctx.env("HF_ENDPOINT", "http://127.0.0.1:9");
    let out = ctx.run(&["download", "acme/tiny"]).failure(6);
    assert!(
        out.stderr.contains("could not reach")
            && out
                .stderr
                .contains("3 of the 4 files of acme/tiny are not in the cache"),
        "{}",
        out.stderr
    );
}

/// After fetching one named file no listing exists, so
/// hfget cannot know the rest of the snapshot and says so (rc 10), rather than "Up to date".
#[test]
fn a_snapshot_of_single_files_is_not_taken_for_the_repository_offline() {
    let mut ctx = ctx();
    ctx.run(&["download", "acme/tiny", "config.json"]).success();
    ctx.env("HF_HUB_OFFLINE", "1");
    let out = ctx.run(&["download", "acme/tiny"]).failure(10);
    assert!(
        out.stderr.contains("only single files of acme/tiny")
            && out.stderr.contains("'config.json'")
            && out.stderr.contains("cannot tell"),
        "{}",
        out.stderr
    );
    ctx.run(&["download", "acme/tiny", "config.json"]).success();
    let out = ctx
        .run(&["download", "acme/tiny", "config.json", "README.md", "v.txt"])
        .failure(10);
    assert!(
        out.stderr
            .contains("2 of the 3 files of acme/tiny are not in the cache")
            && out.stderr.contains("'README.md', 'v.txt'"),
        "{}",
        out.stderr
    );
}

/// Offline mode turned on by `TRANSFORMERS_OFFLINE` is named as such.
#[test]
fn transformers_offline_is_named_when_it_is_the_one_set() {
    let mut ctx = ctx();
    ctx.env("TRANSFORMERS_OFFLINE", "1");
    let out = ctx.run(&["download", "acme/tiny"]).failure(10);
    assert!(
        out.stderr.contains("TRANSFORMERS_OFFLINE") && !out.stderr.contains("HF_HUB_OFFLINE"),
        "{}",
        out.stderr
    );
    assert!(ctx.requests().is_empty());
}

/// A folder named without its trailing slash gets the spelling that works, and is
/// not recorded as a missing file; a marker an older run left where a folder is needed does
/// not turn a later "no such file" into a filesystem error.
#[test]
fn a_folder_named_without_the_slash_gets_a_hint_and_no_marker() {
    let mut ctx = ctx();
    for folder in ["nested", "nested/deeper"] {
        let out = ctx.run(&["download", "acme/tiny", folder]).failure(3);
        assert!(
            out.stderr
                .contains(&format!("'{folder}' is a folder: write '{folder}/'")),
            "{}",
            out.stderr
        );
    }
    let commit = ctx.emulator.commit_sha("acme/tiny", "main").unwrap();
    let no_exist = ctx
        .cache()
        .join(format!("models--acme--tiny/.no_exist/{commit}"));
    assert!(!no_exist.join("nested").exists(), "no marker for a folder");

    // The same from a cached listing (after a snapshot download), and offline.
    ctx.run(&["download", "acme/tiny"]).success();
    let out = ctx.run(&["download", "acme/tiny", "nested"]).failure(3);
    assert!(out.stderr.contains("write 'nested/'"), "{}", out.stderr);
    ctx.env("HF_HUB_OFFLINE", "1");
    let out = ctx.run(&["download", "acme/tiny", "nested"]).failure(3);
    assert!(out.stderr.contains("write 'nested/'"), "{}", out.stderr);
    ctx.remove_env("HF_HUB_OFFLINE");

    // An older hfget wrote `.no_exist/<commit>/nested` as a plain file.
    std::fs::create_dir_all(&no_exist).unwrap();
    std::fs::write(no_exist.join("nested"), b"").unwrap();
    let out = ctx
        .run(&["download", "acme/tiny", "nested/dir/missing.txt"])
        .failure(3);
    assert!(
        out.stderr
            .contains("no file named 'nested/dir/missing.txt'")
            && !out.stderr.contains("Not a directory"),
        "{}",
        out.stderr
    );
}

/// Folder errors name the setting that chose the folder: `--local-dir` for a
/// local folder (not `--cache-dir`), and a folder setting that names a file is refused up front.
#[test]
fn folder_errors_name_the_flag_that_chose_the_folder() {
    let ctx = ctx();
    let file = ctx.path("afile");
    std::fs::write(&file, b"not a folder").unwrap();
    let file_arg = file.to_str().unwrap();
    let out = ctx
        .run(&["download", "acme/tiny", "--local-dir", file_arg])
        .failure(2);
    assert!(
        out.stderr.contains("--local-dir") && out.stderr.contains("is a file, not a folder"),
        "{}",
        out.stderr
    );
    let below = file.join("sub");
    let out = ctx
        .run(&[
            "download",
            "acme/tiny",
            "--local-dir",
            below.to_str().unwrap(),
        ])
        .failure(2);
    assert!(
        out.stderr.contains("is a file, not a folder"),
        "{}",
        out.stderr
    );
    let out = ctx
        .run(&["download", "acme/tiny", "--cache-dir", file_arg])
        .failure(2);
    assert!(out.stderr.contains("--cache-dir"), "{}", out.stderr);
    assert!(ctx.requests().is_empty(), "refused before any request");

    // An unwritable --local-dir: immutable (chattr +i), which even root cannot write into.
    let locked = ctx.path("locked");
    std::fs::create_dir_all(&locked).unwrap();
    let chattr = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&locked)
        .status();
    if !chattr.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "chattr +i must work under CI (root on ext4)"
        );
        eprintln!("skipping the unwritable half: chattr +i needs root on ext4-like filesystems");
        return;
    }
    let out = ctx.run(&[
        "download",
        "acme/tiny",
        "--local-dir",
        locked.to_str().unwrap(),
    ]);
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(&locked)
        .status();
    assert_eq!(out.code, 9, "{}", out.stderr);
    assert!(
        out.stderr.contains("choose another --local-dir") && !out.stderr.contains("--cache-dir"),
        "{}",
        out.stderr
    );
}

/// Under `--json`, every failure prints exactly one JSON object on stdout with
/// the cause, the exit code and the message (a refusal prints the doctor's diagnosis).
#[test]
fn every_failure_under_json_prints_one_object() {
    let mut ctx = ctx();
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["download", "acme/tiny", "nope.txt", "--json"],
            3,
            "file_not_found",
        ),
        (&["download", "not a repo", "--json"], 2, "invalid_repo_id"),
        (
            &["download", "acme/tiny", "--json", "--bogus-flag"],
            2,
            "usage",
        ),
        (
            &["download", "acme/tiny", "--include", "[", "--json"],
            2,
            "usage",
        ),
    ];
    for (args, code, cause) in cases {
        let out = ctx.run(args).failure(code);
        let json = out.json();
        assert_eq!(json["cause"], cause, "{args:?}: {}", out.stdout);
        assert_eq!(json["exit_code"], code, "{args:?}: {}", out.stdout);
        assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(out.stdout.trim_end().lines().count(), 1, "{}", out.stdout);
    }
    // The missing argument is named: clap puts it on the message's second line.
    let out = ctx.run(&["download", "--json"]).failure(2);
    assert_eq!(
        out.json()["message"],
        "the following required arguments were not provided: <REPO_ID>"
    );
    // A refusal or a missing revision: the doctor's diagnosis is the object.
    let out = ctx.run(&["download", "meta/gated", "--json"]);
    assert_ne!(out.code, 0);
    assert!(out.json()["cause"].is_string(), "{}", out.stdout);
    let out = ctx
        .run(&["download", "acme/tiny", "--revision", "nope", "--json"])
        .failure(3);
    assert_eq!(out.json()["cause"], "revision_not_found");
    ctx.env("HF_HUB_OFFLINE", "1");
    let out = ctx.run(&["download", "acme/tiny", "--json"]).failure(10);
    assert_eq!(out.json()["cause"], "offline_not_cached");
}

/// A URL pasted from the browser downloads what it shows.
#[test]
fn pasted_hub_urls_download_what_they_show() {
    let ctx = ctx();
    let hub = ctx.emulator.hub_url();
    let out = ctx
        .run(&[
            "download",
            &format!("{hub}/acme/tiny/blob/main/config.json"),
        ])
        .success();
    assert!(
        out.stdout_line().ends_with("/config.json"),
        "{}",
        out.stdout
    );
    let out = ctx
        .run(&[
            "download",
            "https://huggingface.co/acme/tiny/resolve/dev/config.json?download=true",
        ])
        .success();
    assert_eq!(
        std::fs::read(out.stdout_line()).unwrap(),
        b"{\"hidden_size\": 16}\n"
    );
    let out = ctx
        .run(&[
            "download",
            "https://huggingface.co/datasets/acme/data/tree/main/data",
            "--json",
        ])
        .success();
    let json = out.json();
    let files: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["data/train.csv"]);
}

/// A download that placed nothing (corrupted data every time) leaves no
/// `refs/main` and no empty snapshot folder, as "nothing was written to the cache" promises;
/// nor does a dry run.
#[test]
fn a_failed_or_dry_run_leaves_no_ref_and_no_empty_snapshot() {
    let ctx = ctx();
    let repo = ctx.cache().join("models--acme--tiny");
    ctx.run(&["download", "acme/tiny", "--dry-run"]).success();
    assert!(!repo.join("refs").exists(), "a dry run writes no ref");
    ctx.emulator.add_fault(
        hub_emulator::Fault::on_cdn().action(hub_emulator::FaultAction::Corrupt { offset: 77 }),
    );
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .failure(8);
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert!(
        !repo.join("refs/main").exists(),
        "no ref after a failed run"
    );
    let snapshots: Vec<_> = std::fs::read_dir(repo.join("snapshots"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        snapshots.is_empty(),
        "empty snapshot folders: {snapshots:?}"
    );
}

/// A `--local-dir` copy of a cached blob continues an interrupted copy (the
/// partial file has its one, known name) and leaves no temporary file behind, not even one an
/// older version left; a partial file that is not the blob's prefix is redone, not trusted.
#[test]
fn an_interrupted_local_dir_copy_is_resumed_and_leaves_nothing_behind() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    let commit = ctx.emulator.commit_sha("acme/tiny", "main").unwrap();
    let link = ctx.cache().join(format!(
        "models--acme--tiny/snapshots/{commit}/model.safetensors"
    ));
    let etag = std::fs::read_link(&link)
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let blob = std::fs::read(&link).unwrap();
    let dir = ctx.path("ld");
    let download = dir.join(".cache/huggingface/download");
    std::fs::create_dir_all(&download).unwrap();
    let partial = download.join(format!("model.safetensors.{etag}.incomplete"));
    for prefix in [
        blob[..1_000_000].to_vec(),
        // Not the blob's prefix: must be redone.
        vec![0xAA; 500_000],
    ] {
        let _ = std::fs::remove_file(dir.join("model.safetensors"));
        std::fs::write(&partial, &prefix).unwrap();
        std::fs::write(
            dir.join(".model.safetensors.0badf00d.tmp"),
            b"left by an old run",
        )
        .unwrap();
        ctx.clear_requests();
        ctx.run(&[
            "download",
            "acme/tiny",
            "--local-dir",
            dir.to_str().unwrap(),
        ])
        .success();
        assert!(ctx.file_requests().is_empty(), "copied, not downloaded");
        assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), blob);
        assert!(!partial.exists(), "the partial copy was placed");
        let leftovers: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// The bars count a copy from the cache (not "0 files … 0 B/0 B").
#[test]
fn a_local_dir_copy_moves_the_progress_bars() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny", "model.safetensors"])
        .success();
    let dir = ctx.path("ld");
    let shown = run_in_terminal(
        &ctx,
        &format!(
            "download acme/tiny model.safetensors --local-dir {}",
            dir.display()
        ),
        &[],
    );
    assert!(!shown.contains("0 files ["), "{shown:?}");
    assert!(
        shown.contains("1 file [") && shown.contains("/3.00 MiB"),
        "{shown:?}"
    );
}

/// Issue #13 (code health): `-v` prints the cause chain under the error, as uv does; without
/// `-v` the error stays one sentence.
#[test]
fn verbose_errors_print_their_cause_chain() {
    let mut ctx = ctx();
    ctx.env("HF_ENDPOINT", "http://127.0.0.1:9");
    let out = ctx.run(&["-v", "download", "acme/tiny"]).failure(6);
    assert!(
        out.stderr.contains("  Caused by: ") && out.stderr.contains("Connection refused"),
        "{}",
        out.stderr
    );
    let out = ctx.run(&["download", "acme/tiny"]).failure(6);
    assert!(!out.stderr.contains("Caused by"), "{}", out.stderr);
}

/// The dry-run table aligns by display width, so CJK names (two columns per
/// character) keep the size column straight.
#[test]
fn the_dry_run_table_aligns_cjk_names() {
    let scenario = hub_emulator::Scenario::new().repo(
        hub_emulator::Repo::model("acme/cjk")
            .file("模型说明.txt", b"cjk\n")
            .file("readme.md", b"latin\n"),
    );
    let ctx = TestContext::new(scenario);
    let out = ctx.run(&["download", "acme/cjk", "--dry-run"]).success();
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    let size_column = |row: &str| {
        use unicode_width::UnicodeWidthStr;
        let end = row.find(" B ").expect("a size") + 2;
        row[..end].width()
    };
    let columns: Vec<usize> = rows.iter().skip(1).map(|r| size_column(r)).collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "{}", out.stdout);
}

/// Runs `hfget ARGS` in a pseudo-terminal `columns` wide, and returns every row it drew, with
/// escape sequences removed.
fn rows_on_a_narrow_terminal(ctx: &TestContext, args: &str, columns: u16) -> Vec<String> {
    let mut command = std::process::Command::new("script");
    command
        .args([
            "-qec",
            &format!(
                "stty cols {columns} rows 30; {} {args}",
                env!("CARGO_BIN_EXE_hfget")
            ),
            "/dev/null",
        ])
        .env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (key, value) in ctx.command(&[]).get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    command.env("TERM", "xterm-256color");
    let output = command.output().expect("script runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    // CSI sequences (`ESC [ … letter`) move the cursor between rows: each ends a row.
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            plain.push('\n');
        } else {
            plain.push(c);
        }
    }
    plain
        .split(['\r', '\n'])
        .map(str::to_string)
        .filter(|row| !row.trim().is_empty())
        .collect()
}

/// On a 60-column terminal the per-file bars fit on one row, and error lines
/// wrap at the terminal's width.
#[test]
fn bars_and_errors_fit_a_60_column_terminal() {
    use hub_emulator::{Content, Fault, FaultAction, Repo, Scenario};
    use unicode_width::UnicodeWidthStr;
    let scenario = Scenario::new().repo(Repo::model("acme/big").lfs(
        "a-rather-long-folder-name/and-a-long-file-name.safetensors",
        Content::Pattern {
            seed: 3,
            size: 12 << 20,
        },
    ));
    let mut ctx = TestContext::new(scenario);
    ctx.remove_env("NO_COLOR");
    ctx.emulator
        .add_fault(Fault::on_cdn().action(FaultAction::Slow {
            bytes_per_sec: 12_000_000,
        }));
    let rows = rows_on_a_narrow_terminal(&ctx, "download acme/big --connections 1", 60);
    assert!(
        rows.iter()
            .any(|r| r.contains("MiB/12.00 MiB") && r.starts_with("  ")),
        "a per-file bar was drawn: {rows:#?}"
    );
    // indicatif omits the newline after a row exactly as wide as the terminal (the cursor
    // wraps by itself), so such a row and the next arrive as one string. Cut strings into
    // 60-column rows: each piece must then start a row (a bar starts with spaces); a bar
    // wider than 60 would leave a piece like "B/s" instead.
    for row in rows.iter().filter(|r| r.contains('[')) {
        let mut pieces = Vec::new();
        let mut piece = String::new();
        for c in row.chars() {
            if piece.width() + c.to_string().width() > 60 {
                pieces.push(std::mem::take(&mut piece));
            }
            piece.push(c);
        }
        pieces.push(piece);
        assert!(
            pieces.iter().skip(1).all(|p| p.starts_with("  ")),
            "a row wider than 60 columns: {pieces:#?}"
        );
    }

    ctx.env("NO_COLOR", "1");
    let rows = rows_on_a_narrow_terminal(
        &ctx,
        "download acme/big a-rather-long-folder-name/a-missing-file.bin",
        60,
    );
    assert!(rows.iter().any(|r| r.starts_with("error: ")), "{rows:#?}");
    assert!(rows.len() > 1, "the error wrapped: {rows:#?}");
    let too_wide: Vec<&String> = rows.iter().filter(|r| r.width() > 60).collect();
    assert!(too_wide.is_empty(), "{too_wide:#?}");
}

/// Adopting a file already in a `--local-dir` (right size, no
/// metadata: it is hashed, which takes seconds for a large one) moves the bars too.
#[test]
fn adopting_a_local_file_moves_the_progress_bars() {
    let ctx = ctx();
    let dir = ctx.path("ld");
    ctx.run(&[
        "download",
        "acme/tiny",
        "model.safetensors",
        "--local-dir",
        dir.to_str().unwrap(),
    ])
    .success();
    std::fs::remove_dir_all(dir.join(".cache")).unwrap();
    let shown = run_in_terminal(
        &ctx,
        &format!(
            "download acme/tiny model.safetensors --local-dir {}",
            dir.display()
        ),
        &[],
    );
    assert!(!shown.contains("0 files ["), "{shown:?}");
    assert!(
        shown.contains("1 file [") && shown.contains("/3.00 MiB"),
        "{shown:?}"
    );
}

/// `--local-dir` pointed into the cache turned a snapshot's links into copies and added
/// `.cache/huggingface/` inside it, or dropped plain files beside the `models--*` folders.
#[test]
fn a_local_dir_inside_the_cache_is_refused_and_the_cache_left_alone() {
    let ctx = ctx();
    ctx.run(&["download", "acme/tiny"]).success();
    let repo = ctx.cache().join("models--acme--tiny");
    let commit = std::fs::read_to_string(repo.join("refs/main")).unwrap();
    let snapshot = repo.join("snapshots").join(&commit);
    let before = tree_listing(&ctx.cache());
    ctx.clear_requests();
    let link = ctx.path("hub-link");
    std::os::unix::fs::symlink(ctx.cache(), &link).unwrap();
    for dir in [
        snapshot.clone(),
        ctx.cache(),
        ctx.cache().join("new-folder/deeper"),
        link.join("models--acme--tiny"),
        ctx.hf_home().join("elsewhere/../hub"),
    ] {
        let out = ctx
            .run(&[
                "download",
                "acme/tiny",
                "--local-dir",
                dir.to_str().unwrap(),
            ])
            .failure(2);
        assert!(
            out.stderr.contains("is inside the Hugging Face cache")
                && out.stderr.contains("Choose a folder outside the cache"),
            "{}: {}",
            dir.display(),
            out.stderr
        );
    }
    assert!(ctx.requests().is_empty(), "refused before any request");
    assert_eq!(tree_listing(&ctx.cache()), before);
    // Beside the cache is fine.
    ctx.run(&[
        "download",
        "acme/tiny",
        "config.json",
        "--local-dir",
        ctx.hf_home().join("plain").to_str().unwrap(),
    ])
    .success();
}

/// Every path below `root` with whether it is a symlink, sorted.
fn tree_listing(root: &std::path::Path) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            }
            let relative = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            found.push((relative, kind.is_symlink()));
        }
    }
    found.sort();
    found
}
