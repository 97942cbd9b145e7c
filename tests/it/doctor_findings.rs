//! The doctor against the Hub as 2025–26 captures show it
//! (masked hashes, files anyone may read, both bad-token wordings), endpoints that do not
//! answer like the Hub (the answers olah 0.5.4 gives, scripted on the emulator with
//! `FaultAction::ErrorAnswer`; real olah runs in `doctor_mirror.rs`), and the fixes' wording.

use hub_emulator::{BadTokenWording, Fault, FaultAction, MaskedHashes};

use crate::common::fixtures::*;
use crate::common::*;
use crate::doctor::{Mode, expect};

fn masked(masking: MaskedHashes) -> TestContext {
    TestContext::new(standard_scenario().masked_hashes(masking))
}

fn with(mut ctx: TestContext, token: Option<&str>) -> TestContext {
    if let Some(token) = token {
        ctx.env("HF_TOKEN", token);
    }
    ctx
}

/// olah 0.5.4's catch-all 404 (`olah/errors.py::error_page_not_found`).
fn missing_route(path: &str) -> Fault {
    Fault::on_hub().path(path).action(FaultAction::ErrorAnswer {
        status: 404,
        code: Some("RepoNotFound".into()),
        message: "Sorry, we can't find the page you are looking for.".into(),
    })
}

