//! Download progress: one overall bar (bytes, rate, ETA) plus a bar per large file while it
//! transfers. Off when stderr is not a terminal, with `--quiet`, with `-v` (bars and
//! trace lines would interleave), or with `HF_HUB_DISABLE_PROGRESS_BARS=1`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Verbosity, attach_progress, verbosity};

/// Files at least this large get their own bar; smaller ones only move the overall bar.
const PER_FILE_BAR_THRESHOLD: u64 = 8 * 1024 * 1024;

/// The per-file bar for a terminal `columns` wide: the counters take up to 48 columns
/// (`1023.99 MiB/1023.99 MiB 1023.99 MiB/s` and the brackets), the name what remains up to 30
/// (truncated by display width), the bar the rest, so the line never wraps onto a second row
/// (on 60 columns the fixed 30+30 layout took two rows).
pub(crate) fn file_bar_template(columns: usize) -> String {
    let name = columns.saturating_sub(48).clamp(8, 30);
    format!(
        "  {{msg:{name}!}} [{{wide_bar}}] {{binary_bytes}}/{{binary_total_bytes}} {{binary_bytes_per_sec}}"
    )
}

/// How often the overall bar redraws when no byte moves, so that its rate and ETA keep telling
/// the truth during a stall.
const HEARTBEAT: Duration = Duration::from_millis(200);

/// Redraws `bar` every [`HEARTBEAT`] until it is finished or dropped. indicatif's steady tick
/// would do that too, but it also stops `inc` from drawing: the overall bar then lagged the
/// file bars by up to 200 ms, 110 MiB at 1 GB/s ("1 file … 645 MiB" above "model-0 … 755 MiB",
/// seen in a real terminal).
fn keep_drawing(bar: &ProgressBar) {
    let bar = bar.downgrade();
    let _ = std::thread::Builder::new()
        .name("progress".to_string())
        .spawn(move || {
            loop {
                std::thread::sleep(HEARTBEAT);
                match bar.upgrade() {
                    Some(bar) if !bar.is_finished() => bar.tick(),
                    _ => break,
                }
            }
        });
}

pub struct Progress {
    multi: Option<MultiProgress>,
    overall: ProgressBar,
}

impl Progress {
    /// `forced`: `Some(false)` from `HF_HUB_DISABLE_PROGRESS_BARS=1`, `Some(true)` from `=0`.
    pub fn new(total_bytes: u64, files: usize, forced: Option<bool>) -> Progress {
        let wanted = match forced {
            Some(choice) => choice,
            None => std::io::stderr().is_terminal(),
        };
        let enabled = wanted && verbosity() == Verbosity::Normal;
        if !enabled {
            return Progress {
                multi: None,
                overall: ProgressBar::hidden(),
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let overall = multi.add(ProgressBar::new(total_bytes));
        overall.set_style(
            ProgressStyle::with_template(
                "{msg:>12} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        overall.set_message(format!("{files} file{}", if files == 1 { "" } else { "s" }));
        keep_drawing(&overall);
        attach_progress(Some(multi.clone()));
        Progress {
            multi: Some(multi),
            overall,
        }
    }

    /// A handle for one file's transfer. Large files get a bar of their own.
    pub fn file(&self, name: &str, size: u64) -> FileProgress {
        let bar = match &self.multi {
            Some(multi) if size >= PER_FILE_BAR_THRESHOLD => {
                let bar = multi.insert_after(&self.overall, ProgressBar::new(size));
                bar.set_style(
                    ProgressStyle::with_template(&file_bar_template(super::terminal_width()))
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_message(name.to_string());
                Some(bar)
            }
            _ => None,
        };
        FileProgress {
            overall: self.overall.clone(),
            bar,
        }
    }

    pub fn finish(&self) {
        self.overall.finish_and_clear();
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
        attach_progress(None);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        attach_progress(None);
    }
}

/// Progress of one file; cheap to clone into transfer tasks.
#[derive(Clone)]
pub struct FileProgress {
    overall: ProgressBar,
    bar: Option<ProgressBar>,
}

impl FileProgress {
    pub fn hidden() -> FileProgress {
        FileProgress {
            overall: ProgressBar::hidden(),
            bar: None,
        }
    }

    pub fn advance(&self, bytes: u64) {
        self.overall.inc(bytes);
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Credits bytes already on disk (a resumed file): they move the bars, but the rate
    /// estimate starts over so a resumed file does not show GiB/s.
    pub fn advance_resumed(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.overall.inc(bytes);
        self.overall.reset_eta();
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            bar.reset_eta();
        }
    }

    /// Takes back bytes counted by an attempt that had to be discarded (a corrupt or restarted
    /// transfer), so the totals stay honest.
    pub fn rewind(&self, bytes: u64) {
        self.overall
            .set_position(self.overall.position().saturating_sub(bytes));
        if let Some(bar) = &self.bar {
            bar.set_position(bar.position().saturating_sub(bytes));
            bar.reset_eta();
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Replaces the file bar's label, e.g. while another process downloads it.
    pub fn set_label(&self, label: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(label);
        }
    }
}
