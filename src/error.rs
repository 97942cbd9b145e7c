//! The top-level error: every module's error, the exit code of its family, and a hint.
//!
//! Exit codes are part of hfget's interface (README "Exit codes"), shared by `download` and
//! `doctor` so scripts can branch on the family of a failure:
//!
//! | code | family |
//! |---|---|
//! | 0 | success |
//! | 1 | unexpected error |
//! | 2 | invalid command line or input |
//! | 3 | not found: repository, revision or file |
//! | 4 | token problem: missing, invalid, or lacking a permission |
//! | 5 | account or repository access refused: gated, org policy, disabled |
//! | 6 | network: the endpoint cannot be reached |
//! | 7 | the Hub is busy or failing: rate limit, server errors |
//! | 8 | integrity: corrupted or inconsistent data, not a Hub answer |
//! | 9 | local filesystem: disk full, permissions |
//! | 10 | offline mode and not in the cache |
//! | 130 | interrupted (Ctrl-C) |

use crate::auth::AuthError;
use crate::cache::CacheError;
use crate::download::DownloadError;
use crate::hub::HubError;
use crate::hub::repo::RepoIdError;

pub(crate) use crate::exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    RepoId(#[from] RepoIdError),
    // Boxed: these carry the failed response's details, and a large `Err` slows every `?`.
    #[error(transparent)]
    Hub(Box<HubError>),
    #[error(transparent)]
    Download(Box<DownloadError>),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Inventory(#[from] crate::cache::scan::InventoryError),
    #[error("Could not write the output: {0}.")]
    Output(std::io::Error),
    #[error("Interrupted. Partial downloads are kept; run the same command again to resume.")]
    Interrupted,
    /// SIGTERM or SIGHUP: stopped like Ctrl-C, and said so, since nobody may be watching.
    #[error(
        "Stopped by {}. Partial downloads are kept and locks released; run the same command again to resume.",
        .0.name()
    )]
    Stopped(crate::signal::StopSignal),
}

impl From<HubError> for Error {
    fn from(error: HubError) -> Error {
        Error::Hub(Box::new(error))
    }
}

impl From<DownloadError> for Error {
    fn from(error: DownloadError) -> Error {
        Error::Download(Box::new(error))
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::RepoId(_) => exit::USAGE,
            Error::Hub(error) => error.exit_code(),
            Error::Download(error) => download_exit_code(error),
            Error::Auth(
                AuthError::NoToken { .. }
                | AuthError::InvalidToken { .. }
                | AuthError::LoginRejected { .. }
                | AuthError::OrgToken { .. },
            ) => exit::TOKEN,
            Error::Auth(
                AuthError::EmptyToken
                | AuthError::InvalidLoginName { .. }
                | AuthError::UnknownLogin { .. }
                | AuthError::AmbiguousLogin { .. },
            ) => exit::USAGE,
            // Issue #14 / #13.1 (helper oauth): browser login, OIDC and a cancelled login.
            Error::Auth(AuthError::OAuth(error)) => error.exit_code(),
            Error::Auth(AuthError::Oidc(error)) => error.exit_code(),
            Error::Auth(AuthError::Hub(error)) => error.exit_code(),
            Error::Auth(AuthError::LoginInterrupted) => exit::INTERRUPTED,
            Error::Auth(AuthError::Offline { .. }) => exit::OFFLINE,
            Error::Auth(_) => exit::LOCAL,
            // An unsafe name is the same failure wherever it is caught: a hostile or broken
            // listing, never the local disk (issue #13, "UnsafePath maps to two exit codes").
            Error::Cache(CacheError::UnsafePath(_)) => exit::INTEGRITY,
            Error::Cache(_) => exit::LOCAL,
            Error::Inventory(crate::cache::scan::InventoryError::Unreadable { .. }) => exit::LOCAL,
            Error::Inventory(crate::cache::scan::InventoryError::Interrupted) => exit::INTERRUPTED,
            Error::Inventory(_) => exit::NOT_FOUND,
            Error::Output(_) => exit::FAILURE,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Stopped(signal) => signal.exit_code(),
        }
    }
}

