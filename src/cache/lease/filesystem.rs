//! Whether `flock` on a folder can be trusted to keep two downloaders apart.
//!
//! On a local disk a lock is seen by every process that can open the file. On network and
//! cluster filesystems it depends: NFS mounted with `local_lock=`/`nolock`, Lustre with
//! `localflock`, GPFS, and FUSE filesystems such as sshfs keep locks on one client, so two
//! machines both "hold" the same lock (the corrupt `config.json` of huggingface_hub PR #4228);
//! GlusterFS, CephFS, Lustre mounted with `flock` and NFSv4 send them to their servers, so a
//! lock held on one machine blocks every other (docs/shared-caches.md gives the sources).
//!
//! The answer comes from `statfs`'s magic number and the type and options `/proc/self/
//! mountinfo` gives the mount (`statfs` says only `fuseblk` for GlusterFS), and is verified at
//! run time: a lock probe across two open file descriptions must conflict, and on FUSE the
//! lock must be the filesystem's own, not one the kernel keeps on this machine for a daemon
//! that has no locks (as it does for sshfs). A cluster filesystem that fails the probe is
//! treated like any other shared one: leases alone keep machines apart.
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// What a filesystem's locks are worth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockTrust {
    /// The filesystem's name (`ext4`, `nfs`, `fuse.sshfs`, …), for messages.
    pub filesystem: String,
    /// A local filesystem: every process that can open a file on it runs on this machine and
    /// sees a lock on it. False on network, cluster and FUSE filesystems.
    pub coherent: bool,
    /// A shared filesystem whose locks every machine that mounts it sees, as its probe showed
    /// ([`cluster_wide_by_mount`] and [`probe_flock`]): holding the flock proves that no other
    /// hfget that takes it, on any machine, is downloading. Leases still name the owner and
    /// its partial, and judge owners that took no lock.
    pub cluster_wide: bool,
    /// `flock` works at all here (false: `ENOSYS`/`EOPNOTSUPP`, Lustre's `noflock`, some
    /// NFS mounts). Then `.locks/` is left alone, as Python's `SoftFileLock` fallback expects.
    pub flock_works: bool,
}

impl LockTrust {
    /// Holding the flock proves that no other process that takes it is downloading.
    pub fn locks_trusted(&self) -> bool {
        self.coherent || self.cluster_wide
    }
}

/// Filesystems whose locks are local to one machine (`linux/magic.h` and the vendors' headers).
const LOCAL: &[(i64, &str)] = &[
    (0xEF53, "ext4"),
    (0x5846_5342, "xfs"),
    (0x9123_683E, "btrfs"),
    (0x0102_1994, "tmpfs"),
    (0x2FC1_2FC1, "zfs"),
    (0xF2F5_2010, "f2fs"),
    (0xCA45_1A4E, "bcachefs"),
    (0x8584_58F6, "ramfs"),
    (0x794C_7630, "overlay"),
    (0x5265_4973, "reiserfs"),
    (0x3153_464A, "jfs"),
    (0x4D44, "vfat"),
    (0x2011_BAB0, "exfat"),
    (0x5346_544E, "ntfs"),
    (0x482B, "hfsplus"),
    (0x3434, "nilfs"),
];

/// Filesystems shared between machines, where a lock may be seen by one machine only.
const SHARED: &[(i64, &str)] = &[
    (0x6969, "nfs"),
    (0x517B, "smb"),
    (0xFF53_4D42, "cifs"),
    (0xFE53_4D42, "smb2"),
    (0x6573_5546, "fuse"),
    (0x0BD0_0BD0, "lustre"),
    (0x4750_4653, "gpfs"),
    (0x00C3_6400, "ceph"),
    (0x5346_414F, "afs"),
    (0x6B41_4653, "openafs"),
    (0x7375_7245, "coda"),
    (0x0102_1997, "9p"),
    (0x7461_636F, "ocfs2"),
    (0x0116_1970, "gfs2"),
    (0x564C, "ncp"),
    (0x1983_0326, "beegfs"),
    (0x2003_0528, "orangefs"),
    (0x786F_4256, "vboxsf"),
    (0xAAD7_AAEA, "panfs"),
];

