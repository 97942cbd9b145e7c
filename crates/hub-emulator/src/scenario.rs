//! The scenario model: users, tokens, repositories, commits and files the emulator serves.
//!
//! A scenario is plain data so that it can come from two places with the same meaning: the
//! builder methods used by Rust tests (`Repo::model("acme/tiny").file(..).lfs(..)`) and a JSON
//! file read by the `hub-emulator` binary (see `scenarios/demo.json`). Nothing here is
//! precomputed; hashing and indexing happen once in [`crate::state`] when the emulator starts.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fault::Fault;
pub use crate::hub2026::{BadTokenWording, MaskedHashes};

/// Everything the emulated Hub knows about.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Scenario {
    pub users: Vec<User>,
    pub tokens: Vec<Token>,
    pub repos: Vec<Repo>,
    /// Page size of `/tree` listings (§3.2: 1000 on the real Hub).
    pub page_size: usize,
    /// Added to every request on the hub origin (not the CDN).
    pub hub_latency_ms: u64,
    /// Lifetime of the signed CDN URLs minted by LFS `302`s.
    pub signed_url_ttl_secs: u64,
    /// If set, LFS `302`s point there (e.g. an nginx serving `export-blobs` output) instead of
    /// the built-in CDN origin.
    pub cdn_base_url: Option<String>,
    /// Regular files first answer the relative `307` to `/api/resolve-cache/…` (§1.2).
    pub resolve_cache_redirect: bool,
    pub faults: Vec<Fault>,

    // Issue #9 (helper emu): the Hub of 2026, capped CDNs and pull-through mirrors, from
    // real-hub-2026.md §1, §4 and §5. Every switch is off (today's behaviour) by default; the
    // behaviour lives in quota.rs, binding.rs, throttle.rs and mirror.rs, the builders there too.
    /// Enforce the "resolvers" bucket in fixed windows (off: quotas are only reported).
    #[serde(default)]
    pub resolver_quota: Option<crate::quota::ResolverQuota>,
    /// Which `Range` a signed xet-bridge CDN URL stays bound to.
    #[serde(default)]
    pub range_binding: crate::binding::RangeBinding,
    /// Cap every CDN connection to this many bytes per second.
    #[serde(default)]
    pub cdn_connection_bytes_per_sec: Option<u64>,
    /// Throttle one CDN connection (the Nth) harder than the others, for tail tests.
    #[serde(default)]
    pub slow_cdn_connection: Option<crate::throttle::SlowConnection>,
    /// Behave like an olah pull-through mirror: LFS bytes from the hub origin, in blocks.
    #[serde(default)]
    pub mirror_mode: Option<crate::mirror::MirrorMode>,
    // --- issue #10: the Hub as 2025–26 captures show it (real-hub-2026.md §2–3; behaviour and
    // sources in `hub2026.rs`). All off by default, so older tests keep their meaning. ---
    /// `/tree` masks `xetHash` (and with `xet_and_lfs` also `lfs.oid`) as 64 asterisks for
    /// callers without content access on gated repos (huggingface_hub PR #4595).
    #[serde(default)]
    pub masked_hashes: MaskedHashes,
    /// The root `README.md` of a gated repo is readable by anyone (third-party report).
    #[serde(default)]
    pub public_readme_on_gated: bool,
    /// `/api/resolve-cache/` 307s only for public, non-gated repos (third-party report).
    #[serde(default)]
    pub resolve_cache_only_public: bool,
    /// The wording of the 401 that refuses a bad token (huggingface_hub#2002 vs 2025 captures).
    #[serde(default)]
    pub bad_token_wording: BadTokenWording,
    /// 401s carry `WWW-Authenticate: Bearer realm="Authentication required", charset="UTF-8"`.
    #[serde(default)]
    pub www_authenticate: bool,
    /// `auth-check` answers 200 with the body `OK` (third-party report) instead of nothing.
    #[serde(default)]
    pub auth_check_ok_body: bool,
    // Issue #14 (helper oauth): the OAuth device login, refresh and OIDC exchange (behaviour
    // in `oauth.rs`).
    #[serde(default)]
    pub oauth: crate::oauth::OAuthScenario,
    /// A Xet CAS server behind the Hub: `xet-read-token` then answers with its URL and a token
    /// (off: `501`, Xet clients must be switched off).
    #[serde(default)]
    pub xet_cas: Option<XetCas>,
}

