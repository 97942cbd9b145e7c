//! hfget: fast, resumable, verified Hugging Face Hub downloads into the cache `huggingface_hub`
//! and `transformers` read, and a doctor that names the exact reason a download is refused.
//!
//! Layout (data flows one way, cli → plan → engine → cache):
//! - [`cli`]: the command line; [`commands`]: one module per command, which translates, calls
//!   the domain modules below and renders (commands never call each other).
//! - [`hub`]: the Hub protocol — URLs, redirects, auth per request, retries, error decoding,
//!   and the hook that renews a rejected token.
//! - [`auth`]: where the token comes from, where logins are kept, and how they are renewed.
//! - [`download`]: plan, transfer, retry, verify. [`cache`]: the huggingface_hub layout
//!   (docs/cache-layout.md), and what `cache ls|rm|prune|verify` do with it.
//! - [`doctor`]: gather, classify, advise, render.
//! - [`output`]: stdout results, stderr messages and progress. [`env`]: every environment variable.
//! - [`error`]: the top-level error and its classification ([`exit`], docs/exit-codes.md).
//!   [`random`]: a leaf for random numbers.

// `println!`/`eprintln!` panic when the stream is closed (`hfget … | head -1`, `2>&1 | true`):
// output goes through `output`, which handles that.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub(crate) mod auth;
pub(crate) mod cache;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod doctor;
pub(crate) mod download;
pub(crate) mod env;
pub(crate) mod error;
pub(crate) mod exit;
pub(crate) mod files;
pub(crate) mod hash;
pub(crate) mod hub;
pub(crate) mod output;
pub(crate) mod random;
pub(crate) mod secret;
pub(crate) mod signal;
pub(crate) mod text;
pub(crate) mod time;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::error::Error;

/// Parses the arguments, runs the command, and maps any error to a message and an exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            if !error.use_stderr() {
                return ExitCode::from(exit::SUCCESS);
            }
            // Even a command line clap refuses answers `--json` with one object.
            if args.iter().any(|a| a == "--json") {
                let usage = Error::usage_from_clap(&error.render().to_string());
                let _ = output::print_stdout(&usage.to_json().to_string());
            }
            return ExitCode::from(exit::USAGE);
        }
    };
    let json = cli.command.wants_json();
    let verbosity = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => output::Verbosity::Quiet,
        (false, 0) => output::Verbosity::Normal,
        (false, _) => output::Verbosity::Verbose,
    };
    output::init(
        verbosity,
        env::Environment::var_os(&env::ProcessEnvironment, env::NO_COLOR).is_some(),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            output::error(format!("could not start the async runtime: {error}"));
            return ExitCode::from(exit::FAILURE);
        }
    };
    // What Ctrl-C means depends on the command (not the download message at the
    // login prompt). Dropping the command's future runs its guards (the login prompt's echo
    // restore) before the message is printed.
    let interrupted = cli.command.interruption();
    let result = runtime.block_on(async {
        tokio::select! {
            result = run(cli) => result,
            stop = signal::stop_requested() => Err(match stop {
                signal::StopSignal::Interrupt => interrupted,
                other => Error::Stopped(other),
            }),
        }
    });
    // Do not wait for transfer tasks still running after an error or Ctrl-C; but let other
    // runs know at once that their downloads are no longer in progress.
    runtime.shutdown_background();
    cache::lease::release_all_held();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            if matches!(error, Error::Interrupted | Error::Stopped(_)) {
                output::interrupted(&error);
            } else {
                output::error_with_causes(&error);
            }
            if json {
                let _ = output::print_stdout(&error.to_json().to_string());
            }
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs the parsed command. Here, at the root, so that `cli` (the definitions) and `commands`
/// (the work) do not import each other.
async fn run(cli: cli::Cli) -> Result<u8, Error> {
    let environment = env::ProcessEnvironment;
    let settings = env::Settings::from_env(&environment);
    match cli.command {
        cli::Command::Download(args) => {
            commands::download::run(args, &settings, &environment).await
        }
        cli::Command::Doctor(args) => commands::doctor::run(args, &settings, &environment).await,
        cli::Command::Completions { shell } => {
            commands::completions::run(shell, cli::Cli::command())
        }
        cli::Command::Login(args) => commands::login::run(args, &settings, &environment).await,
        cli::Command::Logout(args) => commands::logout::run(args, &settings, &environment).await,
        cli::Command::Whoami(args) => commands::whoami::run(args, &settings, &environment).await,
        cli::Command::Auth { command } => match command {
            cli::AuthCommand::List { json } => commands::auth::list(&settings, &environment, json),
            cli::AuthCommand::Switch { name, store } => {
                commands::auth::switch(&settings, &environment, &name, store).await
            }
            cli::AuthCommand::Token => commands::auth::token(&settings, &environment).await,
            cli::AuthCommand::Login(args) => {
                commands::login::run(args, &settings, &environment).await
            }
            cli::AuthCommand::Logout(args) => {
                commands::logout::run(args, &settings, &environment).await
            }
            cli::AuthCommand::Whoami(args) => {
                commands::whoami::run(args, &settings, &environment).await
            }
        },
        cli::Command::Env(args) => commands::env::run(args, &settings, &environment).await,
        cli::Command::Cache { command } => {
            commands::cache::run(command, &settings, &environment).await
        }
    }
}
