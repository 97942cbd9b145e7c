//! Browser login (OAuth device code), renewal, and CI tokens by OIDC exchange,
//! against the emulator's authorization server (`crates/hub-emulator/src/oauth.rs`).
//!
//! Each login test runs the real `hfget login --web` without a terminal (as an agent or a
//! script does), waits until the emulator has a pending code, and plays the user in the
//! browser with the emulator's approval control. The keyring test needs a real Secret Service
//! (`HFGET_TEST_SECRET_SERVICE=1` under `scripts/with-secret-service.sh`), the interop test a
//! Python with huggingface_hub 2.4 (`HFGET_TEST_PYTHON`); both skip elsewhere and fail in CI.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hub_emulator::{Fault, FaultAction, OAuthScenario, OidcTrust, Repo};

use crate::common::fixtures::*;
use crate::common::*;

const SECRET_FILE: &[u8] = b"alice's private weights\n";

fn scenario(oauth: OAuthScenario) -> Scenario {
    standard_scenario()
        .repo(
            Repo::model("alice/secret")
                .private()
                .file("weights.txt", SECRET_FILE),
        )
        .oauth(oauth)
}

/// Polls every second (instead of 5) so the tests stay short.
fn fast() -> OAuthScenario {
    OAuthScenario {
        interval_secs: 1,
        ..OAuthScenario::default()
    }
}

fn ctx_with(oauth: OAuthScenario) -> TestContext {
    TestContext::new(scenario(oauth))
}

/// `hfget login --web …` running without a terminal: stdin closed, output piped.
fn spawn_login(ctx: &TestContext, extra: &[&str]) -> Child {
    let mut args = vec!["login", "--web"];
    args.extend_from_slice(extra);
    ctx.command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hfget starts")
}

fn pending_code(ctx: &TestContext) -> String {
    ctx.emulator
        .oauth_wait_pending(Duration::from_secs(20))
        .expect("hfget asked for a device code")
}

fn finish(child: Child) -> Outcome {
    Outcome::from(child.wait_with_output().expect("hfget runs"))
}

/// A browser login of alice, kept in the HF token files (the keyring is off in tests).
fn file_login(ctx: &TestContext) -> Outcome {
    let child = spawn_login(ctx, &["--store", "file"]);
    let code = pending_code(ctx);
    assert!(ctx.emulator.oauth_approve(&code, "alice"));
    finish(child).success()
}

fn stored_tokens(ctx: &TestContext) -> String {
    std::fs::read_to_string(ctx.hf_home().join("stored_tokens")).unwrap_or_default()
}

/// `key = value` of the `[oauth-alice]` section.
fn stored_field(ctx: &TestContext, key: &str) -> Option<String> {
    let text = stored_tokens(ctx);
    let mut in_section = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_section = line == "[oauth-alice]";
        } else if in_section
            && let Some((k, v)) = line.split_once(" = ")
            && k == key
        {
            return Some(v.to_string());
        }
    }
    None
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

// ---------------------------------------------------------------------------------------------
// The device-code login: approve, deny, expiry, slow_down, transient answers.