/// Where `xet-read-token` sends Xet clients. JSON: `{"cas_url", "access_token", "ttl_secs"}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct XetCas {
    /// Base URL of the CAS server (`…/v1/reconstructions/{hash}` below it).
    pub cas_url: String,
    /// The token handed out; the CAS server may ignore it.
    #[serde(default = "XetCas::default_token")]
    pub access_token: String,
    /// Lifetime of the token (its `exp` is now + this).
    #[serde(default = "XetCas::default_ttl")]
    pub ttl_secs: u64,
}

impl XetCas {
    pub fn new(cas_url: &str) -> Self {
        XetCas {
            cas_url: cas_url.trim_end_matches('/').to_string(),
            access_token: Self::default_token(),
            ttl_secs: Self::default_ttl(),
        }
    }
    fn default_token() -> String {
        "xet_emulator_read_token".to_string()
    }
    fn default_ttl() -> u64 {
        3600
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            users: Vec::new(),
            tokens: Vec::new(),
            repos: Vec::new(),
            page_size: 1000,
            hub_latency_ms: 0,
            signed_url_ttl_secs: 3600,
            cdn_base_url: None,
            resolve_cache_redirect: true,
            faults: Vec::new(),
            // Issue #9 (emu).
            resolver_quota: None,
            range_binding: Default::default(),
            cdn_connection_bytes_per_sec: None,
            slow_cdn_connection: None,
            mirror_mode: None,
            masked_hashes: MaskedHashes::Off,
            public_readme_on_gated: false,
            resolve_cache_only_public: false,
            bad_token_wording: BadTokenWording::InvalidCredentials,
            www_authenticate: false,
            auth_check_ok_body: false,
            oauth: crate::oauth::OAuthScenario::default(),
            xet_cas: None,
        }
    }
}

