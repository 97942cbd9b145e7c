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

use crate::cli::{Cli, Command};
use crate::env::{ProcessEnvironment, Settings};
use crate::error::Error;

pub async fn run(cli: Cli) -> Result<u8, Error> {
    let environment = ProcessEnvironment;
    let settings = Settings::from_env(&environment);
    match cli.command {
        Command::Download(args) => download::run(args, &settings, &environment).await,
        Command::Doctor(args) => doctor::run(args, &settings, &environment).await,
        Command::Completions { shell } => completions::run(shell),
        Command::Login(args) => login::run(args, &settings, &environment).await,
        Command::Logout(args) => logout::run(args, &settings, &environment).await,
        Command::Whoami(args) => whoami::run(args, &settings, &environment).await,
        Command::Auth { command } => auth::run(command, &settings, &environment).await,
        Command::Env(args) => env::run(args, &settings, &environment).await,
        Command::Cache { command } => cache::run(command, &settings, &environment).await,
    }
}

/// The error a Ctrl-C during `command` ends with.
pub fn interrupted(command: &Command) -> Error {
    match command {
        Command::Login(_)
        | Command::Auth {
            command: auth::AuthCommand::Login(_),
        } => Error::Auth(crate::auth::AuthError::LoginInterrupted),
        _ => Error::Interrupted,
    }
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
