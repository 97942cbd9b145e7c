use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// Hands out `new-1`, `new-2`, … and counts how often it was asked.
struct Counting {
    asked: AtomicUsize,
    gives: bool,
}

impl TokenRenewal for Counting {
    fn renew<'a>(&'a self, _rejected: &'a Token) -> Renewed<'a> {
        Box::pin(async move {
            let n = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
            // Let the other rejected requests pile up behind this renewal.
            tokio::task::yield_now().await;
            self.gives
                .then(|| Token::parse(&format!("hf_new{n}")))
                .flatten()
        })
    }
}

fn token(text: &str) -> Token {
    Token::parse(text).unwrap()
}

fn credential(gives: bool) -> (Arc<Counting>, Arc<Credential>) {
    let renewer = Arc::new(Counting {
        asked: AtomicUsize::new(0),
        gives,
    });
    let credential = Credential::new(Some(token("hf_old")), Some(renewer.clone()));
    (renewer, Arc::new(credential))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rejections_renew_once_and_all_retry_with_the_new_token() {
    let (renewer, credential) = credential(true);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let credential = credential.clone();
            tokio::spawn(async move { credential.after_rejection(&token("hf_old")).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Some(token("hf_new1")));
    }
    assert_eq!(renewer.asked.load(Ordering::SeqCst), 1);
    assert_eq!(credential.current(), Some(token("hf_new1")));
    // The renewed token rejected too: the renewer is not asked a second time.
    assert_eq!(credential.after_rejection(&token("hf_new1")).await, None);
    assert_eq!(renewer.asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_renewal_that_gave_nothing_is_not_asked_again() {
    let (renewer, credential) = credential(false);
    assert_eq!(credential.after_rejection(&token("hf_old")).await, None);
    assert_eq!(credential.after_rejection(&token("hf_old")).await, None);
    assert_eq!(renewer.asked.load(Ordering::SeqCst), 1);
    assert_eq!(credential.current(), Some(token("hf_old")));
}

#[tokio::test]
async fn without_a_renewer_a_rejection_stands() {
    let credential = Credential::new(Some(token("hf_old")), None);
    assert!(!credential.can_renew());
    assert_eq!(credential.after_rejection(&token("hf_old")).await, None);
}
