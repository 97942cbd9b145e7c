//! Who downloads a blob when several processes, on one machine or many, share a cache.
//! Works on local disks, on cluster filesystems whose locks every machine sees (GlusterFS,
//! CephFS, Lustre with `flock`, NFSv4), and on filesystems whose locks cannot be trusted across
//! machines (NFS with local locks, GPFS, SMB, sshfs and other FUSE filesystems): see
//! [`filesystem`] and docs/shared-caches.md.
//!
//! The protocol, per blob, in `blobs/` beside the partial download:
//! - **Flock first, where it works**: `.locks/<repo>/<etag>.lock`, as Python's `filelock` does,
//!   so hfget and Python on one machine never download the same blob at once. On a filesystem
//!   whose locks every process sees ([`LockTrust::coherent`]), holding it proves that nobody
//!   else is downloading; where they are cluster-wide ([`LockTrust::cluster_wide`]), that no
//!   owner whose lease says it held the flock still downloads, so a `kill -9`ed owner is taken
//!   over as soon as its lock is freed, without waiting for its lease to expire. A waiter on
//!   such a filesystem waits for the flock in the kernel rather than polling it. Where flock
//!   fails outright, `.locks/` is left alone (Python then uses `SoftFileLock`, which an unheld
//!   lock file would block forever).
//! - **A lease**: `<etag>.lease`, created with `O_EXCL`, names its owner (host, boot id, pid
//!   namespace, pid, process start time) and the owner-unique partial `<etag>.<token>.incomplete`
//!   it writes. As a heartbeat the owner rewrites a counter on the lease's second line (which
//!   also moves its mtime) through the descriptor it created it with.
//! - **Waiting** ([`claim`]): a run that finds a live lease waits for it, showing the owner's
//!   progress, until the blob appears. A lease is taken over only once it has expired: its
//!   owner is a dead process on this machine, or its heartbeat and its partial have not changed
//!   for the lease timeout as measured on the waiter's own monotonic clock (so no clock needs to
//!   agree with another), or its mtime is older than the timeout plus a clock-skew margin. On
//!   shared filesystems, verdicts from a lease's content wait until it has stayed the same for
//!   [`STALE_WINDOW`]: a client may show a replaced lease's old content for a moment.
//! - **Takeover** renames the expired lease aside (one waiter wins the rename), checks it is the
//!   lease it judged, and creates its own. The new owner **adopts** the most complete partial of
//!   its predecessors (and its chunk record) by renaming it to its own name, so a `kill -9` on
//!   one machine is resumed by the next run on any machine; other leftovers are removed.
//! - The verified partial becomes the blob in one atomic rename (the engine's `place`); the
//!   lease is removed when its owner ends, normally or with an error (the partial then stays
//!   for the next run to adopt), so nothing but `.locks/` files is left behind.
//!
//! Correctness never rests on the lease: owners write to names no one else writes, and only
//! verified bytes are renamed into place. A lease wrongly judged expired (an owner
//! frozen for the whole timeout) costs a second download, never a corrupt blob: the frozen
//! owner finds at its next heartbeat that the lease is no longer its own and stops.

pub mod filesystem;

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use filesystem::{LockTrust, lock_trust};

use super::CacheError;
use super::lock::{BlobLock, TryLock};

/// How long a lease may go without a visible heartbeat before it is taken over (30 s by
/// default); `HFGET_LEASE_TIMEOUT` changes it.
pub const DEFAULT_TIMEOUT: Duration = crate::env::DEFAULT_LEASE_TIMEOUT;
/// Added to the timeout before a lease is judged by its mtime against this machine's clock,
/// for clocks that disagree between machines. Observed staleness needs no margin.
const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(30);
/// How long a shared filesystem's client may show a file's old content after another machine
/// replaced it (GlusterFS's client caches: up to about 1 s after a failed `O_EXCL` create or a
/// rename over the name). On such filesystems a lease's owner is judged gone only from content
/// that stayed the same for this long, so a stale read never takes over a live owner.
const STALE_WINDOW: Duration = Duration::from_secs(2);
const LEASE_VERSION: u32 = 1;
/// Partial files of this protocol are `<etag>.hfget-<16 hex>.incomplete`.
const TOKEN_PREFIX: &str = "hfget-";

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
struct Machine {
    host: String,
    boot_id: String,
    pid_ns: String,
    process_start: u64,
}

