//! Two "machines" sharing one cache: sshd on a free loopback port with a key made
//! for this run only, and one exported folder mounted twice with sshfs. flock works inside one
//! mount but is not seen by the other, as on NFS with local locks, and each mount keeps its own
//! attribute cache, as two NFS clients do.
//!
//! Needs `sshd`, `sshfs`, `ssh-keygen`, `fusermount3` and `/dev/fuse` (`.ci/run` installs
//! `openssh-server sshfs`). Without them the tests skip with a note, except under `CI=true`,
//! where they fail: CI must never pass by skipping.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

pub struct SharedExport {
    _temp: tempfile::TempDir,
    sshd: Child,
    /// The folder both mounts show.
    pub export: PathBuf,
    /// Machine A's view of `export`.
    pub a: PathBuf,
    /// Machine B's view of `export`.
    pub b: PathBuf,
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn missing_tools() -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !Path::new(SSHD).exists() {
        missing.push("sshd (openssh-server)");
    }
    for tool in ["sshfs", "ssh-keygen", "fusermount3"] {
        if !have(tool) {
            missing.push(tool);
        }
    }
    if !Path::new("/dev/fuse").exists() {
        missing.push("/dev/fuse");
    }
    missing
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl SharedExport {
    /// Starts sshd and mounts the export twice, or `None` (with a note) when the tools are
    /// missing outside CI.
    pub fn start() -> Option<SharedExport> {
        let missing = missing_tools();
        if !missing.is_empty() {
            let note = format!(
                "sshfs tests need {} (Debian: apt-get install openssh-server sshfs)",
                missing.join(", ")
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{note}");
            }
            eprintln!("note: skipping: {note}");
            return None;
        }
        let temp = tempfile::tempdir().expect("temp dir");
        let root = temp.path();
        let keys = root.join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        for name in ["host", "client"] {
            run(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                    .arg(keys.join(name)),
                "ssh-keygen",
            );
        }
        std::fs::copy(keys.join("client.pub"), keys.join("authorized_keys")).unwrap();
        // sshd's privilege-separation folder (the Debian package creates it at boot only).
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let config = root.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\n\
                 PidFile {pid}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
                 Subsystem sftp internal-sftp\nLogLevel ERROR\n",
                host = keys.join("host").display(),
                auth = keys.join("authorized_keys").display(),
                pid = root.join("sshd.pid").display(),
            ),
        )
        .unwrap();
        let sshd = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Quiet: it would complain about the readiness probe below.
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let export = root.join("export");
        std::fs::create_dir_all(&export).unwrap();
        let mut shared = SharedExport {
            sshd,
            export: export.clone(),
            a: root.join("machine-a"),
            b: root.join("machine-b"),
            _temp: temp,
        };
        let user = std::env::var("USER").unwrap_or_else(|_| "root".to_string());
        for mount in [shared.a.clone(), shared.b.clone()] {
            std::fs::create_dir_all(&mount).unwrap();
            run(
                Command::new("sshfs")
                    .arg(format!("{user}@127.0.0.1:{}", export.display()))
                    .arg(&mount)
                    .args(["-p", &port.to_string(), "-o"])
                    .arg(format!(
                        "IdentityFile={},StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,\
                         BatchMode=yes,LogLevel=ERROR",
                        keys.join("client").display()
                    )),
                "sshfs",
            );
        }
        shared.check_mounts_differ();
        Some(shared)
    }

    /// The two mounts are two flock domains: a lock taken through A is not seen through B.
    fn check_mounts_differ(&mut self) {
        std::fs::write(self.a.join("probe"), b"").unwrap();
        let a = std::fs::File::options()
            .write(true)
            .open(self.a.join("probe"))
            .unwrap();
        let b = std::fs::File::options()
            .write(true)
            .open(self.b.join("probe"))
            .unwrap();
        a.lock().unwrap();
        assert!(
            b.try_lock().is_ok(),
            "flock through one sshfs mount was seen through the other: this machine's sshfs does not stand in for two NFS clients"
        );
        drop((a, b));
        std::fs::remove_file(self.a.join("probe")).unwrap();
    }
}

impl Drop for SharedExport {
    fn drop(&mut self) {
        for mount in [&self.a, &self.b] {
            let _ = Command::new("fusermount3")
                .args(["-u", "-z"])
                .arg(mount)
                .status();
        }
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}
