//! `hfget doctor`: one test per cause (cause id, key sentence, exit code), snapshots of the
//! human report for the gated and token cases, and the diagnosis built into `download`.
//!
//! Every test runs in every emulator [`Mode`]: the emulator's classic answers, and
//! the Hub as 2025–26 captures show it (masked `xetHash`, or `xetHash` and `lfs.oid`; both
//! bad-token wordings; README.md readable on gated repos; resolve-cache hops only on public
//! repos; `WWW-Authenticate`; `auth-check` answering `OK`). Snapshots are taken in the classic
//! mode; the other modes must give the same cause, sentence and exit code.

use hub_emulator::{BadTokenWording, Fault, FaultAction, MaskedHashes, Scenario};

use crate::common::fixtures::*;
use crate::common::*;
use crate::hfget_snapshot;

/// One way the emulator answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Classic,
    Captured2026(MaskedHashes, BadTokenWording),
}

/// Classic, then the captured Hub in both masking modes and both wordings.
pub const MODES: [Mode; 5] = [
    Mode::Classic,
    Mode::Captured2026(MaskedHashes::Xet, BadTokenWording::InvalidCredentials),
    Mode::Captured2026(
        MaskedHashes::Xet,
        BadTokenWording::InvalidUsernameOrPassword,
    ),
    Mode::Captured2026(MaskedHashes::XetAndLfs, BadTokenWording::InvalidCredentials),
    Mode::Captured2026(
        MaskedHashes::XetAndLfs,
        BadTokenWording::InvalidUsernameOrPassword,
    ),
];

impl Mode {
    pub fn apply(self, scenario: Scenario) -> Scenario {
        match self {
            Mode::Classic => scenario,
            Mode::Captured2026(masking, wording) => scenario.as_captured_2026(masking, wording),
        }
    }

    fn ctx(self) -> TestContext {
        TestContext::new(self.apply(standard_scenario()))
    }

    fn with_token(self, token: &str) -> TestContext {
        let mut ctx = self.ctx();
        ctx.env("HF_TOKEN", token);
        ctx
    }
}

