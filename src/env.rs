//! Every environment variable hfget reads, in one place, and the [`Settings`] derived from them.
//!
//! Names and semantics follow `huggingface_hub` so that hfget and the Python tools agree on the
//! endpoint, the cache and the token file (docs/protocol.md §2.1, §5.4). Nothing else in the crate
//! calls `std::env::var`: commands receive a `Settings` value, which keeps tests deterministic.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a silent lease owner is trusted before it is taken over ("about 30 s by
/// default"). Defined here, with the variable that overrides it, so `env` imports no other module
/// (an `env → cache → hub → env` cycle otherwise).
pub(crate) const DEFAULT_LEASE_TIMEOUT: Duration = Duration::from_secs(30);

pub const HF_ENDPOINT: &str = "HF_ENDPOINT";
pub const HF_HOME: &str = "HF_HOME";
pub const HF_HUB_CACHE: &str = "HF_HUB_CACHE";
/// Legacy name of `HF_HUB_CACHE`, still honoured by `huggingface_hub`.
pub const HUGGINGFACE_HUB_CACHE: &str = "HUGGINGFACE_HUB_CACHE";
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
pub const HF_TOKEN: &str = "HF_TOKEN";
/// Legacy name of `HF_TOKEN`; `huggingface_hub` reads it when `HF_TOKEN` is empty (docs/protocol.md §5.1).
pub const HUGGING_FACE_HUB_TOKEN: &str = "HUGGING_FACE_HUB_TOKEN";
pub const HF_TOKEN_PATH: &str = "HF_TOKEN_PATH";
pub const HF_HUB_OFFLINE: &str = "HF_HUB_OFFLINE";
/// `transformers`' spelling of offline mode, which `huggingface_hub` also honours (docs/protocol.md §5.4).
pub const TRANSFORMERS_OFFLINE: &str = "TRANSFORMERS_OFFLINE";
pub const HF_HUB_DISABLE_PROGRESS_BARS: &str = "HF_HUB_DISABLE_PROGRESS_BARS";
pub const HF_HUB_DISABLE_IMPLICIT_TOKEN: &str = "HF_HUB_DISABLE_IMPLICIT_TOKEN";
pub const HF_HUB_ETAG_TIMEOUT: &str = "HF_HUB_ETAG_TIMEOUT";
pub const HF_HUB_DOWNLOAD_TIMEOUT: &str = "HF_HUB_DOWNLOAD_TIMEOUT";
/// Seconds hfget waits for the first body byte of a file (default 120): a pull-through mirror
/// can hold a request while it fills its own cache. hfget's own name: Python has no
/// such wait.
pub const HFGET_FIRST_BYTE_TIMEOUT: &str = "HFGET_FIRST_BYTE_TIMEOUT";
pub const NO_COLOR: &str = "NO_COLOR";

// Proxies, in both spellings. The lower-case one wins when both are set, as in curl and
// Python's urllib (which httpx and requests use): see docs/network.md.
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
pub const HTTP_PROXY: &str = "HTTP_PROXY";
pub const ALL_PROXY: &str = "ALL_PROXY";
pub const NO_PROXY: &str = "NO_PROXY";
pub const HTTPS_PROXY_LOWER: &str = "https_proxy";
pub const HTTP_PROXY_LOWER: &str = "http_proxy";
pub const ALL_PROXY_LOWER: &str = "all_proxy";
pub const NO_PROXY_LOWER: &str = "no_proxy";

// Trusted certificates, in the order hfget reads them: the first one set wins and replaces the
// system's store (as each does for the tool that defines it; docs/network.md).
/// requests' CA bundle (a PEM file, or a folder of them).
pub const REQUESTS_CA_BUNDLE: &str = "REQUESTS_CA_BUNDLE";
/// curl's CA bundle.
pub const CURL_CA_BUNDLE: &str = "CURL_CA_BUNDLE";
/// OpenSSL's CA file, which Python's ssl module and httpx read.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// OpenSSL's folder of CA files.
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
/// Which keyring backend hfget uses: `secret-service` (default on Linux) or `none` (tests, and
/// machines where the user wants the keyring ignored).
pub const HFGET_KEYRING: &str = "HFGET_KEYRING";
/// `1` skips flock on `.locks/` (for filesystems where it hangs). hfget already detects the
/// filesystems where flock cannot be trusted across machines; either way the lease
/// protocol (`cache::lease`) keeps concurrent runs to one download per blob, and resumable.
pub const HFGET_NO_FILE_LOCKS: &str = "HFGET_NO_FILE_LOCKS";
/// `1` makes snapshots hold the files themselves (hard links, else the file moved or copied)
/// instead of symlinks, as huggingface_hub does with the same variable (docs/cache-layout.md).
pub const HF_HUB_DISABLE_SYMLINKS: &str = "HF_HUB_DISABLE_SYMLINKS";
/// Seconds a download's lease may go without a heartbeat before another run takes it over
/// (default 30). Lower it for jobs that are often killed; raise it on file servers
/// that stall for longer.
pub const HFGET_LEASE_TIMEOUT: &str = "HFGET_LEASE_TIMEOUT";
/// Where hfget keeps its own small state (the name of the active keyring login).
pub const HFGET_CONFIG_DIR: &str = "HFGET_CONFIG_DIR";

