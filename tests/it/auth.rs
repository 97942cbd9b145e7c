//! Auth against the emulator: the token precedence table (one test per row, checked
//! on the `Authorization` header the emulator received), `login` validation and stores,
//! `logout`, `auth list|switch|token`, `whoami`, `env`, and masking everywhere.
//!
//! The keyring rows run against a real Secret Service when `HFGET_TEST_SECRET_SERVICE=1`
//! (under `scripts/with-secret-service.sh`); otherwise they are skipped with a message. The
//! Python interoperability check runs when `HFGET_TEST_PYTHON` names a Python with the pinned
//! huggingface_hub.

use std::path::Path;

use crate::common::fixtures::*;
use crate::common::*;
use crate::hfget_snapshot;

fn ctx() -> TestContext {
    TestContext::new(standard_scenario())
}

/// Every token the scenario knows: none may ever appear in output.
const ALL_TOKENS: &[&str] = &[
    ALICE,
    ALICE_FINE_NO_GATED,
    ALICE_FINE_ACME,
    BOB,
    CAROL,
    DAVE,
    REVOKED,
];

#[track_caller]
fn assert_masked(outcome: &Outcome) {
    for token in ALL_TOKENS {
        assert!(
            !outcome.stdout.contains(token) && !outcome.stderr.contains(token),
            "the raw token {token} leaked\n--- stdout\n{}\n--- stderr\n{}",
            outcome.stdout,
            outcome.stderr
        );
    }
}

fn write_token_file(ctx: &TestContext, token: &str) {
    std::fs::write(ctx.hf_home().join("token"), token).unwrap();
}

/// The `Authorization` header of every whoami request, in order.
fn whoami_authorizations(ctx: &TestContext) -> Vec<Option<String>> {
    ctx.requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/whoami-v2"))
        .map(|r| r.authorization)
        .collect()
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// The precedence table: --token > HF_TOKEN > HUGGING_FACE_HUB_TOKEN > keyring login > token file.
// (The keyring row needs a Secret Service: `auth_secret_service_*` below.)

#[test]
fn auth_precedence_flag_beats_everything() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", BOB)
        .env("HUGGING_FACE_HUB_TOKEN", CAROL);
    write_token_file(&ctx, DAVE);
    let out = ctx.run(&["whoami", "--token", ALICE]).success();
    assert_masked(&out);
    assert_eq!(whoami_authorizations(&ctx), [bearer(ALICE)]);
    assert!(
        out.stdout.contains("source: the --token flag"),
        "{}",
        out.stdout
    );
}

#[test]
fn auth_precedence_hf_token_beats_legacy_variable_and_file() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", ALICE)
        .env("HUGGING_FACE_HUB_TOKEN", CAROL);
    write_token_file(&ctx, DAVE);
    let out = ctx.run(&["whoami"]).success();
    assert_eq!(whoami_authorizations(&ctx), [bearer(ALICE)]);
    assert!(
        out.stdout
            .contains("source: the HF_TOKEN environment variable")
    );
    assert!(
        out.stderr
            .contains("note: HF_TOKEN overrides the token file"),
        "{}",
        out.stderr
    );
}

#[test]
fn auth_precedence_legacy_variable_beats_file() {
    let mut ctx = ctx();
    ctx.env("HUGGING_FACE_HUB_TOKEN", BOB).env("HF_TOKEN", "");
    write_token_file(&ctx, DAVE);
    let out = ctx.run(&["whoami"]).success();
    assert_eq!(whoami_authorizations(&ctx), [bearer(BOB)]);
    assert!(out.stdout.contains("user: bob"));
    assert!(
        out.stdout
            .contains("source: the HUGGING_FACE_HUB_TOKEN environment variable")
    );
}

#[test]
fn auth_precedence_token_file_last() {
    let ctx = ctx();
    write_token_file(&ctx, &format!("{CAROL}\n"));
    let out = ctx.run(&["whoami"]).success();
    assert_eq!(whoami_authorizations(&ctx), [bearer(CAROL)]);
    assert!(out.stdout.contains("user: carol"));
}