impl Scenario {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn user(mut self, u: User) -> Self {
        self.users.push(u);
        self
    }
    pub fn token(mut self, t: Token) -> Self {
        self.tokens.push(t);
        self
    }
    pub fn repo(mut self, r: Repo) -> Self {
        self.repos.push(r);
        self
    }
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n;
        self
    }
    pub fn hub_latency_ms(mut self, ms: u64) -> Self {
        self.hub_latency_ms = ms;
        self
    }
    pub fn signed_url_ttl_secs(mut self, s: u64) -> Self {
        self.signed_url_ttl_secs = s;
        self
    }
    pub fn cdn_base_url(mut self, url: &str) -> Self {
        self.cdn_base_url = Some(url.trim_end_matches('/').to_string());
        self
    }
    pub fn resolve_cache_redirect(mut self, on: bool) -> Self {
        self.resolve_cache_redirect = on;
        self
    }
    /// How the OAuth endpoints behave (issue #14).
    pub fn oauth(mut self, o: crate::oauth::OAuthScenario) -> Self {
        self.oauth = o;
        self
    }
    /// Puts a Xet CAS server behind the Hub (`xet-read-token` answers with it).
    pub fn xet_cas(mut self, cas: XetCas) -> Self {
        self.xet_cas = Some(cas);
        self
    }
    pub fn fault(mut self, f: Fault) -> Self {
        self.faults.push(f);
        self
    }
    // issue #10 switches (see `hub2026.rs`).
    pub fn masked_hashes(mut self, mode: MaskedHashes) -> Self {
        self.masked_hashes = mode;
        self
    }
    pub fn public_readme_on_gated(mut self, on: bool) -> Self {
        self.public_readme_on_gated = on;
        self
    }
    pub fn resolve_cache_only_public(mut self, on: bool) -> Self {
        self.resolve_cache_only_public = on;
        self
    }
    pub fn bad_token_wording(mut self, wording: BadTokenWording) -> Self {
        self.bad_token_wording = wording;
        self
    }
    pub fn www_authenticate(mut self, on: bool) -> Self {
        self.www_authenticate = on;
        self
    }
    pub fn auth_check_ok_body(mut self, on: bool) -> Self {
        self.auth_check_ok_body = on;
        self
    }
    /// Every issue #10 switch as the 2025–26 captures describe the Hub, with the given hash
    /// masking and bad-token wording.
    pub fn as_captured_2026(self, masking: MaskedHashes, wording: BadTokenWording) -> Self {
        self.masked_hashes(masking)
            .bad_token_wording(wording)
            .public_readme_on_gated(true)
            .resolve_cache_only_public(true)
            .www_authenticate(true)
            .auth_check_ok_body(true)
    }
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// Commits every repo's pending builder edits, so that the scenario serialises completely
    /// (`serde_json::to_string(&scenario.normalized())`).
    pub fn normalized(mut self) -> Self {
        self.repos = self.repos.into_iter().map(Repo::finalized).collect();
        self
    }

    /// A small world used by the offline tour and as a smoke-test fixture:
    /// - `acme/tiny` (public model): README.md, config.json, `nested/dir/vocab.txt`, and a
    ///   3 MiB xet-backed LFS `model.safetensors`; a `dev` branch, a `v1` tag and PR #1;
    /// - `acme/tiny-data` (public dataset);
    /// - `acme/gated` (manual gate, alice granted, bob pending);
    /// - `alice/private-model` (private model of alice);
    /// - users alice (admin of acme) and bob, tokens `hf_alice_read`, `hf_alice_write`,
    ///   `hf_alice_fg` (fine-grained, no gated access), `hf_bob_read`.
    pub fn demo() -> Self {
        let readme =
            b"---\nlicense: mit\n---\n# tiny\n\nA tiny demo model served by hub-emulator.\n";
        let config = b"{\n  \"architectures\": [\"TinyModel\"],\n  \"hidden_size\": 16\n}\n";
        Scenario::new()
            .user(User::new("alice").org("acme", "admin"))
            .user(User::new("bob"))
            .token(Token::read("hf_alice_read", "alice", "laptop"))
            .token(Token::write("hf_alice_write", "alice", "ci"))
            .token(
                Token::fine_grained("hf_alice_fg", "alice", "fg")
                    .can_read_gated(false)
                    .scope("org", "acme", &["repo.content.read"]),
            )
            .token(Token::read("hf_bob_read", "bob", "bob-laptop"))
            .repo(
                Repo::model("acme/tiny")
                    .file("README.md", readme)
                    .file("config.json", config)
                    .file("nested/dir/vocab.txt", b"[PAD]\n[UNK]\nhello\nworld\n")
                    .lfs(
                        "model.safetensors",
                        Content::Pattern {
                            seed: 42,
                            size: 3 * 1024 * 1024,
                        },
                    )
                    .tag("v1")
                    .commit()
                    .file(
                        "config.json",
                        b"{\n  \"architectures\": [\"TinyModel\"],\n  \"hidden_size\": 32\n}\n",
                    )
                    .branch("dev")
                    .pr(1),
            )
            .repo(
                Repo::dataset("acme/tiny-data")
                    .file("README.md", b"# tiny-data\n")
                    .file("data/train.csv", b"id,text\n1,hello\n2,world\n")
                    .lfs(
                        "data/train.parquet",
                        Content::Pattern {
                            seed: 7,
                            size: 256 * 1024,
                        },
                    ),
            )
            .repo(
                Repo::model("acme/gated")
                    .gated(Gate::Manual)
                    .file("README.md", b"# gated\n")
                    .file("config.json", b"{}\n")
                    .lfs(
                        "model.safetensors",
                        Content::Pattern {
                            seed: 9,
                            size: 64 * 1024,
                        },
                    )
                    .access("alice", AccessState::Granted)
                    .access("bob", AccessState::Pending),
            )
            .repo(
                Repo::model("alice/private-model")
                    .private()
                    .file("config.json", b"{\"private\": true}\n"),
            )
    }
}

