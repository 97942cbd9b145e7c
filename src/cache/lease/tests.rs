use super::filesystem::{
    Magic, MountEntry, classify_magic, cluster_wide_by_mount, is_shared_name, lock_table_has,
    mount_fstype_in, mount_in,
};
use super::*;

fn progress(partial: &Path, _etag: &str, _size: u64) -> u64 {
    std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0)
}

fn blob_claim(blobs: &Path, timeout: Duration) -> BlobClaim {
    BlobClaim {
        blobs: blobs.to_path_buf(),
        etag: "e7a6".to_string(),
        size: 10,
        file: "model.bin".to_string(),
        lock_path: None,
        timeout,
        refetch: false,
        progress,
        earlier_files: true,
    }
}

#[derive(Default)]
struct Seen(Vec<Holder>);

impl Waiter for Seen {
    fn waiting(&mut self, holder: &Holder) {
        self.0.push(holder.clone());
    }
}

async fn own(claim: &BlobClaim) -> BlobLease {
    match super::claim(claim.clone(), &mut Seen::default())
        .await
        .unwrap()
    {
        Claim::Owner(lease) => lease,
        Claim::Done { .. } => panic!("expected to own the blob"),
    }
}

/// A lease as another machine writes it, with a partial of `written` bytes.
fn foreign_lease(claim: &BlobClaim, written: usize) -> Owner {
    let owner = Owner {
        version: LEASE_VERSION,
        host: "node-b".to_string(),
        boot_id: "another-boot".to_string(),
        pid_ns: "pid:[1]".to_string(),
        pid: 4242,
        process_start: 1,
        token: "hfget-00000000000000ab".to_string(),
        file: claim.file.clone(),
        size: claim.size,
        flock: false,
    };
    std::fs::write(claim.lease_path(), serde_json::to_vec(&owner).unwrap()).unwrap();
    std::fs::write(
        owner.partial_path(&claim.blobs, &claim.etag),
        vec![b'x'; written],
    )
    .unwrap();
    owner
}

#[test]
fn process_start_is_read_after_the_command_name() {
    let stat = "123 (a) b (c)) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
    assert_eq!(parse_process_start(stat), Some(98765));
    let zombie = stat.replace(") S ", ") Z ");
    assert_eq!(parse_process_start(&zombie), None, "a zombie is not alive");
    assert!(process_start(std::process::id()).is_some());
}

#[test]
fn filesystems_are_classified_by_magic_and_name() {
    assert_eq!(classify_magic(0xEF53), Magic::Local("ext4"));
    assert_eq!(classify_magic(0x6969), Magic::Shared("nfs"));
    assert_eq!(classify_magic(0x0BD0_0BD0), Magic::Shared("lustre"));
    assert_eq!(classify_magic(0x4750_4653), Magic::Shared("gpfs"));
    assert_eq!(classify_magic(0x6573_5546), Magic::Shared("fuse"));
    assert_eq!(classify_magic(0x1234), Magic::Unknown);
    assert!(is_shared_name("fuse.sshfs") && is_shared_name("nfs4") && !is_shared_name("ext4"));
    let table = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                 40 22 0:40 / /mnt/shared\\040cache rw - fuse.sshfs host:/x rw\n";
    assert_eq!(
        mount_fstype_in(table, Path::new("/mnt/shared cache/hub")).as_deref(),
        Some("fuse.sshfs")
    );
    assert_eq!(
        mount_fstype_in(table, Path::new("/home/a")).as_deref(),
        Some("ext4")
    );
}

#[test]
fn a_local_temporary_folder_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let trust = lock_trust(dir.path());
    assert!(trust.flock_works, "{trust:?}");
    assert!(!trust.cluster_wide, "{trust:?}");
}

#[test]
fn cluster_filesystems_are_candidates_by_type_and_options() {
    let mount = |fstype: &str, options: &str| MountEntry {
        fstype: fstype.to_string(),
        options: options.to_string(),
    };
    assert!(cluster_wide_by_mount(&mount(
        "fuse.glusterfs",
        "rw,relatime,rw,user_id=0"
    )));
    assert!(cluster_wide_by_mount(&mount("ceph", "rw,name=admin")));
    assert!(cluster_wide_by_mount(&mount(
        "lustre",
        "rw,flock,lazystatfs"
    )));
    assert!(!cluster_wide_by_mount(&mount("lustre", "rw,localflock")));
    assert!(!cluster_wide_by_mount(&mount("lustre", "rw,noflock")));
    assert!(cluster_wide_by_mount(&mount(
        "nfs4",
        "rw,vers=4.2,local_lock=none"
    )));
    assert!(!cluster_wide_by_mount(&mount(
        "nfs4",
        "rw,vers=4.2,local_lock=flock"
    )));
    assert!(!cluster_wide_by_mount(&mount("nfs4", "rw,local_lock=all")));
    assert!(cluster_wide_by_mount(&mount("nfs", "rw,vers=4.1")));
    assert!(!cluster_wide_by_mount(&mount(
        "nfs",
        "rw,vers=3,local_lock=none"
    )));
    assert!(!cluster_wide_by_mount(&mount("fuse.sshfs", "rw")));
    assert!(!cluster_wide_by_mount(&mount("gpfs", "rw")));
}

