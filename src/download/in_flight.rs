//! Work that may still touch a download's files after the future that started it was dropped:
//! a segmented transfer's writer and hasher threads finish the chunks already queued to them.
//! Whoever cleans up after a cancelled transfer waits until none is left, instead of guessing
//! how long they take.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub(crate) struct InFlight(Arc<Inner>);

#[derive(Default)]
struct Inner {
    count: AtomicUsize,
    idle: Notify,
}

/// Held by the work in flight; dropping the last one wakes [`InFlight::idle`].
pub(crate) struct Token(Arc<Inner>);

impl InFlight {
    pub(crate) fn enter(&self) -> Token {
        self.0.count.fetch_add(1, Ordering::AcqRel);
        Token(self.0.clone())
    }

    /// Returns once no token is held.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.0.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_waits_for_the_last_token_held_on_another_thread() {
        let in_flight = InFlight::default();
        in_flight.idle().await;
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (first, second) = (in_flight.enter(), in_flight.enter());
        let (wrote_tx, wrote) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            drop(first);
            // The work's last write happens before its token goes.
            released.recv().unwrap();
            wrote_tx.send(()).unwrap();
            drop(second);
        });
        release.send(()).unwrap();
        in_flight.idle().await;
        assert!(
            wrote.try_recv().is_ok(),
            "idle returned before the last write"
        );
        thread.join().unwrap();
    }
}