fn download_exit_code(error: &DownloadError) -> u8 {
    match error {
        DownloadError::Hub(error) => error.exit_code(),
        DownloadError::UnsafePath(_)
        | DownloadError::Cache(CacheError::UnsafePath(_))
        | DownloadError::PathCollision(..) => exit::INTEGRITY,
        DownloadError::Cache(_) | DownloadError::InsufficientSpace { .. } => exit::LOCAL,
        DownloadError::FileNotFound { .. } => exit::NOT_FOUND,
        DownloadError::BadPattern { .. } => exit::USAGE,
        DownloadError::Integrity { .. }
        | DownloadError::SizeMismatch { .. }
        | DownloadError::BadRange { .. } => exit::INTEGRITY,
        DownloadError::NotCached { .. } => exit::OFFLINE,
        DownloadError::Task(_) => exit::FAILURE,
    }
}

impl Error {
    /// A stable, machine-readable name for the failure, for `--json` (issue #13.9). Where the
    /// doctor has a cause of the same meaning, this is its name (`file_not_found`,
    /// `endpoint_unreachable`, …), so scripts see one vocabulary.
    pub fn cause(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::RepoId(_) => "invalid_repo_id",
            Error::Hub(error) => error.cause(),
            Error::Download(error) => match error.as_ref() {
                DownloadError::Hub(error) => error.cause(),
                DownloadError::UnsafePath(_)
                | DownloadError::Cache(CacheError::UnsafePath(_))
                | DownloadError::PathCollision(..) => "unsafe_listing",
                DownloadError::Cache(_) => "local_filesystem",
                DownloadError::InsufficientSpace { .. } => "insufficient_space",
                DownloadError::FileNotFound { .. } => "file_not_found",
                DownloadError::BadPattern { .. } => "usage",
                DownloadError::Integrity { .. }
                | DownloadError::SizeMismatch { .. }
                | DownloadError::BadRange { .. } => "integrity",
                DownloadError::NotCached { .. } => "offline_not_cached",
                DownloadError::Task(_) => "internal",
            },
            Error::Auth(
                AuthError::NoToken { .. } | AuthError::OrgToken { .. } | AuthError::EmptyToken,
            ) => "no_token",
            Error::Auth(AuthError::InvalidToken { .. } | AuthError::LoginRejected { .. }) => {
                "invalid_token"
            }
            Error::Auth(
                AuthError::InvalidLoginName { .. }
                | AuthError::UnknownLogin { .. }
                | AuthError::AmbiguousLogin { .. },
            ) => "usage",
            // Issue #14 / #13.1 / #13.10 (helper oauth).
            Error::Auth(AuthError::OAuth(error)) => error.cause(),
            Error::Auth(AuthError::Oidc(error)) => error.cause(),
            Error::Auth(AuthError::Hub(error)) => error.cause(),
            Error::Auth(AuthError::LoginInterrupted) => "interrupted",
            Error::Auth(AuthError::Offline { .. }) => "offline",
            Error::Auth(_) => "local_filesystem",
            Error::Cache(CacheError::UnsafePath(_)) => "unsafe_listing",
            Error::Cache(_) => "local_filesystem",
            Error::Inventory(crate::cache::scan::InventoryError::Unreadable { .. }) => {
                "local_filesystem"
            }
            Error::Inventory(crate::cache::scan::InventoryError::Interrupted) => "interrupted",
            Error::Inventory(_) => "not_in_cache",
            Error::Output(_) => "output",
            Error::Interrupted => "interrupted",
            Error::Stopped(_) => "stopped",
        }
    }

    /// The one JSON object a failing command prints on stdout under `--json`:
    /// `{"cause", "exit_code", "message"}` (issue #13.9).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "cause": self.cause(),
            "exit_code": self.exit_code(),
            "message": self.to_string(),
        })
    }

    /// A command line clap refused, as one sentence for `--json`: clap's message without its
    /// `error:` prefix, its lines (the missing argument is on the second) joined, and without the
    /// usage block and the pointer to `--help` that follow it.
    pub fn usage_from_clap(rendered: &str) -> Error {
        let message: Vec<&str> = rendered
            .lines()
            .take_while(|line| {
                !line.starts_with("Usage:") && !line.starts_with("For more information")
            })
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let sentence = message.join(" ").replace(" tip: ", "; tip: ");
        Error::Usage(sentence.trim_start_matches("error: ").to_string())
    }
}

#[cfg(test)]
mod tests;
