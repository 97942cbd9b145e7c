//! The Hub protocol: repository ids and URLs, the HTTP client (redirects, auth, retries), the API
//! endpoints and their answers, and the decoding of Hub errors into families a user can act on.
//!
//! What the code relies on about the Hub is written down in `docs/protocol.md`, and what real
//! captures and mirrors showed in `docs/real-hub.md`; comments cite their sections.

pub mod api;
pub mod client;
pub mod error;
pub mod fetch;
pub mod renewal;
pub mod repo;
pub mod retry;
pub mod transport;
pub mod whoami;

pub use api::{Gate, TreeEntry};
pub use client::HubClient;
pub use error::{HubError, HubErrorKind};
pub use repo::{RepoId, RepoType};