#[test]
fn a_mount_entry_carries_type_and_both_option_fields() {
    let table = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                 48 27 0:40 / /mnt/gv rw,relatime - fuse.glusterfs 10.0.0.1:gv0 rw,user_id=0\n";
    let entry = mount_in(table, Path::new("/mnt/gv/hub")).unwrap();
    assert_eq!(entry.fstype, "fuse.glusterfs");
    assert_eq!(entry.options, "rw,relatime,rw,user_id=0");
}

#[test]
fn the_kernel_lock_table_is_searched_by_device_and_inode() {
    let table = "1: POSIX  ADVISORY  WRITE 15299 fe:00:10010723 0 EOF\n\
                 2: FLOCK  ADVISORY  WRITE 14640 00:28:5390917 0 EOF\n\
                 3: -> FLOCK  ADVISORY  WRITE 14641 00:28:5390917 0 EOF\n";
    let dev = rustix::fs::makedev(0, 0x28) as u64;
    assert!(lock_table_has(table, dev, 5390917));
    assert!(!lock_table_has(table, dev, 539091));
    assert!(!lock_table_has(
        table,
        rustix::fs::makedev(0, 0x29) as u64,
        5390917
    ));
}

/// On a local disk the probe's own lock is in the kernel's table (how an sshfs mount, whose
/// locks the kernel keeps for it, is told from GlusterFS, whose locks are its own).
#[test]
fn a_local_lock_is_in_the_kernel_lock_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = File::create(dir.path().join("x")).unwrap();
    file.lock().unwrap();
    assert!(super::filesystem::kernel_holds_lock_on(&file));
}

#[tokio::test]
async fn a_second_claim_waits_and_sees_the_owner_then_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_secs(30));
    let lease = own(&claim).await;
    std::fs::write(lease.partial(), b"12345").unwrap();
    let waiter = {
        let claim = claim.clone();
        tokio::spawn(async move {
            let mut seen = Seen::default();
            let end = super::claim(claim, &mut seen).await.unwrap();
            (matches!(end, Claim::Done { .. }), seen.0)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(has_live_owner(&claim.blobs, &claim.etag));
    std::fs::rename(lease.partial(), claim.blob_path()).unwrap();
    std::fs::write(claim.blob_path(), b"0123456789").unwrap();
    drop(lease);
    let (done, seen) = waiter.await.unwrap();
    assert!(done, "the waiter did not download the blob itself");
    let last = seen.last().unwrap();
    let owner = last.owner.as_ref().unwrap();
    assert_eq!(owner.pid, std::process::id());
    assert_eq!(last.done, 5, "the owner's progress is shown");
    assert!(!claim.lease_path().exists(), "the lease is removed");
    assert!(!has_live_owner(&claim.blobs, &claim.etag));
}

#[tokio::test]
async fn a_dead_owner_on_this_machine_is_taken_over_at_once_and_its_partial_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_secs(30));
    let mut owner = foreign_lease(&claim, 4);
    // Same machine, a process that no longer exists.
    let me = machine();
    owner.boot_id = me.boot_id.clone();
    owner.pid_ns = me.pid_ns.clone();
    owner.host = me.host.clone();
    owner.process_start = u64::MAX;
    std::fs::write(claim.lease_path(), serde_json::to_vec(&owner).unwrap()).unwrap();
    std::fs::write(
        chunk_record_path(&owner.partial_path(&claim.blobs, &claim.etag)),
        "{}",
    )
    .unwrap();
    let mut claimer = Claimer::new(claim.clone());
    let Step::Acquired(pending) = claimer.step().unwrap() else {
        panic!("a dead owner's lease is taken over at the first look");
    };
    let lease = pending.start();
    assert_eq!(std::fs::read(lease.partial()).unwrap(), b"xxxx");
    assert!(
        chunk_record_path(lease.partial()).exists(),
        "the chunk record moves along"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "lease, partial, record: {names:?}");
}

