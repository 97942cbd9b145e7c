//! What the login asks on the terminal: how to log in, and the token (hidden), or the token
//! piped on stdin.

use std::io::{IsTerminal, Read};

use super::terminal;
use crate::auth::{AuthError, Token};
use crate::output;

/// On a terminal with no token given: asks how to log in (browser by default). Piped stdin
/// means a token is coming, so nothing is asked.
pub(super) async fn choose_browser() -> Result<bool, AuthError> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let answer = prompt_line(
        "How would you like to log in?\n  1) with your browser (default)\n  2) paste an access token\nChoice [1]: ",
        false,
    )
    .await?;
    Ok(!matches!(answer.trim(), "2" | "t" | "token" | "paste"))
}

/// The token from `--token`, the hidden prompt on a terminal, or stdin otherwise.
pub(super) async fn read_token(flag: Option<&str>, endpoint: &str) -> Result<Token, AuthError> {
    if let Some(raw) = flag {
        output::warn(
            "a token passed with --token lands in your shell history; next time paste it at the prompt or pipe it on stdin.",
        );
        return Token::parse(raw).ok_or(AuthError::EmptyToken);
    }
    let read = if std::io::stdin().is_terminal() {
        let prompt =
            format!("Paste your Hub token ({endpoint}/settings/tokens; input is hidden): ");
        prompt_line(&prompt, true).await?
    } else {
        tokio::task::spawn_blocking(|| {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map(|_| text)
                .map_err(|source| AuthError::ReadInput {
                    what: "stdin",
                    source,
                })
        })
        .await
        .map_err(|e| AuthError::ReadInput {
            what: "the input",
            source: std::io::Error::other(e.to_string()),
        })??
    };
    // Only the first line: `echo $T | hfget login` and a pasted token followed by Enter agree.
    let first = read
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    Token::parse(first).ok_or(AuthError::EmptyToken)
}

/// Prints `prompt` on stderr and reads one line from the terminal, with echo off when
/// `hidden`. The [`terminal::Guard`] lives in this future: whether the read ends, fails, or the
/// future is dropped by Ctrl-C, echo comes back before anything else is printed.
async fn prompt_line(prompt: &str, hidden: bool) -> Result<String, AuthError> {
    let guard = terminal::Guard::new(hidden);
    crate::output::prompt(prompt);
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await;
    guard.finish();
    match read {
        Ok(Ok(line)) => Ok(line),
        // A signal may interrupt the read itself: that is the same Ctrl-C, not an I/O error.
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::Interrupted => {
            Err(AuthError::LoginInterrupted)
        }
        Ok(Err(source)) => Err(AuthError::ReadInput {
            what: "the terminal",
            source,
        }),
        Err(join) => Err(AuthError::ReadInput {
            what: "the terminal",
            source: std::io::Error::other(join.to_string()),
        }),
    }
}
