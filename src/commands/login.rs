//! `hfget login [--web | --token T] [--name N] [--store keyring|file]`: log in with the browser
//! (OAuth device code, issue #14) or with a token, validate it with the Hub, then keep it in the
//! OS keyring (default) or, on request, in the HF token files.
//!
//! Which way: `--web` always uses the browser; `--token` or a token piped on stdin is a token
//! login; on a terminal with neither, hfget asks (browser first, as `hf auth login` 2.4 does).
//! The token is checked with `whoami-v2` before anything is written, so a typo never replaces a
//! working login. Without a reachable keyring the command refuses and offers `--store file`
//! instead of quietly writing plain text (docs/design.md §1.4).
//!
//! Ctrl-C at a prompt (issue #13.1): the terminal's echo is switched off by a guard owned by
//! this command's future, so when the top-level Ctrl-C handler drops the future the guard puts
//! echo back before anything is printed, and the one message is [`AuthError::LoginInterrupted`].

mod browser;
mod terminal;

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use clap::Args;

use crate::auth::keyring::LoginSecret;
use crate::auth::logins::{self, StoreKind};
use crate::auth::oauth::{DeviceCode, OAuthClient, TokenGrant, Waiting};
use crate::auth::oauth_store;
use crate::auth::state::LoginInfo;
use crate::auth::{self, AuthError, KeyringHandle, Token};
use crate::commands::print_stdout;
use crate::commands::whoami::{describe_token, is_rejection, role_label};
use crate::env::{self, Environment, Settings};
use crate::error::{Error, exit};
use crate::hub::HubClient;
use crate::hub::whoami::WhoAmI;
use crate::output;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The token. Prefer the hidden prompt, or piping it on stdin: a token on the command line
    /// lands in your shell history.
    #[arg(long, value_name = "TOKEN", conflicts_with = "web")]
    pub token: Option<String>,
    /// Log in with your browser: hfget shows a page and a code to approve there (on any
    /// device), then waits. Works without a terminal; on a terminal it is the default choice.
    #[arg(long)]
    pub web: bool,
    /// With --web: do not try to open a browser, only print the page and the code.
    #[arg(long, requires = "web")]
    pub no_browser: bool,
    /// The login's name [default: the token's name on the Hub].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Where to keep the token: the OS keyring, or the plain-text HF token file shared with the
    /// Python `hf` tools (readable only by you).
    #[arg(long, value_enum, default_value_t = StoreKind::Keyring)]
    pub store: StoreKind,
}