#[test]
fn auth_precedence_download_uses_the_same_resolver() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", ALICE);
    write_token_file(&ctx, DAVE);
    ctx.run(&["download", "acme/tiny", "config.json"]).success();
    let hub: Vec<_> = ctx
        .requests()
        .into_iter()
        .filter(|r| r.origin == Origin::Hub)
        .collect();
    assert!(!hub.is_empty());
    for request in hub {
        assert_eq!(request.authorization, bearer(ALICE), "{}", request.path);
    }
}

#[test]
fn auth_whoami_without_any_token_says_how_to_log_in() {
    let ctx = ctx();
    let out = ctx.run(&["whoami"]).failure(4);
    assert!(
        whoami_authorizations(&ctx).is_empty(),
        "no request without a token"
    );
    hfget_snapshot!(ctx, out);
}

// ---------------------------------------------------------------------------------------------
// whoami

#[test]
fn auth_whoami_classic_token() {
    let ctx = ctx();
    write_token_file(&ctx, ALICE);
    let out = ctx.run(&["whoami"]).success();
    assert_masked(&out);
    hfget_snapshot!(ctx, out);
}

#[test]
fn auth_whoami_fine_grained_token() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", ALICE_FINE_ACME);
    let out = ctx.run(&["whoami"]).success();
    assert_masked(&out);
    hfget_snapshot!(ctx, out);
}

#[test]
fn auth_whoami_org_restrictions_and_expiry() {
    const ERIN: &str = "hf_erin_fine_0000000000000000000008";
    let scenario = standard_scenario()
        .user(
            hub_emulator::User::new("erin")
                .org("acme", "write")
                .org_with_restrictions("bigcorp", "read", &["sso", "mfa"]),
        )
        .token(
            hub_emulator::Token::fine_grained(ERIN, "erin", "erin-ci")
                .can_read_gated(false)
                .global(&["discussion.write"])
                .scope("org", "bigcorp", &["repo.content.read", "repo.write"])
                .scope("model", "acme/tiny", &["repo.content.read"])
                .expires_at("2099-01-01T00:00:00Z"),
        );
    let mut ctx = TestContext::new(scenario);
    ctx.env("HF_TOKEN", ERIN);
    let out = ctx.run(&["whoami"]).success();
    assert!(!out.stdout.contains(ERIN) && !out.stderr.contains(ERIN));
    hfget_snapshot!(ctx, out);
}

#[test]
fn auth_whoami_json() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", ALICE_FINE_NO_GATED);
    let out = ctx.run(&["whoami", "--json"]).success();
    assert_masked(&out);
    let json = out.json();
    assert_eq!(json["user"], "alice");
    assert_eq!(json["orgs"][0]["name"], "acme");
    assert_eq!(json["orgs"][0]["role"], "admin");
    assert_eq!(json["token"]["name"], "ci-fine");
    assert_eq!(json["token"]["role"], "fineGrained");
    assert_eq!(json["token"]["masked"], "hf_…0002");
    assert_eq!(json["token"]["fine_grained"]["can_read_gated_repos"], false);
    assert_eq!(json["source"]["id"], "env:HF_TOKEN");
}

#[test]
fn auth_whoami_invalid_hf_token_shadowing_a_good_login() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", REVOKED);
    write_token_file(&ctx, ALICE);
    let out = ctx.run(&["whoami"]).failure(4);
    assert_masked(&out);
    assert!(
        out.stderr
            .contains("HF_TOKEN holds a token the Hub rejects")
            && out.stderr.contains("would work: unset HF_TOKEN"),
        "{}",
        out.stderr
    );
    // The rejected token first, then the one that would work.
    assert_eq!(
        whoami_authorizations(&ctx),
        [bearer(REVOKED), bearer(ALICE)]
    );
    hfget_snapshot!(ctx, out);
}