/// Moves the claim's last sighting of the lease `by` into the past, as if the lease had stayed
/// the same for that long.
fn age_sighting(claimer: &mut Claimer, by: Duration) {
    let (_, since) = claimer.last_sighting.as_mut().expect("the lease was seen");
    *since = since.checked_sub(by).unwrap();
}

#[tokio::test]
async fn another_machines_lease_is_taken_over_only_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(600);
    let claim = blob_claim(dir.path(), timeout);
    foreign_lease(&claim, 3);
    assert!(
        has_live_owner(dir.path(), "e7a6"),
        "another machine's fresh lease is live"
    );
    let mut claimer = Claimer::new(claim.clone());
    for look in 0..3 {
        assert!(
            matches!(claimer.step().unwrap(), Step::Wait(_)),
            "look {look}: a lease seen unchanged for less than the timeout is waited for"
        );
    }
    age_sighting(&mut claimer, timeout - Duration::from_secs(1));
    assert!(matches!(claimer.step().unwrap(), Step::Wait(_)));
    age_sighting(&mut claimer, Duration::from_secs(1));
    let Step::Acquired(pending) = claimer.step().unwrap() else {
        panic!("a lease silent for the whole timeout is taken over");
    };
    let lease = pending.start();
    assert_eq!(std::fs::read(lease.partial()).unwrap(), b"xxx");
    assert!(lease_is_ours(&claim.lease_path(), &lease.token));
}

/// Trust as on a shared filesystem: `cluster_wide` as given, never coherent.
fn shared_trust(cluster_wide: bool) -> LockTrust {
    LockTrust {
        filesystem: "fuse.glusterfs".to_string(),
        coherent: false,
        cluster_wide,
        flock_works: true,
    }
}

/// A lease read on a shared filesystem may be a stale copy of a replaced one (GlusterFS shows
/// old content for up to about a second): a dead owner named by it is a verdict only once the
/// content stayed the same for the stale window, and a change in between starts it again.
#[test]
fn on_a_shared_filesystem_a_dead_owner_is_judged_only_from_settled_content() {
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_secs(600));
    let mut owner = foreign_lease(&claim, 4);
    let me = machine();
    owner.boot_id = me.boot_id.clone();
    owner.pid_ns = me.pid_ns.clone();
    owner.process_start = u64::MAX;
    std::fs::write(claim.lease_path(), serde_json::to_vec(&owner).unwrap()).unwrap();
    let mut claimer = Claimer::new(claim.clone());
    claimer.trust = Some(shared_trust(false));
    assert!(
        matches!(claimer.step().unwrap(), Step::Wait(_)),
        "content just read is not trusted"
    );
    // The true content arrives: another owner (alive, on another machine) replaced the lease.
    std::thread::sleep(Duration::from_millis(5));
    owner.boot_id = "another-boot".to_string();
    owner.token = "hfget-00000000000000cd".to_string();
    std::fs::write(claim.lease_path(), serde_json::to_vec(&owner).unwrap()).unwrap();
    age_sighting(&mut claimer, STALE_WINDOW);
    assert!(
        matches!(claimer.step().unwrap(), Step::Wait(_)),
        "a changed lease starts the window again"
    );
    age_sighting(&mut claimer, STALE_WINDOW);
    assert!(
        matches!(claimer.step().unwrap(), Step::Wait(_)),
        "a live owner on another machine is waited for"
    );
    // Now a dead owner's lease that stays.
    owner.boot_id = me.boot_id.clone();
    std::fs::write(claim.lease_path(), serde_json::to_vec(&owner).unwrap()).unwrap();
    assert!(matches!(claimer.step().unwrap(), Step::Wait(_)));
    age_sighting(&mut claimer, STALE_WINDOW);
    assert!(
        matches!(claimer.step().unwrap(), Step::Acquired(_)),
        "a dead owner's settled lease is taken over"
    );
}

