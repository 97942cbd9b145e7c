//! Shared test support: a [`TestContext`] with its own HOME, HF_HOME and emulator, a way to run
//! `hfget` inside it, standard fixtures, and insta filters that hide ports and temp paths.

#![allow(dead_code)]

pub mod fixtures;
pub mod gluster;
pub mod olah;
pub mod sshfs;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use hub_emulator::{Emulator, Origin, RequestRecord, Scenario};

/// A sandbox: a temp HOME/HF_HOME, a running emulator, and the environment `hfget` sees.
pub struct TestContext {
    pub temp: tempfile::TempDir,
    pub emulator: Emulator,
    env: Vec<(String, String)>,
}

/// What a run of `hfget` produced.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Outcome {
    fn from(output: std::process::Output) -> Outcome {
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Outcome {
    /// Asserts success and returns self, printing both streams on failure.
    #[track_caller]
    pub fn success(self) -> Outcome {
        assert_eq!(
            self.code, 0,
            "expected success\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn failure(self, code: i32) -> Outcome {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stdout_line(&self) -> &str {
        self.stdout.trim_end()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Waits until something listens on `127.0.0.1:port` (a server the test started), failing
/// with `log()` (the server's own log) after `seconds`.
pub fn wait_until_listening(port: u16, seconds: u64, what: &str, log: impl Fn() -> String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not listen: {}",
            log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

impl TestContext {
    pub fn new(scenario: Scenario) -> TestContext {
        TestContext::with_emulator(Emulator::start(scenario).expect("emulator starts"))
    }

    /// A context around an emulator the test started itself (fixed ports, custom CDN).
    pub fn with_emulator(emulator: Emulator) -> TestContext {
        let temp = tempfile::tempdir().expect("temp dir");
        let home = temp.path().join("home");
        let hf_home = temp.path().join("hf_home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&hf_home).unwrap();
        let env = vec![
            ("HOME".to_string(), home.display().to_string()),
            ("HF_HOME".to_string(), hf_home.display().to_string()),
            ("HF_ENDPOINT".to_string(), emulator.hub_url()),
            (
                "HFGET_CONFIG_DIR".to_string(),
                temp.path().join("config").display().to_string(),
            ),
            // Tests never touch a real keyring unless they ask for one (auth tests do).
            ("HFGET_KEYRING".to_string(), "none".to_string()),
            ("NO_PROXY".to_string(), "127.0.0.1,localhost".to_string()),
            ("NO_COLOR".to_string(), "1".to_string()),
        ];
        TestContext {
            temp,
            emulator,
            env,
        }
    }

    /// Sets (or overrides) an environment variable for every later run.
    pub fn env(&mut self, key: &str, value: &str) -> &mut TestContext {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn remove_env(&mut self, key: &str) -> &mut TestContext {
        self.env.retain(|(k, _)| k != key);
        self
    }

    pub fn hf_home(&self) -> PathBuf {
        self.temp.path().join("hf_home")
    }

    pub fn home(&self) -> PathBuf {
        self.temp.path().join("home")
    }

    /// The default cache: `$HF_HOME/hub`.
    pub fn cache(&self) -> PathBuf {
        self.hf_home().join("hub")
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.temp.path().join(relative)
    }

    /// A `Command` for `hfget` with only this context's environment (plus PATH).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hfget"));
        command.args(args).env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Outcome {
        Outcome::from(self.command(args).output().expect("hfget runs"))
    }

    /// Runs hfget with `input` on stdin (a pipe, not a terminal), as `wl-paste | hfget login` does.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Outcome {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hfget starts");
        let written = child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input.as_bytes());
        // hfget may refuse before reading its input (no keyring: `login` exits 9 at once); the
        // pipe is then closed, which is the test's outcome to check, not a harness failure.
        if let Err(error) = written {
            assert_eq!(
                error.kind(),
                std::io::ErrorKind::BrokenPipe,
                "stdin accepts the input"
            );
        }
        Outcome::from(child.wait_with_output().expect("hfget runs"))
    }

    /// The emulator's request log since the last [`TestContext::clear_requests`].
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.emulator.requests()
    }

    pub fn clear_requests(&self) {
        self.emulator.clear_requests();
    }

    /// Requests to the CDN origin that fetched file bytes.
    pub fn cdn_requests(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.origin == Origin::Cdn)
            .collect()
    }

    /// Requests that moved file contents: resolve hops on the hub, anything on the CDN.
    pub fn file_requests(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.origin == Origin::Cdn
                    || r.path.contains("/resolve/")
                    || r.path.starts_with("/api/resolve-cache/")
            })
            .collect()
    }

    /// Insta filters: ports, temp paths, timings and request ids become stable placeholders.
    pub fn filters(&self) -> Vec<(String, String)> {
        let mut filters = vec![
            (regex_escape(&self.emulator.hub_url()), "[HUB]".to_string()),
            (regex_escape(&self.emulator.cdn_url()), "[CDN]".to_string()),
            (
                regex_escape(&self.temp.path().display().to_string()),
                "[TMP]".to_string(),
            ),
            (r"in \d+\.\d s".to_string(), "in [TIME] s".to_string()),
            (
                r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};[0-9a-f]+".to_string(),
                "[REQUEST-ID]".to_string(),
            ),
            (r"\b[0-9a-f]{40}\b".to_string(), "[COMMIT]".to_string()),
        ];
        if let Ok(canonical) = self.temp.path().canonicalize() {
            filters.push((
                regex_escape(&canonical.display().to_string()),
                "[TMP]".to_string(),
            ));
        }
        filters
    }
}

