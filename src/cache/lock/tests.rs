use super::*;

#[tokio::test]
async fn second_holder_waits_for_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".locks/r/x.lock");
    let first = BlobLock::acquire(&path, "x").await.unwrap();
    let waiter = {
        let path = path.clone();
        tokio::spawn(async move { BlobLock::acquire(&path, "x").await.map(|_| Instant::now()) })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let released = Instant::now();
    drop(first);
    let acquired = waiter.await.unwrap().unwrap();
    assert!(acquired >= released);
}

#[tokio::test]
async fn try_acquire_sees_a_live_holder_and_frees_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".locks/r/x.lock");
    assert!(matches!(BlobLock::try_acquire(&path), Probe::Free(None)));
    let holder = BlobLock::acquire(&path, "x").await.unwrap();
    assert!(matches!(BlobLock::try_acquire(&path), Probe::Held));
    drop(holder);
    let Probe::Free(Some(taken)) = BlobLock::try_acquire(&path) else {
        panic!("the lock should be free once its holder is gone");
    };
    assert!(taken.is_held());
    assert!(matches!(BlobLock::try_acquire(&path), Probe::Held));
}

/// The waiting thread hears of the release: it holds the lock after the holder let go, never
/// before.
#[tokio::test]
async fn a_lock_waited_for_in_a_thread_arrives_once_its_holder_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".locks/r/x.lock");
    let holder = BlobLock::acquire(&path, "x").await.unwrap();
    let mut receiver = BlobLock::wait_in_thread(&path);
    for _ in 0..5 {
        tokio::task::yield_now().await;
        assert!(
            matches!(
                receiver.try_recv(),
                Err(tokio::sync::oneshot::error::TryRecvError::Empty)
            ),
            "not while the holder holds it"
        );
    }
    drop(holder);
    let lock = receiver.await.expect("the thread got the lock");
    assert!(lock.is_held());
    assert!(matches!(BlobLock::try_acquire(&path), Probe::Held));
    drop(lock);
    assert!(matches!(BlobLock::try_acquire(&path), Probe::Free(Some(_))));
}