/// Where locks are cluster-wide, the waiter that gets the flock takes over the lease of an
/// owner that held it (it is gone: a dead process's lock is freed) without waiting for the
/// lease timeout; an owner that took no flock is still judged by its heartbeat.
#[test]
fn where_locks_are_cluster_wide_the_flock_ends_the_wait_for_an_owner_that_held_it() {
    for owner_held_flock in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let mut claim = blob_claim(dir.path(), Duration::from_secs(3600));
        claim.lock_path = Some(dir.path().join(".locks/e7a6.lock"));
        let mut owner = foreign_lease(&claim, 4);
        owner.flock = owner_held_flock;
        std::fs::write(claim.lease_path(), serde_json::to_vec(&owner).unwrap()).unwrap();
        let mut claimer = Claimer::new(claim.clone());
        claimer.trust = Some(shared_trust(true));
        assert!(matches!(claimer.step().unwrap(), Step::Wait(_)));
        assert!(claimer.flock.is_some(), "the flock was free");
        age_sighting(&mut claimer, STALE_WINDOW);
        match claimer.step().unwrap() {
            Step::Acquired(pending) => {
                assert!(
                    owner_held_flock,
                    "an owner without the flock was taken over"
                );
                assert!(
                    pending.owner.flock,
                    "the new lease says its owner holds the flock"
                );
                assert!(pending.flock.is_some());
            }
            Step::Wait(_) => assert!(!owner_held_flock, "the dead flock holder was waited for"),
            Step::Done => panic!("no blob was placed"),
        }
    }
}

/// Without cluster-wide locks, the flock proves nothing about another machine's owner.
#[test]
fn where_locks_are_not_cluster_wide_the_flock_does_not_end_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut claim = blob_claim(dir.path(), Duration::from_secs(3600));
    claim.lock_path = Some(dir.path().join(".locks/e7a6.lock"));
    let mut owner = foreign_lease(&claim, 4);
    owner.flock = true;
    std::fs::write(claim.lease_path(), serde_json::to_vec(&owner).unwrap()).unwrap();
    let mut claimer = Claimer::new(claim.clone());
    claimer.trust = Some(shared_trust(false));
    assert!(matches!(claimer.step().unwrap(), Step::Wait(_)));
    age_sighting(&mut claimer, STALE_WINDOW);
    assert!(matches!(claimer.step().unwrap(), Step::Wait(_)));
}

#[test]
fn older_leases_without_the_flock_field_still_parse() {
    let text = br#"{"version":1,"host":"h","boot_id":"b","pid_ns":"p","pid":1,"process_start":2,"token":"hfget-1","file":"f","size":3}"#;
    let owner = parse_owner(text).expect("parses");
    assert!(!owner.flock, "not assumed");
}

/// A heartbeat changes the lease: a waiter that saw it unchanged for almost the whole timeout
/// starts counting again after the next beat, so it never takes the owner over.
#[tokio::test]
async fn a_heartbeating_owner_is_never_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_millis(600);
    let claim = blob_claim(dir.path(), timeout);
    let lease = own(&claim).await;
    // Looks like another machine's lease (so liveness cannot be checked), kept alive by
    // the owner's heartbeat only.
    let content = std::fs::read(claim.lease_path()).unwrap();
    let mut owner = parse_owner(&content).unwrap();
    owner.boot_id = "another-boot".to_string();
    let mut text = serde_json::to_vec(&owner).unwrap();
    text.push(b'\n');
    text.extend_from_slice(&beat_line(0));
    std::fs::write(claim.lease_path(), &text).unwrap();
    let mut claimer = Claimer::new(claim.clone());
    assert!(matches!(claimer.step().unwrap(), Step::Wait(_)));
    age_sighting(&mut claimer, timeout - Duration::from_millis(1));
    // Wait for the next beat (the beat rewrites the counter through the owner's descriptor).
    while std::fs::read(claim.lease_path()).unwrap() == text {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before_the_look = Instant::now();
    assert!(
        matches!(claimer.step().unwrap(), Step::Wait(_)),
        "a beating owner is waited for"
    );
    let (_, since) = claimer.last_sighting.as_ref().unwrap();
    assert!(*since >= before_the_look, "the beat restarted the count");
    drop(lease);
}

#[tokio::test]
async fn an_owner_whose_lease_was_taken_over_learns_it() {
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_millis(300));
    let lease = own(&claim).await;
    std::fs::remove_file(claim.lease_path()).unwrap();
    let newer = own(&claim).await;
    tokio::time::timeout(Duration::from_secs(5), lease.lost())
        .await
        .expect("the first owner notices");
    drop(lease);
    assert!(
        lease_is_ours(&claim.lease_path(), &newer.token),
        "the old owner leaves the new lease alone"
    );
}

/// Asked at once, not at the next heartbeat (a long timeout keeps the heartbeat away).
#[tokio::test]
async fn an_owner_can_ask_at_once_whether_its_lease_was_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_secs(30));
    let lease = own(&claim).await;
    assert!(!lease.is_taken_over().await);
    std::fs::remove_file(claim.lease_path()).unwrap();
    let newer = own(&claim).await;
    assert!(lease.is_taken_over().await);
    assert!(!newer.is_taken_over().await);
}