/// A Hub user and their organisation memberships.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    #[serde(default)]
    pub orgs: Vec<OrgMembership>,
}

impl User {
    pub fn new(name: &str) -> Self {
        User {
            name: name.to_string(),
            orgs: Vec::new(),
        }
    }
    /// Membership with a role (`admin`, `write`, `contributor`, `read`, `no_access`, …).
    pub fn org(self, org: &str, role: &str) -> Self {
        self.org_with_restrictions(org, role, &[])
    }
    /// Membership whose org enforces security restrictions (`sso`, `mfa`, `ip`,
    /// `token-policy`, `token-revoked`) the current authentication does not satisfy.
    pub fn org_with_restrictions(mut self, org: &str, role: &str, restrictions: &[&str]) -> Self {
        self.orgs.push(OrgMembership {
            org: org.to_string(),
            role: role.to_string(),
            security_restrictions: restrictions.iter().map(|s| s.to_string()).collect(),
        });
        self
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgMembership {
    pub org: String,
    pub role: String,
    #[serde(default)]
    pub security_restrictions: Vec<String>,
}

/// An access token (`hf_…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Token {
    pub value: String,
    pub user: String,
    pub display_name: String,
    pub role: TokenRole,
    #[serde(default = "default_true")]
    pub valid: bool,
    /// ISO-8601 UTC (`2026-01-01T00:00:00Z`); a past date makes the token invalid.
    #[serde(default)]
    pub expires_at: Option<String>,
}

fn default_true() -> bool {
    true
}

impl Token {
    fn with_role(value: &str, user: &str, display_name: &str, role: TokenRole) -> Self {
        Token {
            value: value.to_string(),
            user: user.to_string(),
            display_name: display_name.to_string(),
            role,
            valid: true,
            expires_at: None,
        }
    }
    pub fn read(value: &str, user: &str, display_name: &str) -> Self {
        Self::with_role(value, user, display_name, TokenRole::Read)
    }
    pub fn write(value: &str, user: &str, display_name: &str) -> Self {
        Self::with_role(value, user, display_name, TokenRole::Write)
    }
    /// A fine-grained token; `can_read_gated_repos` defaults to true (the Hub's form default).
    pub fn fine_grained(value: &str, user: &str, display_name: &str) -> Self {
        Self::with_role(
            value,
            user,
            display_name,
            TokenRole::FineGrained(FineGrained {
                can_read_gated_repos: true,
                global: Vec::new(),
                scoped: Vec::new(),
            }),
        )
    }
    fn fine_grained_mut(&mut self) -> Option<&mut FineGrained> {
        match &mut self.role {
            TokenRole::FineGrained(fg) => Some(fg),
            _ => None,
        }
    }
    /// No effect on classic tokens.
    pub fn can_read_gated(mut self, on: bool) -> Self {
        if let Some(fg) = self.fine_grained_mut() {
            fg.can_read_gated_repos = on;
        }
        self
    }
    /// Adds a scoped permission (`entity_type`: user|org|model|dataset|space). No effect on
    /// classic tokens.
    pub fn scope(mut self, entity_type: &str, entity_name: &str, permissions: &[&str]) -> Self {
        if let Some(fg) = self.fine_grained_mut() {
            fg.scoped.push(ScopedPermission {
                entity_type: entity_type.to_string(),
                entity_name: entity_name.to_string(),
                permissions: permissions.iter().map(|s| s.to_string()).collect(),
            });
        }
        self
    }
    /// Sets the global permissions (`discussion.write`, `post.write`). No effect on classic tokens.
    pub fn global(mut self, permissions: &[&str]) -> Self {
        if let Some(fg) = self.fine_grained_mut() {
            fg.global = permissions.iter().map(|s| s.to_string()).collect();
        }
        self
    }
    pub fn invalid(mut self) -> Self {
        self.valid = false;
        self
    }
    pub fn expires_at(mut self, iso: &str) -> Self {
        self.expires_at = Some(iso.to_string());
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    Read,
    Write,
    #[serde(alias = "fineGrained")]
    FineGrained(FineGrained),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FineGrained {
    #[serde(default = "default_true")]
    pub can_read_gated_repos: bool,
    #[serde(default)]
    pub global: Vec<String>,
    #[serde(default)]
    pub scoped: Vec<ScopedPermission>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedPermission {
    pub entity_type: String,
    pub entity_name: String,
    pub permissions: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    #[default]
    Model,
    Dataset,
    Space,
}

impl RepoType {
    /// `model` / `dataset` / `space`, as used in gate messages.
    pub fn word(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }
    /// `models` / `datasets` / `spaces`, as used in `/api/{…}/` paths.
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }
    /// URL prefix of web and resolve routes (`""`, `"datasets/"`, `"spaces/"`, §1.1).
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }
    pub fn from_plural(s: &str) -> Option<RepoType> {
        match s {
            "models" => Some(RepoType::Model),
            "datasets" => Some(RepoType::Dataset),
            "spaces" => Some(RepoType::Space),
            _ => None,
        }
    }
}

/// Gating mode; JSON `false | "auto" | "manual"` as in repo info (§3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Gate {
    #[default]
    None,
    Auto,
    Manual,
}

impl Serialize for Gate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Gate::None => s.serialize_bool(false),
            Gate::Auto => s.serialize_str("auto"),
            Gate::Manual => s.serialize_str("manual"),
        }
    }
}