/// Renders an outcome for snapshots.
pub fn render(outcome: &Outcome) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        outcome.code, outcome.stdout, outcome.stderr
    )
}

/// Snapshots an [`Outcome`] with the context's filters applied.
#[macro_export]
macro_rules! hfget_snapshot {
    ($ctx:expr, $outcome:expr) => {{
        let filters = $ctx.filters();
        let filters: Vec<(&str, &str)> = filters.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($crate::common::render(&$outcome));
        });
    }};
}

pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// sha256 of a file on disk, hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Python interpreter with the pinned huggingface_hub, if this machine has one. CI sets
/// HFGET_TEST_PYTHON (see .ci/run); with HFGET_TEST_REQUIRE_PYTHON=1 a missing one fails the test
/// instead of skipping it, so CI can never pass by skipping.
pub fn python() -> Option<PathBuf> {
    let found = std::env::var_os("HFGET_TEST_PYTHON")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if found.is_none() {
        if std::env::var_os("HFGET_TEST_REQUIRE_PYTHON").is_some() {
            panic!(
                "HFGET_TEST_REQUIRE_PYTHON is set but HFGET_TEST_PYTHON does not name a Python with huggingface_hub"
            );
        }
        eprintln!(
            "skipping: set HFGET_TEST_PYTHON to a Python with the pinned huggingface_hub (see .ci/run)"
        );
    }
    found
}

/// `secret-tool lookup service hfget username {host}/{name}`: the secret the Secret Service
/// holds for a login, if any (the keyring tests of auth.rs and oauth.rs).
pub fn secret_tool_lookup(ctx: &TestContext, name: &str) -> Option<String> {
    let host = ctx
        .emulator
        .hub_url()
        .trim_start_matches("http://")
        .to_string();
    let output = std::process::Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "hfget",
            "username",
            &format!("{host}/{name}"),
        ])
        .output()
        .expect("secret-tool runs (apt-get install libsecret-tools)");
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `ctx` wired to the real Secret Service of `scripts/with-secret-service.sh`
/// (`HFGET_TEST_SECRET_SERVICE=1`), or `None` with a note when that is not set up; under CI it
/// must be.
pub fn with_secret_service(mut ctx: TestContext) -> Option<TestContext> {
    if std::env::var_os("HFGET_TEST_SECRET_SERVICE").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the keyring tests (HFGET_TEST_SECRET_SERVICE=1 under scripts/with-secret-service.sh)"
        );
        eprintln!(
            "skipping: set HFGET_TEST_SECRET_SERVICE=1 and run under scripts/with-secret-service.sh for the real keyring tests"
        );
        return None;
    }
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect(
        "HFGET_TEST_SECRET_SERVICE=1 needs a session bus: run under scripts/with-secret-service.sh",
    );
    ctx.remove_env("HFGET_KEYRING")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus);
    Some(ctx)
}

/// Every file under `dir` whose bytes contain `needle` (a secret must be in none of them).
pub fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// `bytes=A-B` of a ranged request → (A, B).
pub fn range_of(record: &RequestRecord) -> (u64, u64) {
    let range = record.range.as_deref().expect("a ranged request");
    let (a, b) = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .expect("bytes=A-B");
    (a.parse().unwrap(), b.parse().unwrap())
}

/// The Hub's `/resolve/` requests for the file `name` (the quota's bucket), query ignored.
pub fn hub_resolves(ctx: &TestContext, name: &str) -> Vec<RequestRecord> {
    ctx.requests()
        .into_iter()
        .filter(|r| {
            r.origin == Origin::Hub
                && r.path.contains("/resolve/")
                && r.path
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .ends_with(&format!("/{name}"))
        })
        .collect()
}
