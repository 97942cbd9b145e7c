//! Echo off for the hidden token prompt, and always back on.
//!
//! Why not `rpassword`: it switches echo off and on inside the blocking read, on a thread the
//! top-level Ctrl-C handler cannot wait for, so an interrupted prompt raced: sometimes its own
//! "interrupted" error won, sometimes the process exited with echo still off. Here the switch
//! belongs to a guard held by the login's future: dropping the future (Ctrl-C) or finishing the
//! read restores the saved terminal settings synchronously, before any message is printed.

use std::io::Write;

/// Restores the terminal when dropped, and ends the prompt's line (the user's Enter is not
/// echoed with echo off, and Ctrl-C leaves the cursor after the prompt).
pub struct Guard {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl Guard {
    /// Saves stdin's terminal settings and, when `hidden`, switches echo off.
    pub fn new(hidden: bool) -> Guard {
        #[cfg(unix)]
        {
            let saved = hidden.then(echo_off).flatten();
            Guard { saved }
        }
        #[cfg(not(unix))]
        {
            let _ = hidden;
            Guard {}
        }
    }

    /// The read is over: restore now (same as dropping).
    pub fn finish(self) {}
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = self.saved.take() {
            // SAFETY: `saved` came from tcgetattr on the same descriptor.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
            let mut stderr = std::io::stderr();
            let _ = writeln!(stderr);
        }
    }
}

/// Switches echo off on stdin; the settings to restore, or `None` if stdin is not a terminal.
#[cfg(unix)]
fn echo_off() -> Option<libc::termios> {
    // SAFETY: termios is plain data; tcgetattr fills it or fails, and we check.
    unsafe {
        let mut saved: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
            return None;
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // Keep ECHONL so the Enter still moves to a new line, as getpass does.
        quiet.c_lflag |= libc::ECHONL;
        if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) != 0 {
            return None;
        }
        Some(saved)
    }
}
