//! How the engine's tasks speak: they send [`Event`]s down a channel, and the task that runs
//! the download hands them to the [`Reporter`] (which only lives as long as that call), keeping
//! every warning for the report. Transfers run on tasks of their own, so they cannot borrow the
//! reporter; a channel also keeps the order in which things happened.

use tokio::sync::mpsc;

use super::report::{Note, Reporter, Warning};

pub(crate) enum Event {
    Warning(Warning),
    Note(Note),
    Debug(String),
}

/// The sending side, cheap to clone into every task.
#[derive(Clone)]
pub(crate) struct Events {
    sender: mpsc::UnboundedSender<Event>,
    debug: bool,
}

impl Events {
    pub(crate) fn warn(&self, warning: Warning) {
        let _ = self.sender.send(Event::Warning(warning));
    }

    pub(crate) fn note(&self, note: Note) {
        let _ = self.sender.send(Event::Note(note));
    }

    /// A trace line for `-v`, formatted only when someone reads it.
    pub(crate) fn debug(&self, line: impl FnOnce() -> String) {
        if self.debug {
            let _ = self.sender.send(Event::Debug(line()));
        }
    }
}

/// The receiving side: forwards to the reporter and keeps the warnings.
pub(crate) struct Inbox<'a> {
    receiver: mpsc::UnboundedReceiver<Event>,
    reporter: &'a dyn Reporter,
    pub(crate) warnings: Vec<Warning>,
}

pub(crate) fn channel(reporter: &dyn Reporter) -> (Events, Inbox<'_>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let events = Events {
        sender,
        debug: reporter.wants_debug(),
    };
    let inbox = Inbox {
        receiver,
        reporter,
        warnings: Vec::new(),
    };
    (events, inbox)
}

impl<'a> Inbox<'a> {
    pub(crate) fn reporter(&self) -> &'a dyn Reporter {
        self.reporter
    }

    /// Hands on whatever has arrived, without waiting.
    pub(crate) fn drain(&mut self) {
        while let Ok(event) = self.receiver.try_recv() {
            self.deliver(event);
        }
    }

    /// Waits for the next event (for a `select!` beside the transfers); `false` once no
    /// sender is left.
    pub(crate) async fn next(&mut self) -> bool {
        match self.receiver.recv().await {
            Some(event) => {
                self.deliver(event);
                true
            }
            None => false,
        }
    }

    fn deliver(&mut self, event: Event) {
        match event {
            Event::Warning(warning) => {
                self.reporter.warning(&warning);
                self.warnings.push(warning);
            }
            Event::Note(note) => self.reporter.note(&note),
            Event::Debug(line) => self.reporter.debug(&line),
        }
    }
}