impl<'de> Deserialize<'de> for Gate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Bool(bool),
            Str(String),
        }
        match Repr::deserialize(d)? {
            Repr::Bool(false) => Ok(Gate::None),
            // GUESS: `true` is not a Hub value; treat it as "auto", the Hub's default mode.
            Repr::Bool(true) => Ok(Gate::Auto),
            Repr::Str(s) => match s.as_str() {
                "auto" => Ok(Gate::Auto),
                "manual" => Ok(Gate::Manual),
                "none" | "false" => Ok(Gate::None),
                other => Err(serde::de::Error::custom(format!(
                    "unknown gate {other:?} (expected false, \"auto\" or \"manual\")"
                ))),
            },
        }
    }
}

/// A user's access-request state on a gated repo. Users absent from the map never asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessState {
    Granted,
    Pending,
    Rejected,
}

/// A repository and its history. Each commit is a full snapshot of the tree.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Repo {
    #[serde(rename = "type", alias = "repo_type")]
    pub repo_type: RepoType,
    pub id: String,
    pub private: bool,
    pub gated: Gate,
    pub disabled: bool,
    pub access: BTreeMap<String, AccessState>,
    pub renamed_from: Vec<String>,
    pub commits: Vec<Commit>,
    pub branches: BTreeMap<String, usize>,
    pub tags: BTreeMap<String, usize>,
    pub prs: BTreeMap<u32, usize>,
    /// Builder working copy: edits since the last `.commit()`; frozen implicitly.
    #[serde(skip)]
    working: Vec<FileSpec>,
    #[serde(skip)]
    dirty: bool,
}

impl Default for Repo {
    fn default() -> Self {
        Repo {
            repo_type: RepoType::Model,
            id: String::new(),
            private: false,
            gated: Gate::None,
            disabled: false,
            access: BTreeMap::new(),
            renamed_from: Vec::new(),
            commits: Vec::new(),
            branches: BTreeMap::new(),
            tags: BTreeMap::new(),
            prs: BTreeMap::new(),
            working: Vec::new(),
            dirty: false,
        }
    }
}

