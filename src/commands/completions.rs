//! `hfget completions SHELL`: a completion script generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, exit};

pub fn run(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "hfget", &mut std::io::stdout());
    Ok(exit::SUCCESS)
}