fn machine() -> &'static Machine {
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
fn process_start(pid: u32) -> Option<u64> {
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
enum Liveness {
    Alive,
    Dead,
    /// Another machine (or pid namespace): only its heartbeat can tell.
    Unknown,
}

fn liveness(owner: &Owner) -> Liveness {
    let me = machine();
    if owner.boot_id.is_empty() || owner.boot_id != me.boot_id || owner.pid_ns != me.pid_ns {
        return Liveness::Unknown;
    }
    match process_start(owner.pid) {
        Some(start) if start == owner.process_start => Liveness::Alive,
        _ => Liveness::Dead,
    }
}

pub fn lease_path(blobs: &Path, etag: &str) -> PathBuf {
    blobs.join(format!("{etag}.lease"))
}

fn partial_path(blobs: &Path, etag: &str, token: &str) -> PathBuf {
    blobs.join(format!("{etag}.{token}.incomplete"))
}

/// The chunk record the parallel engine keeps beside a partial file.
fn chunk_record_path(partial: &Path) -> PathBuf {
    let mut name = partial.as_os_str().to_os_string();
    name.push(".chunks");
    PathBuf::from(name)
}

/// Partial files of `etag` a run may resume: this protocol's `<etag>.hfget-*.incomplete` and
/// the single `<etag>.incomplete` earlier versions (and old huggingface_hub) wrote. Python
/// 2.x's own `<etag>.<8 hex>.incomplete` files are not among them: a Python process on another
/// machine may still be writing one. Blocking.
pub fn resumable_partials(blobs: &Path, etag: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(blobs) else {
        return Vec::new();
    };
    let legacy = format!("{etag}.incomplete");
    let prefix = format!("{etag}.{TOKEN_PREFIX}");
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with(&prefix) && name.ends_with(".incomplete");
            (ours || name == legacy).then(|| entry.path())
        })
        .collect()
}

/// What a claim needs to know about one blob.
#[derive(Clone, Debug)]
pub struct BlobClaim {
    pub blobs: PathBuf,
    pub etag: String,
    pub size: u64,
    /// The repository file, for messages.
    pub file: String,
    /// `.locks/<repo>/<etag>.lock`, or `None` to skip flock (`HFGET_NO_FILE_LOCKS`).
    pub lock_path: Option<PathBuf>,
    pub timeout: Duration,
    /// With `--force` an existing blob does not end the claim: it is fetched again.
    pub refetch: bool,
    /// The bytes a partial file already holds (the engine knows its chunk record).
    pub progress: fn(&Path, &str, u64) -> u64,
    /// Whether `blobs/` may hold files of this blob's earlier runs (partials, records,
    /// temporaries): `false` only when the run's one listing of the folder, at planning, found
    /// none ([`etags_with_files`]). Then the claim skips the listings that look for them, which
    /// per file of a thousand-file repository made planning and claiming quadratic (the
    /// thousand-small-files benchmark: five `getdents64` per file). Any wait for another owner
    /// sets it.
    pub earlier_files: bool,
}

impl BlobClaim {
    fn blob_path(&self) -> PathBuf {
        self.blobs.join(&self.etag)
    }

    fn lease_path(&self) -> PathBuf {
        lease_path(&self.blobs, &self.etag)
    }

    fn blob_is_complete(&self) -> bool {
        std::fs::metadata(self.blob_path()).is_ok_and(|m| m.is_file() && m.len() == self.size)
    }
}

/// Who a waiter is waiting for, and how far they are.
#[derive(Clone, Debug)]
pub struct Holder {
    /// `None` when the flock is held by a process that writes no lease (Python, an older
    /// hfget) or the lease is being written.
    pub owner: Option<Owner>,
    /// Bytes the owner's partial holds.
    pub done: u64,
    pub size: u64,
    pub lock_path: Option<PathBuf>,
}

/// Told what a claim is waiting for, each time it looks.
pub trait Waiter: Send {
    fn waiting(&mut self, holder: &Holder);
}

/// How a claim ended.
pub enum Claim {
    /// This process owns the blob: download into [`BlobLease::partial`].
    Owner(BlobLease),
    /// The blob appeared, downloaded by the owner this claim waited for.
    Done { by_this_process: bool },
}