/// Runs `test` once per mode; a failure names the mode it happened in.
pub fn each_mode(test: impl Fn(Mode)) {
    for mode in MODES {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(mode)));
        if let Err(panic) = outcome {
            eprintln!("failed in emulator mode {mode:?}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// Runs `doctor --json` and checks the cause, a sentence of the summary and the exit code.
#[track_caller]
pub fn expect(
    ctx: &TestContext,
    args: &[&str],
    cause: &str,
    layer: &str,
    code: i32,
    sentence: &str,
) -> serde_json::Value {
    let mut full = vec!["doctor"];
    full.extend_from_slice(args);
    full.push("--json");
    let out = ctx.run(&full);
    let json = out.json();
    assert_eq!(
        json["cause"],
        cause,
        "{}",
        serde_json::to_string_pretty(&json).unwrap()
    );
    assert_eq!(json["layer"], layer);
    assert_eq!(out.code, code, "exit code for {cause}");
    let text = format!(
        "{} {} {} {}",
        json["summary"], json["explanation"], json["fix"], json["notes"]
    );
    assert!(text.contains(sentence), "{sentence:?} not in {text}");
    json
}

#[test]
fn ok_for_public_and_for_granted_gated() {
    each_mode(|mode| {
        expect(
            &mode.ctx(),
            &["acme/tiny"],
            "ok",
            "none",
            0,
            "would succeed",
        );
        expect(
            &mode.with_token(ALICE),
            &["meta/gated"],
            "ok",
            "none",
            0,
            "can read this model",
        );
    });
}

#[test]
fn no_token() {
    each_mode(|mode| {
        let json = expect(
            &mode.ctx(),
            &["meta/gated"],
            "no_token",
            "token",
            4,
            "hfget login",
        );
        assert_eq!(json["evidence"]["auth_check"]["status"], 401);
        assert_eq!(json["evidence"]["auth_check"]["error_code"], "GatedRepo");
    });
}

#[test]
fn invalid_token_even_on_a_public_repo() {
    each_mode(|mode| {
        expect(
            &mode.with_token(REVOKED),
            &["acme/tiny"],
            "invalid_token",
            "token",
            4,
            "unset HF_TOKEN",
        );
    });
}

#[test]
fn env_token_shadows_a_working_login() {
    each_mode(|mode| {
        let ctx = mode.with_token(REVOKED);
        std::fs::write(ctx.hf_home().join("token"), ALICE).unwrap();
        let json = expect(
            &ctx,
            &["meta/gated"],
            "env_token_shadows_login",
            "token",
            4,
            "unset HF_TOKEN",
        );
        assert_eq!(json["evidence"]["other_tokens"][0]["can_access_repo"], true);
        let out = ctx.run(&["doctor", "meta/gated"]);
        if mode == Mode::Classic {
            hfget_snapshot!(ctx, out);
        }
    });
}

#[test]
fn gated_access_not_requested() {
    each_mode(|mode| {
        let ctx = mode.with_token(DAVE);
        expect(
            &ctx,
            &["meta/gated"],
            "gated_access_not_requested",
            "account",
            5,
            "/meta/gated",
        );
        let out = ctx.run(&["doctor", "meta/gated"]);
        if mode == Mode::Classic {
            hfget_snapshot!(ctx, out);
        }
    });
}

#[test]
fn gated_access_pending() {
    each_mode(|mode| {
        let ctx = mode.with_token(BOB);
        expect(
            &ctx,
            &["meta/gated"],
            "gated_access_pending",
            "account",
            5,
            "/settings/gated-repos",
        );
        let out = ctx.run(&["doctor", "meta/gated"]);
        if mode == Mode::Classic {
            hfget_snapshot!(ctx, out);
        }
    });
}

#[test]
fn gated_access_rejected() {
    each_mode(|mode| {
        let ctx = mode.with_token(CAROL);
        expect(
            &ctx,
            &["meta/gated"],
            "gated_access_rejected",
            "account",
            5,
            "cannot be",
        );
        let out = ctx.run(&["doctor", "meta/gated"]);
        if mode == Mode::Classic {
            hfget_snapshot!(ctx, out);
        }
    });
}

#[test]
fn token_gated_scope_missing() {
    each_mode(|mode| {
        let ctx = mode.with_token(ALICE_FINE_NO_GATED);
        let json = expect(
            &ctx,
            &["meta/gated"],
            "token_gated_scope_missing",
            "token",
            4,
            "Read access to contents of all public gated repos you can access",
        );
        // The Hub's generic 403 without an error code (§4.3).
        assert!(json["evidence"]["auth_check"]["error_code"].is_null());
        let out = ctx.run(&["doctor", "meta/gated"]);
        if mode == Mode::Classic {
            hfget_snapshot!(ctx, out);
        }
    });
}

#[test]
fn token_repo_scope_missing() {
    each_mode(|mode| {
        let ctx = mode.with_token(ALICE_FINE_NO_GATED);
        expect(
            &ctx,
            &["acme/secret"],
            "token_repo_scope_missing",
            "token",
            4,
            "add acme",
        );
        let out = ctx.run(&["doctor", "acme/secret"]);
        if mode == Mode::Classic {
            hfget_snapshot!(ctx, out);
        }
        // The same private repo with a token scoped to acme is fine.
        expect(
            &mode.with_token(ALICE_FINE_ACME),
            &["acme/secret"],
            "ok",
            "none",
            0,
            "would succeed",
        );
    });
}

#[test]
fn org_restriction() {
    each_mode(|mode| {
        expect(
            &mode.with_token(ERIN),
            &["acme/secret"],
            "org_restriction",
            "account",
            5,
            "sso",
        );
    });
}

#[test]
fn repo_not_found_says_the_hub_does_not_tell_which() {
    each_mode(|mode| {
        expect(
            &mode.ctx(),
            &["acme/nope"],
            "repo_not_found",
            "repo",
            3,
            "does not tell which",
        );
        expect(
            &mode.with_token(ALICE),
            &["acme/nope"],
            "repo_not_found",
            "repo",
            3,
            "does not tell which",
        );
        // Private and invisible to this account: the same answer, by design of the Hub.
        expect(
            &mode.with_token(DAVE),
            &["acme/secret"],
            "repo_not_found",
            "repo",
            3,
            "does not tell which",
        );
    });
}

#[test]
fn wrong_repo_type_gives_the_corrected_command() {
    each_mode(|mode| {
        expect(
            &mode.ctx(),
            &["acme/data"],
            "wrong_repo_type",
            "repo",
            3,
            "hfget download acme/data --repo-type dataset",
        );
    });
}

#[test]
fn revision_not_found_lists_branches_and_tags() {
    each_mode(|mode| {
        let json = expect(
            &mode.ctx(),
            &["acme/tiny", "--revision", "nope"],
            "revision_not_found",
            "repo",
            3,
            "dev",
        );
        assert_eq!(json["evidence"]["tags"], serde_json::json!(["v1"]));
    });
}

/// When `/refs` itself fails, "Branches: none. Tags: none." would be a guess, not a finding.
#[test]
fn revision_not_found_says_when_the_refs_could_not_be_listed() {
    let ctx = TestContext::new(standard_scenario());
    ctx.emulator.add_fault(
        Fault::on_hub()
            .path("/refs")
            .action(FaultAction::Status { status: 404 }),
    );
    let json = expect(
        &ctx,
        &["acme/tiny", "--revision", "nope"],
        "revision_not_found",
        "repo",
        3,
        "branches and tags could not be listed",
    );
    assert!(
        !json["explanation"].as_str().unwrap().contains("none"),
        "{json:#}"
    );
    assert!(json["evidence"]["refs_unreadable"].is_string(), "{json:#}");
    let out = ctx.run(&["doctor", "acme/tiny", "--revision", "nope"]);
    assert!(
        out.stdout.contains("could not be listed") && !out.stdout.contains("Branches: none"),
        "{}",
        out.stdout
    );
}

#[test]
fn file_not_found_suggests_close_names() {
    each_mode(|mode| {
        expect(
            &mode.ctx(),
            &["acme/tiny", "confg.json"],
            "file_not_found",
            "repo",
            3,
            "config.json",
        );
    });
}

#[test]
fn repo_disabled() {
    each_mode(|mode| {
        expect(
            &mode.ctx(),
            &["acme/banned"],
            "repo_disabled",
            "repo",
            5,
            "disabled",
        );
    });
}

#[test]
fn rate_limited_with_reset_time() {
    each_mode(|mode| {
        let ctx = mode.ctx();
        ctx.emulator
            .add_fault(Fault::on_hub().action(FaultAction::RateLimited {
                retry_after_secs: 42,
            }));
        expect(&ctx, &["acme/tiny"], "rate_limited", "network", 7, "42 s");
    });
}

#[test]
fn server_error_after_retries() {
    each_mode(|mode| {
        let ctx = mode.ctx();
        ctx.emulator
            .add_fault(Fault::on_hub().action(FaultAction::Status { status: 503 }));
        expect(
            &ctx,
            &["acme/tiny"],
            "server_error",
            "network",
            7,
            "status.huggingface.co",
        );
    });
}

#[test]
fn endpoint_unreachable_names_the_endpoint() {
    each_mode(|mode| {
        let mut ctx = mode.ctx();
        ctx.env("HF_ENDPOINT", "http://127.0.0.1:9");
        expect(
            &ctx,
            &["acme/tiny"],
            "endpoint_unreachable",
            "network",
            6,
            "http://127.0.0.1:9",
        );
    });
}

#[test]
fn download_prints_the_diagnosis_instead_of_a_bare_403() {
    each_mode(|mode| {
        let ctx = mode.with_token(BOB);
        let out = ctx.run(&["download", "meta/gated"]).failure(5);
        assert!(
            out.stderr.contains("gated_access_pending"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("awaiting"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "stdout stays clean for $(...) users");

        let out = mode
            .with_token(ALICE_FINE_NO_GATED)
            .run(&["download", "meta/gated", "config.json", "--json"])
            .failure(4);
        assert_eq!(out.json()["cause"], "token_gated_scope_missing");
    });
}

#[test]
fn setup_check_lists_every_token_source() {
    each_mode(|mode| {
        let ctx = mode.with_token(REVOKED);
        std::fs::write(ctx.hf_home().join("token"), ALICE).unwrap();
        let out = ctx.run(&["doctor"]);
        assert_eq!(out.code, 4, "{}", out.stdout);
        assert!(
            out.stdout
                .contains("HF_TOKEN environment variable (used): rejected"),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("token file"), "{}", out.stdout);
        assert!(out.stdout.contains("valid, user alice"), "{}", out.stdout);
        assert!(out.stdout.contains("cache"), "{}", out.stdout);
        assert!(
            !out.stdout.contains(ALICE) && !out.stdout.contains(REVOKED),
            "tokens are masked"
        );
    });
}

#[test]
fn env_token_shadowing_says_what_the_variable_runs_into() {
    each_mode(|mode| {
        // HF_TOKEN holds bob's token (request pending); the token file holds alice's (granted).
        let ctx = mode.with_token(BOB);
        std::fs::write(ctx.hf_home().join("token"), ALICE).unwrap();
        let json = expect(
            &ctx,
            &["meta/gated"],
            "env_token_shadows_login",
            "token",
            4,
            "unset HF_TOKEN",
        );
        let explanation = json["explanation"].as_str().unwrap();
        assert!(
            explanation.contains("waiting for the authors' review"),
            "{explanation}"
        );
    });
}

#[test]
fn a_working_token_still_mentions_other_sources() {
    each_mode(|mode| {
        let ctx = mode.with_token(ALICE);
        std::fs::write(ctx.hf_home().join("token"), DAVE).unwrap();
        let out = ctx.run(&["doctor", "meta/gated"]).success();
        assert!(
            out.stdout.contains("hf_…0006 in the token file"),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("not checked"), "{}", out.stdout);
    });
}
