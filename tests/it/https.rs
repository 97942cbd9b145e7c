//! HTTPS, the path every real user takes: TLS with the system's trust store and HTTP/2 through
//! ALPN. nginx terminates TLS in front of the emulator with test-only certificates
//! (`tests/it/tls`); hfget trusts the test CA only through `SSL_CERT_FILE`, never the system store.
//! Needs nginx (installed by .ci/run); skipped with a note elsewhere, never under CI.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::fixtures::*;
use crate::common::*;

fn tls_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/tls")
}

/// nginx serving `https://localhost:PORT` (HTTP/2 enabled) in front of `upstream`.
pub(crate) struct TlsFront {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl TlsFront {
    pub(crate) fn start(upstream: &str) -> Option<TlsFront> {
        TlsFront::start_on(free_port(), upstream)
    }

    /// On a port chosen beforehand (a CDN front whose URL the emulator mints before it starts).
    fn start_on(port: u16, upstream: &str) -> Option<TlsFront> {
        let tls = tls_dir();
        TlsFront::start_with(
            port,
            upstream,
            &tls.join("localhost.crt"),
            &tls.join("localhost.key"),
        )
    }

    /// With a certificate of the test's own (a CA made at run time).
    pub(crate) fn start_with(
        port: u16,
        upstream: &str,
        certificate: &Path,
        key: &Path,
    ) -> Option<TlsFront> {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let Some(nginx) = nginx else {
            assert!(
                std::env::var_os("CI").is_none(),
                "nginx is required under CI (.ci/run installs it)"
            );
            eprintln!("skipping: nginx is not installed (apt-get install nginx)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let (certificate, key) = (certificate.display(), key.display());
        let conf = format!(
            "worker_processes 1; daemon off; user root; error_log {d}/error.log; pid {d}/nginx.pid;\n\
             events {{}}\n\
             http {{\n\
               log_format proto '$server_protocol $request_method $uri';\n\
               access_log {d}/access.log proto;\n\
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;\n\
               uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
               server {{\n\
                 listen 127.0.0.1:{port} ssl http2; server_name localhost;\n\
                 ssl_certificate {certificate}; ssl_certificate_key {key};\n\
                 location / {{ proxy_pass {upstream}; proxy_set_header Host $host:$server_port;\n\
                   proxy_redirect {upstream} https://localhost:{port}; }}\n\
               }}\n\
             }}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        wait_until_listening(port, 10, "nginx", || {
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        });
        Some(TlsFront { child, dir, port })
    }

    pub(crate) fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    pub(crate) fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn downloads_over_https_and_http2_with_the_system_trust_store() {
    let mut ctx = TestContext::new(standard_scenario());
    let Some(front) = TlsFront::start(&ctx.emulator.hub_url()) else {
        return;
    };
    ctx.env("HF_ENDPOINT", &front.url());
    ctx.env("SSL_CERT_FILE", tls_dir().join("ca.crt").to_str().unwrap());
    ctx.env("HF_TOKEN", ALICE);

    let out = ctx.run(&["download", "acme/tiny"]).success();
    assert!(out.stdout_line().contains("models--acme--tiny"));
    let log = front.access_log();
    assert!(
        log.lines().any(|l| l.starts_with("HTTP/2.0")),
        "ALPN negotiated HTTP/2: {log}"
    );
    assert!(!log.lines().any(|l| l.starts_with("HTTP/1.1")), "{log}");
    // The token crossed TLS to the Hub, and never went to the CDN.
    let requests = ctx.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.origin == Origin::Hub)
            .all(|r| r.authorization.is_some())
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.origin == Origin::Cdn)
            .all(|r| r.authorization.is_none())
    );

    // The doctor works over TLS too.
    let json = ctx
        .run(&["doctor", "meta/gated", "--json"])
        .success()
        .json();
    assert_eq!(json["cause"], "ok");
}

/// A CDN that speaks HTTP/2 must not fold a file's connections into streams of one TCP
/// connection (a per-connection cap would then cap the file): file bytes go over
/// HTTP/1.1, one connection per range, while the Hub's API keeps HTTP/2. Before the fix every
/// range reached the CDN as an HTTP/2 stream.
#[test]
fn file_ranges_from_an_http2_cdn_travel_over_http1_connections() {
    let cdn_port = free_port();
    let scenario = standard_scenario().cdn_base_url(&format!("https://localhost:{cdn_port}"));
    let mut ctx = TestContext::new(scenario);
    let Some(cdn) = TlsFront::start_on(cdn_port, &ctx.emulator.cdn_url()) else {
        return;
    };
    let Some(hub) = TlsFront::start(&ctx.emulator.hub_url()) else {
        return;
    };
    ctx.env("HF_ENDPOINT", &hub.url());
    ctx.env("SSL_CERT_FILE", tls_dir().join("ca.crt").to_str().unwrap());
    ctx.env("HF_TOKEN", ALICE);
    ctx.run(&[
        "download",
        "acme/tiny",
        "model.safetensors",
        "--connections",
        "3",
        "--chunk-size",
        "1M",
    ])
    .success();
    let cdn_log = cdn.access_log();
    let gets: Vec<&str> = cdn_log.lines().filter(|l| l.contains(" GET ")).collect();
    assert!(gets.len() >= 2, "one request per range: {cdn_log}");
    assert!(
        gets.iter().all(|l| l.starts_with("HTTP/1.1 ")),
        "file bytes over HTTP/1.1: {cdn_log}"
    );
    assert!(
        hub.access_log().lines().any(|l| l.starts_with("HTTP/2.0")),
        "the Hub's API keeps HTTP/2: {}",
        hub.access_log()
    );
    let ranged = ctx
        .cdn_requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.range.is_some())
        .count();
    assert!(ranged >= 2, "{ranged} ranged requests reached the CDN");
}

#[test]
fn an_untrusted_certificate_is_a_clear_tls_error_without_retries() {
    let mut ctx = TestContext::new(standard_scenario());
    let Some(front) = TlsFront::start(&ctx.emulator.hub_url()) else {
        return;
    };
    ctx.env("HF_ENDPOINT", &front.url());
    // No SSL_CERT_FILE: the test CA is in no trust store.
    let out = ctx.run(&["download", "acme/tiny"]).failure(6);
    assert!(
        out.stderr.contains("(unknown issuer)") && out.stderr.contains("REQUESTS_CA_BUNDLE"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("retrying"),
        "a certificate problem is not retried: {}",
        out.stderr
    );
    let json = ctx
        .run(&["doctor", "acme/tiny", "--json"])
        .failure(6)
        .json();
    assert_eq!(json["cause"], "endpoint_unreachable");
    assert!(
        json["explanation"]
            .as_str()
            .unwrap()
            .contains("(unknown issuer)"),
        "{json}"
    );
    assert!(ctx.requests().is_empty(), "nothing reached the Hub");
}