#[tokio::test]
async fn releasing_every_held_lease_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_secs(30));
    let lease = own(&claim).await;
    release_all_held();
    assert!(!claim.lease_path().exists());
    drop(lease);
}

#[tokio::test]
async fn cache_cleaning_sees_a_live_lease_as_a_held_lock() {
    // <cache>/.locks/<folder>/<etag>.lock and <cache>/<folder>/blobs/<etag>.lease
    let cache = tempfile::tempdir().unwrap();
    let blobs = cache.path().join("models--acme--x/blobs");
    let lock = cache.path().join(".locks/models--acme--x/e7a6.lock");
    std::fs::create_dir_all(&blobs).unwrap();
    let claim = blob_claim(&blobs, Duration::from_secs(30));
    let lease = own(&claim).await;
    assert!(matches!(
        BlobLock::try_acquire(&lock),
        super::super::lock::Probe::Held
    ));
    drop(lease);
    assert!(matches!(
        BlobLock::try_acquire(&lock),
        super::super::lock::Probe::Free(None)
    ));
}

#[tokio::test]
async fn an_appending_owner_that_wakes_up_after_a_takeover_cannot_touch_the_adopted_partial() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_millis(300));
    let owner = foreign_lease(&claim, 4);
    // The frozen owner's descriptor, as the single-stream path holds it (append mode).
    let mut zombie = std::fs::OpenOptions::new()
        .append(true)
        .open(owner.partial_path(&claim.blobs, &claim.etag))
        .unwrap();
    let lease = own(&claim).await;
    assert_eq!(std::fs::read(lease.partial()).unwrap(), b"xxxx");
    zombie.write_all(b"ZZ").unwrap();
    drop(zombie);
    assert_eq!(
        std::fs::read(lease.partial()).unwrap(),
        b"xxxx",
        "the old owner's late writes land in a file of its own"
    );
}

#[tokio::test]
async fn a_lease_older_than_the_timeout_and_the_skew_margin_is_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_secs(30));
    foreign_lease(&claim, 2);
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    File::options()
        .write(true)
        .open(claim.lease_path())
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let mut claimer = Claimer::new(claim.clone());
    let Step::Acquired(pending) = claimer.step().unwrap() else {
        panic!("a lease that old is taken over at the first look, not after the timeout");
    };
    let lease = pending.start();
    assert_eq!(std::fs::read(lease.partial()).unwrap(), b"xx");
}

/// The window `faults::concurrent_processes_download_each_blob_once` hit under load: the owner
/// before us placed the blob and let go after our first look, and we then won the lease.
#[test]
fn a_lease_won_after_the_blob_appeared_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let claim = blob_claim(dir.path(), Duration::from_secs(30));
    let mut claimer = Claimer::new(claim.clone());
    let lease = claimer.create().unwrap().expect("the lease is free");
    std::fs::write(claim.blob_path(), b"0123456789").unwrap();
    assert!(matches!(claimer.acquired(lease), Step::Done));
    assert!(!claim.lease_path().exists(), "the won lease is given back");
}

#[test]
fn one_listing_tells_which_blobs_have_files_of_earlier_runs() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("blobs");
    assert_eq!(
        etags_with_files(&blobs),
        Some(Default::default()),
        "no folder yet: nothing there"
    );
    std::fs::create_dir(&blobs).unwrap();
    for name in [
        "aaaa",
        "bbbb.hfget-1.incomplete",
        "bbbb.hfget-1.incomplete.chunks",
        ".cccc.1a2b3c4d.tmp",
        "dddd.lease",
        "eeee.incomplete",
    ] {
        std::fs::write(blobs.join(name), "x").unwrap();
    }
    let etags = etags_with_files(&blobs).unwrap();
    let mut found: Vec<&str> = etags.iter().map(String::as_str).collect();
    found.sort_unstable();
    assert_eq!(
        found,
        ["bbbb", "cccc", "dddd", "eeee"],
        "a complete blob alone is not an earlier run's file"
    );
}

#[test]
fn without_earlier_files_a_claim_adopts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut claim = blob_claim(dir.path(), Duration::from_secs(30));
    let old = dir.path().join(format!("{}.incomplete", claim.etag));
    std::fs::write(&old, "12345").unwrap();
    claim.earlier_files = false;
    let partial = dir.path().join("mine.incomplete");
    assert_eq!(adopt_partials(&claim, &partial), 0);
    assert!(old.exists(), "not looked for");
    claim.earlier_files = true;
    assert_eq!(adopt_partials(&claim, &partial), 5);
}