/// Waits until this process owns the blob, or until someone else has placed it. Never waits
/// forever: an owner that stops heartbeating is taken over after `claim.timeout`.
pub async fn claim(claim: BlobClaim, waiter: &mut dyn Waiter) -> Result<Claim, CacheError> {
    let mut claimer = Claimer::new(claim);
    let mut delay = Duration::from_millis(50);
    // Where locks are trusted, a thread waits in the kernel (and the filesystem's lock server)
    // for the holder's flock, so the claim hears of a release at once, not at its next look.
    let mut freed: Option<tokio::sync::oneshot::Receiver<BlobLock>> = None;
    loop {
        let (back, step) = tokio::task::spawn_blocking(move || {
            let step = claimer.step();
            (claimer, step)
        })
        .await
        .map_err(|e| {
            CacheError::io("wait for", Path::new("the lease"), std::io::Error::other(e))
        })?;
        claimer = back;
        match step? {
            Step::Done => {
                let by_this_process = claimer
                    .last_owner
                    .as_ref()
                    .is_some_and(Owner::is_this_process);
                return Ok(Claim::Done { by_this_process });
            }
            Step::Acquired(lease) => return Ok(Claim::Owner(lease.start())),
            Step::Wait(holder) => {
                // Another process holds the blob: whatever it leaves behind is newer than the
                // planning listing.
                claimer.claim.earlier_files = true;
                waiter.waiting(&holder);
                if freed.is_none()
                    && claimer.wait_for_flock
                    && let Some(lock_path) = &claimer.claim.lock_path
                {
                    freed = Some(BlobLock::wait_in_thread(lock_path));
                }
                let got = match freed.as_mut() {
                    Some(receiver) => tokio::select! {
                        got = receiver => Some(got),
                        () = tokio::time::sleep(delay) => None,
                    },
                    None => {
                        tokio::time::sleep(delay).await;
                        None
                    }
                };
                match got {
                    Some(Ok(lock)) => {
                        // The holder let go (or died): look again at once.
                        claimer.flock = Some(lock);
                        claimer.wait_for_flock = false;
                        freed = None;
                        delay = Duration::from_millis(50);
                    }
                    Some(Err(_)) => {
                        // The waiting thread could not lock: back to looking, for good.
                        claimer.wait_for_flock = false;
                        claimer.flock_wait_failed = true;
                        freed = None;
                    }
                    None => delay = (delay * 2).min(Duration::from_millis(500)),
                }
            }
        }
    }
}

enum Step {
    Done,
    Acquired(PendingLease),
    Wait(Holder),
}

/// What a waiter last saw of a lease, to tell a live owner from a dead one without trusting
/// anyone's clock: any change of the lease's content (its heartbeat counter) or of its
/// partial restarts the count. Not the mtime: attribute caches (sshfs's 20 s, NFS's `acregmax`)
/// make a frozen owner's old mtime appear to change long after its last heartbeat.
#[derive(PartialEq, Eq)]
struct Sighting {
    content: Vec<u8>,
    done: u64,
}

/// The claim's state between its blocking steps.
struct Claimer {
    claim: BlobClaim,
    trust: Option<LockTrust>,
    flock: Option<BlobLock>,
    use_flock: bool,
    last_sighting: Option<(Sighting, Instant)>,
    /// The lease's mtime at the last look, for the wall-clock test.
    last_mtime: Option<SystemTime>,
    last_owner: Option<Owner>,
    /// The flock is busy on a filesystem whose locks are trusted: [`claim`] waits for it in a
    /// thread.
    wait_for_flock: bool,
    flock_wait_failed: bool,
}

impl Claimer {
    fn new(claim: BlobClaim) -> Claimer {
        let use_flock = claim.lock_path.is_some();
        Claimer {
            claim,
            trust: None,
            flock: None,
            use_flock,
            last_sighting: None,
            last_mtime: None,
            last_owner: None,
            wait_for_flock: false,
            flock_wait_failed: false,
        }
    }

