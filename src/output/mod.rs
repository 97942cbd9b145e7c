//! Everything the user sees on stderr: warnings, notes, debug traces and progress bars.
//!
//! stdout is reserved for results (a path, a table, or one JSON object) so `$(hfget download …)`
//! works: commands write them with [`print_stdout`] and [`print_json_pretty`], which treat a
//! closed pipe as the end of the reader's interest, not an error. Everything else here writes
//! to stderr. A single global
//! state decides how loud to be, and prints through the progress bars (`suspend`) so that a
//! warning never tears a bar (docs/design.md §3.1, indicatif patterns).

pub mod progress;
pub mod reporter;

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};

use indicatif::MultiProgress;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

struct State {
    verbosity: Verbosity,
    color: bool,
    progress: Mutex<Option<MultiProgress>>,
}

static STATE: OnceLock<State> = OnceLock::new();

/// Sets the verbosity once per process (later calls are ignored, which keeps tests simple).
pub fn init(verbosity: Verbosity, no_color: bool) {
    let color = !no_color && std::io::stderr().is_terminal();
    let _ = STATE.set(State {
        verbosity,
        color,
        progress: Mutex::new(None),
    });
}

fn state() -> &'static State {
    STATE.get_or_init(|| State {
        verbosity: Verbosity::Normal,
        color: false,
        progress: Mutex::new(None),
    })
}

pub fn verbosity() -> Verbosity {
    state().verbosity
}

pub fn color() -> bool {
    state().color
}

/// Registers the active progress display so messages print above it.
pub(crate) fn attach_progress(multi: Option<MultiProgress>) {
    if let Ok(mut slot) = state().progress.lock() {
        *slot = multi;
    }
}

/// The width of the terminal on stderr, or 80 when it is not one.
pub(crate) fn terminal_width() -> usize {
    terminal_size::terminal_size_of(std::io::stderr())
        .map(|(terminal_size::Width(w), _)| usize::from(w))
        .filter(|w| *w >= 20)
        .unwrap_or(80)
}

/// Word-wraps `text` (which may hold several lines) to `width` display columns; continuation
/// lines get `indent` spaces, or keep the indentation of the line they continue.
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let own_indent = line.len() - line.trim_start().len();
        let hanging = if index == 0 {
            indent
        } else {
            own_indent.max(2)
        };
        let mut current = " ".repeat(own_indent);
        for word in line.trim_start().split(' ') {
            let fits = current.width() + 1 + word.width() <= width;
            if current.trim().is_empty() || fits {
                if !current.trim().is_empty() {
                    current.push(' ');
                }
                current.push_str(word);
            } else {
                out.push(std::mem::take(&mut current));
                current = format!("{}{word}", " ".repeat(hanging));
            }
        }
        out.push(current);
    }
    out.join("\n")
}

fn emit(line: &str) {
    let print = || {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
    };
    let multi = state().progress.lock().ok().and_then(|slot| slot.clone());
    match multi {
        Some(multi) => multi.suspend(print),
        None => print(),
    }
}

/// A block of text for the reader on stderr (a diagnosis, a note between redraws). Like every
/// write to stderr here it ignores failures: a closed stderr (`2>&1 | true`) must never turn a
/// command's outcome into a panic or another exit code.
pub fn text(block: &str) {
    emit(block);
}

/// A prompt on stderr, without a newline, flushed so it shows before the read.
pub fn prompt(question: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{question}");
    let _ = stderr.flush();
}

fn styled(prefix: &str, ansi: &str) -> String {
    if color() {
        format!("\x1b[{ansi}m{prefix}\x1b[0m")
    } else {
        prefix.to_string()
    }
}

/// `1 file`, `2 files`: a count and its noun, in the right number ("1 repo(s)" reads like a
/// form, not a sentence). `noun` is the singular; English plurals here all take an `s`.
pub(crate) fn counted(count: impl Into<u64>, noun: &str) -> String {
    let count = count.into();
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `is` or `are`, to agree with [`counted`].
pub(crate) fn is_are(count: impl Into<u64>) -> &'static str {
    if count.into() == 1 { "is" } else { "are" }
}

/// Something the user should know that does not stop the command. Hidden by `--quiet`.
pub fn warn(message: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Normal {
        let message = redact_urls(&message.to_string());
        emit(&format!(
            "{} {}",
            styled("warning:", "1;33"),
            fit(&message, "warning: ")
        ));
    }
}

/// A neutral note (what is being done). Hidden by `--quiet`.
pub fn info(message: impl std::fmt::Display) {
    if verbosity() >= Verbosity::Normal {
        emit(&fit(&message.to_string(), ""));
    }
}

