//! What a run shows while another process, on this machine or another one sharing the cache,
//! downloads a blob it needs (a frozen `0 B/1.40 GiB` would say nothing). The
//! file's bar follows the owner's progress, and stderr says who is downloading it.

use std::time::{Duration, Instant};

use super::events::Events;
use super::report::{Meter, Note};
use crate::cache::lease::{Holder, Waiter};

/// A wait this short is not worth a line (several small files often wait a moment each).
const FIRST_NOTE_AFTER: Duration = Duration::from_secs(1);
const NOTE_EVERY: Duration = Duration::from_secs(15);

pub(super) struct WaitDisplay<'a> {
    progress: &'a Meter,
    events: &'a Events,
    file: &'a str,
    /// Bytes of the owner's progress shown on this run's bars.
    credited: u64,
    started: Instant,
    last_note: Option<Instant>,
    labelled: bool,
}

impl<'a> WaitDisplay<'a> {
    pub(super) fn new(progress: &'a Meter, events: &'a Events, file: &'a str) -> WaitDisplay<'a> {
        WaitDisplay {
            progress,
            events,
            file,
            credited: 0,
            started: Instant::now(),
            last_note: None,
            labelled: false,
        }
    }

    /// This run now downloads the file itself: the engine credits what it resumes.
    pub(super) fn hand_over(&mut self) {
        self.progress.rewind(self.credited);
        self.credited = 0;
        if self.labelled {
            self.progress.set_label(self.file.to_string());
        }
        if self.last_note.is_some() {
            self.events.note(Note::TakingOver {
                path: self.file.to_string(),
            });
        }
    }

    /// The owner placed the file.
    pub(super) fn finish(&mut self) {
        if self.last_note.is_some() {
            self.events.note(Note::DownloadedByOther {
                path: self.file.to_string(),
            });
        }
        self.progress.finish();
    }

    fn follow(&mut self, done: u64) {
        if done > self.credited {
            self.progress.advance(done - self.credited);
        } else {
            self.progress.rewind(self.credited - done);
        }
        self.credited = done;
    }
}

impl Waiter for WaitDisplay<'_> {
    fn waiting(&mut self, holder: &Holder) {
        if holder.owner.as_ref().is_some_and(|o| o.is_this_process()) {
            // Two files of this run with the same content: the other job is fetching it.
            return;
        }
        self.follow(holder.done.min(holder.size));
        let who = match (&holder.owner, &holder.lock_path) {
            (Some(owner), _) => format!("{} pid {}", owner.host, owner.pid),
            (None, Some(lock)) => format!(
                "another process holding {} (Python, or an older hfget)",
                lock.display()
            ),
            (None, None) => return,
        };
        if !self.labelled {
            self.progress.set_label(format!("{} (waiting)", self.file));
            self.labelled = true;
        }
        let due = match self.last_note {
            None => self.started.elapsed() >= FIRST_NOTE_AFTER,
            Some(last) => last.elapsed() >= NOTE_EVERY,
        };
        if !due {
            return;
        }
        self.last_note = Some(Instant::now());
        let percent = holder
            .done
            .saturating_mul(100)
            .checked_div(holder.size)
            .unwrap_or(100);
        self.events.note(Note::Waiting {
            who,
            path: self.file.to_string(),
            percent,
        });
    }
}