    /// One look. Blocking.
    fn step(&mut self) -> Result<Step, CacheError> {
        if !self.claim.refetch && self.claim.blob_is_complete() {
            clear_after_completion(&self.claim);
            return Ok(Step::Done);
        }
        super::create_dir_all(&self.claim.blobs)?;
        let trust = self
            .trust
            .get_or_insert_with(|| lock_trust(&self.claim.blobs))
            .clone();
        if !trust.flock_works {
            self.use_flock = false;
        }
        if self.use_flock
            && self.flock.is_none()
            && let Some(lock_path) = &self.claim.lock_path
        {
            match BlobLock::try_claim(lock_path)? {
                TryLock::Held(lock) => self.flock = Some(lock),
                TryLock::Unsupported => self.use_flock = false,
                TryLock::Busy => {
                    self.wait_for_flock = trust.locks_trusted() && !self.flock_wait_failed;
                    // A process on this machine holds it (or, where locks are cluster-wide,
                    // on any machine). While its lease is alive, wait; an
                    // owner frozen past the timeout is taken over even so (nobody waits
                    // forever). A holder without a lease (Python) is waited for.
                    return match self.look() {
                        Some((content, holder)) if holder.owner.is_some() => {
                            if self.expired(&trust, &holder)
                                && let Some(lease) = self.take_over(&content)?
                            {
                                return Ok(self.acquired(lease));
                            }
                            Ok(Step::Wait(holder))
                        }
                        _ => Ok(Step::Wait(self.holder(None, 0))),
                    };
                }
            }
        }
        if let Some(lease) = self.create()? {
            return Ok(self.acquired(lease));
        }
        let Some((content, holder)) = self.look() else {
            // Gone between our create and our read: its owner finished or gave up.
            return Ok(Step::Wait(self.holder(None, 0)));
        };
        if self.expired(&trust, &holder)
            && let Some(lease) = self.take_over(&content)?
        {
            return Ok(self.acquired(lease));
        }
        Ok(Step::Wait(holder))
    }

    fn holder(&self, owner: Option<Owner>, done: u64) -> Holder {
        Holder {
            owner,
            done,
            size: self.claim.size,
            lock_path: self.claim.lock_path.clone(),
        }
    }

    /// Reads the lease and its owner's progress, and records the sighting.
    fn look(&mut self) -> Option<(Vec<u8>, Holder)> {
        let lease_path = self.claim.lease_path();
        // Opening the file (not a bare stat) makes NFS revalidate its attributes
        // (close-to-open consistency), so the mtime is the server's, not a cached one.
        let (content, mtime) = read_with_mtime(&lease_path).ok()?;
        let owner = parse_owner(&content);
        let done = owner
            .as_ref()
            .map(|o| {
                (self.claim.progress)(
                    &o.partial_path(&self.claim.blobs, &self.claim.etag),
                    &self.claim.etag,
                    self.claim.size,
                )
            })
            .unwrap_or(0);
        self.last_mtime = mtime;
        let sighting = Sighting {
            content: content.clone(),
            done,
        };
        match &self.last_sighting {
            Some((last, _)) if *last == sighting => {}
            _ => self.last_sighting = Some((sighting, Instant::now())),
        }
        if owner.is_some() {
            self.last_owner = owner.clone();
        }
        Some((content, self.holder(owner, done)))
    }

    fn expired(&self, trust: &LockTrust, holder: &Holder) -> bool {
        // Everyone who can write this lease would hold the flock we hold.
        if self.flock.is_some() && trust.coherent {
            return true;
        }
        // On a shared filesystem the content may be a stale copy for a moment: only content
        // that stayed the same for the stale window is a verdict.
        let settled = trust.coherent
            || self
                .last_sighting
                .as_ref()
                .is_some_and(|(_, since)| since.elapsed() >= STALE_WINDOW);
        if let Some(owner) = &holder.owner {
            // Where locks are cluster-wide, an owner that held the flock we now hold is gone:
            // killed (its lock freed with its process) or finished.
            if self.flock.is_some() && trust.cluster_wide && owner.flock && settled {
                return true;
            }
            match liveness(owner) {
                Liveness::Dead if settled => return true,
                // Frozen (SIGSTOP, swapped out) owners are judged by their heartbeat below.
                Liveness::Dead | Liveness::Alive | Liveness::Unknown => {}
            }
        }
        let Some((_, since)) = &self.last_sighting else {
            return false;
        };
        if since.elapsed() >= self.claim.timeout {
            return true;
        }
        let age = self
            .last_mtime
            .and_then(|mtime| SystemTime::now().duration_since(mtime).ok())
            .unwrap_or_default();
        age > self.claim.timeout + CLOCK_SKEW_MARGIN
    }

