//! `hfget completions SHELL`: a completion script generated from the clap definitions.

use crate::error::{Error, exit};

/// `command` is the whole command line's definition, which the caller owns (`commands` does not
/// import `cli`).
pub fn run(shell: clap_complete::Shell, mut command: clap::Command) -> Result<u8, Error> {
    clap_complete::generate(shell, &mut command, "hfget", &mut std::io::stdout());
    Ok(exit::SUCCESS)
}