#[test]
fn oauth_login_web_approve_stores_the_pair_as_python_does() {
    let ctx = ctx_with(fast());
    let out = file_login(&ctx);
    let code = ctx.emulator.oauth_grants();
    assert_eq!(
        code,
        ["urn:ietf:params:oauth:grant-type:device_code"; 1].repeat(code.len())
    );
    // What the user saw: the page with the code, the code, then the result.
    assert!(
        out.stderr.contains("open this page in a browser"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("/oauth/device?user_code="),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Waiting for approval"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("Logged in with your browser: user alice, token hf_…"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("scopes: openid, profile, read-repos, gated-repos"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("renewal: automatic"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Saved as `oauth-alice`"),
        "{}",
        out.stdout
    );

    // Python's layout: the section has the access token, its refresh token and expires_at;
    // the token file has the access token.
    let access = stored_field(&ctx, "hf_token").expect("hf_token");
    let refresh = stored_field(&ctx, "refresh_token").expect("refresh_token");
    let expires_at: u64 = stored_field(&ctx, "expires_at").unwrap().parse().unwrap();
    assert!(access.starts_with("hf_oauth_") && refresh.starts_with("hf_oauth_refresh_"));
    assert!(expires_at > now() + 3500 && expires_at <= now() + 3600);
    assert_eq!(
        std::fs::read_to_string(ctx.hf_home().join("token")).unwrap(),
        access
    );
    assert!(!out.stdout.contains(&access) && !out.stderr.contains(&access));
    assert!(!out.stdout.contains(&refresh) && !out.stderr.contains(&refresh));

    // whoami knows it is a browser login, and downloads use it.
    let who = ctx.run(&["whoami"]).success();
    assert!(
        who.stdout
            .contains("login: browser login `oauth-alice` (HF token file)"),
        "{}",
        who.stdout
    );
    assert!(
        who.stdout.contains("access token expires:"),
        "{}",
        who.stdout
    );
    let json = ctx.run(&["whoami", "--json"]).success().json();
    assert_eq!(json["browser_login"]["name"], "oauth-alice");
    assert_eq!(json["browser_login"]["refreshable"], true);
    let path = ctx
        .run(&["download", "alice/secret", "weights.txt"])
        .success();
    assert_eq!(std::fs::read(path.stdout_line()).unwrap(), SECRET_FILE);

    // `auth list` shows when it expires, as `hf auth list` does.
    let listed = ctx.run(&["auth", "list"]).success();
    assert!(listed.stdout.contains("EXPIRES"), "{}", listed.stdout);
    assert!(listed.stdout.contains(" UTC"), "{}", listed.stdout);
    let json = ctx.run(&["auth", "list", "--json"]).success().json();
    assert_eq!(json[0]["expires_at"], expires_at, "{json}");
}

#[test]
fn oauth_login_web_denied_stores_nothing() {
    let ctx = ctx_with(fast());
    let child = spawn_login(&ctx, &["--store", "file"]);
    let code = pending_code(&ctx);
    assert!(ctx.emulator.oauth_deny(&code));
    let out = finish(child).failure(4);
    assert!(
        out.stderr
            .contains("The login was denied in the browser. Nothing was stored"),
        "{}",
        out.stderr
    );
    assert!(!ctx.hf_home().join("token").exists());
    assert!(!ctx.hf_home().join("stored_tokens").exists());
}

#[test]
fn oauth_login_web_expired_code_stops_waiting() {
    // The server says the code expired…
    let ctx = ctx_with(fast());
    let child = spawn_login(&ctx, &["--store", "file"]);
    let code = pending_code(&ctx);
    assert!(ctx.emulator.oauth_expire(&code));
    let out = finish(child).failure(4);
    assert!(
        out.stderr
            .contains("The login code expired before it was approved"),
        "{}",
        out.stderr
    );
    assert!(!ctx.hf_home().join("token").exists());

    // …or nobody approves before the deadline the device answer gave.
    let ctx = ctx_with(OAuthScenario {
        device_expires_secs: 2,
        ..fast()
    });
    let child = spawn_login(&ctx, &["--store", "file"]);
    let code = pending_code(&ctx);
    let out = finish(child).failure(4);
    assert!(
        out.stderr
            .contains("expired before it was approved (1 min)"),
        "{}",
        out.stderr
    );
    // It stopped at the deadline: a code that lives 2 s, polled every second, is polled at most
    // three times (at 0, 1 and 2 s), however slowly the machine runs; a login that ignored the
    // deadline would keep polling for the default 15 minutes.
    let polls = ctx.emulator.oauth_polls(&code);
    assert!(!polls.is_empty() && polls.len() <= 3, "{polls:?}");
    assert!(!ctx.hf_home().join("token").exists());
}

#[test]
fn oauth_login_web_slow_down_adds_five_seconds() {
    let ctx = ctx_with(fast());
    let child = spawn_login(&ctx, &["--store", "file"]);
    let code = pending_code(&ctx);
    assert!(ctx.emulator.oauth_slow_down(&code, 1));
    assert!(ctx.emulator.oauth_approve(&code, "alice"));
    let out = finish(child).success();
    assert!(
        out.stderr.contains("poll less often; now every 6 s"),
        "{}",
        out.stderr
    );
    let polls = ctx.emulator.oauth_polls(&code);
    // The poll answered `slow_down` (the first or the second, depending on when the test set
    // it) is followed by the approved one six seconds later, never sooner.
    assert!(polls.len() >= 2, "{polls:?}");
    let gap = polls[polls.len() - 1] - polls[polls.len() - 2];
    assert!(gap >= Duration::from_millis(5800), "{polls:?}");
    for pair in polls.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(900),
            "polled too fast: {polls:?}"
        );
    }
}

