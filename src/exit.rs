//! The exit codes `hfget` shares across commands (README "Exit codes"). A leaf module, so that
//! any layer (auth, hub, doctor) can name a code without importing the top-level error, which
//! imports them all (issue #13: no back-edges).

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