/// Names in `/proc/self/mountinfo` that mean "shared between machines" when the magic number
/// is one this table does not know.
const SHARED_NAMES: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "lustre",
    "gpfs",
    "ceph",
    "glusterfs",
    "beegfs",
    "9p",
    "afs",
    "ocfs2",
    "gfs2",
    "panfs",
    "wekafs",
    "juicefs",
];

/// How a magic number classifies, before any probing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Magic {
    Local(&'static str),
    Shared(&'static str),
    Unknown,
}

pub(crate) fn classify_magic(magic: i64) -> Magic {
    if let Some((_, name)) = LOCAL.iter().find(|(m, _)| *m == magic) {
        return Magic::Local(name);
    }
    if let Some((_, name)) = SHARED.iter().find(|(m, _)| *m == magic) {
        return Magic::Shared(name);
    }
    Magic::Unknown
}

/// Whether a `mountinfo` filesystem type is a shared one (`fuse.*` always is: sshfs, JuiceFS,
/// gcsfuse, s3fs… each decides alone what a lock means).
pub(crate) fn is_shared_name(fstype: &str) -> bool {
    fstype.starts_with("fuse") || SHARED_NAMES.contains(&fstype)
}

/// The trust of `dir`'s filesystem, computed once per folder per process. Blocking.
pub fn lock_trust(dir: &Path) -> LockTrust {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, LockTrust>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    // Held while detecting: the files of one download ask at once, and one probe is enough.
    let mut known = match cache.lock() {
        Ok(known) => known,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(trust) = known.get(dir) {
        return trust.clone();
    }
    let trust = detect(dir);
    crate::output::debug(|| {
        format!(
            "{} is on {}: file locks {}",
            dir.display(),
            trust.filesystem,
            match (trust.flock_works, trust.coherent) {
                (false, _) => "do not work; leases alone keep downloads apart",
                (true, false) if trust.cluster_wide => {
                    "are trusted: the filesystem shares them between machines"
                }
                (true, false) => {
                    "may not be seen by other machines; leases keep downloads apart"
                }
                (true, true) => "are trusted",
            }
        )
    });
    known.insert(dir.to_path_buf(), trust.clone());
    trust
}

fn detect(dir: &Path) -> LockTrust {
    // `f_type`'s width differs between targets.
    #[allow(clippy::unnecessary_cast)]
    let magic = rustix::fs::statfs(dir).map(|s| s.f_type as i64).ok();
    let mount = mount_of(dir);
    let mount_name = mount.as_ref().map(|m| m.fstype.clone());
    let probe = probe_flock(dir);
    let (name, coherent) = match magic.map(classify_magic) {
        Some(Magic::Local(name)) => (mount_name.unwrap_or_else(|| name.to_string()), true),
        Some(Magic::Shared(name)) => (mount_name.unwrap_or_else(|| name.to_string()), false),
        // Ambiguous: trust what the mount table says, else what the probe shows.
        Some(Magic::Unknown) | None => match mount_name {
            Some(name) => {
                let shared = is_shared_name(&name);
                (name, !shared)
            }
            None => ("an unknown filesystem".to_string(), false),
        },
    };
    let cluster_wide = !coherent
        && mount.as_ref().is_some_and(cluster_wide_by_mount)
        && match &probe {
            Probe::Conflicts { kernel_held } => {
                // On FUSE a lock the kernel holds is one it keeps for a daemon without locks.
                !(mount.as_ref().is_some_and(|m| m.fstype.starts_with("fuse")) && *kernel_held)
            }
            Probe::Lies | Probe::Unsupported | Probe::Untested => false,
        };
    LockTrust {
        filesystem: name,
        coherent: coherent && matches!(probe, Probe::Conflicts { .. } | Probe::Untested),
        cluster_wide,
        flock_works: probe != Probe::Unsupported,
    }
}

/// Reads a small file that another machine may replace (a ref, a lease). A cluster
/// filesystem's client that still holds the replaced file's handle answers `ESTALE`
/// (GlusterFS does, for a name another client renamed a new file over) until its caches let go
/// of the old file, up to about a second: tries again, a moment apart, for twice that. Blocking.
pub fn read_shared(path: &Path) -> std::io::Result<Vec<u8>> {
    let deadline = std::time::Instant::now() + super::STALE_WINDOW;
    loop {
        match std::fs::read(path) {
            Err(e)
                if e.raw_os_error() == Some(rustix::io::Errno::STALE.raw_os_error())
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// One line of `/proc/self/mountinfo`, as far as lock trust needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MountEntry {
    /// `ext4`, `nfs4`, `fuse.glusterfs`, …
    pub fstype: String,
    /// The mount's and the superblock's options, comma-separated.
    pub options: String,
}

impl MountEntry {
    fn has_option(&self, wanted: &str) -> bool {
        self.options.split(',').any(|o| o == wanted)
    }
}

/// Whether the filesystem type and options are those of a filesystem that shares locks
/// between machines (docs/shared-caches.md): GlusterFS; CephFS's kernel client; Lustre
/// mounted with `flock`; NFS version 4 unless `local_lock=` keeps flocks on this client.
/// The probe must still confirm it.
pub(crate) fn cluster_wide_by_mount(mount: &MountEntry) -> bool {
    match mount.fstype.as_str() {
        "fuse.glusterfs" | "ceph" => true,
        "lustre" => mount.has_option("flock"),
        "nfs4" => !(mount.has_option("local_lock=flock") || mount.has_option("local_lock=all")),
        "nfs" => {
            mount.options.split(',').any(|o| o.starts_with("vers=4"))
                && !(mount.has_option("local_lock=flock") || mount.has_option("local_lock=all"))
        }
        _ => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// A second open file description saw the first one's lock, as it must. `kernel_held`:
    /// the lock is in this kernel's table (`/proc/locks`), not only the filesystem's.
    Conflicts {
        kernel_held: bool,
    },
    /// Both got the lock: locks here lie even on one machine.
    Lies,
    Unsupported,
    /// The scratch file could not be made.
    Untested,
}

/// Locks a scratch file through one open file description and tries again through another.
/// The file is named after this machine and process, so a run killed mid-probe leaves a file
/// the next run on this machine recognises and removes.
fn probe_flock(dir: &Path) -> Probe {
    let machine = probe_machine_tag();
    remove_probes_of_dead_processes(dir, &machine);
    let path = dir.join(format!("{PROBE_PREFIX}{machine}.{}", std::process::id()));
    let open = || {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
    };
    let result = (|| -> std::io::Result<Probe> {
        let first: File = open()?;
        let second: File = open()?;
        if let Err(error) = first.try_lock() {
            return Ok(match error {
                TryLockError::WouldBlock => Probe::Lies,
                TryLockError::Error(_) => Probe::Unsupported,
            });
        }
        Ok(match second.try_lock() {
            Err(TryLockError::WouldBlock) => Probe::Conflicts {
                kernel_held: kernel_holds_lock_on(&first),
            },
            Ok(()) => Probe::Lies,
            Err(TryLockError::Error(_)) => Probe::Unsupported,
        })
    })();
    let _ = std::fs::remove_file(&path);
    // A folder we cannot write to will fail later with a clear error; assume locks work (but
    // not that they cross machines).
    result.unwrap_or(Probe::Untested)
}

/// Whether this kernel's lock table (`/proc/locks`, proc(5)) holds a lock on `file`. FUSE
/// passes locks to a daemon that implements them and keeps them in the kernel only for one
/// that does not, which then are this machine's alone. Unreadable: assume it does.
pub(crate) fn kernel_holds_lock_on(file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = file.metadata() else {
        return true;
    };
    let Ok(table) = std::fs::read_to_string("/proc/locks") else {
        return true;
    };
    lock_table_has(&table, meta.dev(), meta.ino())
}

/// Whether a `/proc/locks` table has a lock on the inode: its entries name files as
/// `MAJOR:MINOR:INODE`, the device numbers in hex of at least two digits.
pub(crate) fn lock_table_has(table: &str, dev: u64, ino: u64) -> bool {
    let (major, minor) = (
        rustix::fs::major(dev as rustix::fs::Dev),
        rustix::fs::minor(dev as rustix::fs::Dev),
    );
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    table
        .lines()
        .any(|line| line.split_whitespace().any(|field| field == wanted))
}

const PROBE_PREFIX: &str = ".hfget-lock-probe.";

/// The first 8 characters of the boot id (`unknown` without one).
fn probe_machine_tag() -> String {
    let boot_id = &super::machine().boot_id;
    match boot_id.get(..8) {
        Some(tag) if !tag.is_empty() => tag.to_string(),
        _ => "unknown".to_string(),
    }
}

/// Removes the probe files that runs of this machine killed mid-probe left in `dir`. A run
/// probes only when it claims a blob, so one that finds every blob in place calls this
/// instead: otherwise nobody would (the CI soak `soak_random_kills_on_two_machines` found such
/// a probe after a kill). Probes of other machines are theirs to judge. Blocking.
pub fn sweep_dead_probes(dir: &Path) {
    remove_probes_of_dead_processes(dir, &probe_machine_tag());
}

fn remove_probes_of_dead_processes(dir: &Path, machine: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let ours = format!("{PROBE_PREFIX}{machine}.");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&ours).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if super::process_start(pid).is_none() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The `mountinfo` entry of the mount holding `dir`.
fn mount_of(dir: &Path) -> Option<MountEntry> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mount_in(&table, &dir)
}

/// The `mountinfo` type of the mount holding `dir` (`ext4`, `nfs4`, `fuse.sshfs`…), from a
/// table.
#[cfg(test)]
pub(crate) fn mount_fstype_in(table: &str, dir: &Path) -> Option<String> {
    mount_in(table, dir).map(|m| m.fstype)
}

/// The longest mount point containing `dir` in a `mountinfo` table (proc(5)): field 5 is the
/// mount point, field 6 the mount's options; after ` - ` come the type (`fuse.<subtype>`
/// spelled as is), the source and the superblock's options.
pub(crate) fn mount_in(table: &str, dir: &Path) -> Option<MountEntry> {
    let mut best: Option<(usize, MountEntry)> = None;
    for line in table.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut left_fields = left.split(' ');
        let Some(mount_point) = left_fields.nth(4) else {
            continue;
        };
        let mount_options = left_fields.next().unwrap_or_default();
        let mount_point = unescape_octal(mount_point);
        let mut right_fields = right.split(' ');
        let Some(fstype) = right_fields.next() else {
            continue;
        };
        let super_options = right_fields.nth(1).unwrap_or_default();
        if dir.starts_with(&mount_point) {
            let depth = Path::new(&mount_point).components().count();
            if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
                let entry = MountEntry {
                    fstype: fstype.to_string(),
                    options: format!("{mount_options},{super_options}"),
                };
                best = Some((depth, entry));
            }
        }
    }
    best.map(|(_, entry)| entry)
}

/// `mountinfo` writes spaces and tabs in paths as `\040`, `\011`.
fn unescape_octal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(digits) = text.get(i + 1..i + 4)
            && let Ok(code) = u8::from_str_radix(digits, 8)
        {
            out.push(code);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
