//! `hfget completions SHELL`: a completion script generated from the clap definitions.

use crate::error::{Error, exit};
use crate::output::print_stdout;

/// `command` is the whole command line's definition, which the caller owns (`commands` does not
/// import `cli`). The script is generated in memory and written through [`print_stdout`]:
/// clap_complete panics when its writer fails, as it does on a closed pipe (`| head -1`).
pub fn run(shell: clap_complete::Shell, mut command: clap::Command) -> Result<u8, Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "hfget", &mut script);
    print_stdout(String::from_utf8_lossy(&script).trim_end())?;
    Ok(exit::SUCCESS)
}
