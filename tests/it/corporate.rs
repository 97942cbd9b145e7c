//! Corporate networks, against the real things: squid 5 with basic proxy auth (a password made
//! at run time), nginx with TLS from a CA made at run time, and the proxy and certificate
//! variables people have set for curl and Python. Needs squid, nginx and openssl (installed by
//! .ci/run); skipped with a note elsewhere, never under CI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fixtures::*;
use crate::common::*;
use crate::https::{TlsFront, free_port};

/// A password with the characters corporate passwords have and URLs do not take raw.
const PASSWORD: &str = "p@ss#w rd:1/%";
/// [`PASSWORD`] percent-encoded, as it must appear in a proxy URL.
const PASSWORD_ENCODED: &str = "p%40ss%23w%20rd%3A1%2F%25";

fn tool(candidates: &[&str], package: &str) -> Option<PathBuf> {
    let found = candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{package} is required under CI (.ci/run installs it)"
        );
        eprintln!("skipping: {package} is not installed");
    }
    found
}

/// squid on loopback, asking every client for a user name and password (`basic_ncsa_auth`).
struct Squid {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Squid {
    fn start() -> Option<Squid> {
        let squid = tool(&["/usr/sbin/squid"], "squid")?;
        let helper = tool(
            &["/usr/lib/squid/basic_ncsa_auth"],
            "squid (basic_ncsa_auth)",
        )?;
        let dir = tempfile::tempdir().unwrap();
        // squid drops root for its `proxy` user, which must read the password file and write
        // the logs.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let hash = Command::new("openssl")
            .args(["passwd", "-apr1", PASSWORD])
            .output()
            .expect("openssl runs");
        assert!(hash.status.success(), "openssl passwd failed");
        let passwd = dir.path().join("passwd");
        std::fs::write(
            &passwd,
            format!("alice:{}\n", String::from_utf8_lossy(&hash.stdout).trim()),
        )
        .unwrap();
        std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).unwrap();
        let port = free_port();
        let d = dir.path().display();
        let conf = format!(
            "http_port 127.0.0.1:{port}\n\
             pid_filename {d}/squid.pid\n\
             access_log stdio:{d}/access.log\n\
             cache_log {d}/cache.log\n\
             cache_store_log none\n\
             netdb_filename none\n\
             cache deny all\n\
             coredump_dir {d}\n\
             auth_param basic program {helper} {d}/passwd\n\
             auth_param basic realm hfget-test\n\
             auth_param basic children 2\n\
             acl authed proxy_auth REQUIRED\n\
             http_access allow authed\n\
             http_access deny all\n\
             shutdown_lifetime 0 seconds\n",
            helper = helper.display()
        );
        std::fs::write(dir.path().join("squid.conf"), conf).unwrap();
        let child = Command::new(squid)
            .args(["-N", "-f", &format!("{d}/squid.conf")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("squid starts");
        wait_until_listening(port, 20, "squid", || {
            std::fs::read_to_string(dir.path().join("cache.log")).unwrap_or_default()
        });
        Some(Squid { child, dir, port })
    }

    /// The proxy URL with the right password (percent-encoded).
    fn url(&self) -> String {
        format!("http://alice:{PASSWORD_ENCODED}@127.0.0.1:{}", self.port)
    }

    fn url_with_password(&self, password: &str) -> String {
        format!("http://alice:{password}@127.0.0.1:{}", self.port)
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// The log once it holds `needle` (or after 3 s): squid logs a CONNECT tunnel when it
    /// closes, which can trail the client's exit by a moment.
    fn log_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(3);
        while !self.log().contains(needle) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.log()
    }

    /// Lines squid logged with a 407; squid writes its log as it goes, so a line can trail
    /// the client's exit by a moment: wait for at least `expected`, then count.
    fn denials(&self, expected: usize) -> usize {
        let count = || self.log().lines().filter(|l| l.contains("/407 ")).count();
        let deadline = Instant::now() + Duration::from_secs(3);
        while count() < expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        // One more beat, so a surplus line has its chance to show.
        std::thread::sleep(Duration::from_millis(200));
        count()
    }
}

impl Drop for Squid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA made at run time and a certificate it signed for `localhost` and `127.0.0.1`.
struct RuntimeCa {
    dir: tempfile::TempDir,
}

impl RuntimeCa {
    fn make() -> Option<RuntimeCa> {
        tool(&["/usr/bin/openssl"], "openssl")?;
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run(&[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=hfget test CA (made at run time)",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat());
        run(&[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat());
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        std::fs::create_dir(dir.path().join("certs")).unwrap();
        std::fs::copy(dir.path().join("ca.pem"), dir.path().join("certs/ca.pem")).unwrap();
        Some(RuntimeCa { dir })
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A folder holding the CA, as `SSL_CERT_DIR` names one.
    fn ca_dir(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    fn front(&self, upstream: &str) -> Option<TlsFront> {
        TlsFront::start_with(
            free_port(),
            upstream,
            &self.dir.path().join("server.pem"),
            &self.dir.path().join("server.key"),
        )
    }
}

/// A context whose requests all go through a proxy: the harness' `NO_PROXY` for loopback off.
fn behind_proxy() -> TestContext {
    let mut ctx = TestContext::new(standard_scenario());
    ctx.remove_env("NO_PROXY");
    ctx
}

fn assert_never_shown(out: &Outcome, secret: &str) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains(secret),
            "{stream} shows the password:\n{text}"
        );
    }
}

#[test]
fn a_correct_password_carries_plain_http_and_connect_through_squid() {
    let Some(squid) = Squid::start() else { return };
    let mut ctx = behind_proxy();
    ctx.env("http_proxy", &squid.url());
    ctx.run(&["download", "acme/tiny"]).success();
    let log = squid.log();
    let hub = ctx.emulator.hub_url();
    assert!(
        log.contains(&format!("GET {hub}/api/models/acme/tiny")),
        "{log}"
    );
    assert!(
        log.contains("TCP_MISS/200"),
        "the CDN bytes went through squid: {log}"
    );
    assert_eq!(squid.denials(0), 0, "{log}");

    // HTTPS: a CONNECT tunnel, and TLS from a CA made at run time.
    let Some(ca) = RuntimeCa::make() else { return };
    let Some(front) = ca.front(&ctx.emulator.hub_url()) else {
        return;
    };
    let mut ctx = behind_proxy();
    ctx.env("HF_ENDPOINT", &front.url());
    ctx.env("https_proxy", &squid.url());
    ctx.env("REQUESTS_CA_BUNDLE", ca.ca().to_str().unwrap());
    ctx.run(&["download", "acme/tiny", "config.json"]).success();
    let log = squid.log_with("CONNECT localhost:");
    assert!(log.contains("CONNECT localhost:"), "{log}");
}

#[test]
fn a_wrong_password_is_sent_once_named_and_the_cache_stands_in() {
    let Some(squid) = Squid::start() else { return };
    let mut ctx = behind_proxy();
    ctx.env("http_proxy", &squid.url());
    ctx.run(&["download", "acme/tiny"]).success();
    ctx.env("http_proxy", &squid.url_with_password("wrong"));
    let expected = format!(
        "the proxy at {} rejected its credentials (407 Proxy Authentication Required)",
        squid.address()
    );

    // The cache holds the snapshot: it stands in, and the warning names the proxy.
    let out = ctx.run(&["download", "acme/tiny"]).success();
    assert!(
        out.stderr.contains(&format!(
            "the proxy at {} rejected the credentials in http_proxy",
            squid.address()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(squid.denials(1), 1, "one attempt: {}", squid.log());

    // Nothing cached for this one: exit 6 and the sentence, with the variable to fix.
    let out = ctx
        .run(&["download", "acme/data", "--repo-type", "dataset"])
        .failure(6);
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert!(out.stderr.contains("in http_proxy"), "{}", out.stderr);
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
    assert_eq!(squid.denials(2), 2, "one attempt: {}", squid.log());

    // The doctor has its own cause, and asks the proxy once too.
    let json = ctx
        .run(&["doctor", "acme/tiny", "--json"])
        .failure(6)
        .json();
    assert_eq!(json["cause"], "proxy_auth_failed", "{json}");
    assert_eq!(json["layer"], "network");
    assert!(
        json["fix"][0].as_str().unwrap().contains("http_proxy"),
        "{json}"
    );
    assert_eq!(squid.denials(3), 3, "one attempt: {}", squid.log());

    // The setup doctor: the endpoint does not "answer".
    let out = ctx.run(&["doctor"]).failure(6);
    assert!(out.stdout.contains(&expected), "{}", out.stdout);
    assert!(!out.stdout.contains("answers"), "{}", out.stdout);

    // Through CONNECT, the same sentence and the same single attempt.
    let Some(ca) = RuntimeCa::make() else { return };
    let Some(front) = ca.front(&ctx.emulator.hub_url()) else {
        return;
    };
    let denied = squid.denials(4);
    let mut ctx = behind_proxy();
    ctx.env("HF_ENDPOINT", &front.url());
    ctx.env("https_proxy", &squid.url_with_password("wrong"));
    ctx.env("SSL_CERT_FILE", ca.ca().to_str().unwrap());
    let out = ctx.run(&["download", "acme/tiny"]).failure(6);
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert!(out.stderr.contains("in https_proxy"), "{}", out.stderr);
    assert_eq!(squid.denials(denied + 1), denied + 1, "{}", squid.log());
    assert!(ctx.requests().is_empty(), "nothing reached the Hub");
}

#[test]
fn a_proxy_that_is_down_is_named_and_the_cache_stands_in() {
    let mut ctx = behind_proxy();
    ctx.run(&["download", "acme/tiny"]).success();
    let dead = format!("127.0.0.1:{}", free_port());
    ctx.env("http_proxy", &format!("http://{dead}"));
    let out = ctx.run(&["download", "acme/tiny"]).success();
    assert!(
        out.stderr.contains(&format!(
            "the proxy at {dead} (from http_proxy) could not be reached"
        )),
        "{}",
        out.stderr
    );
    let out = ctx
        .run(&["download", "acme/data", "--repo-type", "dataset"])
        .failure(6);
    assert!(
        out.stderr.contains(&format!(
            "could not reach the proxy at {dead} (from http_proxy)"
        )),
        "{}",
        out.stderr
    );
    let json = ctx
        .run(&["doctor", "acme/tiny", "--json"])
        .failure(6)
        .json();
    assert_eq!(json["cause"], "proxy_unreachable", "{json}");

    // An https endpoint, through a dead https_proxy: the proxy is named, not the Hub.
    let mut ctx = behind_proxy();
    ctx.env("HF_ENDPOINT", "https://localhost:9");
    ctx.env("https_proxy", &format!("http://{dead}"));
    let out = ctx.run(&["download", "acme/tiny"]).failure(6);
    assert!(
        out.stderr.contains(&format!(
            "could not reach the proxy at {dead} (from https_proxy)"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn the_lower_case_variable_wins_as_in_curl_and_python() {
    let Some(squid) = Squid::start() else { return };
    let mut ctx = behind_proxy();
    let dead = format!("http://127.0.0.1:{}", free_port());
    ctx.env("http_proxy", &squid.url());
    ctx.env("HTTP_PROXY", &dead);
    ctx.run(&["download", "acme/tiny", "config.json"]).success();
    assert!(
        squid.log().contains("/api/models/acme/tiny"),
        "{}",
        squid.log()
    );
    let out = ctx.run(&["env"]).success();
    assert!(
        out.stdout
            .contains("HTTP_PROXY is set but not used: http_proxy wins"),
        "{}",
        out.stdout
    );
    assert_never_shown(&out, PASSWORD_ENCODED);

    // An empty lower-case variable switches the upper-case one off, as urllib does.
    ctx.env("http_proxy", "");
    ctx.env("HTTP_PROXY", &squid.url_with_password("wrong"));
    ctx.run(&["download", "acme/tiny", "config.json", "--force"])
        .success();
    assert_eq!(squid.denials(0), 0, "{}", squid.log());
}

#[test]
fn a_proxy_url_that_does_not_parse_is_refused_by_name_and_never_shown() {
    for raw in [
        "http://alice:S3CR#T@127.0.0.1:3128",
        "http://alice:S3CR T@127.0.0.1:3128",
        "http://alice:12#S3CRT@127.0.0.1:3128",
    ] {
        let mut ctx = behind_proxy();
        ctx.env("https_proxy", raw);
        ctx.env("http_proxy", raw);
        let out = ctx.run(&["download", "acme/tiny"]).failure(2);
        assert!(
            out.stderr
                .contains("is not a valid URL: percent-encode special characters in the password"),
            "{}",
            out.stderr
        );
        assert_never_shown(&out, "S3CR");
        assert!(ctx.requests().is_empty(), "nothing was sent: {raw}");
        let json = ctx
            .run(&["download", "acme/tiny", "--json"])
            .failure(2)
            .json();
        assert_eq!(json["cause"], "bad_proxy");
        for args in [
            &["env"][..],
            &["env", "--json"],
            &["doctor"],
            &["doctor", "--json"],
        ] {
            let out = ctx.run(args);
            assert_never_shown(&out, "S3CR");
            assert!(
                !out.stdout.contains("127.0.0.1:3128") || out.stdout.contains("hidden"),
                "{}",
                out.stdout
            );
        }
        let out = ctx.run(&["doctor"]).failure(2);
        assert!(out.stdout.contains("✗ network"), "{}", out.stdout);
    }
}

#[test]
fn each_certificate_variable_alone_trusts_a_private_ca() {
    let Some(ca) = RuntimeCa::make() else { return };
    let ctx = TestContext::new(standard_scenario());
    let Some(front) = ca.front(&ctx.emulator.hub_url()) else {
        return;
    };
    let ca_file = ca.ca();
    let ca_dir = ca.ca_dir();
    for (variable, path) in [
        ("REQUESTS_CA_BUNDLE", ca_file.as_path()),
        ("CURL_CA_BUNDLE", ca_file.as_path()),
        ("SSL_CERT_FILE", ca_file.as_path()),
        ("SSL_CERT_DIR", ca_dir.as_path()),
    ] {
        let mut ctx = TestContext::new(standard_scenario());
        ctx.env("HF_ENDPOINT", &front.url());
        ctx.env(variable, path.to_str().unwrap());
        ctx.run(&["download", "acme/tiny", "config.json"]).success();
        let out = ctx.run(&["env"]).success();
        assert!(
            out.stdout.contains(&format!(
                "certificates: {variable} ({}, 1 certificate)",
                path.display()
            )),
            "{}",
            out.stdout
        );
        let out = ctx.run(&["doctor"]);
        assert!(
            out.stdout.contains(&format!("certificates: {variable} (")),
            "{}",
            out.stdout
        );
    }

    // Without it: the certificate problem and the variables are named, and nothing is retried.
    let mut ctx = TestContext::new(standard_scenario());
    ctx.env("HF_ENDPOINT", &front.url());
    let out = ctx.run(&["download", "acme/tiny"]).failure(6);
    assert!(out.stderr.contains("(unknown issuer)"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE or SSL_CERT_DIR"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);

    // A bundle that lacks this CA: the fix names the bundle in use.
    let other = RuntimeCa::make().unwrap();
    ctx.env("SSL_CERT_FILE", other.ca().to_str().unwrap());
    let out = ctx.run(&["download", "acme/tiny"]).failure(6);
    assert!(
        out.stderr.contains(&format!(
            "come from SSL_CERT_FILE ({}",
            other.ca().display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_certificate_file_that_cannot_be_used_is_named() {
    let mut ctx = TestContext::new(standard_scenario());
    let garbage = ctx.path("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let damaged = ctx.path("damaged.pem");
    std::fs::write(
        &damaged,
        "-----BEGIN CERTIFICATE-----\nAAAABBBBCCCCDDDD\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    for (path, expected) in [
        (Path::new("/nonexistent.pem"), "cannot be read"),
        (garbage.as_path(), "holds no PEM certificate"),
        (damaged.as_path(), "certificate 1 in SSL_CERT_FILE"),
    ] {
        ctx.env("SSL_CERT_FILE", path.to_str().unwrap());
        let out = ctx.run(&["download", "acme/tiny"]).failure(2);
        assert!(
            out.stderr
                .contains(&format!("SSL_CERT_FILE ({})", path.display())),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(expected), "{}", out.stderr);
        assert!(ctx.requests().is_empty(), "nothing was sent");
        let json = ctx
            .run(&["download", "acme/tiny", "--json"])
            .failure(2)
            .json();
        assert_eq!(json["cause"], "bad_ca_bundle");
        let out = ctx.run(&["env"]).success();
        assert!(out.stdout.contains(expected), "{}", out.stdout);
    }
}
