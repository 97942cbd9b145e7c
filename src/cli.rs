//! The command line, as clap derive structs. Flag names match `hf download` where it has them
//! (landscape.md §1.2) so muscle memory carries over.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::hub::RepoType;

#[derive(Debug, Parser)]
#[command(
    name = "hfget",
    version,
    about = "Fast, resumable, verified Hugging Face Hub downloads — and a doctor that explains every 401/403/404.",
    long_about = None,
    propagate_version = true,
    after_help = "Environment: HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_DISABLE_PROGRESS_BARS, HTTPS_PROXY/NO_PROXY, NO_COLOR.\nExit codes are listed in the README."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print only results and errors: no progress bars, no notes.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Explain each request made (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download a repository snapshot, or some of its files, into the Hugging Face cache or a folder.
    #[command(
        after_help = "Examples:\n  hfget download openai-community/gpt2\n  hfget download openai-community/gpt2 config.json\n  hfget download meta-llama/Llama-3.2-1B --include '*.safetensors' --exclude 'original/*'\n  hfget download datasets/HuggingFaceH4/ultrachat_200k --local-dir ./ultrachat\n  hfget download hf://datasets/acme/data@v1.0/train.parquet\n\nstdout carries only the resulting path, so `cd \"$(hfget download …)\"` works."
    )]
    Download(DownloadArgs),
    /// Explain why a download is refused (401/403/404) and how to fix it; without a repository,
    /// check the setup (tokens, keyring, endpoint, cache).
    #[command(
        after_help = "Examples:\n  hfget doctor meta-llama/Llama-3.1-8B-Instruct\n  hfget doctor datasets/acme/data train.csv --revision v1\n  hfget doctor                # check tokens, keyring, endpoint and cache\n\nThe exit code is 0 when access works, else the code of the cause's family (README)."
    )]
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to generate for.
        shell: clap_complete::Shell,
    },
    /// Log in: check a token with the Hub and keep it in the OS keyring (or, with --store file,
    /// in the HF token file the Python tools share).
    #[command(
        after_help = "Examples:\n  hfget login                          # hidden prompt\n  wl-paste | hfget login --name laptop  # or xclip -o -selection clipboard\n  hfget login --store file             # no keyring on this machine\n\nToken sources, in order: --token > HF_TOKEN > HUGGING_FACE_HUB_TOKEN > the active hfget login (keyring) > the HF token file."
    )]
    Login(crate::commands::login::LoginArgs),
    /// Log out: remove the active login, a named one, or all of them.
    Logout(crate::commands::logout::LogoutArgs),
    /// Show who the token belongs to, what it may do, and where it came from.
    Whoami(crate::commands::whoami::WhoamiArgs),
    /// Manage logins: list, switch, print the active token.
    Auth {
        #[command(subcommand)]
        command: crate::commands::auth::AuthCommand,
    },
    /// Show versions, paths, the token source, the keyring and the variables in effect.
    Env(crate::commands::env::EnvArgs),
    /// See, free and re-verify what is in the cache: ls, rm, prune, verify.
    Cache {
        #[command(subcommand)]
        command: crate::commands::cache::CacheCommand,
    },
}

impl Command {
    /// Whether the command was asked for JSON, so that its failures are JSON too (issue #13.9).
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Download(args) => args.json,
            Command::Doctor(args) => args.json,
            Command::Whoami(args) => args.json,
            Command::Env(args) => args.json,
            Command::Auth {
                command: crate::commands::auth::AuthCommand::List { json },
            } => *json,
            Command::Cache { command } => command.wants_json(),
            _ => false,
        }
    }
}

