//! Repository identities: types, ids, revisions, and the URL shapes the Hub uses for them.
//!
//! Everything here is validated before any request is made, so a typo never reaches the network
//! and bad input gets a clear error at once.

use std::fmt;

/// The three kinds of repositories hfget downloads from (docs/protocol.md §1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    Model,
    Dataset,
    Space,
}

impl RepoType {
    pub const ALL: [RepoType; 3] = [RepoType::Model, RepoType::Dataset, RepoType::Space];

    /// The word the Hub and users say: `model`, `dataset`, `space`.
    pub fn label(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }

    /// The plural used in `/api/{models|datasets|spaces}/…` and in cache folder names.
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// The prefix of web and resolve URLs: nothing for models.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }
}

impl fmt::Display for RepoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RepoIdError {
    #[error(
        "'{0}' is not a valid repository id. Use the form `owner/name` (for example `openai-community/gpt2`), optionally prefixed with `datasets/` or `spaces/`, or an `hf://` URI."
    )]
    Malformed(String),
    #[error(
        "'{id}' is not a valid repository id: {reason}. Repository ids are `owner/name`, made of letters, digits, '-', '_' and '.'."
    )]
    InvalidPart { id: String, reason: &'static str },
    #[error(
        "The repository id says `{from_id}` but --repo-type says `{from_flag}`. Drop one of them."
    )]
    ConflictingType {
        from_id: RepoType,
        from_flag: RepoType,
    },
    #[error(
        "'{0}' is not a valid revision: {1}. Use a branch, a tag, a 40-character commit hash or `refs/pr/N`."
    )]
    InvalidRevision(String, &'static str),
    #[error("The `hf://` URI or Hub URL already names the revision; do not also pass --revision.")]
    RevisionTwice,
}

/// A repository on the Hub: its type and its id (`owner/name`, or a legacy single `name`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RepoId {
    pub repo_type: RepoType,
    pub id: String,
}

impl RepoId {
    pub fn new(repo_type: RepoType, id: &str) -> Result<RepoId, RepoIdError> {
        validate_id(id)?;
        Ok(RepoId {
            repo_type,
            id: id.to_string(),
        })
    }

    /// `models--org--name`: the cache folder name, case preserved (docs/protocol.md §2.2).
    pub fn cache_folder_name(&self) -> String {
        format!(
            "{}--{}",
            self.repo_type.plural(),
            self.id.replace('/', "--")
        )
    }

    #[cfg(test)]
    /// The repo's web page path relative to the endpoint: `org/name` or `datasets/org/name`.
    pub fn web_path(&self) -> String {
        format!("{}{}", self.repo_type.url_prefix(), self.id)
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repo_type {
            RepoType::Model => f.write_str(&self.id),
            other => write!(f, "{}/{}", other.plural(), self.id),
        }
    }
}

/// What a user typed as the repository argument, parsed: the repo and, for `hf://` URIs, the
/// revision and path inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoArgument {
    pub repo: RepoId,
    pub revision: Option<String>,
    pub path: Option<String>,
}

/// Parses `owner/name`, `datasets/owner/name`, `spaces/owner/name`,
/// `hf://[datasets/|spaces/|models/]owner/name[@revision][/path]` (docs/design.md §4.2), and a
/// pasted Hub URL ([`parse_web_url`]).
pub fn parse_repo_argument(
    input: &str,
    flag_type: Option<RepoType>,
) -> Result<RepoArgument, RepoIdError> {
    let trimmed = input.trim();
    if let Some(rest) = trimmed.strip_prefix("hf://") {
        return parse_hf_uri(rest, flag_type, input);
    }
    if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
        return parse_web_url(trimmed, flag_type);
    }
    let (id_type, id) = split_type_prefix(trimmed);
    let repo_type = merge_types(id_type, flag_type)?;
    Ok(RepoArgument {
        repo: RepoId::new(repo_type, id)?,
        revision: None,
        path: None,
    })
}

