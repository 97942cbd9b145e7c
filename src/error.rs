//! The top-level error: every module's error, and its one classification (exit code and JSON
//! cause, [`Error::classify`]).
//!
//! Exit codes are part of hfget's interface, shared by every command so scripts can branch on
//! the family of a failure: docs/exit-codes.md lists each code, what leads to it and the
//! `cause` strings `--json` prints with it (the README has the short table).

use crate::auth::AuthError;
use crate::cache::CacheError;
use crate::download::DownloadError;
use crate::hub::HubError;
use crate::hub::repo::RepoIdError;

pub(crate) use crate::exit;
use crate::exit::Class;

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
    #[error(transparent)]
    Filter(#[from] crate::cache::filter::FilterError),
    #[error(transparent)]
    Audit(#[from] crate::cache::audit::AuditError),
    #[error("Could not write the output: {0}.")]
    Output(std::io::Error),
    /// A background task (blocking filesystem work) failed: a bug.
    #[error("An internal task failed unexpectedly: {0}.")]
    Internal(String),
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

impl From<crate::output::OutputError> for Error {
    fn from(error: crate::output::OutputError) -> Error {
        Error::Output(error.0)
    }
}

impl From<DownloadError> for Error {
    fn from(error: DownloadError) -> Error {
        Error::Download(Box::new(error))
    }
}

impl Error {
    /// The family and the stable cause of this failure: the one classification both the exit
    /// code and the `--json` cause come from (docs/exit-codes.md). Where the doctor has a cause
    /// of the same meaning, this is its name (`file_not_found`, `endpoint_unreachable`, …), so
    /// scripts see one vocabulary.
    pub fn classify(&self) -> Class {
        match self {
            Error::Usage(_) => Class::new(exit::USAGE, "usage"),
            Error::RepoId(_) => Class::new(exit::USAGE, "invalid_repo_id"),
            Error::Hub(error) => error.classify(),
            Error::Download(error) => classify_download(error),
            Error::Auth(error) => error.classify(),
            Error::Cache(error) => error.classify(),
            Error::Inventory(error) => error.classify(),
            Error::Filter(_) => Class::new(exit::USAGE, "usage"),
            Error::Audit(error) => error.classify(),
            Error::Output(_) => Class::new(exit::FAILURE, "output"),
            Error::Internal(_) => Class::new(exit::FAILURE, "internal"),
            Error::Interrupted => Class::new(exit::INTERRUPTED, "interrupted"),
            Error::Stopped(signal) => Class::new(signal.exit_code(), "stopped"),
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.classify().code
    }

    /// The one JSON object a failing command prints on stdout under `--json`:
    /// `{"cause", "exit_code", "message"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let class = self.classify();
        serde_json::json!({
            "cause": class.cause,
            "exit_code": class.code,
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

/// The download engine's errors, classified here (the engine knows nothing of exit codes).
fn classify_download(error: &DownloadError) -> Class {
    match error {
        DownloadError::Hub(error) => error.classify(),
        DownloadError::Cache(error) => error.classify(),
        DownloadError::UnsafePath(_) | DownloadError::PathCollision(..) => {
            Class::new(exit::INTEGRITY, "unsafe_listing")
        }
        DownloadError::InsufficientSpace { .. } => Class::new(exit::LOCAL, "insufficient_space"),
        DownloadError::FileNotFound { .. } => Class::new(exit::NOT_FOUND, "file_not_found"),
        DownloadError::BadPattern { .. } => Class::new(exit::USAGE, "usage"),
        DownloadError::Integrity { .. }
        | DownloadError::SizeMismatch { .. }
        | DownloadError::BadRange { .. } => Class::new(exit::INTEGRITY, "integrity"),
        DownloadError::NotCached { .. } => Class::new(exit::OFFLINE, "offline_not_cached"),
        DownloadError::Task(_) => Class::new(exit::FAILURE, "internal"),
    }
}

#[cfg(test)]
mod tests;