    /// A lease just won. The owner before us may have placed the blob and let go between our
    /// first look and our win: then there is nothing to fetch (a small file was fetched twice by
    /// three concurrent runs under load, `faults::concurrent_processes_download_each_blob_once`).
    fn acquired(&self, lease: PendingLease) -> Step {
        if !self.claim.refetch && self.claim.blob_is_complete() {
            release(&lease.path, &lease.owner.token);
            drop(lease);
            clear_after_completion(&self.claim);
            return Step::Done;
        }
        Step::Acquired(lease)
    }

    /// `O_EXCL`-creates the lease. `None` when another one exists.
    fn create(&mut self) -> Result<Option<PendingLease>, CacheError> {
        let path = self.claim.lease_path();
        let token = format!("{TOKEN_PREFIX}{:016x}", crate::random::random_u64());
        let me = machine();
        let owner = Owner {
            version: LEASE_VERSION,
            host: me.host.clone(),
            boot_id: me.boot_id.clone(),
            pid_ns: me.pid_ns.clone(),
            pid: std::process::id(),
            process_start: me.process_start,
            token,
            file: self.claim.file.clone(),
            size: self.claim.size,
            flock: self.flock.is_some(),
        };
        let mut file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o664)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
            // SFTP (sshfs) has no "already exists" status: its servers answer a generic
            // failure, which arrives as EPERM or EIO.
            Err(_) if path.exists() => return Ok(None),
            Err(e) => return Err(CacheError::io("create the lease", &path, e)),
        };
        let mut text = serde_json::to_vec(&owner)
            .map_err(|e| CacheError::io("write", &path, std::io::Error::other(e)))?;
        text.push(b'\n');
        let beat_offset = text.len() as u64;
        text.extend_from_slice(&beat_line(0));
        // On a shared filesystem the other machines read the lease from the server: flush it
        // there (NFS writes back at close otherwise). A local disk needs no fsync per file.
        let shared = !self.trust.as_ref().is_some_and(|t| t.coherent);
        let written = file
            .write_all(&text)
            .and_then(|()| if shared { file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(CacheError::io("write", &path, e));
        }
        let partial = owner.partial_path(&self.claim.blobs, &self.claim.etag);
        let adopted = adopt_partials(&self.claim, &partial);
        if adopted > 0 {
            crate::output::debug(|| {
                format!(
                    "{}: resuming the {adopted} bytes an earlier run left",
                    self.claim.file
                )
            });
        }
        Ok(Some(PendingLease {
            path,
            file,
            beat_offset,
            flush_beats: shared,
            owner,
            partial,
            flock: self.flock.take(),
            timeout: self.claim.timeout,
        }))
    }

    /// Replaces an expired lease with ours. Exactly one of several waiters that judged the
    /// same lease expired wins the rename; a waiter that finds it renamed a *different* lease
    /// (a faster waiter's fresh one) puts it back.
    fn take_over(&mut self, judged: &[u8]) -> Result<Option<PendingLease>, CacheError> {
        let path = self.claim.lease_path();
        let aside = self.claim.blobs.join(format!(
            ".{}.lease.{:08x}.expired",
            self.claim.etag,
            crate::random::random_u64() as u32
        ));
        match std::fs::rename(&path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CacheError::io("take over the lease", &path, e)),
        }
        let renamed = std::fs::read(&aside).unwrap_or_default();
        if renamed != judged {
            let _ = std::fs::rename(&aside, &path);
            return Ok(None);
        }
        let _ = std::fs::remove_file(&aside);
        if let Some(owner) = parse_owner(judged) {
            crate::output::debug(|| {
                format!(
                    "{}: taking over the expired lease of {} pid {}",
                    self.claim.file, owner.host, owner.pid
                )
            });
        }
        self.last_sighting = None;
        self.create()
    }
}