impl Repo {
    fn of(repo_type: RepoType, id: &str) -> Self {
        Repo {
            repo_type,
            id: id.to_string(),
            ..Repo::default()
        }
    }
    pub fn model(id: &str) -> Self {
        Self::of(RepoType::Model, id)
    }
    pub fn dataset(id: &str) -> Self {
        Self::of(RepoType::Dataset, id)
    }
    pub fn space(id: &str) -> Self {
        Self::of(RepoType::Space, id)
    }
    fn put(mut self, spec: FileSpec) -> Self {
        self.working.retain(|f| f.path != spec.path);
        self.working.push(spec);
        self.dirty = true;
        self
    }
    /// A regular (git, non-LFS) file.
    pub fn file(self, path: &str, content: &[u8]) -> Self {
        self.put(FileSpec {
            path: path.to_string(),
            content: Content::Bytes(content.to_vec()),
            lfs: false,
            xet: false,
            xet_hash: None,
        })
    }
    /// A regular file with arbitrary content (e.g. a large pattern kept in git).
    pub fn file_content(self, path: &str, content: Content) -> Self {
        self.put(FileSpec {
            path: path.to_string(),
            content,
            lfs: false,
            xet: false,
            xet_hash: None,
        })
    }
    /// An LFS file, xet-backed (the Hub default since 2025).
    pub fn lfs(self, path: &str, content: Content) -> Self {
        self.put(FileSpec {
            path: path.to_string(),
            content,
            lfs: true,
            xet: true,
            xet_hash: None,
        })
    }
    /// An LFS file, xet-backed, whose Xet hash is given: the one a real Xet upload of the same
    /// bytes computed (a CAS behind `xet_cas` can then reconstruct it).
    pub fn xet(self, path: &str, content: Content, xet_hash: &str) -> Self {
        self.put(FileSpec {
            path: path.to_string(),
            content,
            lfs: true,
            xet: true,
            xet_hash: Some(xet_hash.to_string()),
        })
    }
    /// An LFS file served from the classic LFS CDN (no xet headers, signature not range-bound).
    pub fn lfs_plain(self, path: &str, content: Content) -> Self {
        self.put(FileSpec {
            path: path.to_string(),
            content,
            lfs: true,
            xet: false,
            xet_hash: None,
        })
    }
    /// Drops a file from the next commit.
    pub fn remove(mut self, path: &str) -> Self {
        self.working.retain(|f| f.path != path);
        self.dirty = true;
        self
    }
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }
    pub fn gated(mut self, gate: Gate) -> Self {
        self.gated = gate;
        self
    }
    pub fn disabled(mut self) -> Self {
        self.disabled = true;
        self
    }
    pub fn access(mut self, user: &str, state: AccessState) -> Self {
        self.access.insert(user.to_string(), state);
        self
    }
    pub fn renamed_from(mut self, old_id: &str) -> Self {
        self.renamed_from.push(old_id.to_string());
        self
    }
    /// Freezes the working copy as a new commit.
    pub fn commit(mut self) -> Self {
        self.commits.push(Commit {
            files: self.working.clone(),
        });
        self.dirty = false;
        self
    }
    /// Index of the latest commit, freezing pending edits first.
    fn latest(mut self) -> (Self, usize) {
        if self.dirty || self.commits.is_empty() {
            self = self.commit();
        }
        let idx = self.commits.len() - 1;
        (self, idx)
    }
    /// Points branch `name` at the latest commit (pending edits are committed first).
    pub fn branch(self, name: &str) -> Self {
        let (mut r, idx) = self.latest();
        r.branches.insert(name.to_string(), idx);
        r
    }
    pub fn tag(self, name: &str) -> Self {
        let (mut r, idx) = self.latest();
        r.tags.insert(name.to_string(), idx);
        r
    }
    /// Points `refs/pr/{n}` at the latest commit.
    pub fn pr(self, n: u32) -> Self {
        let (mut r, idx) = self.latest();
        r.prs.insert(n, idx);
        r
    }
    /// Commits pending builder edits (called when the emulator starts).
    pub(crate) fn finalized(self) -> Self {
        self.latest().0
    }
}