#[test]
fn auth_whoami_invalid_token_file_names_the_file() {
    let ctx = ctx();
    write_token_file(&ctx, REVOKED);
    let out = ctx.run(&["whoami"]).failure(4);
    assert_masked(&out);
    hfget_snapshot!(ctx, out);
}

// ---------------------------------------------------------------------------------------------
// login

#[test]
fn auth_login_refuses_an_invalid_token_and_stores_nothing() {
    let ctx = ctx();
    let out = ctx
        .run_with_stdin(&["login", "--store", "file"], REVOKED)
        .failure(4);
    assert_masked(&out);
    assert!(out.stderr.contains("Nothing was stored"), "{}", out.stderr);
    assert!(!ctx.hf_home().join("token").exists());
    assert!(!ctx.hf_home().join("stored_tokens").exists());
    assert!(!ctx.path("config/logins.json").exists());
    assert_eq!(whoami_authorizations(&ctx), [bearer(REVOKED)]);
}

#[test]
fn auth_login_without_keyring_refuses_and_offers_the_file_store() {
    let ctx = ctx(); // HFGET_KEYRING=none
    let out = ctx.run_with_stdin(&["login"], ALICE).failure(9);
    assert_masked(&out);
    assert!(
        !ctx.hf_home().join("token").exists(),
        "never a silent plain-text fallback"
    );
    assert!(!ctx.path("config/logins.json").exists());
    hfget_snapshot!(ctx, out);
}

#[test]
fn auth_login_without_a_dbus_session_refuses_and_says_why() {
    let mut ctx = ctx();
    let runtime = ctx.path("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let bus = format!("unix:path={}", runtime.join("no-such-bus").display());
    ctx.remove_env("HFGET_KEYRING")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .env("XDG_RUNTIME_DIR", &runtime.display().to_string());
    let out = ctx.run_with_stdin(&["login"], ALICE).failure(9);
    assert_masked(&out);
    assert!(
        out.stderr.contains("The OS keyring is not available")
            && out.stderr.contains("D-Bus")
            && out.stderr.contains("--store file"),
        "{}",
        out.stderr
    );
    assert!(!ctx.hf_home().join("token").exists());
}

#[test]
fn auth_login_store_file_writes_python_compatible_files() {
    let ctx = ctx();
    let out = ctx
        .run_with_stdin(&["login", "--store", "file"], &format!("{ALICE}\n"))
        .success();
    assert_masked(&out);
    hfget_snapshot!(ctx, out);
    let token_path = ctx.hf_home().join("token");
    let stored_path = ctx.hf_home().join("stored_tokens");
    assert_eq!(std::fs::read_to_string(&token_path).unwrap(), ALICE);
    assert_eq!(
        std::fs::read_to_string(&stored_path).unwrap(),
        format!("[laptop]\nhf_token = {ALICE}\n\n")
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&token_path), 0o600);
        assert_eq!(mode(&stored_path), 0o600);
    }
    // The state file remembers facts, never the secret.
    let state = std::fs::read_to_string(ctx.path("config/logins.json")).unwrap();
    assert!(!state.contains(ALICE) && state.contains("alice"), "{state}");

    // A second login keeps the first, sorted like configparser writes it.
    ctx.run_with_stdin(&["login", "--store", "file", "--name", "bob"], BOB)
        .success();
    assert_eq!(
        std::fs::read_to_string(&stored_path).unwrap(),
        format!("[bob]\nhf_token = {BOB}\n\n[laptop]\nhf_token = {ALICE}\n\n")
    );
    assert_eq!(std::fs::read_to_string(&token_path).unwrap(), BOB);
}

