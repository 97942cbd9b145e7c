//! One module per command. Each takes its parsed arguments and the shared [`Settings`], turns
//! them into calls to the domain modules (`auth`, `cache`, `download`, `doctor`, `hub`), prints
//! the result through [`crate::output`], and returns the exit code of a successful run or an
//! [`Error`]. Commands never call one another: what two of them share lives in a domain module.
//!
//! [`Settings`]: crate::env::Settings

pub mod auth;
pub mod cache;
pub mod completions;
pub mod doctor;
pub mod download;
pub mod env;
pub mod login;
pub mod logout;
pub mod whoami;

/// `--token ""` (typically `--token "$UNSET_VARIABLE"`) is refused rather than read as "no
/// flag", which would silently send another identity's token.
pub fn non_empty_token(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("the token is empty (an unset variable?). Pass a token, or leave --token out to use HF_TOKEN or your login".to_string());
    }
    Ok(text.to_string())
}
