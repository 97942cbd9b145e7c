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