fn parse_hf_uri(
    rest: &str,
    flag_type: Option<RepoType>,
    original: &str,
) -> Result<RepoArgument, RepoIdError> {
    let (id_type, rest) = split_type_prefix(rest);
    let repo_type = merge_types(id_type, flag_type)?;
    // The id is the first two segments; `@rev` may follow the name. A revision containing '/'
    // (refs/pr/1) is written `@refs/pr/1`, so when '@' is present the revision runs up to the
    // path part, which we split on the first '/' after a `refs/pr/N` or a plain name.
    let mut segments = rest.splitn(2, '/');
    let owner = segments.next().unwrap_or_default();
    let after_owner = segments
        .next()
        .ok_or_else(|| RepoIdError::Malformed(original.to_string()))?;
    let (name_and_rev, path) = match after_owner.split_once('@') {
        Some((name, rev_and_path)) => {
            let (revision, path) = split_revision_and_path(rev_and_path);
            let id = format!("{owner}/{name}");
            return Ok(RepoArgument {
                repo: RepoId::new(repo_type, &id)?,
                revision: Some(validate_revision(revision)?.to_string()),
                path: path.filter(|p| !p.is_empty()).map(str::to_string),
            });
        }
        None => match after_owner.split_once('/') {
            Some((name, path)) => (name, Some(path)),
            None => (after_owner, None),
        },
    };
    let id = format!("{owner}/{name_and_rev}");
    Ok(RepoArgument {
        repo: RepoId::new(repo_type, &id)?,
        revision: None,
        path: path.filter(|p| !p.is_empty()).map(str::to_string),
    })
}

/// A repository page, file page or download URL pasted from the browser:
/// `https://huggingface.co/[datasets/|spaces/]owner/name[/(blob|resolve|tree)/rev[/path]]`.
/// A `tree/rev/folder` URL means the folder (`folder/`). The host is not checked: a mirror's
/// URL names the same repository, and hfget still downloads from `HF_ENDPOINT`.
fn parse_web_url(input: &str, flag_type: Option<RepoType>) -> Result<RepoArgument, RepoIdError> {
    let malformed = || RepoIdError::Malformed(input.to_string());
    let url = url::Url::parse(input).map_err(|_| malformed())?;
    let segments: Vec<String> = url
        .path_segments()
        .map(|parts| {
            parts
                .filter(|p| !p.is_empty())
                .map(percent_decode)
                .collect()
        })
        .unwrap_or_default();
    let mut rest = segments.as_slice();
    let id_type = match rest.first().map(String::as_str) {
        Some("datasets") => Some(RepoType::Dataset),
        Some("spaces") => Some(RepoType::Space),
        Some("models") => Some(RepoType::Model),
        _ => None,
    };
    if id_type.is_some() {
        rest = &rest[1..];
    }
    let repo_type = merge_types(id_type, flag_type)?;
    let is_view = |s: &str| matches!(s, "blob" | "resolve" | "tree" | "raw");
    let (id, after) = match rest {
        [owner, name, after @ ..] if !is_view(name) => (format!("{owner}/{name}"), after),
        [name, after @ ..] => (name.clone(), after),
        [] => return Err(malformed()),
    };
    let repo = RepoId::new(repo_type, &id)?;
    let (revision, path) = match after {
        [] => (None, None),
        [view, revision, path @ ..] if is_view(view) => {
            let mut path = path.join("/");
            if view == "tree" && !path.is_empty() {
                path.push('/');
            }
            (
                Some(validate_revision(revision)?.to_string()),
                Some(path).filter(|p| !p.is_empty()),
            )
        }
        _ => return Err(malformed()),
    };
    Ok(RepoArgument {
        repo,
        revision,
        path,
    })
}

/// `%2F` → `/` in one URL path segment (`refs%2Fpr%2F1`); invalid escapes are kept as written.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `refs/pr/3/sub/file` → (`refs/pr/3`, `sub/file`); `v1.0/file` → (`v1.0`, `file`).
fn split_revision_and_path(input: &str) -> (&str, Option<&str>) {
    let mut parts = input.splitn(4, '/');
    if let (Some("refs"), Some(kind), Some(_number)) = (parts.next(), parts.next(), parts.next())
        && (kind == "pr" || kind == "convert")
    {
        let rev_len = input.split('/').take(3).map(str::len).sum::<usize>() + 2;
        let (revision, rest) = input.split_at(rev_len.min(input.len()));
        return (revision, rest.strip_prefix('/'));
    }
    match input.split_once('/') {
        Some((revision, path)) => (revision, Some(path)),
        None => (input, None),
    }
}

