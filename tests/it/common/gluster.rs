//! A real GlusterFS volume on this machine, mounted twice, for the tests of a cache shared by
//! two machines on a cluster filesystem: a replica-2 volume (both bricks on one server, hence
//! `force`) served by a `glusterd` in a network namespace of its own, mounted through FUSE once
//! from that namespace (`m1`) and once from a second namespace joined to it by a veth pair
//! (`m2`), plus a third mount for the tests' own checks. Two mounts are two GlusterFS clients,
//! each with its own caches, as on two machines; their locks are the volume's, seen by both
//! (docs/shared-caches.md).
//!
//! Everything is private to one rig: the namespaces (named after this process), their 10.x
//! addresses (which exist only inside them), and glusterd's working, run and log folders and CLI
//! socket (in a temporary folder, through a volfile of the rig's own). glusterd still creates a
//! few empty entries of its own in `/var/lib/glusterd` and `/run/gluster` whatever its options
//! say: the rig removes the ones it created. `glusterd` is started with `nsenter --net` and not
//! `ip netns exec`, which would also give it a private mount namespace and hide the FUSE mounts
//! from the tests.
//!
//! Needs `glusterd`, `gluster`, `glusterfs`, `ip`, `nsenter`, `unshare` and `/dev/fuse`, and
//! root (`.ci/run` installs `glusterfs-server glusterfs-client`). Without them the tests skip
//! with a note, except under `CI=true`, where they fail: CI must never pass by skipping.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The volume's name on its glusterd.
const VOLUME: &str = "gv0";
/// Namespaces are `hfget-gl-<pid>-<n>-srv` and `…-cli`; temporary folders `hfget-gluster-<pid>-…`.
const NETNS_PREFIX: &str = "hfget-gl-";
const TEMP_PREFIX: &str = "hfget-gluster-";
/// Folders where glusterd creates entries of its own whatever its options say.
const GLUSTER_STATE_DIRS: &[&str] = &["/var/lib/glusterd", "/run/gluster", "/var/log/glusterfs"];

static RIGS: AtomicU32 = AtomicU32::new(0);

pub struct GlusterVolume {
    temp: Option<tempfile::TempDir>,
    root: PathBuf,
    server_ns: String,
    client_ns: String,
    /// The server's address and the other client's, inside the namespaces only.
    server_ip: String,
    client_ip: String,
    glusterd: Option<Child>,
    /// What the gluster state folders held before the rig started.
    state_before: Vec<PathBuf>,
    /// Machine A's view of the volume (a client in the server's namespace).
    pub m1: PathBuf,
    /// Machine B's view (a client in the other namespace, over the veth pair).
    pub m2: PathBuf,
    /// A third client (in the server's namespace) that hfget never uses: the volume as a
    /// fresh client sees it, for the tests' checks. (A brick is no view of the volume: a file
    /// may be missing from one brick until the self-heal daemon has copied it.)
    pub check: PathBuf,
    torn_down: bool,
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
    for tool in ["glusterd", "gluster", "glusterfs"] {
        if !have(tool) {
            missing.push(tool);
        }
    }
    for tool in ["ip", "nsenter", "unshare", "umount"] {
        if !have(tool) {
            missing.push(tool);
        }
    }
    if !Path::new("/dev/fuse").exists() {
        missing.push("/dev/fuse");
    }
    let uid = Command::new("id").arg("-u").output();
    if !uid.is_ok_and(|o| o.stdout.trim_ascii() == b"0") {
        missing.push("root (namespaces and mounts)");
    }
    missing
}

/// Runs a command to completion; its output, or a panic naming it.
fn run(command: &mut Command, what: &str) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({:?}): {}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a command and ignores how it ended (teardown goes on whatever fails).
fn quietly(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ip(args: &[&str]) {
    run(
        Command::new("ip").args(args),
        &format!("ip {}", args.join(" ")),
    );
}

/// Whether `pid` is a live process (not a zombie).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next()),
            Some("Z" | "X") | None
        ),
        Err(_) => false,
    }
}

fn kill(pid: u32, signal: &str) {
    quietly(Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]));
}