pub async fn run(
    args: LoginArgs,
    settings: &Settings,
    environment: &dyn Environment,
) -> Result<u8, Error> {
    if settings.offline {
        return Err(AuthError::Offline {
            command: "login",
            purpose: "whether the token is valid",
        }
        .into());
    }
    // Check the keyring before asking for the token: a user should not paste a secret, or
    // approve a login in the browser, only to learn it cannot be stored.
    let keyring = KeyringHandle::system(settings);
    if args.store == StoreKind::Keyring
        && let Err(reason) = keyring.get().await
    {
        return Err(logins::keyring_unavailable(settings, reason).into());
    }
    let web = args.web || (args.token.is_none() && choose_browser().await?);
    let (token, grant) = if web {
        let grant = browser_login(settings, environment, !args.no_browser).await?;
        (grant.access_token.clone(), Some(grant))
    } else {
        (
            read_token(args.token.as_deref(), &settings.endpoint).await?,
            None,
        )
    };
    if token.secret().starts_with("api_org_") {
        return Err(AuthError::OrgToken {
            masked: token.masked(),
        }
        .into());
    }
    let who = validate(settings, &token).await?;
    let name = match &args.name {
        Some(name) => name.trim().to_string(),
        None => default_name(&who),
    };
    let facts = grant
        .as_ref()
        .map(|grant| oauth_store::facts_of(grant, None, grant.refresh_token.is_some()));
    let info = LoginInfo {
        user: who.name.clone(),
        role: who.role().unwrap_or_default().to_string(),
        masked: token.masked(),
        oauth: facts.clone(),
    };
    let refresh = grant.as_ref().and_then(|g| g.refresh_token.clone());
    let host = auth::endpoint_host(settings);
    let saved = match args.store {
        StoreKind::Keyring => {
            let secret = LoginSecret {
                access: token.clone(),
                refresh: refresh.clone(),
            };
            logins::save_keyring_login(settings, &keyring, &name, &secret, info).await?;
            let backend = keyring
                .get()
                .await
                .map(|k| k.name().to_string())
                .unwrap_or_default();
            format!(
                "Saved as `{name}` in the OS keyring ({backend}); it is now the active login for {host}."
            )
        }
        StoreKind::File => {
            let extra = facts
                .as_ref()
                .map(|facts| oauth_store::file_fields(refresh.as_ref(), facts))
                .unwrap_or_default();
            let deactivated = logins::save_file_login(settings, &name, &token, &extra, info)?;
            if let Some(previous) = deactivated {
                output::info(format!(
                    "note: the keyring login `{previous}` is no longer the active one (it is kept; `hfget auth switch {previous}` brings it back)."
                ));
            }
            format!(
                "Saved as `{name}` in {} and made active in {} (plain text, readable only by you; the Python `hf` tools use it too).",
                settings.stored_tokens_path().display(),
                settings.token_path.display()
            )
        }
    };
    let mut lines = vec![if web {
        format!(
            "Logged in with your browser: user {}, token {} ({}).",
            who.name,
            token.masked(),
            role_label(who.role())
        )
    } else {
        format!(
            "Token is valid: user {}, token `{}` ({}) {}.",
            who.name,
            who.token_name().unwrap_or("(unnamed)"),
            role_label(who.role()),
            token.masked()
        )
    }];
    lines.extend(describe_token(&who));
    if let Some(facts) = &facts {
        let login = oauth_store::BrowserLogin {
            name: name.clone(),
            store: args.store.id(),
            facts: facts.clone(),
        };
        lines.extend(
            oauth_store::describe(&login, oauth_store::now_unix())
                .into_iter()
                .skip(1),
        );
    }
    lines.push(saved);
    print_stdout(&lines.join("\n"))?;
    for variable in [env::HF_TOKEN, env::HUGGING_FACE_HUB_TOKEN] {
        if environment
            .var(variable)
            .as_deref()
            .and_then(Token::parse)
            .is_some()
        {
            output::warn(format!(
                "{variable} is set and takes precedence over this login: hfget keeps sending the token from {variable} until you unset it."
            ));
            break;
        }
    }
    Ok(exit::SUCCESS)
}