#[test]
fn auth_login_store_file_creates_a_private_directory() {
    let mut ctx = ctx();
    let token_path = ctx.path("fresh/dir/token");
    ctx.env("HF_TOKEN_PATH", &token_path.display().to_string());
    ctx.run_with_stdin(&["login", "--store", "file"], ALICE)
        .success();
    assert_eq!(std::fs::read_to_string(&token_path).unwrap(), ALICE);
    assert!(token_path.with_file_name("stored_tokens").exists());
    #[cfg(unix)]
    {
        assert_eq!(mode(&token_path), 0o600);
        assert_eq!(mode(token_path.parent().unwrap()), 0o700);
    }
}

#[test]
fn auth_login_fine_grained_prints_scopes_and_warns_about_flag_and_hf_token() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", BOB);
    let out = ctx
        .run(&[
            "login",
            "--store",
            "file",
            "--token",
            ALICE_FINE_ACME,
            "--name",
            "acme",
        ])
        .success();
    assert_masked(&out);
    assert_eq!(
        whoami_authorizations(&ctx),
        [bearer(ALICE_FINE_ACME)],
        "validated with the new token, not HF_TOKEN"
    );
    hfget_snapshot!(ctx, out);
}

#[test]
fn auth_login_rejects_empty_input_and_bad_names() {
    let ctx = ctx();
    let out = ctx
        .run_with_stdin(&["login", "--store", "file"], "\n")
        .failure(2);
    assert!(out.stderr.contains("No token was given"), "{}", out.stderr);
    let out = ctx
        .run_with_stdin(&["login", "--store", "file", "--name", "DEFAULT"], ALICE)
        .failure(2);
    assert!(
        out.stderr.contains("`DEFAULT` cannot be a login name"),
        "{}",
        out.stderr
    );
    assert!(!ctx.hf_home().join("token").exists());
}

#[test]
fn auth_login_refuses_organization_tokens() {
    let ctx = ctx();
    let out = ctx
        .run_with_stdin(
            &["login", "--store", "file"],
            "api_org_0123456789abcdefghij",
        )
        .failure(4);
    assert!(!out.stderr.contains("api_org_0123456789abcdefghij"));
    assert!(whoami_authorizations(&ctx).is_empty());
}

