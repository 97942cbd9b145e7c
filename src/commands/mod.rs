//! One file per command. Each takes its parsed arguments and the shared [`Settings`], and returns
//! the exit code of a successful run or an [`Error`].

pub mod auth;
pub mod cache;
pub mod completions;
pub mod doctor;
pub mod download;
pub mod env;
pub mod login;
pub mod logout;
pub mod whoami;

use std::io::Write;

use crate::error::Error;

/// `--token ""` (typically `--token "$UNSET_VARIABLE"`) is refused rather than read as "no
/// flag", which would silently send another identity's token (issue #13.12).
pub fn non_empty_token(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("the token is empty (an unset variable?). Pass a token, or leave --token out to use HF_TOKEN or your login".to_string());
    }
    Ok(text.to_string())
}

/// Writes a result line to stdout. A closed pipe (`hfget … | head -1`) is not an error.
pub fn print_stdout(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Output(e)),
    }
}
