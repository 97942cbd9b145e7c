//! `hub-emulator`: a faithful, in-process emulator of the Hugging Face Hub for hfget's
//! integration tests, the Python `huggingface_hub` interop tests and the benchmarks.
//!
//! Why an emulator rather than mocks: the behaviours a downloader gets wrong are protocol
//! details — the relative `307` to `/api/resolve-cache/…`, the LFS `302` whose
//! `Content-Length` is not the file size, `Authorization` leaking to the CDN, CDN URLs signed
//! for a single `Range`, and the exact `X-Error-Code`/`X-Error-Message` pairs behind every
//! 401/403/404. These are reproduced here as documented in
//! `/work/shared/reference/hub-protocol.md`; wherever the reference is silent the code says
//! `GUESS:` and why.
//!
//! Two origins run on 127.0.0.1: the **hub** (`HF_ENDPOINT`) and a **CDN** for LFS blobs.
//! Tests describe the world with a [`Scenario`], script misbehaviour with [`Fault`]s, and
//! inspect [`Emulator::requests`] afterwards.
//!
//! ```no_run
//! use hub_emulator::{Content, Emulator, Repo, Scenario};
//! let emu = Emulator::start(
//!     Scenario::new().repo(
//!         Repo::model("acme/tiny")
//!             .file("config.json", b"{}")
//!             .lfs("model.safetensors", Content::Pattern { seed: 1, size: 1 << 20 }),
//!     ),
//! )?;
//! let mut cmd = std::process::Command::new("hfget");
//! cmd.env("HF_ENDPOINT", emu.hub_url());
//! # Ok::<(), std::io::Error>(())
//! ```

mod binding;
mod cdn;
mod conditions;
mod content;
mod counters;
mod fault;
mod hub;
mod hub2026;
mod mirror;
mod oauth;
mod quota;
mod scenario;
mod serve;
mod server;
mod state;
mod throttle;

pub use fault::{Fault, FaultAction};
pub use oauth::{DEVICE_CODE_CLIENT_ID, DeviceStatus, OAuthScenario, OidcTrust};
pub use scenario::{
    AccessState, BadTokenWording, Commit, Content, FileSpec, FineGrained, Gate, MaskedHashes,
    OrgMembership, Repo, RepoType, Scenario, ScopedPermission, Token, TokenRole, User, XetCas,
};
pub use server::Emulator;
// Issue #9: the Hub of 2026, capped CDNs and pull-through mirrors (opt-in scenario switches).
pub use binding::RangeBinding;
pub use counters::Counters;
pub use mirror::{MirrorMode, OLAH_BLOCK_SIZE, OLAH_HEADER_HOLD_MS};
pub use quota::ResolverQuota;
pub use throttle::SlowConnection;

/// Which listener a request arrived on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Origin {
    Hub,
    Cdn,
}

/// One request as seen by the emulator.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RequestRecord {
    pub origin: Origin,
    /// `GET`, `HEAD`, `POST`, …
    pub method: String,
    /// Path + `?` + query exactly as received (still percent-encoded).
    pub path: String,
    /// Raw `Authorization` header value, if any.
    pub authorization: Option<String>,
    /// Raw `Range` header value, if any.
    pub range: Option<String>,
    /// Status the emulator answered (0 while the request is still being handled).
    pub status: u16,
}

/// Writes every LFS blob of the scenario to `out/repos/{aa}/{bb}/{sha256}`, the layout of the
/// CDN URLs, so that a static server (nginx) can stand in for the CDN via `cdn_base_url`.
/// Returns the number of blobs written.
pub fn export_blobs(scenario: &Scenario, out: &std::path::Path) -> std::io::Result<usize> {
    use std::io::Write as _;
    let mut written = std::collections::HashSet::new();
    for repo in &scenario.repos {
        let repo = repo.clone().finalized();
        for commit in &repo.commits {
            for f in commit.files.iter().filter(|f| f.lfs) {
                let sha = f.content.sha256_hex();
                if !written.insert(sha.clone()) {
                    continue;
                }
                let dir = out.join("repos").join(&sha[0..2]).join(&sha[2..4]);
                std::fs::create_dir_all(&dir)?;
                let tmp = dir.join(format!("{sha}.tmp"));
                let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                let mut buf = vec![0u8; 1 << 20];
                let mut off = 0u64;
                let len = f.content.len();
                while off < len {
                    let n = ((len - off) as usize).min(buf.len());
                    f.content.read_at(off, &mut buf[..n]);
                    file.write_all(&buf[..n])?;
                    off += n as u64;
                }
                file.flush()?;
                drop(file);
                std::fs::rename(&tmp, dir.join(&sha))?;
            }
        }
    }
    Ok(written.len())
}
