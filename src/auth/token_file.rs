//! The plain-text HF token file (`$HF_TOKEN_PATH`, else `$HF_HOME/token`), shared with the Python
//! tools (docs/protocol.md §5.2). hfget only reads it unless the user asks for `--store file`.
//!
//! Writes follow `huggingface_hub` 2.x (`_write_secret`): the file is 0600 and a directory hfget
//! creates for it is 0700. They are atomic (a temp file in the same directory, then a rename), so
//! a crash never leaves a half-written token that Python would send.

use std::io::{ErrorKind, Write};
use std::path::Path;

use super::{AuthError, Token};

/// Reads the token file; a missing or empty file means "no token".
pub fn read_token(path: &Path) -> Result<Option<Token>, AuthError> {
    match std::fs::read_to_string(path) {
        Ok(contents) => Ok(Token::parse(&contents)),
        Err(error) if matches!(error.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            Ok(None)
        }
        Err(source) => Err(AuthError::ReadTokenFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes the token file: the raw token, no trailing newline (as Python writes it).
pub fn write_token(path: &Path, token: &Token) -> Result<(), AuthError> {
    write_private(path, token.secret().as_bytes())
}

/// Removes the token file; `Ok(false)` when there was none.
pub fn remove(path: &Path) -> Result<bool, AuthError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(false),
        Err(source) => Err(AuthError::WriteTokenFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Atomically replaces `path` with `contents`, readable by the owner only (0600), creating the
/// parent directory (0700) when it is missing.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), AuthError> {
    let error = |source| AuthError::WriteTokenFile {
        path: path.to_path_buf(),
        source,
    };
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !parent.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(parent).map_err(error)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "token".into());
    let temp = parent.join(format!(
        ".{file_name}.{}.{:x}.tmp",
        std::process::id(),
        crate::random::random_u64()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(error(source));
    }
    if let Err(source) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(error(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
