//! A lease's owner: who it is (host, boot, pid namespace, pid and start time), and whether this
//! machine can tell that it is still alive.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::partial_path;

/// The lease file's content: who owns the blob and which partial file is theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub version: u32,
    pub host: String,
    /// `/proc/sys/kernel/random/boot_id`: two machines (or two boots) never share it.
    pub boot_id: String,
    /// The pid namespace (`/proc/self/ns/pid`): containers on one machine share a boot id.
    pub pid_ns: String,
    pub pid: u32,
    /// The process's start time in clock ticks since boot (`/proc/<pid>/stat`), so a reused
    /// pid is not mistaken for the owner.
    pub process_start: u64,
    /// Unique to this lease; names the partial file.
    pub token: String,
    /// The repository file being downloaded, for the waiters' messages.
    pub file: String,
    pub size: u64,
    /// Whether the owner holds the blob's flock. Where locks are cluster-wide, a waiter that
    /// gets the flock knows such an owner is gone (killed, or its machine lost its mount)
    /// without waiting for the lease timeout. Absent from older leases: then not assumed.
    #[serde(default)]
    pub flock: bool,
}

impl Owner {
    pub fn partial_path(&self, blobs: &Path, etag: &str) -> PathBuf {
        partial_path(blobs, etag, &self.token)
    }

    /// Whether this process is the owner.
    pub fn is_this_process(&self) -> bool {
        let me = machine();
        self.boot_id == me.boot_id && self.pid_ns == me.pid_ns && self.pid == std::process::id()
    }
}

/// What is known about this process and machine, read once.
pub(super) struct Machine {
    pub(super) host: String,
    pub(super) boot_id: String,
    pub(super) pid_ns: String,
    pub(super) process_start: u64,
}

pub(super) fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(|| Machine {
        host: rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned(),
        boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        pid_ns: std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        process_start: process_start(std::process::id()).unwrap_or(0),
    })
}

/// Field 22 of `/proc/<pid>/stat` (proc(5)) of a process that still runs; the command name
/// before it may hold spaces and parentheses, so fields are counted after the last `)`.
pub(super) fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_process_start(&stat)
}

/// `None` for a zombie (`Z`) or dying (`X`) process: a `kill -9`ed owner keeps its `/proc`
/// entry until its parent reaps it, and a lease judged in that window was kept as alive and
/// never removed (the CI soak `soak_random_kills_on_two_machines` found the leftover lease).
pub(crate) fn parse_process_start(stat: &str) -> Option<u64> {
    let (_, after) = stat.rsplit_once(')')?;
    let mut fields = after.split_whitespace();
    if matches!(fields.next()?, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Whether an owner is alive, as far as this machine can tell.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Liveness {
    Alive,
    Dead,
    /// Another machine (or pid namespace): only its heartbeat can tell.
    Unknown,
}

pub(super) fn liveness(owner: &Owner) -> Liveness {
    let me = machine();
    if owner.boot_id.is_empty() || owner.boot_id != me.boot_id || owner.pid_ns != me.pid_ns {
        return Liveness::Unknown;
    }
    match process_start(owner.pid) {
        Some(start) if start == owner.process_start => Liveness::Alive,
        _ => Liveness::Dead,
    }
}