/// Renames the most complete earlier partial of this blob (and its chunk record) to
/// `partial`, and removes the others with any temporary file they left. Returns the bytes
/// adopted. Blocking; called only by the lease's owner.
fn adopt_partials(claim: &BlobClaim, partial: &Path) -> u64 {
    if !claim.earlier_files {
        return 0;
    }
    let mut candidates: Vec<(u64, PathBuf)> = resumable_partials(&claim.blobs, &claim.etag)
        .into_iter()
        .filter(|p| p != partial)
        .map(|p| ((claim.progress)(&p, &claim.etag, claim.size), p))
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut adopted = 0;
    for (index, (bytes, candidate)) in candidates.into_iter().enumerate() {
        let record = chunk_record_path(&candidate);
        if index == 0 && bytes > 0 && record.exists() {
            // Written with positional writes: an owner wrongly judged dead (frozen, not
            // killed) that wakes up writes the same bytes at the same offsets, so the file can
            // be renamed. The record first: a partial never has a name whose record is missing.
            let record_moved = match std::fs::rename(&record, chunk_record_path(partial)) {
                Ok(()) => true,
                Err(e) => e.kind() == ErrorKind::NotFound,
            };
            if record_moved && std::fs::rename(&candidate, partial).is_ok() {
                adopted = bytes;
                continue;
            }
        } else if index == 0 && bytes > 0 {
            // Written by appending: an owner that wakes up would append to the adopted file
            // and interleave its bytes with ours. A copy is private; whatever the old owner
            // appended before it is still a valid prefix. (Such partials are the small files'
            // and those of servers that ignore Range.)
            if copy_prefix(&candidate, partial).is_ok() {
                adopted = file_len(partial);
                let _ = std::fs::remove_file(&candidate);
                continue;
            }
            let _ = std::fs::remove_file(partial);
        }
        let _ = std::fs::remove_file(&record);
        let _ = std::fs::remove_file(&candidate);
    }
    remove_leftovers(&claim.blobs, &claim.etag, partial);
    adopted
}