#[derive(Debug, Args)]
pub struct RepoArgs {
    /// The repository: `owner/name`, `datasets/owner/name`, `spaces/owner/name`, an `hf://` URI,
    /// or a Hub URL pasted from the browser (`https://huggingface.co/owner/name/blob/main/file`).
    #[arg(value_name = "REPO_ID")]
    pub repo_id: String,
    /// The repository type, when the id does not say it.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    pub repo_type: Option<RepoType>,
    /// A branch, tag, commit hash or `refs/pr/N` [default: main].
    #[arg(long)]
    pub revision: Option<String>,
    /// A Hub token for this command only (otherwise HF_TOKEN, your login, or the token file).
    #[arg(long, value_name = "TOKEN", value_parser = non_empty_token)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Files to download (a name ending in `/` means the whole folder). Default: the whole snapshot.
    #[arg(value_name = "FILES")]
    pub files: Vec<String>,
    /// Only files matching this glob (repeatable; `*` also matches `/`, as in `hf download`).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// The huggingface_hub cache to use [default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub].
    #[arg(long, value_name = "DIR", conflicts_with = "local_dir", value_parser = non_empty_dir)]
    pub cache_dir: Option<PathBuf>,
    /// Write plain files into this folder instead of the cache.
    #[arg(long, value_name = "DIR", value_parser = non_empty_dir)]
    pub local_dir: Option<PathBuf>,
    /// Download again even what is already there.
    #[arg(long, visible_alias = "force-download")]
    pub force: bool,
    /// Show what would be downloaded, and how much, without downloading.
    #[arg(long)]
    pub dry_run: bool,
    /// How many files to download at once. Small files are bound by the Hub's latency, not by
    /// bandwidth, so many in flight pay off.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_workers: u16,
    /// Connections per large file: files of at least twice --chunk-size are fetched as byte
    /// ranges in parallel (each through the Hub's resolve endpoint). All large files together
    /// use at most twice this many connections. 1 streams every file on one connection.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connections: u16,
    /// Bytes per range request of a large file (suffixes K, M, G: powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "16M", value_parser = parse_chunk_size)]
    pub chunk_size: u64,
    /// Print one JSON object (path, commit, files) instead of the bare path.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The repository to diagnose (`owner/name`, `datasets/owner/name`, `hf://…`). Omit it to
    /// check the setup instead.
    #[arg(value_name = "REPO_ID")]
    pub repo_id: Option<String>,
    /// A file to probe (default: the smallest file of the repository).
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
    /// The repository type, when the id does not say it.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    pub repo_type: Option<RepoType>,
    /// A branch, tag, commit hash or `refs/pr/N` [default: main].
    #[arg(long)]
    pub revision: Option<String>,
    /// Diagnose this token instead of the one hfget would pick.
    #[arg(long, value_name = "TOKEN", value_parser = non_empty_token)]
    pub token: Option<String>,
    /// Print one JSON object: cause, layer, summary, fix, evidence.
    #[arg(long)]
    pub json: bool,
}

/// `--token ""` (typically `--token "$UNSET_VARIABLE"`) is refused rather than read as "no
/// flag", which would silently send another identity's token (issue #13.12).
pub fn non_empty_token(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("the token is empty (an unset variable?). Pass a token, or leave --token out to use HF_TOKEN or your login".to_string());
    }
    Ok(text.to_string())
}

/// `--local-dir ""` (an unset variable) would write into the current folder, and
/// `--cache-dir ""` would build a cache there: both are refused, like `--token ""`.
pub fn non_empty_dir(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("the folder is empty (an unset variable?). Name a folder".to_string());
    }
    Ok(PathBuf::from(text))
}

/// `--chunk-size`: a byte count with an optional K/M/G suffix (powers of 1024), 64K to 1G.
pub fn parse_chunk_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let upper = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match upper.chars().last() {
        Some('K') => (&upper[..upper.len() - 1], 10),
        Some('M') => (&upper[..upper.len() - 1], 20),
        Some('G') => (&upper[..upper.len() - 1], 30),
        _ => (upper, 0),
    };
    let value = digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{trimmed}` is not a size like 16M, 512K or 1G"))?;
    if !(64 << 10..=1 << 30).contains(&value) {
        return Err(format!("`{trimmed}` is outside 64K..1G"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