fn split_type_prefix(input: &str) -> (Option<RepoType>, &str) {
    for (prefix, repo_type) in [
        ("datasets/", RepoType::Dataset),
        ("spaces/", RepoType::Space),
        ("models/", RepoType::Model),
    ] {
        if let Some(rest) = input.strip_prefix(prefix) {
            return (Some(repo_type), rest);
        }
    }
    (None, input)
}

fn merge_types(
    from_id: Option<RepoType>,
    from_flag: Option<RepoType>,
) -> Result<RepoType, RepoIdError> {
    match (from_id, from_flag) {
        (Some(a), Some(b)) if a != b => Err(RepoIdError::ConflictingType {
            from_id: a,
            from_flag: b,
        }),
        (Some(a), _) => Ok(a),
        (None, Some(b)) => Ok(b),
        (None, None) => Ok(RepoType::Model),
    }
}

/// The Hub's repo-id rules, as `huggingface_hub.utils.validate_repo_id` enforces them: one or two
/// parts of `[A-Za-z0-9_.-]`, at most 96 characters, no `--` or `..`, not starting or ending with
/// `-` or `.`.
fn validate_id(id: &str) -> Result<(), RepoIdError> {
    let invalid = |reason| RepoIdError::InvalidPart {
        id: id.to_string(),
        reason,
    };
    if id.is_empty() {
        return Err(RepoIdError::Malformed(id.to_string()));
    }
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() > 2 {
        return Err(RepoIdError::Malformed(id.to_string()));
    }
    if id.len() > 96 * 2 + 1 {
        return Err(invalid("it is too long"));
    }
    for part in parts {
        if part.is_empty() {
            return Err(invalid("a part is empty"));
        }
        if part.len() > 96 {
            return Err(invalid("a part is longer than 96 characters"));
        }
        if !part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(
                "it contains a character other than letters, digits, '-', '_' or '.'",
            ));
        }
        if part.contains("--") || part.contains("..") {
            return Err(invalid("it contains '--' or '..'"));
        }
        if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
            return Err(invalid("a part starts or ends with '-' or '.'"));
        }
    }
    Ok(())
}

/// Checks a revision (branch, tag, commit, `refs/pr/N`) against git's ref-name rules, so that an
/// odd revision fails here with a sentence instead of as a confusing 404 later.
pub fn validate_revision(revision: &str) -> Result<&str, RepoIdError> {
    let invalid = |reason| RepoIdError::InvalidRevision(revision.to_string(), reason);
    if revision.is_empty() {
        return Err(invalid("it is empty"));
    }
    if revision.len() > 255 {
        return Err(invalid("it is longer than 255 characters"));
    }
    if revision
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid("it contains whitespace or a control character"));
    }
    if revision
        .chars()
        .any(|c| matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return Err(invalid("it contains one of ~ ^ : ? * [ \\"));
    }
    if revision.contains("..") || revision.contains("//") || revision.contains("@{") {
        return Err(invalid("it contains '..', '//' or '@{'"));
    }
    if revision.starts_with('/') || revision.ends_with('/') || revision.ends_with('.') {
        return Err(invalid("it starts or ends with '/', or ends with '.'"));
    }
    if revision.ends_with(".lock") {
        return Err(invalid("it ends with '.lock'"));
    }
    Ok(revision)
}

/// The revision from an `hf://…@rev` URI or from `--revision` (not both), validated; `None`
/// means the default branch.
pub fn merge_revision(
    from_uri: Option<String>,
    from_flag: Option<&str>,
) -> Result<Option<String>, RepoIdError> {
    match (from_uri.as_deref(), from_flag) {
        (Some(_), Some(_)) => Err(RepoIdError::RevisionTwice),
        (Some(rev), None) | (None, Some(rev)) => Ok(Some(validate_revision(rev)?.to_string())),
        (None, None) => Ok(None),
    }
}

/// A full commit hash: 40 lowercase hex characters.
pub fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests;
