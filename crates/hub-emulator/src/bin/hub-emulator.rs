//! `hub-emulator`: runs the Hub emulator as a standalone server (for the Python interop tests,
//! the offline tour and benchmarks), or exports LFS blobs for an external CDN.
//!
//! Prints exactly one line on stdout once both origins listen — `HF_ENDPOINT=http://…` — so a
//! harness can read the endpoint and then talk to it; everything else goes to stderr.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hub_emulator::{Emulator, Scenario};

#[derive(Parser)]
#[command(
    name = "hub-emulator",
    version,
    about = "Local emulator of the Hugging Face Hub (hub + CDN origins)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    source: Source,
    /// Hub port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// CDN port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    cdn_port: u16,
    /// Log every request to stderr.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Args, Clone)]
struct Source {
    /// Scenario JSON file (see crates/hub-emulator/scenarios/demo.json).
    #[arg(long, value_name = "FILE.json", conflicts_with = "demo")]
    scenario: Option<PathBuf>,
    /// Use the built-in demo scenario.
    #[arg(long)]
    demo: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Write every LFS blob to DIR/repos/aa/bb/<sha256> (for nginx + `cdn_base_url`).
    ExportBlobs {
        #[command(flatten)]
        source: Source,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print a scenario (default: the demo) as JSON.
    DumpScenario {
        #[command(flatten)]
        source: Source,
    },
}

fn load(source: &Source) -> Result<Scenario, String> {
    match &source.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Scenario::from_json(&text)
                .map_err(|e| format!("invalid scenario {}: {e}", path.display()))
        }
        None => Ok(Scenario::demo()),
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Some(Command::ExportBlobs { source, out }) => {
            let scenario = load(&source)?;
            let n = hub_emulator::export_blobs(&scenario, &out)
                .map_err(|e| format!("export to {} failed: {e}", out.display()))?;
            eprintln!("wrote {n} blob(s) under {}", out.join("repos").display());
            Ok(())
        }
        Some(Command::DumpScenario { source }) => {
            let scenario = load(&source)?.normalized();
            let json = serde_json::to_string_pretty(&scenario).map_err(|e| e.to_string())?;
            println!("{json}");
            Ok(())
        }
        None => {
            let scenario = load(&cli.source)?;
            let emu = Emulator::start_on(scenario, cli.port, cli.cdn_port)
                .map_err(|e| format!("cannot start: {e}"))?;
            emu.set_verbose(cli.verbose);
            let mut out = std::io::stdout().lock();
            writeln!(out, "HF_ENDPOINT={}", emu.hub_url()).map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
            drop(out);
            eprintln!("hub-emulator: hub {} cdn {}", emu.hub_url(), emu.cdn_url());
            wait_for_signal()?;
            drop(emu);
            Ok(())
        }
    }
}

/// Blocks until SIGINT or SIGTERM.
fn wait_for_signal() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            Ok(())
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
        }
    })
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
