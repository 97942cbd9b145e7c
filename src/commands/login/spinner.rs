//! The wait for the browser approval: a spinner on a terminal, plain lines otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::auth::oauth::Waiting;
use crate::output;

/// "Waiting for approval" with a spinner on a terminal, and plain lines otherwise.
///
/// Drawn by hand (one line, rewritten in place with `\r`) rather than with indicatif: when
/// Ctrl-C drops the login mid-wait, the terminal has just echoed `^C` and indicatif's clear
/// left the spinner line behind. Here the last write is always "erase this line", made under
/// the same lock as every frame, so nothing is drawn after it.
pub(super) struct Spinner {
    line: Option<std::sync::Arc<std::sync::Mutex<SpinnerLine>>>,
    deadline: Instant,
}

struct SpinnerLine {
    message: String,
    frame: usize,
    stopped: bool,
}

impl SpinnerLine {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

    fn draw(&mut self) {
        if self.stopped {
            return;
        }
        self.frame = (self.frame + 1) % Self::FRAMES.len();
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r{} {}\x1b[K",
            Self::FRAMES[self.frame],
            self.message
        );
        let _ = stderr.flush();
    }

    fn erase(&self) {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[2K");
        let _ = stderr.flush();
    }
}

impl Spinner {
    pub(super) fn start(expires_in: Duration) -> Spinner {
        let deadline = Instant::now() + expires_in;
        let minutes = expires_in.as_secs().div_ceil(60);
        if !std::io::stderr().is_terminal() || output::verbosity() != output::Verbosity::Normal {
            output::info(format!(
                "Waiting for approval (the code expires in {minutes} min; Ctrl-C cancels)…"
            ));
            return Spinner {
                line: None,
                deadline,
            };
        }
        let line = std::sync::Arc::new(std::sync::Mutex::new(SpinnerLine {
            message: String::new(),
            frame: 0,
            stopped: false,
        }));
        let ticking = line.clone();
        tokio::spawn(async move {
            loop {
                match ticking.lock() {
                    Ok(mut line) if !line.stopped => line.draw(),
                    _ => return,
                }
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        });
        let spinner = Spinner {
            line: Some(line),
            deadline,
        };
        spinner.update(&Waiting::Pending);
        spinner
    }

    pub(super) fn update(&self, waiting: &Waiting) {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .as_secs();
        let status = format!(
            "Waiting for approval: {}:{:02} left (Ctrl-C cancels)",
            left / 60,
            left % 60
        );
        let note = match waiting {
            Waiting::Pending => None,
            Waiting::SlowedDown(interval) => Some(format!(
                "The Hub asked hfget to poll less often; now every {} s.",
                interval.as_secs()
            )),
            Waiting::Retrying(why) => Some(format!("{why}; still waiting.")),
        };
        match self.line.as_ref().and_then(|line| line.lock().ok()) {
            Some(mut line) => {
                if let Some(note) = note {
                    line.erase();
                    crate::output::text(&note);
                }
                line.message = status;
                line.draw();
            }
            None => {
                if let Some(note) = note {
                    output::info(note);
                }
            }
        }
    }

    pub(super) fn finish(&self) {
        if let Some(mut line) = self.line.as_ref().and_then(|line| line.lock().ok())
            && !line.stopped
        {
            line.stopped = true;
            line.erase();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        // Ctrl-C drops the future mid-wait: erase the spinner line (and the echoed `^C`)
        // before the message.
        self.finish();
    }
}