/// One commit: a full snapshot of the tree.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Commit {
    #[serde(default)]
    pub files: Vec<FileSpec>,
}

/// A file of a commit. JSON: `{"path", "content", "lfs": bool, "xet": bool (defaults to lfs),
/// "xet_hash": "64 hex" (optional)}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "FileSpecRepr")]
pub struct FileSpec {
    pub path: String,
    pub content: Content,
    pub lfs: bool,
    pub xet: bool,
    /// The Xet hash to announce (`X-Xet-Hash`, `xetHash`); when unset, a stand-in derived from
    /// the sha256. Only meaningful for a xet-backed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xet_hash: Option<String>,
}

#[derive(Deserialize)]
struct FileSpecRepr {
    path: String,
    content: Content,
    #[serde(default)]
    lfs: bool,
    #[serde(default)]
    xet: Option<bool>,
    #[serde(default)]
    xet_hash: Option<String>,
}

impl From<FileSpecRepr> for FileSpec {
    fn from(r: FileSpecRepr) -> Self {
        FileSpec {
            xet: r.xet.unwrap_or(r.lfs) && r.lfs,
            xet_hash: r.xet_hash,
            path: r.path,
            content: r.content,
            lfs: r.lfs,
        }
    }
}

/// File content. JSON: `{"text": "..."}`, `{"base64": "..."}` or `{"seed": 1, "size": 1000}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    /// Deterministic pseudo-random bytes, generated on the fly with random access.
    Pattern {
        seed: u64,
        size: u64,
    },
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Pattern { size, .. } => *size,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` with the content starting at `offset` (bytes past the end are left as is).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) {
        match self {
            Content::Bytes(b) => {
                let start = (offset as usize).min(b.len());
                let n = buf.len().min(b.len() - start);
                buf[..n].copy_from_slice(&b[start..start + n]);
            }
            Content::Pattern { seed, size } => {
                let n = (buf.len() as u64).min(size.saturating_sub(offset)) as usize;
                crate::content::pattern_fill(*seed, offset, &mut buf[..n]);
            }
        }
    }
    /// The whole content in memory (tests; avoid for huge patterns).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.len() as usize];
        self.read_at(0, &mut v);
        v
    }
    /// Lower-case hex sha256 of the content (the LFS oid).
    pub fn sha256_hex(&self) -> String {
        crate::content::hashes(self).sha256
    }
    /// Git blob sha1 of the content (the ETag of a regular file).
    pub fn git_sha1_hex(&self) -> String {
        crate::content::hashes(self).git_sha1
    }
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            Content::Bytes(b) => match std::str::from_utf8(b) {
                Ok(text) => m.serialize_entry("text", text)?,
                Err(_) => m.serialize_entry(
                    "base64",
                    &base64::engine::general_purpose::STANDARD.encode(b),
                )?,
            },
            Content::Pattern { seed, size } => {
                m.serialize_entry("seed", seed)?;
                m.serialize_entry("size", size)?;
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text { text: String },
            Base64 { base64: String },
            Pattern { seed: u64, size: u64 },
        }
        match Repr::deserialize(d)? {
            Repr::Text { text } => Ok(Content::Bytes(text.into_bytes())),
            Repr::Base64 { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64.as_bytes())
                .map(Content::Bytes)
                .map_err(serde::de::Error::custom),
            Repr::Pattern { seed, size } => Ok(Content::Pattern { seed, size }),
        }
    }
}