/// Copies `from` to a new file `to` (through a temporary sibling, so `to` never holds half a
/// copy under its final name).
fn copy_prefix(from: &Path, to: &Path) -> std::io::Result<()> {
    let temporary = super::temporary_sibling(to);
    let copied = std::fs::copy(from, &temporary).and_then(|_| std::fs::rename(&temporary, to));
    if copied.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    copied
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Once the blob is in place: removes a lease a killed owner left (dead on this machine, or
/// silent past the timeout and the clock-skew margin), and stray records and temporaries of
/// earlier runs, so a run that ends normally leaves nothing behind. Blocking.
pub fn clear_after_completion(claim: &BlobClaim) {
    remove_stale_lease(&claim.lease_path(), claim.timeout);
    if claim.earlier_files {
        remove_leftovers(&claim.blobs, &claim.etag, Path::new(""));
    }
}

/// The etags that have files other than the blob itself in `blobs/` (partials, chunk records,
/// leases, temporaries: `<etag>.…` and `.<etag>.…`), from one listing. `None` when the folder
/// cannot be read (it may not exist yet: then nothing is there). Blocking.
pub fn etags_with_files(blobs: &Path) -> Option<std::collections::HashSet<String>> {
    let entries = match std::fs::read_dir(blobs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Some(Default::default()),
        Err(_) => return None,
    };
    let mut etags = std::collections::HashSet::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((etag, _rest)) = name.trim_start_matches('.').split_once('.') {
            etags.insert(etag.to_string());
        }
    }
    Some(etags)
}

/// For a blob a run finds already in place, so never claims: an owner `kill -9`ed between
/// placing the blob and removing its lease left the lease behind, and nobody else would ever
/// look at it (the CI soak `soak_random_kills_on_two_machines`). Costs one failed `open` when
/// there is no lease, which is the rule. Blocking.
pub fn sweep_placed(blobs: &Path, etag: &str, timeout: Duration) {
    if remove_stale_lease(&lease_path(blobs, etag), timeout) {
        remove_leftovers(blobs, etag, Path::new(""));
    }
}

/// Removes the lease at `path` when its owner is dead on this machine, or silent past the
/// timeout and the clock-skew margin. Whether a lease was there at all.
fn remove_stale_lease(path: &Path, timeout: Duration) -> bool {
    let Ok((content, mtime)) = read_with_mtime(path) else {
        return false;
    };
    let owner = parse_owner(&content);
    let age = mtime
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    let dead = owner
        .as_ref()
        .is_some_and(|o| liveness(o) == Liveness::Dead);
    if dead || age > timeout + CLOCK_SKEW_MARGIN {
        release_if_unchanged(path, &content);
    }
    true
}

/// Removes the lease at `path` if it still holds `content`.
fn release_if_unchanged(path: &Path, content: &[u8]) {
    if std::fs::read(path).is_ok_and(|now| now == content) {
        let _ = std::fs::remove_file(path);
    }
}

/// Chunk records without their partial, the engine's `.…chunks.<random>.tmp` files, and
/// expired leases set aside, all of this blob's earlier runs.
fn remove_leftovers(blobs: &Path, etag: &str, partial: &Path) {
    let Ok(entries) = std::fs::read_dir(blobs) else {
        return;
    };
    let own_record = chunk_record_path(partial);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let stray_record = name.starts_with(&format!("{etag}."))
            && name.ends_with(".incomplete.chunks")
            && path != own_record
            && !blobs.join(name.trim_end_matches(".chunks")).exists();
        let temporary = name.starts_with(&format!(".{etag}."))
            && (name.ends_with(".tmp") || name.ends_with(".expired"));
        if stray_record || temporary {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn read_with_mtime(path: &Path) -> std::io::Result<(Vec<u8>, Option<SystemTime>)> {
    use std::io::Read;
    let mut file = File::open(path)?;
    let mtime = file.metadata().and_then(|m| m.modified()).ok();
    let mut content = Vec::new();
    file.read_to_end(&mut content)?;
    Ok((content, mtime))
}

/// A lease created, its heartbeat not yet started (that needs the async runtime).
struct PendingLease {
    path: PathBuf,
    file: File,
    /// Where the heartbeat line starts.
    beat_offset: u64,
    /// Flush each heartbeat to the file server (shared filesystems).
    flush_beats: bool,
    owner: Owner,
    partial: PathBuf,
    flock: Option<BlobLock>,
    timeout: Duration,
}

impl PendingLease {
    fn start(self) -> BlobLease {
        let file = Arc::new(self.file);
        let (lost_tx, lost_rx) = watch::channel(false);
        let interval = heartbeat_interval(self.timeout);
        let heartbeat = {
            let (file, path, token) = (file.clone(), self.path.clone(), self.owner.token.clone());
            let (offset, flush) = (self.beat_offset, self.flush_beats);
            tokio::spawn(async move {
                for count in 1.. {
                    tokio::time::sleep(interval).await;
                    let (file, path, token) = (file.clone(), path.clone(), token.clone());
                    let still_ours = tokio::task::spawn_blocking(move || {
                        beat(&file, offset, count, flush, &path, &token)
                    })
                    .await
                    .unwrap_or(false);
                    if !still_ours {
                        let _ = lost_tx.send(true);
                        return;
                    }
                }
            })
        };
        register_held(&self.path, &self.owner.token);
        BlobLease {
            path: self.path,
            token: self.owner.token,
            partial: self.partial,
            _file: file,
            _flock: self.flock,
            lost: lost_rx,
            heartbeat,
        }
    }
}

/// Six heartbeats per timeout: a waiter sees several even through attribute caches.
fn heartbeat_interval(timeout: Duration) -> Duration {
    (timeout / 6).clamp(Duration::from_millis(100), Duration::from_secs(5))
}

/// The lease's second line, rewritten in place at each heartbeat (fixed width).
fn beat_line(count: u64) -> Vec<u8> {
    format!("beat {count:020}\n").into_bytes()
}

/// Rewrites the heartbeat counter through the descriptor that created the lease (a lease
/// taken over meanwhile is another file: this write cannot touch it), flushes it to the file
/// server (NFS clients read the server's copy), which also moves the mtime, and checks the
/// lease at its path is still this one. Blocking.
fn beat(file: &File, offset: u64, count: u64, flush: bool, path: &Path, token: &str) -> bool {
    use std::os::unix::fs::FileExt;
    if file
        .write_all_at(&beat_line(count), offset)
        .and_then(|()| if flush { file.sync_data() } else { Ok(()) })
        .is_err()
    {
        return false;
    }
    lease_is_ours(path, token)
}

/// The owner named on a lease's first line.
fn parse_owner(content: &[u8]) -> Option<Owner> {
    let first_line = content.split(|b| *b == b'\n').next()?;
    serde_json::from_slice(first_line).ok()
}

/// Read once, never again on `ESTALE`: on GlusterFS that is what an owner's client answers for
/// its lease's name once another client has renamed the lease away (for as long as the owner
/// keeps its descriptor), so it means "not ours".
fn lease_is_ours(path: &Path, token: &str) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|content| parse_owner(&content))
        .is_some_and(|owner| owner.token == token)
}

/// This process owns a blob while it holds this. Dropping it removes the lease (the partial
/// file stays, for whoever resumes it).
pub struct BlobLease {
    path: PathBuf,
    token: String,
    partial: PathBuf,
    _file: Arc<File>,
    _flock: Option<BlobLock>,
    lost: watch::Receiver<bool>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl BlobLease {
    /// The partial file only this owner writes.
    pub fn partial(&self) -> &Path {
        &self.partial
    }

    /// Whether the lease at its path is no longer this one, looked at now rather than at the
    /// next heartbeat: an owner frozen past the timeout that wakes up may hit the new owner's
    /// work (its partial and chunk record adopted, its temporaries swept) before its heartbeat
    /// notices the loss.
    pub async fn is_taken_over(&self) -> bool {
        if *self.lost.borrow() {
            return true;
        }
        let (path, token) = (self.path.clone(), self.token.clone());
        tokio::task::spawn_blocking(move || !lease_is_ours(&path, &token))
            .await
            .unwrap_or(false)
    }

    /// Resolves if another process took the lease over (this one was judged dead: frozen, or
    /// cut off from the file server for longer than the timeout). The download must stop.
    pub async fn lost(&self) {
        let mut lost = self.lost.clone();
        if lost.wait_for(|lost| *lost).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for BlobLease {
    fn drop(&mut self) {
        self.heartbeat.abort();
        release(&self.path, &self.token);
        unregister_held(&self.path);
    }
}

/// Removes a lease if it is still the one `token` names.
fn release(path: &Path, token: &str) {
    if lease_is_ours(path, token) {
        let _ = std::fs::remove_file(path);
    }
}

/// Leases this process holds, so an interrupted run (Ctrl-C) can remove them on its way out:
/// its tasks are not dropped before the process exits.
fn held() -> &'static Mutex<HashSet<(PathBuf, String)>> {
    static HELD: OnceLock<Mutex<HashSet<(PathBuf, String)>>> = OnceLock::new();
    HELD.get_or_init(|| Mutex::new(HashSet::new()))
}

fn register_held(path: &Path, token: &str) {
    if let Ok(mut held) = held().lock() {
        held.insert((path.to_path_buf(), token.to_string()));
    }
}

fn unregister_held(path: &Path) {
    if let Ok(mut held) = held().lock() {
        held.retain(|(p, _)| p != path);
    }
}

/// Removes every lease this process still holds (partial files stay, to be resumed).
pub fn release_all_held() {
    let leases: Vec<(PathBuf, String)> = match held().lock() {
        Ok(mut held) => held.drain().collect(),
        Err(_) => return,
    };
    for (path, token) in leases {
        release(&path, &token);
    }
}

/// Whether a live owner holds the lease of blob `etag` in `blobs` (here or on another
/// machine): for `cache rm`/`prune` through [`BlobLock::try_acquire`], which must not delete
/// a partial file that is being written. A dead owner on this machine is not live; another
/// machine's owner is, while its lease's mtime is within the default timeout plus the
/// clock-skew margin. Blocking.
pub fn has_live_owner(blobs: &Path, etag: &str) -> bool {
    let Ok((content, mtime)) = read_with_mtime(&lease_path(blobs, etag)) else {
        return false;
    };
    let owner = parse_owner(&content);
    match owner.as_ref().map(liveness) {
        Some(Liveness::Alive) => true,
        Some(Liveness::Dead) => false,
        Some(Liveness::Unknown) | None => {
            let age = mtime
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .unwrap_or_default();
            age <= DEFAULT_TIMEOUT + CLOCK_SKEW_MARGIN
        }
    }
}

#[cfg(test)]
mod tests;