/// Detail for `-v`. The closure runs only when it will be printed.
pub fn debug(message: impl FnOnce() -> String) {
    if verbosity() >= Verbosity::Verbose {
        emit(&format!("{} {}", styled("debug:", "2"), message()));
    }
}

/// A fatal error, always printed; wrapped to the terminal's width, with
/// continuation lines under the message, not under `error:`.
pub fn error(message: impl std::fmt::Display) {
    // Messages may quote HF_ENDPOINT or a proxy URL: never their password.
    let message = redact_urls(&message.to_string());
    emit(&format!(
        "{} {}",
        styled("error:", "1;31"),
        fit(&message, "error: ")
    ));
}

/// The message wrapped for stderr when it is a terminal; as is when it is a pipe or a file
/// (scripts and logs get one line per message).
fn fit(message: &str, prefix: &str) -> String {
    if !std::io::stderr().is_terminal() {
        return message.to_string();
    }
    let wrapped = wrap(
        &format!("{prefix}{message}"),
        terminal_width(),
        prefix.len(),
    );
    wrapped.get(prefix.len()..).unwrap_or(message).to_string()
}

/// A fatal error and, with `-v`, what caused it: one `Caused by:` line per link of the source
/// chain, as uv prints it (an error without its cause is often useless). A cause whose text the line
/// above already contains is skipped; URLs lose their query string (CDN signatures) and any
/// password.
pub fn error_with_causes(error: &(dyn std::error::Error + 'static)) {
    self::error(error);
    print_causes(error);
}

/// The error after a Ctrl-C: on a terminal it starts at column 0, over the `^C` the terminal
/// echoed, so the wrapped lines keep their width.
pub fn interrupted(error: &(dyn std::error::Error + 'static)) {
    if std::io::stderr().is_terminal() {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r");
    }
    error_with_causes(error);
}

fn print_causes(error: &(dyn std::error::Error + 'static)) {
    if verbosity() < Verbosity::Verbose {
        return;
    }
    for cause in causes(error) {
        emit(&format!("  {} {cause}", styled("Caused by:", "2")));
    }
}

/// The source chain below `error`, redacted, without links that repeat the one above.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut above = error.to_string();
    let mut current = error.source();
    while let Some(cause) = current {
        let text = redact_urls(&cause.to_string());
        if !text.is_empty() && !above.contains(&text) {
            out.push(text.clone());
        }
        above = text;
        current = cause.source();
    }
    out
}

/// Every `http://` or `https://` URL in `text` without its query, fragment and password.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest
        .find("http://")
        .into_iter()
        .chain(rest.find("https://"))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>'))
            .unwrap_or(tail.len());
        let candidate = &tail[..end];
        // Removed as text, never re-serialised: that changed what a message says
        // (`HF_ENDPOINT=https://huggingface.co.` at a sentence's end became `….co./`).
        let kept = candidate.split(['?', '#']).next().unwrap_or_default();
        out.push_str(&mask_password(kept));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `url` with the password of its `user:password@` part, if any, replaced by `****`.
fn mask_password(url: &str) -> String {
    let Some(authority_start) = url.find("://").map(|at| at + 3) else {
        return url.to_string();
    };
    let authority_end = url[authority_start..]
        .find('/')
        .map_or(url.len(), |at| authority_start + at);
    let authority = &url[authority_start..authority_end];
    let Some(user_end) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..user_end].find(':') else {
        return url.to_string();
    };
    format!(
        "{}{}:****{}",
        &url[..authority_start],
        &authority[..colon],
        &url[authority_start + user_end..]
    )
}

/// stdout could not be written.
#[derive(Debug, thiserror::Error)]
#[error("Could not write the output: {0}.")]
pub struct OutputError(pub std::io::Error);

/// Writes a result line to stdout. A closed pipe (`hfget … | head -1`) is not an error.
pub fn print_stdout(text: &str) -> Result<(), OutputError> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(OutputError(e)),
    }
}

/// Writes `value` to stdout as indented JSON.
pub fn print_json_pretty(value: &impl serde::Serialize) -> Result<(), OutputError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| OutputError(std::io::Error::other(e)))?;
    print_stdout(&text)
}

/// Rows as columns padded to their widest cell; the columns in `right` right-aligned, and no
/// padding after a row's last cell.
pub fn table(rows: &[Vec<String>], right: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let width = widths[c];
                if right.contains(&c) {
                    format!("{cell:>width$}")
                } else if c + 1 == row.len() {
                    cell.clone()
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
