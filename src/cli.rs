//! The command line, as clap derive structs. Flag names match `hf download` where it has them
//! (docs/design.md §4.1) so muscle memory carries over.

use clap::{Args, Parser, Subcommand};

use crate::commands;

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
    Download(commands::download::DownloadArgs),
    /// Explain why a download is refused (401/403/404) and how to fix it; without a repository,
    /// check the setup (tokens, keyring, endpoint, cache).
    #[command(
        after_help = "Examples:\n  hfget doctor meta-llama/Llama-3.1-8B-Instruct\n  hfget doctor datasets/acme/data train.csv --revision v1\n  hfget doctor                # check tokens, keyring, endpoint and cache\n\nThe exit code is 0 when access works, else the code of the cause's family (README)."
    )]
    Doctor(commands::doctor::DoctorArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to generate for.
        shell: clap_complete::Shell,
    },
    /// Log in with your browser or a token: check it with the Hub and keep it in the OS keyring
    /// (or, with --store file, in the HF token file the Python tools share).
    #[command(
        after_help = "Examples:\n  hfget login                          # asks: browser (default) or hidden token prompt\n  hfget login --web                    # browser login; also works without a terminal\n  wl-paste | hfget login --name laptop  # or xclip -o -selection clipboard\n  hfget login --store file             # no keyring on this machine\n\nIn CI, set HF_OIDC_RESOURCE instead: no login, a short-lived token for that run (README).\nToken sources, in order: --token > OIDC (HF_OIDC_RESOURCE) > HF_TOKEN > HUGGING_FACE_HUB_TOKEN > the active hfget login (keyring) > the HF token file."
    )]
    Login(crate::commands::login::LoginArgs),
    /// Log out: remove the active login, a named one, or all of them.
    Logout(crate::commands::logout::LogoutArgs),
    /// Show who the token belongs to, what it may do, and where it came from.
    Whoami(crate::commands::whoami::WhoamiArgs),
    /// Manage logins: list, switch, print the active token.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Show versions, paths, the token source, the keyring and the variables in effect.
    Env(crate::commands::env::EnvArgs),
    /// See, free and re-verify what is in the cache: ls, rm, prune, verify.
    Cache {
        #[command(subcommand)]
        command: crate::commands::cache::CacheCommand,
    },
}

/// `hfget auth …`: `list`, `switch` and `token` are its own; `login`, `logout` and `whoami` are
/// the top-level commands under the spelling of Python's `hf auth …`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// List your logins: name, user, role, store and masked token; `*` marks the active one.
    #[command(visible_alias = "ls")]
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make another login the active one.
    Switch {
        /// The login's name (see `hfget auth list`).
        #[arg(value_name = "NAME")]
        name: String,
        /// Which store, when a keyring login and a file login share the name.
        #[arg(long, value_enum)]
        store: Option<crate::auth::logins::StoreKind>,
    },
    /// Print the active token to stdout, and nothing else (for piping).
    #[command(
        after_help = "Example:\n  curl -H \"Authorization: Bearer $(hfget auth token)\" https://huggingface.co/api/whoami-v2"
    )]
    Token,
    /// Same as `hfget login`.
    Login(commands::login::LoginArgs),
    /// Same as `hfget logout`.
    Logout(commands::logout::LogoutArgs),
    /// Same as `hfget whoami`.
    Whoami(commands::whoami::WhoamiArgs),
}

impl Command {
    /// The error a Ctrl-C during this command ends with: a login has its own message.
    pub fn interruption(&self) -> crate::error::Error {
        match self {
            Command::Login(_)
            | Command::Auth {
                command: AuthCommand::Login(_),
            } => crate::error::Error::Auth(crate::auth::AuthError::LoginInterrupted),
            Command::Cache { command } => command.interruption(),
            _ => crate::error::Error::Interrupted,
        }
    }

    /// Whether the command was asked for JSON, so that its failures are JSON too.
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Download(args) => args.json,
            Command::Doctor(args) => args.json,
            Command::Whoami(args) => args.json,
            Command::Env(args) => args.json,
            Command::Auth {
                command: AuthCommand::List { json },
            } => *json,
            Command::Cache { command } => command.wants_json(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Help is read by people who have no access to our tracker or our notes: it never cites an
    /// issue number, and every document it names is one a clone of the repository has.
    #[test]
    fn no_help_text_cites_an_issue_or_a_private_document() {
        fn check(command: &mut clap::Command, path: &str) {
            let path = format!("{path} {}", command.get_name());
            let help = command.render_long_help().to_string();
            for cited in ["issue #", "Issue #"] {
                assert!(
                    !help.contains(cited),
                    "`{path} --help` cites {cited:?}:\n{help}"
                );
            }
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            for word in help.split(|c: char| c.is_whitespace() || "()`'\",;".contains(c)) {
                if !word.ends_with(".md") {
                    continue;
                }
                let name = word.trim_start_matches("docs/");
                assert!(
                    root.join(name).is_file() || root.join("docs").join(name).is_file(),
                    "`{path} --help` cites {word:?}, which the repository does not have:\n{help}"
                );
            }
            for sub in command.get_subcommands_mut() {
                check(sub, &path);
            }
        }
        let mut root = super::Cli::command();
        root.build();
        check(&mut root, "");
    }
}
