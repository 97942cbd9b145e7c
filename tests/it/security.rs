//! Security: the token goes only to the endpoint's origin, never appears in output,
//! redirects are bounded and http(s) only, and hostile listings never write outside the target.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use hub_emulator::{Repo, Scenario, Token, User};

use crate::common::fixtures::*;
use crate::common::*;

/// A hostile "CDN": answers every request with a redirect chosen by the path prefix.
/// `/bounce/…` sends the client back to the Hub, `/scheme/…` to a `file:` URL, `/loop/…` to
/// itself forever; `/wrong-size/…` answers 200 with 10 bytes whatever the file.
fn hostile_cdn(hub: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header == "\r\n" || header.is_empty() {
                    break;
                }
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
            let mut stream = stream;
            if path.starts_with("/wrong-size") {
                // A 200 whose body is complete by its own Content-Length but not the listed size.
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789"
                );
                continue;
            }
            let location = if path.starts_with("/bounce") {
                format!("{hub}/acme/tiny/resolve/main/config.json")
            } else if path.starts_with("/scheme") {
                "file:///etc/passwd".to_string()
            } else {
                format!("/loop{}", path.len())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    url
}

/// The standard scenario, with LFS redirects pointing at `cdn`.
fn context_with_cdn(prefix: &str) -> TestContext {
    // The emulator must know the CDN's URL when it starts, and the CDN must know the hub's: pick
    // a free port for the hub first, then start both.
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let hub_port = probe.local_addr().unwrap().port();
    drop(probe);
    let hub = format!("http://127.0.0.1:{hub_port}");
    let cdn = hostile_cdn(hub.clone());
    let scenario = standard_scenario().cdn_base_url(&format!("{cdn}/{prefix}"));
    let emulator = Emulator::start_on(scenario, hub_port, 0).expect("emulator on the chosen port");
    let mut ctx = TestContext::with_emulator(emulator);
    ctx.env("HF_TOKEN", ALICE);
    ctx
}

#[test]
fn the_token_is_never_reattached_after_leaving_the_endpoint() {
    let ctx = context_with_cdn("bounce");
    let out = ctx.run(&["download", "acme/tiny", "model.safetensors"]);
    assert_ne!(
        out.code, 0,
        "the bounced body is not the file: {}",
        out.stderr
    );
    let requests = ctx.requests();
    let first = requests
        .iter()
        .find(|r| r.path.contains("model.safetensors"))
        .unwrap();
    assert!(
        first.authorization.is_some(),
        "the Hub itself gets the token"
    );
    let bounced: Vec<_> = requests
        .iter()
        .filter(|r| r.path.contains("config.json") || r.path.starts_with("/api/resolve-cache/"))
        .collect();
    assert!(
        !bounced.is_empty(),
        "the hostile CDN bounced the client back: {requests:#?}"
    );
    assert!(
        bounced.iter().all(|r| r.authorization.is_none()),
        "no token after a foreign hop: {bounced:#?}"
    );
    assert!(!out.stderr.contains(ALICE));
}

#[test]
fn redirects_to_other_schemes_are_refused() {
    let ctx = context_with_cdn("scheme");
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .failure(8);
    assert!(
        out.stderr.contains("only http(s) is followed"),
        "{}",
        out.stderr
    );
}

