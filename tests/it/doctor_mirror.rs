//! `hfget doctor` through a real pull-through mirror: olah 0.5.4 in front of the emulator
//! (docs/real-hub.md §5). olah has no `/auth-check` route (its
//! catch-all 404 says `RepoNotFound`), cannot route a revision containing `/`, answers `401
//! RepoNotFound` offline for what it has not cached, and `504 ProxyTimeout` without upstream.
//! Through it, the doctor must say `ok` for every repo that downloads, keep the exact cause of
//! every refusal, and never say `repo_not_found` for a repo whose information it read.
//!
//! Needs `HFGET_TEST_OLAH` (set by .ci/run); skipped with a note elsewhere, never under CI.

use crate::common::fixtures::*;
use crate::common::olah::{Olah, OlahMode};
use crate::common::{Scenario, TestContext};
use crate::doctor::expect;

/// The standard cast with the Hub's page size: olah 0.5.4 cannot page through a listing.
fn scenario() -> Scenario {
    standard_scenario().page_size(1000)
}

fn through_olah() -> Option<(TestContext, Olah)> {
    let mut ctx = TestContext::new(scenario());
    let olah = Olah::start(&ctx.emulator)?;
    ctx.env("HF_ENDPOINT", &olah.url());
    Some((ctx, olah))
}

fn token(ctx: &mut TestContext, token: Option<&str>) {
    match token {
        Some(token) => ctx.env("HF_TOKEN", token),
        None => ctx.remove_env("HF_TOKEN"),
    };
}

#[test]
fn ok_through_olah_for_every_repo_that_downloads() {
    let Some((mut ctx, _olah)) = through_olah() else {
        return;
    };
    for (who, repo) in [
        (None, "acme/tiny"),
        (Some(ALICE), "meta/gated"),
        // A fine-grained token is not misread as lacking a repository scope.
        (Some(ALICE_FINE_ACME), "acme/tiny"),
        (Some(ALICE_FINE_ACME), "meta/gated"),
    ] {
        token(&mut ctx, who);
        ctx.run(&["download", repo]).success();
        let json = expect(&ctx, &[repo], "ok", "none", 0, "would succeed");
        let notes = json["notes"].to_string();
        assert!(
            notes.contains("auth-check") && notes.contains("may not implement"),
            "{who:?} {repo}: the missing route is noted: {notes}"
        );
    }
}

#[test]
fn refusals_through_olah_keep_their_causes() {
    let Some((mut ctx, _olah)) = through_olah() else {
        return;
    };
    for (who, cause, code) in [
        (None, "no_token", 4),
        (Some(BOB), "gated_access_pending", 5),
        (Some(CAROL), "gated_access_rejected", 5),
        (Some(DAVE), "gated_access_not_requested", 5),
        (Some(ALICE_FINE_NO_GATED), "token_gated_scope_missing", 4),
    ] {
        token(&mut ctx, who);
        let json = ctx
            .run(&["doctor", "meta/gated", "--json"])
            .failure(code)
            .json();
        assert_eq!(json["cause"], cause, "{who:?}: {json}");
        // The download says the same.
        let out = ctx.run(&["download", "meta/gated", "--json"]).failure(code);
        assert_eq!(out.json()["cause"], cause, "{who:?}: {}", out.stderr);
    }
}

#[test]
fn a_pr_revision_through_olah_is_an_inconsistent_route_with_the_commit_hash_fix() {
    let Some((ctx, _olah)) = through_olah() else {
        return;
    };
    let commit = ctx.emulator.commit_sha("acme/tiny", "refs/pr/1").unwrap();
    let json = expect(
        &ctx,
        &["acme/tiny", "--revision", "refs/pr/1"],
        "endpoint_inconsistent",
        "endpoint",
        8,
        &format!("--revision {commit}"),
    );
    assert!(
        json["explanation"]
            .as_str()
            .unwrap()
            .contains("/revision/refs%2Fpr%2F1"),
        "{json}"
    );
    // The fix works through the same mirror.
    ctx.run(&["download", "acme/tiny", "--revision", &commit])
        .success();
}

#[test]
fn an_offline_olah_says_what_it_has_not_cached() {
    let Some((mut ctx, mut olah)) = through_olah() else {
        return;
    };
    // Online once: olah caches the repo's information and the one file asked for.
    ctx.run(&["download", "acme/tiny", "config.json"]).success();
    olah.restart(OlahMode::Offline);
    ctx.env("HF_ENDPOINT", &olah.url());
    let json = ctx
        .run(&["doctor", "acme/tiny", "nested/deeper/notes.txt", "--json"])
        .json();
    assert_ne!(json["cause"], "repo_not_found", "{json}");
    assert_eq!(json["cause"], "not_cached_by_mirror", "{json}");
    // A repo it never saw: the evidence cannot tell "not cached" from "missing"; it says both.
    expect(
        &ctx,
        &["acme/data", "--repo-type", "dataset"],
        "repo_not_found",
        "repo",
        3,
        "running offline",
    );
}

#[test]
fn olah_without_its_upstream_is_a_mirror_problem_not_a_hub_error() {
    let ctx = TestContext::new(scenario());
    // Nothing listens on port 9: olah's upstream is down and it answers 504 ProxyTimeout.
    let Some(olah) = Olah::start_for(
        "http://127.0.0.1:9",
        &ctx.emulator.cdn_url(),
        OlahMode::Online,
    ) else {
        return;
    };
    let mut ctx = ctx;
    ctx.env("HF_ENDPOINT", &olah.url());
    let json = expect(
        &ctx,
        &["acme/tiny"],
        "mirror_upstream_unreachable",
        "endpoint",
        7,
        "cannot reach the Hub",
    );
    assert!(
        json["evidence"]["repo_info"]["error_code"] == "ProxyTimeout",
        "{json}"
    );
}

#[test]
fn the_setup_doctor_recognises_olah_as_a_mirror() {
    let Some((ctx, _olah)) = through_olah() else {
        return;
    };
    let out = ctx.run(&["doctor"]);
    assert!(
        out.stdout.contains("looks like a mirror or proxy"),
        "{}",
        out.stdout
    );
}