/// Ends `pids` (TERM, then KILL after `grace`), and waits until they are gone.
fn end_processes(pids: &[u32], grace: Duration) {
    for &pid in pids {
        kill(pid, "TERM");
    }
    let deadline = Instant::now() + grace;
    while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &pid in pids.iter().filter(|&&p| alive(p)) {
        kill(pid, "KILL");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pids in every `*.pid` file under `dir`.
fn pids_in_pid_files(dir: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return pids;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            pids.extend(pids_in_pid_files(&path));
        } else if path.extension().is_some_and(|e| e == "pid")
            && let Some(pid) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
        {
            pids.push(pid);
        }
    }
    pids
}

/// The processes that run in network namespace `name`.
fn pids_in_netns(name: &str) -> Vec<u32> {
    Command::new("ip")
        .args(["netns", "pids", name])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Mount points of glusterfs volumes in this mount namespace.
fn gluster_mounts() -> Vec<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    table
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            right
                .starts_with("fuse.glusterfs ")
                .then(|| left.split(' ').nth(4).map(PathBuf::from))?
        })
        .collect()
}

fn unmount(mount: &Path) {
    if !quietly(Command::new("umount").arg(mount)) {
        quietly(Command::new("umount").arg("-l").arg(mount));
    }
}

/// Every entry under the gluster state folders (two levels: glusterd creates nothing deeper).
fn state_entries() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in GLUSTER_STATE_DIRS {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.extend(
                    std::fs::read_dir(&path)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|e| e.path()),
                );
            }
            found.push(path);
        }
    }
    found
}

