//! The emulator's state: the scenario compiled into indexed, hashed repositories, plus the
//! small mutable part (gate states, token validity, faults, request log) behind mutexes.
//!
//! Access decisions live here too, in one place, so that resolve, `/api/…` info, tree,
//! paths-info and auth-check all apply the same rules in the same order (§4.3–4.6):
//! invalid token → missing/private → org security restriction → disabled → gate.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::content::{self, Hashes};
use crate::fault::Fault;
use crate::scenario::{
    AccessState, Content, FineGrained, Gate, RepoType, Scenario, Token, TokenRole, User,
};
use crate::{Origin, RequestRecord};

/// File bytes as served: in memory (cheap `Bytes` slices) or generated on the fly.
#[derive(Clone, Debug)]
pub(crate) enum Blob {
    Bytes(Bytes),
    Pattern { seed: u64, size: u64 },
}

impl Blob {
    pub fn len(&self) -> u64 {
        match self {
            Blob::Bytes(b) => b.len() as u64,
            Blob::Pattern { size, .. } => *size,
        }
    }
    /// `len` bytes from `offset` (clamped to the end).
    pub fn chunk(&self, offset: u64, len: usize) -> Bytes {
        let end = (offset + len as u64).min(self.len());
        let offset = offset.min(end);
        match self {
            Blob::Bytes(b) => b.slice(offset as usize..end as usize),
            Blob::Pattern { seed, .. } => {
                let mut v = vec![0u8; (end - offset) as usize];
                content::pattern_fill(*seed, offset, &mut v);
                Bytes::from(v)
            }
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct LfsMeta {
    pub sha256: String,
    pub pointer: String,
}

/// One file of one commit with every hash precomputed.
#[derive(Debug)]
pub(crate) struct FileEntry {
    pub path: String,
    pub blob: Blob,
    pub size: u64,
    /// Sha1 of the content blob (regular file) or of the LFS pointer (tree `oid`, `blobId`).
    pub git_oid: String,
    /// Sha1 of the content itself (the ETag of a regular file).
    pub content_git_sha1: String,
    pub lfs: Option<LfsMeta>,
    pub xet_hash: Option<String>,
}

impl FileEntry {
    /// What `/raw/` serves: the pointer for LFS files, else the content.
    pub fn raw_blob(&self) -> Blob {
        match &self.lfs {
            Some(l) => Blob::Bytes(Bytes::from(l.pointer.clone().into_bytes())),
            None => self.blob.clone(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct CommitState {
    pub sha: String,
    pub date: u64,
    pub title: String,
    /// Sorted by path.
    pub files: Vec<Arc<FileEntry>>,
    pub by_path: HashMap<String, Arc<FileEntry>>,
}

#[derive(Debug)]
pub(crate) struct RepoState {
    pub idx: usize,
    pub repo_type: RepoType,
    pub id: String,
    pub owner: String,
    pub private: bool,
    pub gated: Gate,
    pub disabled: bool,
    pub renamed_from: Vec<String>,
    pub commits: Vec<CommitState>,
    pub branches: BTreeMap<String, usize>,
    pub tags: BTreeMap<String, usize>,
    pub prs: BTreeMap<u32, usize>,
    pub object_id: String,
    pub created: u64,
}

impl RepoState {
    pub fn main_commit(&self) -> usize {
        self.branches
            .get("main")
            .copied()
            .unwrap_or(self.commits.len().saturating_sub(1))
    }

    /// Resolves a (decoded) revision: branch, tag, `refs/pr/N`, `refs/heads/x`, `refs/tags/x`,
    /// or a full 40-hex commit sha.
    pub fn resolve_rev(&self, rev: &str) -> Option<usize> {
        if let Some(&i) = self.branches.get(rev) {
            return Some(i);
        }
        if rev == "main" {
            return Some(self.main_commit());
        }
        if let Some(&i) = self.tags.get(rev) {
            return Some(i);
        }
        if let Some(n) = rev.strip_prefix("refs/pr/") {
            return n
                .parse::<u32>()
                .ok()
                .and_then(|n| self.prs.get(&n).copied());
        }
        if let Some(b) = rev.strip_prefix("refs/heads/") {
            return self.resolve_branch(b);
        }
        if let Some(t) = rev.strip_prefix("refs/tags/") {
            return self.tags.get(t).copied();
        }
        // GUESS: huggingface.js asks `/revision/HEAD` (§3.1); we map it to the default branch.
        if rev == "HEAD" {
            return Some(self.main_commit());
        }
        if content::is_hex40(rev) {
            let lower = rev.to_ascii_lowercase();
            return self.commits.iter().position(|c| c.sha == lower);
        }
        None
    }

    fn resolve_branch(&self, b: &str) -> Option<usize> {
        match self.branches.get(b) {
            Some(&i) => Some(i),
            None if b == "main" => Some(self.main_commit()),
            None => None,
        }
    }

    /// All branch names including the implicit `main`.
    pub fn branch_list(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> =
            self.branches.iter().map(|(k, v)| (k.clone(), *v)).collect();
        if !self.branches.contains_key("main") {
            v.insert(0, ("main".to_string(), self.main_commit()));
        }
        v
    }
}

/// Why a caller may not see a repo or its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// Missing or private without access (401 anonymous / 404 `RepoNotFound`).
    NotFound,
    Disabled,
    /// Org security restriction (sso, mfa, ip, token-policy, token-revoked).
    Restricted(String),
    Gate(GateDenial),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GateDenial {
    Anonymous,
    NotRequested,
    Pending,
    Rejected,
    FineGrainedNoGated,
}

/// Who is calling, after token validation.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    Anonymous,
    /// An `Authorization` header with an unknown, revoked, expired or malformed token.
    Invalid,
    User {
        token: Box<Token>,
        user: Box<User>,
    },
}

impl Caller {
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Caller::Anonymous)
    }
    fn fine_grained(&self) -> Option<&FineGrained> {
        match self {
            Caller::User { token, .. } => match &token.role {
                TokenRole::FineGrained(fg) => Some(fg),
                _ => None,
            },
            _ => None,
        }
    }
    /// The caller's membership in `org` (ignoring `no_access`).
    fn membership(&self, org: &str) -> Option<&crate::scenario::OrgMembership> {
        match self {
            Caller::User { user, .. } => user
                .orgs
                .iter()
                .find(|m| m.org.eq_ignore_ascii_case(org) && m.role != "no_access"),
            _ => None,
        }
    }
    /// Owner of the repo or a member of the owning org.
    fn is_insider(&self, repo: &RepoState) -> bool {
        match self {
            Caller::User { user, .. } => {
                user.name.eq_ignore_ascii_case(&repo.owner)
                    || self.membership(&repo.owner).is_some()
            }
            _ => false,
        }
    }
}

pub(crate) struct Dynamic {
    /// Per repo index: user → gate state.
    pub access: Vec<BTreeMap<String, AccessState>>,
    pub token_valid: HashMap<String, bool>,
    pub faults: Vec<Fault>,
}

pub(crate) struct Log {
    next_seq: u64,
    records: Vec<(u64, RequestRecord)>,
}

pub(crate) struct Config {
    pub page_size: usize,
    pub hub_latency_ms: u64,
    pub signed_url_ttl_secs: u64,
    pub resolve_cache_redirect: bool,
    /// issue #10 switches.
    pub hub2026: crate::hub2026::Switches,
    /// A Xet CAS behind the Hub (`xet-read-token` answers with it).
    pub xet_cas: Option<crate::scenario::XetCas>,
}

/// (bucket, identity) → (window start, requests in window).
pub(crate) type RateWindows = HashMap<(&'static str, String), (u64, u64)>;

pub(crate) struct Shared {
    pub repos: Vec<RepoState>,
    pub users: HashMap<String, User>,
    pub tokens: HashMap<String, Token>,
    pub cfg: Config,
    /// `http://127.0.0.1:PORT` of the hub origin.
    pub hub_url: String,
    /// Base of the CDN URLs minted by LFS redirects (the built-in CDN or `cdn_base_url`).
    pub cdn_public_url: String,
    /// Blobs the CDN can serve, by sha256.
    pub cdn_blobs: HashMap<String, Arc<FileEntry>>,
    pub secret: String,
    pub dynamic: Mutex<Dynamic>,
    pub log: Mutex<Log>,
    pub verbose: AtomicBool,
    pub request_counter: AtomicU64,
    /// (bucket, identity) → (window start, requests in window), for the `RateLimit` header.
    pub ratelimit: Mutex<RateWindows>,
    /// Issue #9: quota, range binding, CDN caps, mirror mode and the counters.
    pub conditions: crate::conditions::Conditions,
    /// Device logins and the tokens they issued (issue #14, `oauth.rs`).
    pub oauth: crate::oauth::OAuthState,
}

/// Locks a mutex, recovering from poisoning (a panicking handler must not wedge the emulator).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Deterministic 24-hex object id (Mongo-style `_id`).
pub(crate) fn object_id(kind: &str, name: &str) -> String {
    content::sha1_hex(format!("{kind}:{name}").as_bytes())[..24].to_string()
}

/// Epoch of the emulated history: 2024-01-01T00:00:00Z.
const EPOCH: u64 = 1_704_067_200;

impl Shared {
    pub fn build(scenario: Scenario, hub_url: String, cdn_url: String) -> Shared {
        let conditions = crate::conditions::Conditions::from_scenario(&scenario);
        let hub2026 = crate::hub2026::Switches::from_scenario(&scenario);
        let cdn_public_url = scenario
            .cdn_base_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or(cdn_url);
        let mut hash_cache: HashMap<(u64, u64), Hashes> = HashMap::new();
        // In-memory contents are shared by sha256 across commits and repos; the scenario's
        // Vec is moved into `Bytes`, never copied.
        let mut bytes_cache: HashMap<String, Bytes> = HashMap::new();
        let mut cdn_blobs = HashMap::new();
        let mut repos = Vec::new();
        let mut access = Vec::new();
        for (idx, repo) in scenario.repos.into_iter().enumerate() {
            let mut repo = repo.finalized();
            let owner = repo.id.split('/').next().unwrap_or_default().to_string();
            let mut commits = Vec::new();
            let repo_commits = std::mem::take(&mut repo.commits);
            for (ci, commit) in repo_commits.into_iter().enumerate() {
                let mut files: Vec<Arc<FileEntry>> = Vec::new();
                for spec in commit.files {
                    let hashes = match &spec.content {
                        Content::Bytes(_) => content::hashes(&spec.content),
                        Content::Pattern { seed, size } => hash_cache
                            .entry((*seed, *size))
                            .or_insert_with(|| content::hashes(&spec.content))
                            .clone(),
                    };
                    let blob = match spec.content {
                        Content::Bytes(b) => Blob::Bytes(
                            bytes_cache
                                .entry(hashes.sha256.clone())
                                .or_insert_with(|| Bytes::from(b))
                                .clone(),
                        ),
                        Content::Pattern { seed, size } => Blob::Pattern { seed, size },
                    };
                    let size = blob.len();
                    let (git_oid, lfs, xet_hash) = if spec.lfs {
                        let pointer = content::lfs_pointer(&hashes.sha256, size);
                        let xet = spec.xet.then(|| {
                            spec.xet_hash.clone().unwrap_or_else(|| {
                                content::sha256_hex(format!("xet{}", hashes.sha256).as_bytes())
                            })
                        });
                        (
                            content::git_blob_sha1(pointer.as_bytes()),
                            Some(LfsMeta {
                                sha256: hashes.sha256.clone(),
                                pointer,
                            }),
                            xet,
                        )
                    } else {
                        (hashes.git_sha1.clone(), None, None)
                    };
                    let entry = Arc::new(FileEntry {
                        // Verbatim: real git trees never hold `/x` or `../x`, but a scenario
                        // that writes one is describing a hostile mirror on purpose (hfget's
                        // security tests), so the listing must show it as written.
                        path: spec.path.clone(),
                        blob,
                        size,
                        git_oid,
                        content_git_sha1: hashes.git_sha1.clone(),
                        lfs,
                        xet_hash,
                    });
                    if let Some(l) = &entry.lfs {
                        cdn_blobs
                            .entry(l.sha256.clone())
                            .or_insert_with(|| entry.clone());
                    }
                    files.push(entry);
                }
                files.sort_by(|a, b| a.path.cmp(&b.path));
                files.dedup_by(|a, b| a.path == b.path);
                // Deterministic commit sha: repo id + index + the file oids.
                let mut seed = format!("{}\0{}\0{}\0", repo.repo_type.word(), repo.id, ci);
                for f in &files {
                    seed.push_str(&f.path);
                    seed.push('\0');
                    seed.push_str(&f.git_oid);
                    seed.push('\n');
                }
                let by_path = files.iter().map(|f| (f.path.clone(), f.clone())).collect();
                commits.push(CommitState {
                    sha: content::sha1_hex(seed.as_bytes()),
                    // GUESS: synthetic history, one commit per day from 2024-01-02.
                    date: EPOCH + (idx as u64) * 3600 + (ci as u64 + 1) * 86_400,
                    title: if ci == 0 {
                        "initial commit".to_string()
                    } else {
                        format!("Update files (commit {ci})")
                    },
                    files,
                    by_path,
                });
            }
            let last = commits.len().saturating_sub(1);
            let clamp = |m: &BTreeMap<String, usize>| -> BTreeMap<String, usize> {
                m.iter().map(|(k, v)| (k.clone(), (*v).min(last))).collect()
            };
            access.push(repo.access.clone());
            repos.push(RepoState {
                idx,
                repo_type: repo.repo_type,
                object_id: object_id(repo.repo_type.word(), &repo.id),
                owner,
                private: repo.private,
                gated: repo.gated,
                disabled: repo.disabled,
                renamed_from: repo.renamed_from.clone(),
                branches: clamp(&repo.branches),
                tags: clamp(&repo.tags),
                prs: repo.prs.iter().map(|(k, v)| (*k, (*v).min(last))).collect(),
                commits,
                created: EPOCH + (idx as u64) * 3600,
                id: repo.id,
            });
        }
        let oauth = scenario.oauth;
        let xet_cas = scenario.xet_cas;
        let users = scenario
            .users
            .into_iter()
            .map(|u| (u.name.clone(), u))
            .collect();
        let tokens: HashMap<String, Token> = scenario
            .tokens
            .into_iter()
            .map(|t| (t.value.clone(), t))
            .collect();
        let token_valid = tokens.iter().map(|(k, t)| (k.clone(), t.valid)).collect();
        Shared {
            repos,
            users,
            tokens,
            cfg: Config {
                page_size: scenario.page_size.max(1),
                hub_latency_ms: scenario.hub_latency_ms,
                signed_url_ttl_secs: scenario.signed_url_ttl_secs,
                resolve_cache_redirect: scenario.resolve_cache_redirect,
                hub2026,
                xet_cas,
            },
            hub_url,
            cdn_public_url,
            cdn_blobs,
            secret: "hub-emulator-signing-secret".to_string(),
            dynamic: Mutex::new(Dynamic {
                access,
                token_valid,
                faults: scenario.faults,
            }),
            log: Mutex::new(Log {
                next_seq: 0,
                records: Vec::new(),
            }),
            verbose: AtomicBool::new(false),
            request_counter: AtomicU64::new(0),
            ratelimit: Mutex::new(HashMap::new()),
            conditions,
            oauth: crate::oauth::OAuthState::new(oauth),
        }
    }

    /// Finds a repo: exact id → `Ok`, other casing or a former name → `Err(Some(canonical))`
    /// (the caller answers a `307`), unknown → `Err(None)`.
    pub fn lookup(&self, ty: RepoType, id: &str) -> Result<&RepoState, Option<&RepoState>> {
        let same_type = || self.repos.iter().filter(move |r| r.repo_type == ty);
        if let Some(r) = same_type().find(|r| r.id == id) {
            return Ok(r);
        }
        if let Some(r) = same_type().find(|r| r.id.eq_ignore_ascii_case(id)) {
            return Err(Some(r));
        }
        if let Some(r) = same_type().find(|r| {
            r.renamed_from
                .iter()
                .any(|old| old.eq_ignore_ascii_case(id))
        }) {
            return Err(Some(r));
        }
        Err(None)
    }

    /// Interprets the `Authorization` header (Bearer, or Basic with the token as password).
    pub fn caller(&self, authorization: Option<&str>) -> Caller {
        let Some(raw) = authorization else {
            return Caller::Anonymous;
        };
        let raw = raw.trim();
        let token = if let Some(t) = strip_prefix_ci(raw, "bearer ") {
            t.trim().to_string()
        } else if let Some(b) = strip_prefix_ci(raw, "basic ") {
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(b.trim()) {
                Ok(d) => String::from_utf8_lossy(&d)
                    .split_once(':')
                    .map(|(_, p)| p.to_string())
                    .unwrap_or_default(),
                Err(_) => return Caller::Invalid,
            }
        } else {
            // GUESS: an Authorization header of another scheme counts as invalid credentials.
            return Caller::Invalid;
        };
        // Tokens the OAuth endpoints issued count like scenario tokens (issue #14).
        let issued = self.oauth.lookup(&token);
        let Some(tok) = self.tokens.get(&token).or(issued.as_ref()) else {
            return Caller::Invalid;
        };
        let valid = lock(&self.dynamic)
            .token_valid
            .get(&token)
            .copied()
            .unwrap_or(tok.valid);
        // GUESS: an expired token answers like a deleted one (§4.4 "presumably").
        let expired = tok
            .expires_at
            .as_deref()
            .and_then(content::parse_iso8601)
            .is_some_and(|exp| exp <= content::now_unix());
        if !valid || expired {
            return Caller::Invalid;
        }
        let user = self
            .users
            .get(&tok.user)
            .cloned()
            .unwrap_or_else(|| User::new(&tok.user));
        Caller::User {
            token: Box::new(tok.clone()),
            user: Box::new(user),
        }
    }

    /// The access rules of §4.3–4.6. `content` selects the gated checks (resolve, paths-info,
    /// auth-check); metadata of gated repos stays public (§3.1).
    pub fn check(&self, repo: &RepoState, caller: &Caller, content: bool) -> Result<(), Denial> {
        if repo.private && !self.can_read_private(repo, caller) {
            return Err(Denial::NotFound);
        }
        if repo.private
            && let Some(m) = caller.membership(&repo.owner)
            && let Some(r) = m.security_restrictions.first()
        {
            return Err(Denial::Restricted(restriction_message(r, &m.org)));
        }
        // GUESS (§4.6): disabled is checked after visibility so that a disabled private repo
        // stays invisible to outsiders.
        if repo.disabled {
            return Err(Denial::Disabled);
        }
        if content && repo.gated != Gate::None && !caller.is_insider(repo) {
            let Caller::User { user, .. } = caller else {
                return Err(Denial::Gate(GateDenial::Anonymous));
            };
            let state = lock(&self.dynamic)
                .access
                .get(repo.idx)
                .and_then(|m| m.get(&user.name).copied());
            return match state {
                None => Err(Denial::Gate(GateDenial::NotRequested)),
                Some(AccessState::Pending) => Err(Denial::Gate(GateDenial::Pending)),
                Some(AccessState::Rejected) => Err(Denial::Gate(GateDenial::Rejected)),
                // GUESS: a granted user's fine-grained token needs the gated-repos checkbox even
                // when it has a scope covering the repo (§4.3 row "Fine-grained token").
                Some(AccessState::Granted) => match caller.fine_grained() {
                    Some(fg) if !fg.can_read_gated_repos => {
                        Err(Denial::Gate(GateDenial::FineGrainedNoGated))
                    }
                    _ => Ok(()),
                },
            };
        }
        Ok(())
    }

    fn can_read_private(&self, repo: &RepoState, caller: &Caller) -> bool {
        if !caller.is_insider(repo) {
            return false;
        }
        match caller.fine_grained() {
            None => true,
            // GUESS (§4.4, §8): a fine-grained token needs `repo.content.read` (or `repo.write`)
            // scoped to the owning user/org or to the repo itself, else the repo is hidden.
            Some(fg) => fg.scoped.iter().any(|s| {
                let entity_ok = match s.entity_type.as_str() {
                    "user" | "org" => s.entity_name.eq_ignore_ascii_case(&repo.owner),
                    t => t == repo.repo_type.word() && s.entity_name.eq_ignore_ascii_case(&repo.id),
                };
                entity_ok
                    && s.permissions
                        .iter()
                        .any(|p| p == "repo.content.read" || p == "repo.write")
            }),
        }
    }

    /// Reserves a log slot in arrival order; the status is filled in by [`Shared::finish`].
    pub fn record_start(&self, rec: RequestRecord) -> u64 {
        let mut log = lock(&self.log);
        let seq = log.next_seq;
        log.next_seq += 1;
        log.records.push((seq, rec));
        seq
    }

    pub fn record_finish(&self, seq: u64, status: u16) {
        let mut log = lock(&self.log);
        if let Ok(i) = log.records.binary_search_by_key(&seq, |(s, _)| *s) {
            log.records[i].1.status = status;
            if self.verbose.load(std::sync::atomic::Ordering::Relaxed) {
                let r = &log.records[i].1;
                eprintln!(
                    "{:?} {} {} -> {}{}",
                    r.origin,
                    r.method,
                    r.path,
                    r.status,
                    r.range
                        .as_deref()
                        .map(|x| format!(" (Range: {x})"))
                        .unwrap_or_default()
                );
            }
        }
    }

    pub fn records(&self) -> Vec<RequestRecord> {
        lock(&self.log)
            .records
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub fn clear_records(&self) {
        lock(&self.log).records.clear();
    }

    pub fn take_faults(&self, origin: &Origin, method: &str, pq: &str) -> Vec<crate::FaultAction> {
        crate::fault::take_matching(&mut lock(&self.dynamic).faults, origin, method, pq)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// GUESS (§4.4, §8): the Hub's texts for SSO/MFA/IP/token-policy restrictions are unknown; only
/// `token-revoked` has a documented text (hub-docs security-tokens.md).
fn restriction_message(restriction: &str, org: &str) -> String {
    match restriction {
        "token-revoked" => "Your token has been revoked by the organization administrator, you can no longer access organization resources. Please contact them for more information.".to_string(),
        "sso" => format!("Organization {org} requires you to authenticate with SSO to access its resources."),
        "mfa" => format!("Organization {org} requires you to enable two-factor authentication to access its resources."),
        "ip" => format!("Organization {org} does not allow access to its resources from your IP address."),
        "token-policy" => format!("Organization {org} requires an admin-approved fine-grained token to access its resources."),
        other => format!("Organization {org} restricts access to its resources ({other})."),
    }
}
