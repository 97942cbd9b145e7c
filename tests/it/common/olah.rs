//! A real pull-through mirror for the tests: olah 0.5.4 (PyPI), started in front of a running
//! emulator (docs/real-hub.md §5).
//!
//! ```ignore
//! let ctx = TestContext::new(scenario);
//! let Some(olah) = Olah::start(&ctx.emulator) else { return }; // skipped outside CI
//! ctx.env("HF_ENDPOINT", &olah.url());
//! // … run hfget …
//! olah.restart(OlahMode::Offline); // same cache, same port, no upstream
//! ```
//!
//! A slow upstream: give the emulator `Scenario::cdn_connection_bytes_per_sec` (olah fetches each
//! 64 MiB block over one upstream connection).
//!
//! `.ci/run` installs olah in its own venv and exports `HFGET_TEST_OLAH` (its `olah-cli`).
//! Without it the tests skip with a note, except under CI (`CI` set), where they fail.
//!
//! What the config means, read from olah 0.5.4's `configs.py` and `server.py`: `[basic]`
//! `host`/`port` are where olah listens; `hf-scheme`/`hf-netloc` the upstream Hub and
//! `hf-lfs-netloc` its LFS host (here the emulator's hub and CDN origins, loopback only);
//! `mirror-*` the URLs olah writes into answers about itself; `repos-path` its cache; `[accessibility]
//! offline = true` serves only what is cached. Its logs go to `./logs`, so it runs in its own
//! temp directory. At start-up it HEADs `{hf-netloc}/datasets/Salesforce/wikitext/resolve/
//! main/.gitattributes` (the emulator answers 401; olah only prints a warning). No other host
//! is ever contacted.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hub_emulator::Emulator;

/// Online (pulls from the emulator) or offline (`[accessibility] offline = true`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OlahMode {
    Online,
    Offline,
}

/// A running olah; killed (and its process reaped) on drop. Its cache survives restarts.
pub struct Olah {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    hub: String,
    cdn: String,
}

/// `olah-cli` from `HFGET_TEST_OLAH`: `None` (with a note) outside CI, a panic under CI.
pub fn olah_cli() -> Option<PathBuf> {
    let found = std::env::var_os("HFGET_TEST_OLAH")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "olah is required under CI: .ci/run installs olah 0.5.4 and sets HFGET_TEST_OLAH"
        );
        eprintln!(
            "skipping: set HFGET_TEST_OLAH to an olah-cli (python3 -m venv v && v/bin/pip install olah==0.5.4)"
        );
    }
    found
}

fn netloc(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_string()
}

impl Olah {
    /// olah in front of the emulator's hub and built-in CDN, online.
    pub fn start(emulator: &Emulator) -> Option<Olah> {
        Olah::start_for(&emulator.hub_url(), &emulator.cdn_url(), OlahMode::Online)
    }

    /// olah in front of any hub and LFS origin (`http://127.0.0.1:PORT` each).
    pub fn start_for(hub_url: &str, cdn_url: &str, mode: OlahMode) -> Option<Olah> {
        let cli = olah_cli()?;
        for url in [hub_url, cdn_url] {
            assert!(
                url.starts_with("http://127.0.0.1:"),
                "olah is only ever pointed at loopback, not {url}"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut olah = Olah {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            port,
            hub: netloc(hub_url),
            cdn: netloc(cdn_url),
        };
        olah.spawn(&cli, mode);
        Some(olah)
    }

    /// What `HF_ENDPOINT` is set to: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// olah's cache (`repos-path`).
    pub fn repos_path(&self) -> PathBuf {
        self.dir.path().join("repos")
    }

    /// Everything olah printed so far (uvicorn's access log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("olah.out")).unwrap_or_default()
    }

    /// Stops olah (SIGKILL: nothing is flushed) and starts it again on the same port and cache.
    pub fn restart(&mut self, mode: OlahMode) {
        self.stop();
        let cli = olah_cli().expect("olah was found at start");
        self.spawn(&cli, mode);
    }

    /// `kill -9` of the olah process, leaving it down.
    pub fn kill(&mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("olah.toml")
    }

    fn write_config(&self, mode: OlahMode) {
        let config = format!(
            "[basic]\n\
             host = \"127.0.0.1\"\n\
             port = {port}\n\
             repos-path = \"{repos}\"\n\
             hf-scheme = \"http\"\n\
             hf-netloc = \"{hub}\"\n\
             hf-lfs-netloc = \"{cdn}\"\n\
             mirror-scheme = \"http\"\n\
             mirror-netloc = \"127.0.0.1:{port}\"\n\
             mirror-lfs-netloc = \"127.0.0.1:{port}\"\n\
             \n\
             [accessibility]\n\
             offline = {offline}\n",
            port = self.port,
            repos = self.repos_path().display(),
            hub = self.hub,
            cdn = self.cdn,
            offline = mode == OlahMode::Offline,
        );
        std::fs::write(self.config_path(), config).unwrap();
    }

    fn spawn(&mut self, cli: &Path, mode: OlahMode) {
        self.write_config(mode);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("olah.out"))
            .unwrap();
        let mut command = Command::new(cli);
        command
            .arg("--config")
            .arg(self.config_path())
            .current_dir(self.dir.path())
            // No proxies, no HF_* from the developer's shell: olah imports huggingface_hub.
            .env_clear()
            .env("HOME", self.dir.path())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("PYTHONUNBUFFERED", "1")
            // GitPython (imported for olah's local git mirrors, unused here) must not insist
            // on a git executable.
            .env("GIT_PYTHON_REFRESH", "quiet")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        self.child = Some(command.spawn().expect("olah-cli starts"));
        self.wait_ready();
    }

    /// uvicorn binds its port once the app's start-up has run: a connect means ready.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("olah exited ({status}) before listening:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "olah did not listen within 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Olah {
    fn drop(&mut self) {
        self.stop();
    }
}