fn trees_written(ctx: &TestContext, repo_folder: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(ctx.cache().join(repo_folder).join("trees"))
        .map(|dir| dir.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The refused callers of `meta/gated` and what the doctor says about each.
const REFUSED: [(Option<&str>, &str, i32); 5] = [
    (None, "no_token", 4),
    (Some(BOB), "gated_access_pending", 5),
    (Some(CAROL), "gated_access_rejected", 5),
    (Some(DAVE), "gated_access_not_requested", 5),
    (Some(ALICE_FINE_NO_GATED), "token_gated_scope_missing", 4),
];

#[test]
fn masked_hashes_give_the_same_diagnosis_as_the_unmasked_hub_and_are_never_cached() {
    for (token, cause, code) in REFUSED {
        let classic = with(TestContext::new(standard_scenario()), token)
            .run(&["download", "meta/gated", "--json"])
            .failure(code);
        assert_eq!(classic.json()["cause"], cause);
        for masking in [MaskedHashes::Xet, MaskedHashes::XetAndLfs] {
            let ctx = with(masked(masking), token);
            let out = ctx.run(&["download", "meta/gated", "--json"]);
            assert_eq!(out.code, code, "{masking:?} {token:?}: {}", out.stderr);
            assert_eq!(out.json()["cause"], cause, "{masking:?} {token:?}");
            assert!(
                trees_written(&ctx, "models--meta--gated").is_empty(),
                "{masking:?}: a masked listing was cached"
            );
            // The human report, too: the diagnosis, not "does not look like the Hub's".
            let out = ctx.run(&["download", "meta/gated"]).failure(code);
            assert!(out.stderr.contains(cause), "{}", out.stderr);
            assert!(!out.stderr.contains("does not look like"), "{}", out.stderr);
        }
    }
}

#[test]
fn masked_listing_is_named_in_the_evidence_and_access_still_works_when_granted() {
    let ctx = with(masked(MaskedHashes::XetAndLfs), Some(DAVE));
    let json = expect(
        &ctx,
        &["meta/gated"],
        "gated_access_not_requested",
        "account",
        5,
        "masks its hashes",
    );
    assert_eq!(json["evidence"]["listing_masked"], true);
    // A granted account sees real hashes; its download works and caches the listing.
    let ctx = with(masked(MaskedHashes::XetAndLfs), Some(ALICE));
    ctx.run(&["download", "meta/gated"]).success();
    assert_eq!(trees_written(&ctx, "models--meta--gated").len(), 1);
}

#[test]
fn a_readme_anyone_may_read_is_never_proof_of_access() {
    let ctx = with(
        TestContext::new(standard_scenario().public_readme_on_gated(true)),
        Some(DAVE),
    );
    // The switch works: DAVE can read the README of a repo he has no access to (and a named
    // file that is readable is fine for the doctor).
    expect(
        &ctx,
        &["meta/gated", "README.md"],
        "ok",
        "none",
        0,
        "would succeed",
    );
    let json = expect(
        &ctx,
        &["meta/gated"],
        "gated_access_not_requested",
        "account",
        5,
        "request access",
    );
    let probed = json["evidence"]["file_probe"]["what"].as_str().unwrap();
    assert_ne!(probed, "HEAD README.md", "probed a file anyone may read");
    // Even when auth-check is missing (a mirror), the README's 200 is not "access works".
    ctx.emulator.add_fault(missing_route("/auth-check"));
    expect(
        &ctx,
        &["meta/gated"],
        "gated_access_not_requested",
        "account",
        5,
        "request access",
    );
}

#[test]
fn a_successful_content_probe_wins_over_a_missing_auth_check_route() {
    // olah has no /auth-check route; its catch-all says RepoNotFound (real-hub-2026.md §5).
    let ctx = |token: Option<&str>| {
        let ctx = with(TestContext::new(standard_scenario()), token);
        ctx.emulator.add_fault(missing_route("/auth-check"));
        ctx
    };
    let json = expect(
        &ctx(None),
        &["acme/tiny"],
        "ok",
        "none",
        0,
        "did not answer `GET /api/models/acme/tiny/auth-check` like the Hub",
    );
    assert_eq!(json["evidence"]["auth_check"]["status"], 404);
    expect(
        &ctx(Some(ALICE)),
        &["meta/gated"],
        "ok",
        "none",
        0,
        "would succeed",
    );
    // A fine-grained token is not misread as lacking a repository scope.
    expect(
        &ctx(Some(ALICE_FINE_ACME)),
        &["acme/tiny"],
        "ok",
        "none",
        0,
        "would succeed",
    );
    // Refusals keep their causes: the file probe carries the Hub's gate answer.
    for (token, cause, code) in REFUSED {
        let json = ctx(token)
            .run(&["doctor", "meta/gated", "--json"])
            .failure(code)
            .json();
        assert_eq!(json["cause"], cause, "{token:?}");
    }
}

#[test]
fn revision_route_missing_is_an_inconsistent_endpoint_with_the_commit_hash_fix() {
    let ctx = TestContext::new(standard_scenario());
    // olah's router decodes %2F, so refs/pr/1 reaches no route (real-hub-2026.md §5).
    ctx.emulator
        .add_fault(missing_route("/revision/refs%2Fpr%2F1"));
    let commit = ctx.emulator.commit_sha("acme/tiny", "refs/pr/1").unwrap();
    let json = expect(
        &ctx,
        &["acme/tiny", "--revision", "refs/pr/1"],
        "endpoint_inconsistent",
        "endpoint",
        8,
        &format!("hfget download acme/tiny --revision {commit}"),
    );
    let explanation = json["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("GET /api/models/acme/tiny/revision/refs%2Fpr%2F1"),
        "the route is named: {explanation}"
    );
    assert!(
        explanation.contains("a mirror or proxy may not implement this route"),
        "{explanation}"
    );
    // Inside a download, the fix is the user's own command with the commit hash.
    let dir = ctx.path("ld");
    let dir = dir.to_str().unwrap();
    let out = ctx
        .run(&[
            "download",
            "acme/tiny",
            "config.json",
            "--revision",
            "refs/pr/1",
            "--local-dir",
            dir,
            "--json",
        ])
        .failure(8);
    let fix = out.json()["fix"][0].as_str().unwrap().to_string();
    assert!(
        fix.contains(&format!(
            "hfget download acme/tiny config.json --revision {commit} --local-dir {dir}"
        )),
        "{fix}"
    );
}

#[test]
fn an_offline_mirror_that_has_not_cached_a_file_is_told_apart_from_a_missing_repo() {
    let ctx = TestContext::new(standard_scenario());
    // olah offline: 401 RepoNotFound for anything it has not cached (real-hub-2026.md §5).
    ctx.emulator.add_fault(
        Fault::on_hub()
            .path("/resolve/")
            .action(FaultAction::ErrorAnswer {
                status: 401,
                code: Some("RepoNotFound".into()),
                message: "Repository not found".into(),
            }),
    );
    expect(
        &ctx,
        &["acme/tiny", "config.json"],
        "not_cached_by_mirror",
        "endpoint",
        10,
        "has not cached",
    );
    // When even the repository's information is refused, the evidence cannot tell: it says
    // both.
    ctx.emulator.clear_faults();
    ctx.emulator.add_fault(
        Fault::on_hub()
            .path("/api/")
            .action(FaultAction::ErrorAnswer {
                status: 401,
                code: Some("RepoNotFound".into()),
                message: "Repository not found".into(),
            }),
    );
    expect(
        &ctx,
        &["acme/tiny"],
        "repo_not_found",
        "repo",
        3,
        "running offline",
    );
}

#[test]
fn a_mirror_that_lost_its_upstream_is_not_a_hub_server_error() {
    let ctx = TestContext::new(standard_scenario());
    // olah's `error_proxy_timeout`: 504, X-Error-Code: ProxyTimeout.
    ctx.emulator.add_fault(
        Fault::on_hub()
            .path("/api/models")
            .action(FaultAction::ErrorAnswer {
                status: 504,
                code: Some("ProxyTimeout".into()),
                message: "Proxy Timeout".into(),
            }),
    );
    let json = expect(
        &ctx,
        &["acme/tiny"],
        "mirror_upstream_unreachable",
        "endpoint",
        7,
        "cannot reach the Hub",
    );
    assert!(
        !json["summary"].as_str().unwrap().contains("server error"),
        "{json}"
    );
}

#[test]
fn a_401_with_a_token_is_diagnosed_through_whoami_in_either_wording() {
    for wording in [
        BadTokenWording::InvalidCredentials,
        BadTokenWording::InvalidUsernameOrPassword,
    ] {
        let mut ctx = TestContext::new(standard_scenario().bad_token_wording(wording));
        ctx.env("HF_TOKEN", REVOKED);
        let json = expect(
            &ctx,
            &["acme/tiny"],
            "invalid_token",
            "token",
            4,
            "unset HF_TOKEN",
        );
        assert_eq!(json["evidence"]["token"]["whoami_probe"]["status"], 401);
        // Never "log in": the token was sent and refused.
        let out = ctx
            .run(&["download", "acme/tiny", "config.json"])
            .failure(4);
        assert!(out.stderr.contains("invalid_token"), "{}", out.stderr);
        let out = ctx.run(&["doctor"]).failure(4);
        assert!(out.stdout.contains("rejected by the Hub"), "{}", out.stdout);
    }
}

#[test]
fn the_setup_doctor_says_whether_the_endpoint_looks_like_the_hub_or_a_mirror() {
    let ctx = TestContext::new(standard_scenario());
    let out = ctx.run(&["doctor"]).success();
    assert!(
        out.stdout.contains("answers like the Hub"),
        "{}",
        out.stdout
    );
    ctx.emulator.add_fault(missing_route("/auth-check"));
    let out = ctx.run(&["doctor"]).success();
    assert!(
        out.stdout.contains("looks like a mirror or proxy"),
        "{}",
        out.stdout
    );
}

#[test]
fn wrong_repo_type_fix_is_the_users_command_with_only_the_type_corrected() {
    // Pasting the fix must download what was asked, where it was asked.
    let ctx = TestContext::new(standard_scenario());
    let dir = ctx.path("out");
    let dir = dir.to_str().unwrap();
    let out = ctx
        .run(&[
            "download",
            "acme/data",
            "data/train.csv",
            "--revision",
            "main",
            "--local-dir",
            dir,
            "--json",
        ])
        .failure(3);
    let json = out.json();
    assert_eq!(json["cause"], "wrong_repo_type");
    let fix = json["fix"][0].as_str().unwrap();
    let command = fix.split('`').nth(1).unwrap();
    assert_eq!(
        command,
        format!(
            "hfget download acme/data --repo-type dataset data/train.csv --revision main --local-dir {dir} --json"
        )
    );
    let words: Vec<&str> = command.split(' ').skip(1).collect();
    ctx.run(&words).success();
    assert!(ctx.path("out/data/train.csv").is_file());
    assert!(
        !ctx.cache().join("datasets--acme--data").exists(),
        "the pasted fix filled the cache instead of the folder"
    );
}

#[test]
fn a_password_in_hf_endpoint_is_never_printed() {
    let mut ctx = TestContext::new(standard_scenario());
    let url = ctx
        .emulator
        .hub_url()
        .replace("http://", "http://user:s3cr3t@");
    ctx.env("HF_ENDPOINT", &url);
    for args in [
        vec!["doctor"],
        vec!["doctor", "--json"],
        vec!["doctor", "acme/tiny"],
        vec!["doctor", "acme/tiny", "--json"],
    ] {
        let out = ctx.run(&args);
        assert!(
            !out.stdout.contains("s3cr3t") && !out.stderr.contains("s3cr3t"),
            "{args:?}: {}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout.contains("user:****@"),
            "{args:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn offline_doctor_exits_10_and_names_the_variable_that_is_set() {
    for variable in ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"] {
        let mut ctx = TestContext::new(standard_scenario());
        ctx.env(variable, "1");
        let json = expect(
            &ctx,
            &["acme/tiny"],
            "offline_mode",
            "local",
            10,
            &format!("`{variable}= hfget doctor acme/tiny`"),
        );
        let other = if variable == "HF_HUB_OFFLINE" {
            "TRANSFORMERS_OFFLINE"
        } else {
            "HF_HUB_OFFLINE"
        };
        assert!(!json.to_string().contains(other), "{json}");
        let out = ctx.run(&["doctor", "acme/tiny"]).failure(10);
        assert!(out.stdout.contains(variable), "{}", out.stdout);
        let out = ctx.run(&["doctor"]).failure(10);
        assert!(
            out.stdout.contains(&format!("{variable} is set")) && !out.stdout.contains(other),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn text_and_json_name_the_layer_alike() {
    let ctx = TestContext::new(standard_scenario());
    let json = expect(&ctx, &["acme/nope"], "repo_not_found", "repo", 3, "");
    let out = ctx.run(&["doctor", "acme/nope"]).failure(3);
    let layer = json["layer"].as_str().unwrap();
    assert!(
        out.stdout.contains(&format!("(layer: {layer})")),
        "{}",
        out.stdout
    );
}

#[test]
fn an_unusable_keyring_gets_a_warning_not_a_tick() {
    // HFGET_KEYRING=none (the test default) means no keyring at all.
    let ctx = TestContext::new(standard_scenario());
    let out = ctx.run(&["doctor"]).success();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("keyring"))
        .unwrap()
        .to_string();
    assert!(line.starts_with('!'), "{line}");
    let json = ctx.run(&["doctor", "--json"]).success().json();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "keyring")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "warn");
    assert_eq!(check["ok"], true, "a warning is not a failure");
    assert_eq!(json["ok"], true);
}

#[test]
fn every_mode_serves_what_the_doctor_promises() {
    // The captured modes really differ from the classic one (else the parametrised runs of
    // doctor.rs could not fail): a masked listing, a readable README, `OK` from auth-check.
    let ctx = TestContext::new(
        Mode::Captured2026(
            MaskedHashes::XetAndLfs,
            BadTokenWording::InvalidUsernameOrPassword,
        )
        .apply(standard_scenario()),
    );
    let json = ctx.run(&["doctor", "meta/gated", "--json"]).json();
    assert_eq!(json["evidence"]["listing_masked"], true);
    expect(
        &ctx,
        &["meta/gated", "README.md"],
        "ok",
        "none",
        0,
        "would succeed",
    );
    let mut bad = ctx;
    bad.env("HF_TOKEN", REVOKED);
    let json = bad.run(&["doctor", "acme/tiny", "--json"]).json();
    assert_eq!(
        json["evidence"]["token"]["whoami_probe"]["error_message"],
        "Invalid username or password."
    );
}

#[test]
fn the_endpoint_causes_read_well() {
    // Human reports of the new causes, with the emulator scripted as a mirror.
    let ctx = TestContext::new(standard_scenario());
    ctx.emulator
        .add_fault(missing_route("/revision/refs%2Fpr%2F1"));
    ctx.emulator.add_fault(missing_route("/auth-check"));
    let out = ctx.run(&["doctor", "acme/tiny", "--revision", "refs/pr/1"]);
    crate::hfget_snapshot!(ctx, out);
    let out = ctx.run(&["doctor", "meta/gated"]);
    insta::with_settings!({ snapshot_suffix => "gated_without_auth_check" }, {
        crate::hfget_snapshot!(ctx, out);
    });
}