/// On a terminal with no token given: asks how to log in (browser by default). Piped stdin
/// means a token is coming, so nothing is asked.
async fn choose_browser() -> Result<bool, AuthError> {
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

/// The device-code login: ask for a code, show it, open the browser if there is one, and poll
/// until the user approves (or denies, or the code expires).
async fn browser_login(
    settings: &Settings,
    environment: &dyn Environment,
    open_browser: bool,
) -> Result<TokenGrant, Error> {
    let client = OAuthClient::new(settings, environment)?;
    let device = client
        .request_device_code()
        .await
        .map_err(AuthError::from)?;
    show_code(&device);
    if open_browser {
        match browser::open(environment, &device.verification_uri_complete) {
            Some(program) => output::info(format!("Opened the page with {program}.")),
            None => output::info("No browser here: open the page on any device."),
        }
    }
    let spinner = Spinner::start(device.expires_in);
    let grant = client
        .wait_for_approval(&device, |waiting| spinner.update(&waiting))
        .await;
    spinner.finish();
    Ok(grant.map_err(AuthError::from)?)
}

fn show_code(device: &DeviceCode) {
    // stderr: stdout carries only the result. Printed at once, so an agent or a script that
    // relays the page and the code can do so while hfget waits.
    let mut text = format!(
        "To log in, open this page in a browser and approve the code:\n\n    {}\n\n    code: {}\n",
        device.verification_uri_complete, device.user_code
    );
    if device.verification_uri_complete != device.verification_uri {
        text.push_str(&format!(
            "\n(or open {} and type the code)\n",
            device.verification_uri
        ));
    }
    output::info(text);
}

/// "Waiting for approval" with a spinner on a terminal, and plain lines otherwise.
///
/// Drawn by hand (one line, rewritten in place with `\r`) rather than with indicatif: when
/// Ctrl-C drops the login mid-wait, the terminal has just echoed `^C` and indicatif's clear
/// left the spinner line behind. Here the last write is always "erase this line", made under
/// the same lock as every frame, so nothing is drawn after it.
struct Spinner {
    line: Option<std::sync::Arc<std::sync::Mutex<SpinnerLine>>>,
    deadline: Instant,
}

struct SpinnerLine {
    message: String,
    frame: usize,
    stopped: bool,
}

impl SpinnerLine {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

    fn draw(&mut self) {
        if self.stopped {
            return;
        }
        self.frame = (self.frame + 1) % Self::FRAMES.len();
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r{} {}\x1b[K",
            Self::FRAMES[self.frame],
            self.message
        );
        let _ = stderr.flush();
    }

    fn erase(&self) {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[2K");
        let _ = stderr.flush();
    }
}

impl Spinner {
    fn start(expires_in: Duration) -> Spinner {
        let deadline = Instant::now() + expires_in;
        let minutes = expires_in.as_secs().div_ceil(60);
        if !std::io::stderr().is_terminal() || output::verbosity() != output::Verbosity::Normal {
            output::info(format!(
                "Waiting for approval (the code expires in {minutes} min; Ctrl-C cancels)…"
            ));
            return Spinner {
                line: None,
                deadline,
            };
        }
        let line = std::sync::Arc::new(std::sync::Mutex::new(SpinnerLine {
            message: String::new(),
            frame: 0,
            stopped: false,
        }));
        let ticking = line.clone();
        tokio::spawn(async move {
            loop {
                match ticking.lock() {
                    Ok(mut line) if !line.stopped => line.draw(),
                    _ => return,
                }
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        });
        let spinner = Spinner {
            line: Some(line),
            deadline,
        };
        spinner.update(&Waiting::Pending);
        spinner
    }

    fn update(&self, waiting: &Waiting) {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .as_secs();
        let status = format!(
            "Waiting for approval: {}:{:02} left (Ctrl-C cancels)",
            left / 60,
            left % 60
        );
        let note = match waiting {
            Waiting::Pending => None,
            Waiting::SlowedDown(interval) => Some(format!(
                "The Hub asked hfget to poll less often; now every {} s.",
                interval.as_secs()
            )),
            Waiting::Retrying(why) => Some(format!("{why}; still waiting.")),
        };
        match self.line.as_ref().and_then(|line| line.lock().ok()) {
            Some(mut line) => {
                if let Some(note) = note {
                    line.erase();
                    crate::output::text(&note);
                }
                line.message = status;
                line.draw();
            }
            None => {
                if let Some(note) = note {
                    output::info(note);
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(mut line) = self.line.as_ref().and_then(|line| line.lock().ok())
            && !line.stopped
        {
            line.stopped = true;
            line.erase();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        // Ctrl-C drops the future mid-wait: erase the spinner line (and the echoed `^C`)
        // before the message.
        self.finish();
    }
}

/// The token from `--token`, the hidden prompt on a terminal, or stdin otherwise.
async fn read_token(flag: Option<&str>, endpoint: &str) -> Result<Token, AuthError> {
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

/// Asks the Hub who the token belongs to; a rejected token stops the login before any write.
async fn validate(settings: &Settings, token: &Token) -> Result<WhoAmI, Error> {
    let client = HubClient::new(settings, Some(token.clone()))?;
    match client.whoami().await {
        Ok(who) => Ok(who),
        Err(error) if is_rejection(&error.kind) => Err(AuthError::LoginRejected {
            masked: token.masked(),
            endpoint: settings.endpoint.clone(),
        }
        .into()),
        Err(error) => Err(error.into()),
    }
}

/// The token's name on the Hub; OAuth tokens have none, and Python names them `oauth-{user}`
/// (docs/protocol.md §3.4).
fn default_name(who: &WhoAmI) -> String {
    match who.token_name().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => format!("oauth-{}", who.name),
    }
}