/// Whether something listens on the unix socket at `path` (a live glusterd or brick of another
/// rig keeps its socket; ours are gone once the rig is torn down).
fn socket_is_live(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// Removes what glusterd created in its state folders since `before`: empty folders, empty
/// files (its template configuration) and sockets nobody listens on. Anything with content is
/// left (and reported by [`GlusterVolume::teardown`]).
fn remove_new_state(before: &[PathBuf]) {
    let mut new: Vec<PathBuf> = state_entries()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    // Deepest first: a folder's entries go before the folder.
    new.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for path in new {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        use std::os::unix::fs::FileTypeExt as _;
        if meta.is_dir() {
            let _ = std::fs::remove_dir(&path);
        } else if (meta.is_file() && meta.len() == 0)
            || (meta.file_type().is_socket() && !socket_is_live(&path))
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Rigs of test processes that died without tearing down (`kill -9` of the test binary):
/// their namespaces and mounts, found by the pid in their names. Namespaces of live processes
/// (another test run on this machine) are left alone.
fn sweep_dead_rigs() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(NETNS_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        end_processes(&pids_in_netns(&name), Duration::from_secs(2));
        let marker = format!("/{TEMP_PREFIX}{pid}-");
        for mount in gluster_mounts() {
            if mount.to_string_lossy().contains(&marker) {
                unmount(&mount);
            }
        }
        quietly(Command::new("ip").args(["netns", "del", &name]));
    }
}

impl GlusterVolume {
    /// Sets up the volume and mounts it twice (about 7 s), or `None` (with a note) when
    /// GlusterFS or the tools are missing outside CI.
    pub fn start() -> Option<GlusterVolume> {
        let missing = missing_tools();
        if !missing.is_empty() {
            let note = format!(
                "GlusterFS tests need {} (Debian: apt-get install glusterfs-server glusterfs-client)",
                missing.join(", ")
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{note}");
            }
            eprintln!("note: skipping: {note}");
            return None;
        }
        sweep_dead_rigs();
        let state_before = state_entries();
        let n = RIGS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let temp = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{pid}-"))
            .tempdir()
            .expect("temp dir");
        let root = temp.path().to_path_buf();
        let mut volume = GlusterVolume {
            temp: Some(temp),
            server_ns: format!("{NETNS_PREFIX}{pid}-{n}-srv"),
            client_ns: format!("{NETNS_PREFIX}{pid}-{n}-cli"),
            server_ip: format!("10.231.{}.1", n % 250),
            client_ip: format!("10.231.{}.2", n % 250),
            glusterd: None,
            state_before,
            m1: root.join("m1"),
            m2: root.join("m2"),
            check: root.join("m3"),
            root,
            torn_down: false,
        };
        // From here on, a panic tears down what was set up (Drop).
        volume.network(n);
        volume.start_glusterd();
        volume.create_volume();
        volume.mount();
        volume.check_locks_are_shared();
        Some(volume)
    }

    fn netns_path(name: &str) -> String {
        format!("/run/netns/{name}")
    }

    /// Two namespaces joined by a veth pair: the server at `.1`, the other client at `.2`.
    fn network(&mut self, n: u32) {
        let pid = std::process::id();
        let (server_end, client_end) = (format!("hg{pid}s{n}"), format!("hg{pid}c{n}"));
        let (server, client) = (self.server_ns.clone(), self.client_ns.clone());
        ip(&["netns", "add", &server]);
        ip(&["netns", "add", &client]);
        ip(&[
            "link",
            "add",
            &server_end,
            "type",
            "veth",
            "peer",
            "name",
            &client_end,
        ]);
        ip(&["link", "set", &server_end, "netns", &server]);
        ip(&["link", "set", &client_end, "netns", &client]);
        for (ns, end, address) in [
            (&server, &server_end, &self.server_ip),
            (&client, &client_end, &self.client_ip),
        ] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{address}/30"),
                "dev",
                end,
            ]);
            ip(&["-n", ns, "link", "set", end, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
    }

    fn socket(&self) -> PathBuf {
        self.root.join("glusterd.socket")
    }

    fn cli(&self) -> Command {
        let mut command = Command::new("gluster");
        command
            .arg("--mode=script")
            .arg(format!("--glusterd-sock={}", self.socket().display()))
            .arg(format!(
                "--log-file={}",
                self.root.join("log/cli.log").display()
            ));
        command.stdin(Stdio::null());
        command
    }

    fn start_glusterd(&mut self) {
        for dir in ["work", "run", "log"] {
            std::fs::create_dir_all(self.root.join(dir)).unwrap();
        }
        let volfile = self.root.join("glusterd.vol");
        std::fs::write(
            &volfile,
            format!(
                "volume management\n    type mgmt/glusterd\n\
                 \x20   option working-directory {work}\n\
                 \x20   option run-directory {run}\n\
                 \x20   option logging-directory {log}\n\
                 \x20   option glusterd-sockfile {socket}\n\
                 \x20   option transport-type socket\n\
                 \x20   option transport.socket.bind-address {ip}\n\
                 \x20   option ping-timeout 0\n\
                 \x20   option event-threads 1\n\
                 end-volume\n",
                work = self.root.join("work").display(),
                run = self.root.join("run").display(),
                log = self.root.join("log").display(),
                socket = self.socket().display(),
                ip = self.server_ip,
            ),
        )
        .unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net={}", Self::netns_path(&self.server_ns)))
            .args(["glusterd", "-N", "-f"])
            .arg(&volfile)
            .arg("-p")
            .arg(self.root.join("glusterd.pid"))
            .arg("-l")
            .arg(self.root.join("log/glusterd.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("glusterd starts");
        self.glusterd = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if quietly(self.cli().args(["volume", "list"])) {
                break;
            }
            if let Some(child) = self.glusterd.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("glusterd exited ({status}): {}", self.log("glusterd.log"));
            }
            assert!(
                Instant::now() < deadline,
                "glusterd did not answer: {}",
                self.log("glusterd.log")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.root.join("log").join(name)).unwrap_or_default()
    }

    fn create_volume(&mut self) {
        let bricks: Vec<String> = ["brick1", "brick2"]
            .iter()
            .map(|b| format!("{}:{}", self.server_ip, self.root.join(b).display()))
            .collect();
        run(
            self.cli()
                .args(["volume", "create", VOLUME, "replica", "2"])
                .args(&bricks)
                .arg("force"),
            "gluster volume create",
        );
        run(
            self.cli().args(["volume", "start", VOLUME]),
            "gluster volume start",
        );
    }

    /// Client processes: `glusterfs` itself, as `mount -t glusterfs` would start it, with
    /// the rig's log and pid files.
    fn mount(&mut self) {
        for (name, ns) in [
            ("m1", &self.server_ns),
            ("m2", &self.client_ns),
            ("m3", &self.server_ns),
        ] {
            let mount = self.root.join(name);
            std::fs::create_dir_all(&mount).unwrap();
            run(
                Command::new("nsenter")
                    .arg(format!("--net={}", Self::netns_path(ns)))
                    .args(["glusterfs", "--process-name", "fuse"])
                    .arg(format!("--volfile-server={}", self.server_ip))
                    .arg(format!("--volfile-id={VOLUME}"))
                    .arg(format!(
                        "--log-file={}",
                        self.root.join(format!("log/{name}.log")).display()
                    ))
                    .arg(format!(
                        "--pid-file={}",
                        self.root.join(format!("{name}.pid")).display()
                    ))
                    .arg(&mount),
                "glusterfs (mount)",
            );
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mounts = [self.m1.clone(), self.m2.clone(), self.check.clone()];
        while !mounts.iter().all(|m| gluster_mounts().contains(m)) {
            assert!(
                Instant::now() < deadline,
                "the volume was not mounted: {}",
                self.log("m2.log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // A client answers once it has connected to both bricks.
        let probe = self.m1.join(".rig-probe");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::write(&probe, b"rig").is_err()
            || std::fs::read(self.m2.join(".rig-probe")).ok().as_deref() != Some(b"rig")
        {
            assert!(
                Instant::now() < deadline,
                "the mounts do not share files: {}",
                self.log("m1.log")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The two mounts are one lock domain: a lock taken through one blocks the other, in both
    /// directions (what makes GlusterFS different from the sshfs pair).
    fn check_locks_are_shared(&self) {
        let open = |dir: &Path| {
            std::fs::File::options()
                .write(true)
                .open(dir.join(".rig-probe"))
                .unwrap()
        };
        for (holder, other) in [(&self.m1, &self.m2), (&self.m2, &self.m1)] {
            let (a, b) = (open(holder), open(other));
            a.lock().unwrap();
            assert!(
                b.try_lock().is_err(),
                "a lock through {} was not seen through {}",
                holder.display(),
                other.display()
            );
        }
        std::fs::remove_file(self.m1.join(".rig-probe")).unwrap();
    }

    /// A command run as on the second machine: its own pid and UTS namespaces (so the pids of
    /// machine A are not visible, and the host name differs), on mount `m2`. Killing the
    /// returned command's process kills the command (`--kill-child`).
    pub fn on_machine_b(command: &Command) -> Command {
        let mut wrapped = Command::new("unshare");
        wrapped
            .args(["--pid", "--fork", "--uts", "--mount-proc", "--kill-child"])
            .args([
                "--",
                "sh",
                "-c",
                "hostname gluster-b 2>/dev/null; exec \"$@\"",
                "sh",
            ])
            .arg(command.get_program())
            .args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped
    }

    /// Stops and deletes the volume, ends every gluster process by its pid file (and whatever
    /// else runs in the namespaces), unmounts, deletes the namespaces and the entries glusterd
    /// made in its state folders. Returns those entries it could not remove (none expected).
    pub fn teardown(&mut self) -> Vec<PathBuf> {
        if self.torn_down {
            return Vec::new();
        }
        self.torn_down = true;
        for mount in [&self.m1, &self.m2, &self.check] {
            if gluster_mounts().contains(mount) {
                unmount(mount);
            }
        }
        let clients: Vec<u32> = ["m1.pid", "m2.pid", "m3.pid"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(self.root.join(name)).ok())
            .filter_map(|text| text.trim().parse().ok())
            .collect();
        end_processes(&clients, Duration::from_secs(5));
        if self.glusterd.is_some() {
            let stop = || {
                let mut command = self.cli();
                command.args(["--timeout=30", "volume", "stop", VOLUME, "force"]);
                command
            };
            if quietly(&mut stop()) {
                quietly(
                    self.cli()
                        .args(["--timeout=30", "volume", "delete", VOLUME]),
                );
            }
        }
        let mut daemons = pids_in_pid_files(&self.root.join("run"));
        if let Some(child) = &self.glusterd {
            daemons.push(child.id());
        }
        end_processes(&daemons, Duration::from_secs(5));
        if let Some(mut child) = self.glusterd.take() {
            let _ = child.wait();
        }
        for ns in [&self.server_ns, &self.client_ns] {
            end_processes(&pids_in_netns(ns), Duration::from_secs(2));
            quietly(Command::new("ip").args(["netns", "del", ns]));
        }
        remove_new_state(&self.state_before);
        let left: Vec<PathBuf> = state_entries()
            .into_iter()
            .filter(|p| !self.state_before.contains(p))
            // Another rig on this machine may be running: its live sockets are its own.
            .filter(|p| !socket_is_live(p))
            .collect();
        drop(self.temp.take());
        left
    }
}

impl Drop for GlusterVolume {
    fn drop(&mut self) {
        let left = self.teardown();
        if !left.is_empty() {
            eprintln!("note: gluster left behind {left:?}");
        }
    }
}