// Browser login (OAuth device code) and CI tokens by OIDC exchange, named as
// huggingface_hub 2.4 names them (`constants.py`, `_oidc.py`, `utils/_auth.py`).
/// Overrides the public OAuth client id of the device-code login.
pub const HF_DEVICE_CODE_OAUTH_CLIENT_ID: &str = "HF_DEVICE_CODE_OAUTH_CLIENT_ID";
/// Turns on the OIDC exchange ("Trusted Publishers"): the repository or user name the
/// exchanged token is scoped to.
pub const HF_OIDC_RESOURCE: &str = "HF_OIDC_RESOURCE";
/// An id token minted by any CI provider, exchanged as is (GitLab and others).
pub const HF_OIDC_ID_TOKEN: &str = "HF_OIDC_ID_TOKEN";
/// `true` inside GitHub Actions: the one provider whose id token hfget can mint itself.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// Where GitHub Actions mints id tokens; set only for jobs with `permissions: id-token: write`.
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// The bearer token for [`ACTIONS_ID_TOKEN_REQUEST_URL`].
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// A graphical session, so `login --web` may open a browser (X11, Wayland).
pub const DISPLAY: &str = "DISPLAY";
pub const WAYLAND_DISPLAY: &str = "WAYLAND_DISPLAY";
/// Where `login --web` looks for `xdg-open` and `$BROWSER`.
pub const PATH: &str = "PATH";
/// The browser command the user prefers (as `xdg-open` and Python's `webbrowser` honour it).
pub const BROWSER: &str = "BROWSER";

/// Every HF_* variable `hfget env` reports when set (proxies and certificates are reported on
/// their own, from [`NetworkVariables`]).
pub const REPORTED_VARIABLES: &[&str] = &[
    HF_ENDPOINT,
    HF_HOME,
    HF_HUB_CACHE,
    HUGGINGFACE_HUB_CACHE,
    HF_TOKEN_PATH,
    HF_HUB_OFFLINE,
    TRANSFORMERS_OFFLINE,
    HF_HUB_DISABLE_PROGRESS_BARS,
    HF_HUB_DISABLE_IMPLICIT_TOKEN,
    HF_HUB_ETAG_TIMEOUT,
    HF_HUB_DOWNLOAD_TIMEOUT,
    HFGET_FIRST_BYTE_TIMEOUT,
    HF_OIDC_RESOURCE,
    HF_DEVICE_CODE_OAUTH_CLIENT_ID,
    NO_COLOR,
    HFGET_KEYRING,
    HFGET_CONFIG_DIR,
    HFGET_NO_FILE_LOCKS,
    HFGET_LEASE_TIMEOUT,
    HF_HUB_DISABLE_SYMLINKS,
];

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A source of environment variables: the process environment, or a map in tests.
pub trait Environment: Send + Sync {
    fn var_os(&self, name: &str) -> Option<OsString>;

    /// The variable as a string, with an empty value treated as unset (as Python's `or` does).
    fn var(&self, name: &str) -> Option<String> {
        self.var_os(name)
            .map(|value| value.to_string_lossy().into_owned())
            .filter(|value| !value.is_empty())
    }

    /// `huggingface_hub`'s boolean parsing: `1/ON/YES/TRUE` (any case) is true, anything else false.
    fn flag(&self, name: &str) -> Option<bool> {
        self.var(name).map(|value| {
            matches!(
                value.trim().to_ascii_uppercase().as_str(),
                "1" | "ON" | "YES" | "TRUE"
            )
        })
    }
}

/// Which of `HF_HUB_OFFLINE` and `TRANSFORMERS_OFFLINE` turned offline mode on (docs/protocol.md §5.4). Here,
/// beside the names, so `doctor` does not reach up into `commands` for it.
pub fn offline_variables(environment: &dyn Environment) -> Vec<String> {
    [HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE]
        .into_iter()
        .filter(|name| environment.flag(name) == Some(true))
        .map(str::to_string)
        .collect()
}