#[test]
fn auth_login_store_file_is_accepted_by_python() {
    let Some(python) = python() else { return };
    let ctx = ctx();
    ctx.run_with_stdin(&["login", "--store", "file"], ALICE)
        .success();
    let output = std::process::Command::new(&python)
        .args([
            "-c",
            "from huggingface_hub import whoami; from huggingface_hub.utils import get_token; \
             print(whoami()['name']); print(get_token() is not None)",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", ctx.home())
        .env("HF_HOME", ctx.hf_home())
        .env("HF_ENDPOINT", ctx.emulator.hub_url())
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["alice", "True"]);

    // And Python's `hf auth list` sees the stored_tokens section.
    if let Some(hf) = python
        .parent()
        .map(|dir| dir.join("hf"))
        .filter(|p| p.exists())
    {
        let output = std::process::Command::new(hf)
            .args(["auth", "list"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", ctx.home())
            .env("HF_HOME", ctx.hf_home())
            .env("HF_ENDPOINT", ctx.emulator.hub_url())
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .output()
            .expect("hf runs");
        let listed = String::from_utf8_lossy(&output.stdout);
        assert!(
            listed.contains("laptop"),
            "{listed}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// logout, auth list / switch / token

/// Two file logins: `laptop` (alice) and `bob-laptop` (bob, active).
fn two_file_logins() -> TestContext {
    let ctx = ctx();
    ctx.run_with_stdin(&["login", "--store", "file"], ALICE)
        .success();
    ctx.run_with_stdin(&["login", "--store", "file"], BOB)
        .success();
    ctx
}

#[test]
fn auth_list_switch_and_token() {
    let ctx = two_file_logins();
    let out = ctx.run(&["auth", "list"]).success();
    assert_masked(&out);
    hfget_snapshot!(ctx, out);

    let out = ctx.run(&["auth", "switch", "laptop"]).success();
    assert_masked(&out);
    assert_eq!(
        std::fs::read_to_string(ctx.hf_home().join("token")).unwrap(),
        ALICE
    );
    let out = ctx.run(&["auth", "list"]).success();
    assert!(
        out.stdout.lines().any(|l| l.starts_with("* laptop")),
        "{}",
        out.stdout
    );

    let out = ctx.run(&["auth", "token"]).success();
    assert_eq!(
        out.stdout,
        format!("{ALICE}\n"),
        "the token and nothing else"
    );
    assert_eq!(out.stderr, "");

    let out = ctx.run(&["auth", "switch", "nobody"]).failure(2);
    assert!(
        out.stderr.contains("Known logins: bob-laptop, laptop"),
        "{}",
        out.stderr
    );

    let json = ctx.run(&["auth", "list", "--json"]).success();
    assert_masked(&json);
    assert_eq!(json.json()[1]["name"], "laptop");
    assert_eq!(json.json()[1]["active"], true);
}

#[test]
fn auth_token_without_a_token_fails_with_a_message() {
    let ctx = ctx();
    let out = ctx.run(&["auth", "token"]).failure(4);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("Not logged in"), "{}", out.stderr);
}

#[test]
fn auth_token_prints_the_environment_token_when_set() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", DAVE);
    let out = ctx.run(&["auth", "token"]).success();
    assert_eq!(out.stdout, format!("{DAVE}\n"));
}

#[test]
fn auth_list_shows_a_python_token_file_and_notes_hf_token() {
    let mut ctx = ctx();
    write_token_file(&ctx, CAROL);
    ctx.env("HF_TOKEN", DAVE);
    let out = ctx.run(&["auth", "list"]).success();
    assert_masked(&out);
    hfget_snapshot!(ctx, out);
}

#[test]
fn auth_logout_by_name_active_and_all() {
    let mut ctx = two_file_logins();
    let out = ctx.run(&["logout", "laptop"]).success();
    assert_masked(&out);
    assert_eq!(
        std::fs::read_to_string(ctx.hf_home().join("stored_tokens")).unwrap(),
        format!("[bob-laptop]\nhf_token = {BOB}\n\n")
    );
    assert!(
        ctx.hf_home().join("token").exists(),
        "the active login was another one"
    );

    ctx.env("HF_TOKEN", DAVE);
    let out = ctx.run(&["logout"]).success();
    assert_masked(&out);
    hfget_snapshot!(ctx, out);
    assert!(!ctx.hf_home().join("token").exists());
    assert!(!ctx.hf_home().join("stored_tokens").exists());

    ctx.remove_env("HF_TOKEN");
    let out = ctx.run(&["logout", "--all"]).success();
    assert!(out.stderr.contains("Not logged in"), "{}", out.stderr);
    let out = ctx.run(&["logout", "laptop"]).failure(2);
    assert!(
        out.stderr.contains("no login named `laptop`"),
        "{}",
        out.stderr
    );
}

#[test]
fn auth_logout_all_removes_python_written_files() {
    let ctx = ctx();
    write_token_file(&ctx, CAROL);
    std::fs::write(
        ctx.hf_home().join("stored_tokens"),
        format!("[carol-laptop]\nhf_token = {CAROL}\n\n[other]\nhf_token = {DAVE}\n\n"),
    )
    .unwrap();
    let out = ctx.run(&["logout", "--all"]).success();
    assert_masked(&out);
    assert!(!ctx.hf_home().join("token").exists());
    assert!(!ctx.hf_home().join("stored_tokens").exists());
}

// ---------------------------------------------------------------------------------------------
// env

#[test]
fn auth_env_reports_sources_masked() {
    let mut ctx = ctx();
    ctx.env("HF_TOKEN", ALICE)
        .env("HTTPS_PROXY", "http://user:proxy-secret@proxy.example:3128")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1");
    let out = ctx.run(&["env"]).success();
    assert_masked(&out);
    assert!(!out.stdout.contains("proxy-secret"));
    let mut filters = ctx.filters();
    filters.push((
        r"hfget version: \S+".into(),
        "hfget version: [VERSION]".into(),
    ));
    let filters: Vec<(&str, &str)> = filters
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(render(&out));
    });

    let json = ctx.run(&["env", "--json"]).success();
    assert_masked(&json);
    let json = json.json();
    assert_eq!(json["token"]["masked"], "hf_…0001");
    assert_eq!(json["token"]["source"], "env:HF_TOKEN");
    assert_eq!(json["keyring"]["usable"], false);
    assert_eq!(json["variables"]["HF_TOKEN"], "hf_…0001");
    assert_eq!(
        json["proxy"]["HTTPS_PROXY"],
        "http://user:****@proxy.example:3128"
    );
}

// ---------------------------------------------------------------------------------------------
// A real Secret Service (scripts/with-secret-service.sh env HFGET_TEST_SECRET_SERVICE=1 …)

fn secret_service_context() -> Option<TestContext> {
    with_secret_service(ctx())
}

#[test]
fn auth_secret_service_login_whoami_precedence_logout() {
    let Some(mut ctx) = secret_service_context() else {
        return;
    };
    // A Python login in the token file, which the keyring login must take precedence over.
    write_token_file(&ctx, CAROL);

    let out = ctx.run_with_stdin(&["login"], ALICE).success();
    assert_masked(&out);
    assert!(
        out.stdout.contains("in the OS keyring (Secret Service)"),
        "{}",
        out.stdout
    );
    assert_eq!(secret_tool_lookup(&ctx, "laptop").as_deref(), Some(ALICE));
    assert_eq!(
        std::fs::read_to_string(ctx.hf_home().join("token")).unwrap(),
        CAROL,
        "the token file is left alone"
    );
    let leaks = files_containing(ctx.temp.path(), ALICE);
    assert!(leaks.is_empty(), "the token is on disk in {leaks:?}");

    // Precedence row: keyring login > token file, for whoami and for downloads.
    ctx.clear_requests();
    let out = ctx.run(&["whoami"]).success();
    assert!(
        out.stdout
            .contains("source: the hfget login `laptop` in the OS keyring"),
        "{}",
        out.stdout
    );
    ctx.run(&["download", "acme/tiny", "config.json"]).success();
    for request in ctx
        .requests()
        .into_iter()
        .filter(|r| r.origin == Origin::Hub)
    {
        assert_eq!(request.authorization, bearer(ALICE), "{}", request.path);
    }
    let out = ctx.run(&["auth", "token"]).success();
    assert_eq!(out.stdout, format!("{ALICE}\n"));
    let out = ctx.run(&["auth", "list"]).success();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("* laptop") && l.contains("keyring")),
        "{}",
        out.stdout
    );
    let out = ctx.run(&["env"]).success();
    assert!(
        out.stdout
            .contains("keyring: Secret Service (D-Bus), usable"),
        "{}",
        out.stdout
    );

    // Precedence row: HF_TOKEN > keyring login; a bad HF_TOKEN is named, with the way out.
    ctx.env("HF_TOKEN", REVOKED);
    let out = ctx.run(&["whoami"]).failure(4);
    assert!(
        out.stderr
            .contains("HF_TOKEN holds a token the Hub rejects")
            && out
                .stderr
                .contains("Your keyring login `laptop` would work: unset HF_TOKEN."),
        "{}",
        out.stderr
    );
    ctx.remove_env("HF_TOKEN");

    // A second keyring login, then switch between them.
    ctx.run_with_stdin(&["login", "--name", "bob"], BOB)
        .success();
    assert_eq!(secret_tool_lookup(&ctx, "bob").as_deref(), Some(BOB));
    ctx.run(&["auth", "switch", "laptop"]).success();
    assert_eq!(
        ctx.run(&["auth", "token"]).success().stdout,
        format!("{ALICE}\n")
    );

    // logout removes the secret; the token file becomes the source again.
    let out = ctx.run(&["logout"]).success();
    assert!(
        out.stdout
            .contains("Removed the login `laptop` from the OS keyring."),
        "{}",
        out.stdout
    );
    assert_eq!(secret_tool_lookup(&ctx, "laptop"), None);
    assert_eq!(
        ctx.run(&["auth", "token"]).success().stdout,
        format!("{CAROL}\n")
    );
    ctx.run(&["logout", "bob"]).success();
    assert_eq!(secret_tool_lookup(&ctx, "bob"), None);
    let leaks = files_containing(ctx.temp.path(), ALICE);
    assert!(leaks.is_empty(), "the token is on disk in {leaks:?}");
}

