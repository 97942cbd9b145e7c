//! The `hfget` binary: everything lives in the library (`hfget::main`).

use std::process::ExitCode;

fn main() -> ExitCode {
    hfget::main(std::env::args_os())
}
