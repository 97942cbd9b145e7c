use super::filesystem::{Magic, classify_magic, is_shared_name, mount_fstype_in};
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
    let started = Instant::now();
    let lease = own(&claim).await;
    assert!(started.elapsed() < Duration::from_secs(5));
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

#[tokio::test]
async fn another_machines_lease_is_taken_over_only_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_millis(600);
    let claim = blob_claim(dir.path(), timeout);
    foreign_lease(&claim, 3);
    assert!(
        has_live_owner(dir.path(), "e7a6"),
        "another machine's fresh lease is live"
    );
    let started = Instant::now();
    let lease = own(&claim).await;
    let waited = started.elapsed();
    assert!(waited >= timeout, "taken over after {waited:?}");
    assert!(waited < timeout * 5, "taken over after {waited:?}");
    assert_eq!(std::fs::read(lease.partial()).unwrap(), b"xxx");
    assert!(lease_is_ours(&claim.lease_path(), &lease.token));
}

#[tokio::test]
async fn a_heartbeating_owner_is_never_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_millis(400);
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
    let waiter = tokio::spawn({
        let claim = claim.clone();
        async move { super::claim(claim, &mut Seen::default()).await.map(|_| ()) }
    });
    tokio::time::sleep(timeout * 4).await;
    if waiter.is_finished() {
        panic!("a live owner was taken over: {:?}", waiter.await.unwrap());
    }
    waiter.abort();
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
    let started = Instant::now();
    let lease = own(&claim).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no 30 s wait for a lease that old"
    );
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
