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