/// The real process environment.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var_os(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

/// Settings shared by every command, resolved once from the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Hub base URL without a trailing slash.
    pub endpoint: String,
    pub hf_home: PathBuf,
    /// The `huggingface_hub` cache (`$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`).
    pub hub_cache: PathBuf,
    /// The plain-text token file shared with the Python tools.
    pub token_path: PathBuf,
    pub offline: bool,
    /// The variable that turned offline mode on, for messages: `TRANSFORMERS_OFFLINE=1` users
    /// must not be told to unset a `HF_HUB_OFFLINE` they never set.
    pub offline_variable: &'static str,
    /// `Some(false)` forces bars off, `Some(true)` forces them on, `None` lets the terminal decide.
    pub progress_bars: Option<bool>,
    pub disable_implicit_token: bool,

    /// Connect and response-headers timeout (`HF_HUB_ETAG_TIMEOUT`, default 10 s as in Python).
    pub etag_timeout: Duration,
    /// No byte for this long mid-body drops the connection (`HF_HUB_DOWNLOAD_TIMEOUT`, 10 s).
    pub download_timeout: Duration,
    /// The wait for a file's first body byte (`HFGET_FIRST_BYTE_TIMEOUT`, default 120 s).
    pub first_byte_timeout: Duration,
    pub config_dir: PathBuf,
    pub keyring_backend: Option<String>,
    /// Skip flock on `.locks/` (`HFGET_NO_FILE_LOCKS`).
    pub no_file_locks: bool,
    /// Snapshots without symlinks even where the filesystem has them (`HF_HUB_DISABLE_SYMLINKS`).
    pub disable_symlinks: bool,
    /// How long a silent lease lasts before it is taken over (`HFGET_LEASE_TIMEOUT`).
    pub lease_timeout: std::time::Duration,
    /// The proxy and certificate variables, as set; `hub::transport` validates them.
    pub network: NetworkVariables,
}

/// One variable that was set: its name (for messages) and its raw value (never printed as is:
/// a proxy URL may hold a password).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub value: String,
}

/// The proxy and trusted-certificate variables, after precedence: which one is in effect for
/// each role, and which were set but lost to another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkVariables {
    pub https_proxy: Option<Variable>,
    pub http_proxy: Option<Variable>,
    pub all_proxy: Option<Variable>,
    pub no_proxy: Option<Variable>,
    /// Whether any proxy variable is present at all, even empty. When none is, the operating
    /// system's proxy settings apply (macOS, Windows); otherwise only the variables do.
    pub proxy_variables_present: bool,
    pub ca: Option<Variable>,
    /// Variables that were set but are not in effect (`HTTPS_PROXY` under `https_proxy`,
    /// `SSL_CERT_FILE` under `REQUESTS_CA_BUNDLE`), with the name of the one that won (or
    /// `None` when an empty lower-case variable switched the role off).
    pub shadowed: Vec<(&'static str, Option<&'static str>)>,
}

impl NetworkVariables {
    /// The proxy variables in effect (not `NO_PROXY`).
    pub fn proxies(&self) -> impl Iterator<Item = &Variable> {
        [&self.https_proxy, &self.http_proxy, &self.all_proxy]
            .into_iter()
            .flatten()
    }

    pub fn from_env(env: &dyn Environment) -> NetworkVariables {
        let mut network = NetworkVariables::default();
        let mut proxy = |lower: &'static str, upper: &'static str| {
            let lower_value = env.var_os(lower).map(|v| v.to_string_lossy().into_owned());
            let upper_value = env.var(upper);
            network.proxy_variables_present |= lower_value.is_some() || env.var_os(upper).is_some();
            // urllib: a lower-case variable that is present decides, even empty (which turns
            // the role off); the upper-case one counts only when the lower-case one is absent.
            let chosen = match &lower_value {
                Some(value) if value.trim().is_empty() => None,
                Some(value) => Some(Variable {
                    name: lower,
                    value: value.trim().to_string(),
                }),
                None => upper_value.as_ref().map(|value| Variable {
                    name: upper,
                    value: value.trim().to_string(),
                }),
            };
            if lower_value.is_some() && upper_value.is_some() {
                network
                    .shadowed
                    .push((upper, chosen.as_ref().map(|v| v.name)));
            }
            chosen
        };
        let https_proxy = proxy(HTTPS_PROXY_LOWER, HTTPS_PROXY);
        let http_proxy = proxy(HTTP_PROXY_LOWER, HTTP_PROXY);
        let all_proxy = proxy(ALL_PROXY_LOWER, ALL_PROXY);
        let no_proxy = proxy(NO_PROXY_LOWER, NO_PROXY);
        network.https_proxy = https_proxy;
        network.http_proxy = http_proxy;
        network.all_proxy = all_proxy;
        network.no_proxy = no_proxy;
        for name in [
            REQUESTS_CA_BUNDLE,
            CURL_CA_BUNDLE,
            SSL_CERT_FILE,
            SSL_CERT_DIR,
        ] {
            let Some(value) = env.var(name) else { continue };
            match &network.ca {
                None => network.ca = Some(Variable { name, value }),
                Some(winner) => network.shadowed.push((name, Some(winner.name))),
            }
        }
        network
    }
}

