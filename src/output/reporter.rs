//! The terminal's side of a download: progress bars on stderr, warnings and notes through the
//! usual channels, trace lines with `-v`. The engine only knows the [`Reporter`] trait.

use std::sync::{Arc, Mutex};

use super::progress::{FileProgress, Progress};
use super::{Verbosity, debug, info, verbosity, warn};
use crate::download::{FileMeter, Note, Reporter, Warning};

/// Bars while transfers run (when the terminal and the settings allow them).
pub struct TerminalReporter {
    /// `Some(false)`/`Some(true)` force bars off/on; `None` lets the terminal decide.
    bars: Option<bool>,
    progress: Mutex<Option<Progress>>,
}

impl TerminalReporter {
    pub fn new(bars: Option<bool>) -> TerminalReporter {
        TerminalReporter {
            bars,
            progress: Mutex::new(None),
        }
    }
}

impl Reporter for TerminalReporter {
    fn transfers_started(&self, bytes: u64, files: usize) {
        if let Ok(mut progress) = self.progress.lock() {
            *progress = Some(Progress::new(bytes, files, self.bars));
        }
    }

    fn file(&self, path: &str, size: u64) -> Arc<dyn FileMeter> {
        let file = self
            .progress
            .lock()
            .ok()
            .and_then(|progress| progress.as_ref().map(|p| p.file(path, size)));
        Arc::new(file.unwrap_or_else(FileProgress::hidden))
    }

    fn transfers_finished(&self) {
        if let Ok(mut progress) = self.progress.lock()
            && let Some(progress) = progress.take()
        {
            progress.finish();
        }
    }

    fn warning(&self, warning: &Warning) {
        warn(warning);
    }

    fn note(&self, note: &Note) {
        info(note);
    }

    fn wants_debug(&self) -> bool {
        verbosity() >= Verbosity::Verbose
    }

    fn debug(&self, line: &str) {
        debug(|| line.to_string());
    }
}

impl FileMeter for FileProgress {
    fn advance(&self, bytes: u64) {
        FileProgress::advance(self, bytes);
    }

    fn advance_resumed(&self, bytes: u64) {
        FileProgress::advance_resumed(self, bytes);
    }

    fn rewind(&self, bytes: u64) {
        FileProgress::rewind(self, bytes);
    }

    fn finish(&self) {
        FileProgress::finish(self);
    }

    fn set_label(&self, label: String) {
        FileProgress::set_label(self, label);
    }
}