#[test]
fn oauth_login_web_rides_out_5xx_and_html_answers() {
    let ctx = ctx_with(fast());
    let failed_polls = || {
        ctx.requests()
            .iter()
            .filter(|r| r.path == "/oauth/token" && !matches!(r.status, 0 | 200 | 400))
            .count()
    };
    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while failed_polls() < count {
            assert!(
                Instant::now() < deadline,
                "not reached: {:?}",
                ctx.requests()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // Every matching fault fires on a request, so they are added one after the other.
    ctx.emulator.add_fault(
        Fault::on_hub()
            .path("/oauth/token")
            .times(2)
            .action(FaultAction::Status { status: 503 }),
    );
    let child = spawn_login(&ctx, &["--store", "file"]);
    let code = pending_code(&ctx);
    wait_for(2);
    ctx.emulator.add_fault(
        Fault::on_hub()
            .path("/oauth/token")
            .times(1)
            .action(FaultAction::HtmlError { status: 429 }),
    );
    wait_for(3);
    assert!(ctx.emulator.oauth_approve(&code, "alice"));
    let out = finish(child).success();
    assert!(
        out.stderr.contains("the Hub answered 503; still waiting"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("not JSON; still waiting"),
        "{}",
        out.stderr
    );
    assert!(stored_field(&ctx, "refresh_token").is_some());
}

#[test]
fn oauth_login_web_opens_a_browser_when_there_is_a_display() {
    let mut ctx = ctx_with(fast());
    let opened = ctx.path("opened-url");
    let browser = ctx.path("fake-browser");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\nprintf %s \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    ctx.env("DISPLAY", ":99")
        .env("BROWSER", &browser.display().to_string());
    let child = spawn_login(&ctx, &["--store", "file"]);
    let code = pending_code(&ctx);
    assert!(ctx.emulator.oauth_approve(&code, "alice"));
    let out = finish(child).success();
    assert!(
        out.stderr.contains("Opened the page with"),
        "{}",
        out.stderr
    );
    let url = std::fs::read_to_string(&opened).expect("the browser was started");
    assert!(
        url.ends_with(&format!("/oauth/device?user_code={code}")),
        "{url}"
    );

    // No display (SSH, CI): no browser, and the login still works.
    let ctx = ctx_with(fast());
    let child = spawn_login(&ctx, &["--store", "file"]);
    let code = pending_code(&ctx);
    assert!(ctx.emulator.oauth_approve(&code, "alice"));
    let out = finish(child).success();
    assert!(out.stderr.contains("No browser here"), "{}", out.stderr);
}

#[test]
fn oauth_login_web_defaults_missing_fields_and_falls_back_to_the_plain_page() {
    let ctx = ctx_with(OAuthScenario {
        omit_verification_uri_complete: true,
        omit_interval_and_expiry: true,
        issue_refresh_tokens: false,
        ..OAuthScenario::default()
    });
    let child = spawn_login(&ctx, &["--store", "file"]);
    let code = pending_code(&ctx);
    assert!(ctx.emulator.oauth_approve(&code, "alice"));
    let out = finish(child).success();
    // RFC 8628 defaults: 15 minutes, every 5 s; the page without the code filled in.
    assert!(out.stderr.contains("expires in 15 min"), "{}", out.stderr);
    assert!(out.stderr.contains("/oauth/device\n"), "{}", out.stderr);
    assert!(
        out.stdout.contains("renewal: none (no refresh token)"),
        "{}",
        out.stdout
    );
    assert!(stored_field(&ctx, "refresh_token").is_none());
}

// ---------------------------------------------------------------------------------------------
// Renewal: before expiry, after a 401, and a refused one that `doctor` explains.

#[test]
fn oauth_refresh_before_expiry_renews_and_stores_the_new_pair() {
    let ctx = ctx_with(fast());
    file_login(&ctx);
    let old_access = stored_field(&ctx, "hf_token").unwrap();
    let old_refresh = stored_field(&ctx, "refresh_token").unwrap();
    // Thirty seconds left of an hour: due (a quarter of the lifetime is the margin).
    let text = stored_tokens(&ctx).replace(
        &format!("expires_at = {}", stored_field(&ctx, "expires_at").unwrap()),
        &format!("expires_at = {}", now() + 30),
    );
    std::fs::write(ctx.hf_home().join("stored_tokens"), text).unwrap();
    ctx.clear_requests();

    let who = ctx.run(&["whoami"]).success();
    assert!(who.stdout.contains("user: alice"), "{}", who.stdout);
    assert_eq!(ctx.emulator.oauth_grants().last().unwrap(), "refresh_token");
    let new_access = stored_field(&ctx, "hf_token").unwrap();
    let new_refresh = stored_field(&ctx, "refresh_token").unwrap();
    assert_ne!(new_access, old_access);
    assert_ne!(new_refresh, old_refresh);
    assert!(
        stored_field(&ctx, "expires_at")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > now() + 3500
    );
    assert_eq!(
        std::fs::read_to_string(ctx.hf_home().join("token")).unwrap(),
        new_access
    );
    // The refresh happened before the token was used: the Hub never saw the old one.
    let authorizations: Vec<_> = ctx
        .requests()
        .into_iter()
        .map(|r| r.authorization)
        .collect();
    assert!(
        !authorizations.contains(&bearer(&old_access)),
        "{authorizations:?}"
    );
    assert!(
        authorizations.contains(&bearer(&new_access)),
        "{authorizations:?}"
    );
    // The rotated refresh token is the only one the server still accepts.
    assert_eq!(ctx.emulator.oauth_live_refresh_tokens(), [new_refresh]);

    // Not due any more: the next command does not refresh again.
    let grants = ctx.emulator.oauth_grants().len();
    ctx.run(&["whoami"]).success();
    assert_eq!(ctx.emulator.oauth_grants().len(), grants);
}

#[test]
fn oauth_two_commands_renewing_at_once_spend_the_refresh_token_once() {
    // The server rotates refresh tokens: without the lock, the second renewal would present a
    // retired refresh token and be refused (and the login would look expired).
    let ctx = ctx_with(fast());
    file_login(&ctx);
    let text = stored_tokens(&ctx).replace(
        &format!("expires_at = {}", stored_field(&ctx, "expires_at").unwrap()),
        &format!("expires_at = {}", now() + 30),
    );
    std::fs::write(ctx.hf_home().join("stored_tokens"), text).unwrap();
    let children: Vec<Child> = (0..3)
        .map(|_| {
            ctx.command(&["whoami"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = finish(child).success();
        assert!(out.stdout.contains("user: alice"), "{}", out.stdout);
        assert!(
            !out.stderr.contains("could not be renewed"),
            "{}",
            out.stderr
        );
    }
    let refreshes = ctx
        .emulator
        .oauth_grants()
        .iter()
        .filter(|g| *g == "refresh_token")
        .count();
    assert_eq!(refreshes, 1);
    assert_eq!(
        ctx.emulator.oauth_live_refresh_tokens(),
        [stored_field(&ctx, "refresh_token").unwrap()]
    );
}

#[test]
fn oauth_renews_a_browser_login_that_python_made() {
    // Python's layout only (stored_tokens with refresh_token and expires_at, the token file),
    // without any of hfget's own facts: hfget renews it with Python's one-day margin.
    let ctx = ctx_with(fast());
    file_login(&ctx);
    std::fs::remove_dir_all(ctx.path("config")).unwrap();
    let old_access = stored_field(&ctx, "hf_token").unwrap();
    let who = ctx.run(&["whoami"]).success();
    assert!(who.stdout.contains("user: alice"), "{}", who.stdout);
    assert_eq!(ctx.emulator.oauth_grants().last().unwrap(), "refresh_token");
    let new_access = stored_field(&ctx, "hf_token").unwrap();
    assert_ne!(new_access, old_access);
    assert_eq!(
        std::fs::read_to_string(ctx.hf_home().join("token")).unwrap(),
        new_access
    );
    // Python's lock file sits beside stored_tokens, as `filelock` makes it.
    assert!(ctx.hf_home().join("stored_tokens.lock").exists());
}

#[test]
fn oauth_refresh_after_a_401_that_whoami_confirms() {
    let ctx = ctx_with(fast());
    file_login(&ctx);
    let old_access = stored_field(&ctx, "hf_token").unwrap();
    // The server stops accepting the token long before the expiry it announced.
    assert!(ctx.emulator.oauth_expire_access_token(&old_access));
    ctx.clear_requests();

    let out = ctx
        .run(&["download", "alice/secret", "weights.txt"])
        .success();
    assert_eq!(std::fs::read(out.stdout_line()).unwrap(), SECRET_FILE);
    let new_access = stored_field(&ctx, "hf_token").unwrap();
    assert_ne!(new_access, old_access);
    let requests = ctx.requests();
    // whoami-v2 confirmed the old token is rejected before the refresh was spent on it.
    let confirm = requests
        .iter()
        .position(|r| r.path == "/api/whoami-v2" && r.authorization == bearer(&old_access))
        .expect("whoami-v2 was asked about the rejected token");
    let refresh = requests
        .iter()
        .position(|r| r.path == "/oauth/token")
        .expect("the token was refreshed");
    assert!(confirm < refresh);
    assert!(
        requests[refresh..]
            .iter()
            .any(|r| r.authorization == bearer(&new_access))
    );

    // whoami recovers the same way.
    assert!(ctx.emulator.oauth_expire_access_token(&new_access));
    let who = ctx.run(&["whoami"]).success();
    assert!(who.stdout.contains("user: alice"), "{}", who.stdout);
    let newest = stored_field(&ctx, "hf_token").unwrap();
    assert_ne!(newest, new_access);

    // And so does the doctor: it diagnoses the renewed token, not the rejected one.
    assert!(ctx.emulator.oauth_expire_access_token(&newest));
    let doctor = ctx.run(&["doctor", "alice/secret", "weights.txt"]);
    assert_eq!(doctor.code, 0, "{}\n{}", doctor.stdout, doctor.stderr);
    assert_ne!(stored_field(&ctx, "hf_token").unwrap(), newest);
}

/// `cache verify --repair` downloads through the same client as `download`, so a browser login
/// the Hub stopped accepting is renewed there too, once, and the repair goes through.
#[test]
fn oauth_cache_verify_repair_renews_an_expired_browser_login() {
    let ctx = ctx_with(fast());
    file_login(&ctx);
    ctx.run(&["download", "alice/secret"]).success();
    let weights = ctx
        .cache()
        .join("models--alice--secret/snapshots")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("weights.txt");
    let blob = std::fs::canonicalize(&weights).unwrap();
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&blob, &bytes).unwrap();
    let old_access = stored_field(&ctx, "hf_token").unwrap();
    assert!(ctx.emulator.oauth_expire_access_token(&old_access));
    ctx.clear_requests();
    let grants = ctx.emulator.oauth_grants().len();

    let out = ctx
        .run(&["cache", "verify", "alice/secret", "--repair"])
        .success();
    assert!(
        out.stdout.contains("repaired weights.txt"),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read(&weights).unwrap(), SECRET_FILE);
    let new_access = stored_field(&ctx, "hf_token").unwrap();
    assert_ne!(new_access, old_access);
    // One renewal, confirmed by whoami-v2 first; the repair's requests after it carry the new
    // token.
    assert_eq!(
        ctx.emulator.oauth_grants()[grants..],
        ["refresh_token".to_string()]
    );
    let requests = ctx.requests();
    let rejected = requests
        .iter()
        .position(|r| {
            r.path != "/api/whoami-v2" && r.authorization == bearer(&old_access) && r.status == 401
        })
        .expect("the repair's request with the old token was rejected");
    let confirm = requests
        .iter()
        .position(|r| r.path == "/api/whoami-v2" && r.authorization == bearer(&old_access))
        .expect("whoami-v2 was asked about the rejected token");
    let refresh = requests
        .iter()
        .position(|r| r.path == "/oauth/token")
        .expect("the token was refreshed");
    assert!(rejected < confirm && confirm < refresh, "{requests:?}");
    assert!(
        requests[refresh..]
            .iter()
            .any(|r| r.authorization == bearer(&new_access) && r.status == 200),
        "{requests:?}"
    );
    assert!(
        !requests[refresh..]
            .iter()
            .any(|r| r.authorization == bearer(&old_access)),
        "{requests:?}"
    );
    ctx.run(&["cache", "verify", "alice/secret"]).success();
}

/// The setup doctor checks the token a command would send the way the command sends it: a
/// browser login the Hub stopped accepting is renewed, not reported as rejected.
#[test]
fn oauth_setup_doctor_renews_an_expired_browser_login() {
    let ctx = ctx_with(fast());
    file_login(&ctx);
    let old_access = stored_field(&ctx, "hf_token").unwrap();
    assert!(ctx.emulator.oauth_expire_access_token(&old_access));
    let grants = ctx.emulator.oauth_grants().len();

    let doctor = ctx.run(&["doctor"]);
    assert_eq!(doctor.code, 0, "{}\n{}", doctor.stdout, doctor.stderr);
    let new_access = stored_field(&ctx, "hf_token").unwrap();
    assert_ne!(new_access, old_access);
    assert_eq!(
        ctx.emulator.oauth_grants()[grants..],
        ["refresh_token".to_string()]
    );
    assert!(
        doctor.stdout.contains("(used, renewed): valid, user alice"),
        "{}",
        doctor.stdout
    );
    // The note about the browser login is about the renewed token.
    assert!(
        doctor.stdout.contains("browser login `oauth-alice`"),
        "{}",
        doctor.stdout
    );
}

#[test]
fn oauth_refused_refresh_makes_doctor_name_the_cause() {
    let ctx = ctx_with(fast());
    file_login(&ctx);
    let access = stored_field(&ctx, "hf_token").unwrap();
    ctx.emulator.oauth_revoke_refresh_tokens();
    assert!(ctx.emulator.oauth_expire_access_token(&access));

    let out = ctx.run(&["whoami"]).failure(4);
    assert!(
        out.stderr.contains(
            "The browser login `oauth-alice` expired and could not be renewed (invalid_grant"
        ),
        "{}",
        out.stderr
    );
    let doctor = ctx.run(&["doctor"]).failure(4);
    assert!(
        doctor
            .stdout
            .contains("the browser login expired; run `hfget login --web`")
            || doctor
                .stdout
                .contains("The browser login expired; run `hfget login --web`"),
        "{}",
        doctor.stdout
    );
    let json = ctx.run(&["doctor", "--json"]).failure(4).json();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "oauth")
        .expect("a browser login check")
        .clone();
    assert_eq!(check["ok"], false);
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("renewal refused"),
        "{check}"
    );
    // No refresh token leaked into any output.
    for o in [&out, &doctor] {
        assert!(!o.stdout.contains("hf_oauth_refresh_") && !o.stderr.contains("hf_oauth_refresh_"));
    }
}

// ---------------------------------------------------------------------------------------------
// OIDC exchange in CI, with a fake GitHub Actions id-token endpoint.

/// A loopback server that answers GitHub's id-token request: `{"value": id_token}` for the
/// right bearer token, 401 otherwise. Returns its URL and the request lines it saw.
fn fake_github_provider(
    id_token: &'static str,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/_apis/idtoken?api-version=2.0",
        listener.local_addr().unwrap()
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap_or_default();
            let mut authorized = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if line
                    .to_ascii_lowercase()
                    .starts_with("authorization: bearer gh-request-token")
                {
                    authorized = true;
                }
            }
            log.lock().unwrap().push(request_line.trim().to_string());
            let (status, body) = if authorized {
                (
                    "200 OK",
                    format!("{{\"count\":1,\"value\":\"{id_token}\"}}"),
                )
            } else {
                (
                    "401 Unauthorized",
                    "{\"message\":\"bad token\"}".to_string(),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let mut rest = Vec::new();
            let _ = stream.read(&mut rest);
        }
    });
    (url, seen)
}

fn oidc_ctx() -> (TestContext, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let mut ctx = ctx_with(OAuthScenario {
        oidc: vec![OidcTrust::new("gh-id-token-for-alice", "alice")],
        ..fast()
    });
    let (url, seen) = fake_github_provider("gh-id-token-for-alice");
    ctx.env("HF_OIDC_RESOURCE", "alice/secret")
        .env("GITHUB_ACTIONS", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token");
    (ctx, seen)
}

#[test]
fn oidc_exchange_in_github_actions_is_used_shown_and_never_stored() {
    let (mut ctx, seen) = oidc_ctx();
    // HF_TOKEN is there too: OIDC comes first, as in huggingface_hub 2.4.
    ctx.env("HF_TOKEN", BOB);
    let out = ctx
        .run(&["download", "alice/secret", "weights.txt"])
        .success();
    assert_eq!(std::fs::read(out.stdout_line()).unwrap(), SECRET_FILE);
    let line = seen.lock().unwrap()[0].clone();
    let audience = format!(
        "audience={}",
        ctx.emulator
            .hub_url()
            .replace(':', "%3A")
            .replace('/', "%2F")
    );
    assert!(
        line.starts_with("GET /_apis/idtoken?api-version=2.0&") && line.contains(&audience),
        "{line}"
    );
    assert_eq!(
        ctx.emulator.oauth_grants(),
        ["urn:ietf:params:oauth:grant-type:token-exchange"]
    );
    let minted: Vec<String> = ctx.emulator.oauth_access_tokens();
    assert_eq!(minted.len(), 1);
    assert!(
        ctx.requests()
            .iter()
            .filter(|r| r.path.contains("/resolve/"))
            .all(|r| r.authorization == bearer(&minted[0]))
    );

    let who = ctx.run(&["whoami"]).success();
    assert!(who.stdout.contains("user: alice"), "{}", who.stdout);
    assert!(
        who.stdout.contains("source: an OIDC exchange for HF_OIDC_RESOURCE=alice/secret (id token from GitHub Actions; this run only, not stored)"),
        "{}",
        who.stdout
    );
    let env = ctx.run(&["env", "--json"]).success().json();
    assert_eq!(env["token"]["source"], "oidc", "{env}");
    let doctor = ctx.run(&["doctor"]).success();
    assert!(
        doctor
            .stdout
            .contains("from an OIDC exchange for HF_OIDC_RESOURCE=alice/secret")
            && doctor
                .stdout
                .contains("not stored) (used): valid, user alice"),
        "{}",
        doctor.stdout
    );

    // Nothing was written anywhere: no token file, no login state with a token in it.
    for token in ctx.emulator.oauth_access_tokens() {
        let mut stack = vec![ctx.temp.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let bytes = std::fs::read(&path).unwrap_or_default();
                    assert!(
                        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                        "{} holds the exchanged token",
                        path.display()
                    );
                }
            }
        }
    }
    assert!(!ctx.hf_home().join("token").exists());
}

