//! The exit codes `hfget` shares across commands (README "Exit codes", docs/exit-codes.md), and
//! [`Class`], the one classification of a failure from which both its exit code and its JSON
//! `cause` come. A leaf module, so that any layer (auth, hub, doctor) can name a code without
//! importing the top-level error, which imports them all.

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_FOUND: u8 = 3;
pub const TOKEN: u8 = 4;
pub const ACCESS: u8 = 5;
pub const NETWORK: u8 = 6;
pub const HUB_UNAVAILABLE: u8 = 7;
pub const INTEGRITY: u8 = 8;
pub const LOCAL: u8 = 9;
pub const OFFLINE: u8 = 10;
pub const INTERRUPTED: u8 = 130;
/// Stopped by SIGHUP (128 + 1).
pub const HANGUP: u8 = 129;
/// Stopped by SIGTERM (128 + 15).
pub const TERMINATED: u8 = 143;

/// What a failure is, for scripts: the exit code of its family and a stable, machine-readable
/// cause (the `cause` of `--json` failures). Every error type has one `classify()` returning
/// this, so the two can never disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    pub code: u8,
    pub cause: &'static str,
}

impl Class {
    pub const fn new(code: u8, cause: &'static str) -> Class {
        Class { code, cause }
    }
}