impl Settings {
    pub fn from_env(env: &dyn Environment) -> Settings {
        let home = dirs::home_dir().unwrap_or_else(|| PathBuf::from("."));
        let xdg_cache = env
            .var(XDG_CACHE_HOME)
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".cache"));
        let hf_home = env
            .var(HF_HOME)
            .map(|value| expand_home(&value, &home))
            .unwrap_or_else(|| xdg_cache.join("huggingface"));
        let hub_cache = env
            .var(HF_HUB_CACHE)
            .or_else(|| env.var(HUGGINGFACE_HUB_CACHE))
            .map(|value| expand_home(&value, &home))
            .unwrap_or_else(|| hf_home.join("hub"));
        let token_path = env
            .var(HF_TOKEN_PATH)
            .map(|value| expand_home(&value, &home))
            .unwrap_or_else(|| hf_home.join("token"));
        let endpoint = env
            .var(HF_ENDPOINT)
            .map(|value| value.trim().trim_end_matches('/').to_string())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let offline_variable = [HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE]
            .into_iter()
            .find(|name| env.flag(name).unwrap_or(false));
        let offline = offline_variable.is_some();
        let offline_variable = offline_variable.unwrap_or(HF_HUB_OFFLINE);
        let progress_bars = env
            .flag(HF_HUB_DISABLE_PROGRESS_BARS)
            .map(|disabled| !disabled);
        let seconds = |name: &str, default: u64| {
            env.var(name)
                .and_then(|value| value.trim().parse::<f64>().ok())
                .filter(|secs| secs.is_finite() && *secs > 0.0)
                .map(|secs| Duration::from_secs_f64(secs.min(86_400.0)))
                .unwrap_or(Duration::from_secs(default))
        };
        let config_dir = env
            .var(HFGET_CONFIG_DIR)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                dirs::config_dir()
                    .unwrap_or_else(|| home.join(".config"))
                    .join("hfget")
            });
        Settings {
            endpoint,
            hf_home,
            hub_cache,
            token_path,
            offline,
            offline_variable,
            progress_bars,
            disable_implicit_token: env.flag(HF_HUB_DISABLE_IMPLICIT_TOKEN).unwrap_or(false),
            etag_timeout: seconds(HF_HUB_ETAG_TIMEOUT, 10),
            download_timeout: seconds(HF_HUB_DOWNLOAD_TIMEOUT, 10),
            first_byte_timeout: seconds(HFGET_FIRST_BYTE_TIMEOUT, 120),
            config_dir,
            keyring_backend: env.var(HFGET_KEYRING),
            no_file_locks: env.flag(HFGET_NO_FILE_LOCKS).unwrap_or(false),
            disable_symlinks: env.flag(HF_HUB_DISABLE_SYMLINKS).unwrap_or(false),
            lease_timeout: env
                .var(HFGET_LEASE_TIMEOUT)
                .and_then(|value| value.trim().parse::<f64>().ok())
                .filter(|secs| secs.is_finite() && *secs > 0.0)
                .map(std::time::Duration::from_secs_f64)
                .unwrap_or(DEFAULT_LEASE_TIMEOUT),
            network: NetworkVariables::from_env(env),
        }
    }

    /// The `stored_tokens` INI file that sits beside the token file (docs/protocol.md §2.1, §5.2).
    pub fn stored_tokens_path(&self) -> PathBuf {
        self.token_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.hf_home.clone())
            .join("stored_tokens")
    }
}

/// `os.path.expanduser` for the one form people use in these variables: a leading `~/`.
fn expand_home(value: &str, home: &Path) -> PathBuf {
    match value.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None if value == "~" => home.to_path_buf(),
        None => PathBuf::from(value),
    }
}

#[cfg(test)]
pub(crate) mod tests;