#[test]
fn oidc_exchange_with_a_given_id_token_and_its_failures() {
    // Any provider: the job hands hfget the id token itself.
    let mut ctx = ctx_with(OAuthScenario {
        oidc: vec![OidcTrust::new("gitlab-id-token", "alice")],
        ..fast()
    });
    ctx.env("HF_OIDC_RESOURCE", "alice")
        .env("HF_OIDC_ID_TOKEN", "gitlab-id-token");
    let who = ctx.run(&["whoami"]).success();
    assert!(
        who.stdout.contains("id token from HF_OIDC_ID_TOKEN"),
        "{}",
        who.stdout
    );

    // An id token the Hub does not trust: an error, never a silent fallback to HF_TOKEN.
    ctx.env("HF_OIDC_ID_TOKEN", "someone-elses-id-token")
        .env("HF_TOKEN", ALICE);
    let out = ctx
        .run(&["download", "alice/secret", "weights.txt"])
        .failure(4);
    assert!(
        out.stderr
            .contains("The Hub refused to exchange the CI id token"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("someone-elses-id-token"));

    // Not in a CI provider and no id token given.
    ctx.remove_env("HF_OIDC_ID_TOKEN");
    let out = ctx.run(&["whoami"]).failure(4);
    assert!(
        out.stderr.contains("no OIDC id token is available"),
        "{}",
        out.stderr
    );
    let json = ctx.run(&["whoami", "--json"]).failure(4).json();
    assert_eq!(json["cause"], "oidc_unavailable", "{json}");

    // GitHub Actions without `permissions: id-token: write`.
    ctx.env("GITHUB_ACTIONS", "true");
    let out = ctx.run(&["whoami"]).failure(4);
    assert!(
        out.stderr.contains("permissions: id-token: write"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// A real Secret Service: the refresh token lives only in the keyring.

fn secret_service_ctx(oauth: OAuthScenario) -> Option<TestContext> {
    with_secret_service(ctx_with(oauth))
}

#[test]
fn oauth_secret_service_keeps_the_refresh_token_only_in_the_keyring() {
    let Some(ctx) = secret_service_ctx(fast()) else {
        return;
    };
    let child = spawn_login(&ctx, &[]);
    let code = pending_code(&ctx);
    assert!(ctx.emulator.oauth_approve(&code, "alice"));
    let out = finish(child).success();
    assert!(
        out.stdout.contains("in the OS keyring (Secret Service)"),
        "{}",
        out.stdout
    );

    let entry = secret_tool_lookup(&ctx, "oauth-alice").expect("a keyring entry");
    let entry: serde_json::Value = serde_json::from_str(&entry).expect("the pair as JSON");
    let access = entry["hf_token"].as_str().unwrap().to_string();
    let refresh = entry["refresh_token"].as_str().unwrap().to_string();
    assert!(refresh.starts_with("hf_oauth_refresh_"));
    assert_eq!(
        files_containing(ctx.temp.path(), &refresh),
        Vec::<String>::new()
    );
    assert_eq!(
        files_containing(ctx.temp.path(), &access),
        Vec::<String>::new()
    );
    assert!(!ctx.hf_home().join("token").exists());

    // whoami uses it, and says which login it is.
    let who = ctx.run(&["whoami"]).success();
    assert!(
        who.stdout
            .contains("login: browser login `oauth-alice` (OS keyring)"),
        "{}",
        who.stdout
    );

    // Renewal before expiry replaces the pair in the keyring, and still no file holds it.
    let state_path = ctx.path("config/logins.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let host = ctx
        .emulator
        .hub_url()
        .trim_start_matches("http://")
        .to_string();
    state["hosts"][&host]["keyring"]["oauth-alice"]["oauth"]["expires_at"] = (now() + 30).into();
    std::fs::write(&state_path, state.to_string()).unwrap();
    let path = ctx
        .run(&["download", "alice/secret", "weights.txt"])
        .success();
    assert_eq!(std::fs::read(path.stdout_line()).unwrap(), SECRET_FILE);
    let renewed: serde_json::Value =
        serde_json::from_str(&secret_tool_lookup(&ctx, "oauth-alice").unwrap()).unwrap();
    let new_refresh = renewed["refresh_token"].as_str().unwrap();
    assert_ne!(renewed["hf_token"].as_str().unwrap(), access);
    assert_ne!(new_refresh, refresh);
    assert_eq!(
        files_containing(ctx.temp.path(), new_refresh),
        Vec::<String>::new()
    );
    assert_eq!(
        ctx.emulator.oauth_live_refresh_tokens(),
        [new_refresh.to_string()]
    );

    // Logout removes the entry.
    ctx.run(&["logout"]).success();
    assert_eq!(secret_tool_lookup(&ctx, "oauth-alice"), None);
}

// ---------------------------------------------------------------------------------------------
// Python's `hf auth whoami` accepts a `--store file` browser login.

#[test]
fn oauth_file_login_is_accepted_by_python() {
    let Some(python) = python() else { return };
    let ctx = ctx_with(fast());
    file_login(&ctx);
    let hf = python.parent().unwrap().join("hf");
    let run = |args: &[&str]| {
        std::process::Command::new(&hf)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", ctx.home())
            .env("HF_HOME", ctx.hf_home())
            .env("HF_ENDPOINT", ctx.emulator.hub_url())
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("hf runs")
    };
    let output = run(&["auth", "whoami"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("alice"), "{stdout}");
    // `hf auth list` sees the login with its expiry column.
    let listed = run(&["auth", "list"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("oauth-alice") && listed.contains("expires"),
        "{listed}"
    );
}