#[test]
fn auth_secret_service_login_refuses_invalid_tokens() {
    let Some(ctx) = secret_service_context() else {
        return;
    };
    ctx.run_with_stdin(&["login"], REVOKED).failure(4);
    assert_eq!(secret_tool_lookup(&ctx, "old"), None);
    assert!(!ctx.path("config/logins.json").exists());
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C at the login prompt, role names, offline wording.

#[test]
fn auth_list_names_roles_as_whoami_does() {
    let ctx = ctx();
    ctx.run_with_stdin(&["login", "--store", "file"], ALICE_FINE_ACME)
        .success();
    let listed = ctx.run(&["auth", "list"]).success();
    assert!(listed.stdout.contains("fine-grained"), "{}", listed.stdout);
    assert!(!listed.stdout.contains("fineGrained"), "{}", listed.stdout);
    let who = ctx.run(&["whoami"]).success();
    assert!(who.stdout.contains("(fine-grained)"), "{}", who.stdout);
}

#[test]
fn auth_whoami_and_login_offline_say_they_need_the_hub() {
    let mut ctx = ctx();
    write_token_file(&ctx, ALICE);
    ctx.env("HF_HUB_OFFLINE", "1");
    let out = ctx.run(&["whoami"]).failure(10);
    assert!(
        out.stderr.contains(
            "`hfget whoami` has to ask the Hub who the token belongs to, and offline mode is on"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("cache"), "{}", out.stderr);
    let out = ctx
        .run_with_stdin(&["login", "--store", "file"], DAVE)
        .failure(10);
    assert!(
        out.stderr.contains("`hfget login` has to ask the Hub"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("cache"), "{}", out.stderr);
    assert!(whoami_authorizations(&ctx).is_empty());
}

/// A private tmux server for one test (never the user's or another test's).
struct Tmux {
    socket: String,
}

impl Tmux {
    /// `None` (with a note) when tmux is missing outside CI; CI must have it.
    fn start(tag: &str) -> Option<Tmux> {
        let found = std::process::Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the terminal tests: install tmux"
            );
            eprintln!("skipping: tmux is not installed");
            return None;
        }
        let tmux = Tmux {
            socket: format!("hfget-test-{tag}-{}", std::process::id()),
        };
        // A session that keeps the server up between runs: a server whose last session ends
        // exits, and a new session started meanwhile would fail.
        tmux.run(&["new-session", "-d", "-s", "keep", "sleep 600"]);
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> String {
        let output = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    /// Starts `command` in a fresh session `t` (ending the previous one).
    fn start_session(&self, command: &str) {
        self.run(&["kill-session", "-t", "t"]);
        let output = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "new-session", "-d", "-s", "t"])
            .args(["-x", "120", "-y", "30", command])
            .output()
            .expect("tmux runs");
        assert!(
            output.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    #[track_caller]
    fn wait_for(&self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "`{text}` never appeared:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// Runs `hfget login --store file` in a real terminal, answers `choice` to the login-method
/// question, presses Ctrl-C `delay_ms` after `wait_text` shows, and returns (exit code line,
/// `stty -a` afterwards, the screen).
fn interrupt_login_in_a_terminal(
    ctx: &TestContext,
    tmux: &Tmux,
    choice: &str,
    wait_text: &str,
    delay_ms: u64,
) -> (String, String, String) {
    let dir = ctx.temp.path();
    let rc_file = dir.join("rc.txt");
    let stty_file = dir.join("stty.txt");
    let _ = std::fs::remove_file(&rc_file);
    let _ = std::fs::remove_file(&stty_file);
    // The shell must outlive the Ctrl-C that hits its whole process group (a handler, not an
    // ignore: an ignored SIGINT would be inherited by hfget).
    let mut script = String::from("#!/bin/sh\ntrap : INT\n");
    let command = ctx.command(&["login", "--store", "file"]);
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            script.push_str(&format!(
                "export {}='{}'\n",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    script.push_str(&format!(
        "'{}' login --store file\necho \"rc=$?\" > '{}'\nstty -a > '{}'\nsleep 60\n",
        env!("CARGO_BIN_EXE_hfget"),
        rc_file.display(),
        stty_file.display()
    ));
    let script_path = dir.join("login.sh");
    std::fs::write(&script_path, script).unwrap();
    tmux.start_session(&format!("sh '{}'", script_path.display()));
    tmux.wait_for("Choice [1]:");
    tmux.run(&["send-keys", "-t", "t", choice, "Enter"]);
    tmux.wait_for(wait_text);
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    tmux.run(&["send-keys", "-t", "t", "C-c"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !stty_file.exists() || std::fs::read_to_string(&stty_file).unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "hfget did not exit:\n{}",
            tmux.screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    (
        std::fs::read_to_string(&rc_file)
            .unwrap()
            .trim()
            .to_string(),
        std::fs::read_to_string(&stty_file).unwrap(),
        tmux.screen(),
    )
}

#[test]
fn auth_ctrl_c_at_the_hidden_prompt_restores_echo_and_says_login_cancelled() {
    let Some(tmux) = Tmux::start("ctrlc") else {
        return;
    };
    let ctx = ctx();
    // Ctrl-C at different moments after the hidden prompt shows: the race the echo guard fixed
    // left echo off about once in six tries and printed one of two wrong messages.
    for delay_ms in [0, 10, 30, 60, 120, 250] {
        let (rc, stty, screen) =
            interrupt_login_in_a_terminal(&ctx, &tmux, "2", "input is hidden", delay_ms);
        assert_eq!(rc, "rc=130", "after {delay_ms} ms:\n{screen}");
        let flags: Vec<&str> = stty.split_whitespace().collect();
        assert!(
            flags.contains(&"echo") && !flags.contains(&"-echo"),
            "echo left off after {delay_ms} ms:\n{stty}"
        );
        assert!(
            screen.contains("error: Login cancelled; nothing was stored."),
            "after {delay_ms} ms:\n{screen}"
        );
        assert!(!screen.contains("Partial downloads"), "{screen}");
        assert!(!screen.contains("Could not read the token"), "{screen}");
    }
    assert!(!ctx.hf_home().join("token").exists());
}

#[test]
fn auth_ctrl_c_while_waiting_for_the_browser_cancels_cleanly() {
    let Some(tmux) = Tmux::start("ctrlc-web") else {
        return;
    };
    let ctx = ctx();
    let (rc, stty, screen) =
        interrupt_login_in_a_terminal(&ctx, &tmux, "", "Waiting for approval", 300);
    assert_eq!(rc, "rc=130", "{screen}");
    assert!(!stty.split_whitespace().any(|f| f == "-echo"), "{stty}");
    assert!(screen.contains("code: "), "{screen}");
    // The spinner line (and the echoed ^C) is erased before the message.
    assert!(!screen.contains("left (Ctrl-C cancels)"), "{screen}");
    assert!(!screen.contains("^C"), "{screen}");
    assert!(
        screen.contains("error: Login cancelled; nothing was stored."),
        "{screen}"
    );
    assert!(!screen.contains("Partial downloads"), "{screen}");
    assert!(!ctx.hf_home().join("token").exists());
}