#[test]
fn redirect_loops_are_bounded() {
    let ctx = context_with_cdn("loop");
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .failure(8);
    assert!(
        out.stderr.contains("more than 10 redirects"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_token_never_appears_in_output_even_with_traces() {
    let mut ctx = TestContext::new(standard_scenario());
    ctx.env("HF_TOKEN", ALICE);
    let runs = [
        ctx.run(&["-vv", "download", "meta/gated"]),
        ctx.run(&[
            "-v",
            "download",
            "acme/secret",
            "--local-dir",
            ctx.path("out").to_str().unwrap(),
        ]),
        ctx.run(&["-v", "doctor", "meta/gated", "--json"]),
        ctx.run(&["-v", "doctor"]),
        ctx.run(&["whoami", "--json"]),
        ctx.run(&["env", "--json"]),
    ];
    for out in &runs {
        assert!(
            !out.stdout.contains(ALICE) && !out.stderr.contains(ALICE),
            "token leaked:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(
        runs[0].stderr.contains("debug:"),
        "traces were on: {}",
        runs[0].stderr
    );
    ctx.env("HF_TOKEN", REVOKED);
    for out in [
        ctx.run(&["-v", "download", "acme/tiny"]),
        ctx.run(&["doctor", "acme/tiny"]),
    ] {
        assert!(!out.stdout.contains(REVOKED) && !out.stderr.contains(REVOKED));
    }
}

#[test]
fn a_token_over_plain_http_to_a_remote_host_is_warned_about() {
    let mut ctx = TestContext::new(standard_scenario());
    ctx.env("HF_ENDPOINT", "http://hub.invalid");
    ctx.env("HF_TOKEN", ALICE);
    let out = ctx.run(&["download", "acme/tiny"]);
    assert!(out.stderr.contains("unencrypted"), "{}", out.stderr);
    // Loopback is this machine: no warning there.
    let mut local = TestContext::new(standard_scenario());
    local.env("HF_TOKEN", ALICE);
    let out = local
        .run(&["download", "acme/tiny", "config.json"])
        .success();
    assert!(!out.stderr.contains("unencrypted"));
}

/// A password in HF_ENDPOINT (`http://user:secret@host`) is masked wherever the
/// endpoint is shown: `env` (text and JSON, the endpoint line and the variables list) and the
/// plain-http warning.
#[test]
fn a_password_in_hf_endpoint_is_never_printed() {
    let mut ctx = TestContext::new(standard_scenario());
    let with_password =
        ctx.emulator
            .hub_url()
            .replacen("http://", "http://mirror-user:endpoint-secret@", 1);
    ctx.env("HF_ENDPOINT", &with_password);
    let runs = [
        ctx.run(&["env"]).success(),
        ctx.run(&["env", "--json"]).success(),
        // An error that quotes the endpoint ("a token from {endpoint}/settings/tokens").
        ctx.run(&["whoami"]),
    ];
    for out in &runs {
        assert!(
            !out.stdout.contains("endpoint-secret") && !out.stderr.contains("endpoint-secret"),
            "password leaked:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(
        runs[0].stdout.contains("mirror-user:****@"),
        "{}",
        runs[0].stdout
    );
    let remote = ctx
        .env(
            "HF_ENDPOINT",
            "http://mirror-user:endpoint-secret@hub.invalid",
        )
        .env("HF_TOKEN", ALICE)
        .run(&["download", "acme/tiny"]);
    assert!(remote.stderr.contains("unencrypted"), "{}", remote.stderr);
    assert!(
        !remote.stderr.contains("endpoint-secret"),
        "{}",
        remote.stderr
    );
}

fn hostile_scenario() -> Scenario {
    Scenario::new()
        .user(User::new("alice"))
        .token(Token::read(ALICE, "alice", "laptop"))
        .repo(
            Repo::model("evil/dots")
                .file("ok.txt", b"ok")
                .file("../../escape.txt", b"pwned"),
        )
        .repo(Repo::model("evil/absolute").file("/tmp/hfget-absolute-escape.txt", b"pwned"))
        .repo(Repo::model("evil/backslash").file("a\\..\\..\\escape.txt", b"pwned"))
        .repo(Repo::model("evil/nul").file("a\0b.txt", b"pwned"))
        .repo(
            Repo::model("evil/case")
                .file("README.md", b"one")
                .file("readme.md", b"two"),
        )
}

/// Every file below `dir`, as paths relative to it.
fn all_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found
}

#[test]
fn hostile_listings_are_refused_and_nothing_escapes() {
    let ctx = TestContext::new(hostile_scenario());
    let local = ctx.path("local");
    for repo in [
        "evil/dots",
        "evil/absolute",
        "evil/backslash",
        "evil/nul",
        "evil/case",
    ] {
        let out = ctx.run(&["download", repo]);
        assert_eq!(out.code, 8, "{repo}: {}", out.stderr);
        assert!(
            out.stderr.contains("refuses") || out.stderr.contains("overwrite each other"),
            "{repo}: {}",
            out.stderr
        );
        let out = ctx.run(&["download", repo, "--local-dir", local.to_str().unwrap()]);
        assert_eq!(out.code, 8, "{repo} --local-dir: {}", out.stderr);
    }
    let written = all_files(ctx.temp.path());
    assert!(
        written
            .iter()
            .all(|f| !f.contains("escape") && !f.contains("pwned")),
        "{written:#?}"
    );
    assert!(!Path::new("/tmp/hfget-absolute-escape.txt").exists());
    let blobs: Vec<_> = written
        .iter()
        .filter(|f| f.contains("/blobs/") && !f.ends_with(".lock"))
        .collect();
    assert!(
        blobs.is_empty(),
        "nothing was downloaded from a hostile listing: {blobs:#?}"
    );
}

#[test]
fn a_body_whose_size_differs_from_the_listing_is_refused() {
    let ctx = context_with_cdn("wrong-size");
    let out = ctx
        .run(&["download", "acme/tiny", "model.safetensors"])
        .failure(8);
    assert!(
        out.stderr.contains("the listing promised"),
        "{}",
        out.stderr
    );
    let snapshot_has_it = std::fs::read_dir(ctx.cache().join("models--acme--tiny/blobs"))
        .map(|entries| entries.flatten().any(|e| e.file_name().len() == 64))
        .unwrap_or(false);
    assert!(
        !snapshot_has_it,
        "nothing half-written is presented as done"
    );
}

#[test]
fn http_proxy_is_used_unless_no_proxy_says_otherwise() {
    // A proxy address where nothing listens: going through it must fail.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut ctx = TestContext::new(standard_scenario());
    ctx.remove_env("NO_PROXY");
    ctx.env("HTTP_PROXY", &proxy);
    let out = ctx
        .run(&["download", "acme/tiny", "config.json"])
        .failure(6);
    assert!(
        ctx.requests().is_empty(),
        "the request went to the proxy, not straight to the hub"
    );
    assert!(out.stderr.contains("could not reach"), "{}", out.stderr);
    ctx.env("NO_PROXY", "127.0.0.1");
    ctx.run(&["download", "acme/tiny", "config.json"]).success();
}
