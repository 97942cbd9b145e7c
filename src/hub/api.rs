//! The Hub endpoints hfget calls, and the shapes of their answers (docs/protocol.md §3).

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

use super::client::{HubClient, Redirects, accept_json, read_json, same_origin};
use super::error::{HubError, HubErrorKind};
use super::repo::RepoId;
use super::whoami::WhoAmI;

/// `gated`: `false`, `"auto"` or `"manual"` (docs/protocol.md §3.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    #[default]
    None,
    Auto,
    Manual,
}

impl<'de> Deserialize<'de> for Gate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Gate, D::Error> {
        // Unknown future values count as gated: the cautious reading for a diagnosis.
        Ok(match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Bool(false) | serde_json::Value::Null => Gate::None,
            serde_json::Value::String(s) if s == "auto" => Gate::Auto,
            serde_json::Value::String(s) if s == "manual" => Gate::Manual,
            _ => Gate::Manual,
        })
    }
}

/// The part of `GET /api/{type}s/{id}[/revision/{rev}]` hfget uses.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RepoInfo {
    pub id: String,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub gated: Gate,
    #[serde(default)]
    pub disabled: bool,
    /// The files at this revision (`rfilename` only without `blobs=true`, docs/protocol.md §3.1): the doctor
    /// checks a named file against it when a mirror says "entry not found".
    #[serde(default)]
    pub siblings: Vec<Sibling>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Sibling {
    pub rfilename: String,
}

/// One entry of `/tree` or `/paths-info` (docs/protocol.md §3.2): `lfs.oid` is the sha256 of LFS files.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct TreeEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub oid: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub lfs: Option<LfsInfo>,
    #[serde(default, rename = "xetHash")]
    pub xet_hash: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct LfsInfo {
    pub oid: String,
    pub size: u64,
}

impl TreeEntry {
    pub fn is_file(&self) -> bool {
        self.kind == "file"
    }

    /// Whether the Hub masked this entry's hashes: for a caller without content access on a
    /// gated repo, `/tree` gives `"xetHash"` as 64 asterisks (huggingface_hub PR #4595,
    /// xet-core#895), and a third-party report says `lfs.oid` too (docs/real-hub.md §2). Such
    /// a listing says "no access", not "corrupted answer", and must never be cached.
    pub fn has_masked_hash(&self) -> bool {
        let masked = |hash: &str| hash.contains('*');
        self.xet_hash.as_deref().is_some_and(masked)
            || self.lfs.as_ref().is_some_and(|lfs| masked(&lfs.oid))
            || masked(&self.oid)
    }
}

/// Refuses a listing with masked hashes (see [`TreeEntry::has_masked_hash`]): the caller
/// learns it has no access to the content, and the doctor says why.
fn refuse_masked(entries: &[TreeEntry], what: &str) -> Result<(), HubError> {
    match entries.iter().find(|e| e.has_masked_hash()) {
        Some(entry) => Err(HubError::new(HubErrorKind::ContentHidden {
            path: entry.path.clone(),
        })
        .with_context(what.to_string())),
        None => Ok(()),
    }
}

/// `GET /api/{type}s/{id}/refs` (docs/protocol.md §3.7).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Refs {
    #[serde(default)]
    pub branches: Vec<GitRef>,
    #[serde(default)]
    pub tags: Vec<GitRef>,
    #[serde(default, rename = "pullRequests")]
    pub pull_requests: Vec<GitRef>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct GitRef {
    pub name: String,
    #[serde(default, rename = "ref")]
    pub reference: String,
    #[serde(default, rename = "targetCommit")]
    pub target_commit: String,
}

/// Percent-encodes everything but unreserved characters (`quote(x, safe="")`, docs/protocol.md §1.1).
pub fn encode_component(value: &str) -> String {
    encode(value, false)
}

/// Percent-encodes a path, keeping `/` (Python's default `quote`).
pub fn encode_path(value: &str) -> String {
    encode(value, true)
}

fn encode(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && byte == b'/')
        {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl HubClient {
    fn api_url(&self, repo: &RepoId, suffix: &str) -> Result<Url, HubError> {
        self.url(&format!(
            "api/{}/{}{suffix}",
            repo.repo_type.plural(),
            repo.id
        ))
    }

    /// `{endpoint}/{prefix}{id}/resolve/{rev}/{path}` (docs/protocol.md §1.1).
    pub fn resolve_url(&self, repo: &RepoId, revision: &str, path: &str) -> Result<Url, HubError> {
        self.url(&format!(
            "{}{}/resolve/{}/{}",
            repo.repo_type.url_prefix(),
            repo.id,
            encode_component(revision),
            encode_path(path)
        ))
    }

    /// Repo metadata at a revision (or the default branch): the commit it points to and the flags.
    pub async fn repo_info(
        &self,
        repo: &RepoId,
        revision: Option<&str>,
    ) -> Result<RepoInfo, HubError> {
        let suffix = match revision {
            Some(rev) => format!("/revision/{}", encode_component(rev)),
            None => String::new(),
        };
        let url = self.api_url(repo, &suffix)?;
        let what = format!("looking up {repo}");
        Ok(self.get_json::<RepoInfo>(&what, url).await?.0)
    }

    /// The full recursive file listing at a commit, following `Link: rel="next"` pages (docs/protocol.md §3.2).
    /// A listing with masked hashes is refused ([`HubErrorKind::ContentHidden`]), so it is
    /// never planned from nor cached.
    pub async fn list_tree(&self, repo: &RepoId, commit: &str) -> Result<Vec<TreeEntry>, HubError> {
        let url = self.api_url(
            repo,
            &format!(
                "/tree/{}?recursive=true&expand=false",
                encode_component(commit)
            ),
        )?;
        let entries = self
            .list_pages(url, &format!("listing the files of {repo}"), true)
            .await?;
        Ok(entries.into_iter().filter(TreeEntry::is_file).collect())
    }

    /// The root folder's entries (files and folders), masked hashes kept: the doctor reports
    /// them instead of failing.
    pub async fn list_root_for_diagnosis(
        &self,
        repo: &RepoId,
        revision: &str,
    ) -> Result<Vec<TreeEntry>, HubError> {
        let url = self.api_url(repo, &format!("/tree/{}", encode_component(revision)))?;
        self.list_pages(url, "listing files", false).await
    }

    /// `refuse_masked_hashes`: the download's listing (strict); otherwise a diagnosis, which
    /// keeps masked entries and makes do with the first page of a mirror that repeats it.
    async fn list_pages(
        &self,
        mut url: Url,
        what: &str,
        refuse_masked_hashes: bool,
    ) -> Result<Vec<TreeEntry>, HubError> {
        let mut entries = Vec::new();
        for _page in 0..100_000 {
            let (page, headers) = self.get_json::<Vec<TreeEntry>>(what, url.clone()).await?;
            if refuse_masked_hashes {
                refuse_masked(&page, what)?;
            }
            entries.extend(page);
            match next_link(&headers) {
                Some(next) => {
                    let next = self.rebase_on_endpoint(&next)?;
                    // olah 0.5.4 drops `cursor` and passes the upstream's `Link` on, so the
                    // "next" page is this one again: stop rather than loop.
                    if next == url {
                        if !refuse_masked_hashes {
                            // A diagnosis makes do with the first page.
                            return Ok(entries);
                        }
                        return Err(HubError::protocol(
                            "the server sent the same page of the file listing again (a mirror that ignores the listing's `cursor`, like olah 0.5.4, cannot list repos of more than one page)",
                        ));
                    }
                    url = next;
                }
                None => return Ok(entries),
            }
        }
        Err(HubError::protocol(
            "the file listing never ended (too many pages)",
        ))
    }

    /// Metadata of specific paths at a commit, in one request (docs/protocol.md §3.3). Missing paths are absent
    /// from the answer.
    pub async fn paths_info(
        &self,
        repo: &RepoId,
        commit: &str,
        paths: &[String],
    ) -> Result<Vec<TreeEntry>, HubError> {
        let url = self.api_url(repo, &format!("/paths-info/{}", encode_component(commit)))?;
        let mut form: Vec<String> = paths
            .iter()
            .map(|p| format!("paths={}", encode_component(p)))
            .collect();
        form.push("expand=false".to_string());
        let what = format!("looking up files in {repo}");
        let response = self
            .send_ok(
                &what,
                Method::POST,
                url,
                accept_json(),
                Some(("application/x-www-form-urlencoded", form.join("&"))),
                Redirects::EndpointOnly,
            )
            .await?;
        let entries = read_json::<Vec<TreeEntry>>(response, self.timeouts.idle)
            .await?
            .0;
        refuse_masked(&entries, &what)?;
        Ok(entries)
    }

    pub async fn refs(&self, repo: &RepoId) -> Result<Refs, HubError> {
        let url = self.api_url(repo, "/refs?include_prs=1")?;
        Ok(self
            .get_json::<Refs>(&format!("listing branches of {repo}"), url)
            .await?
            .0)
    }

    /// `GET /api/whoami-v2` (docs/protocol.md §3.4).
    pub async fn whoami(&self) -> Result<WhoAmI, HubError> {
        let url = self.url("api/whoami-v2")?;
        Ok(self
            .get_json::<WhoAmI>("asking the Hub who this token belongs to", url)
            .await?
            .0)
    }

    /// Pagination links are absolute and may name the upstream Hub even through a mirror
    /// (docs/protocol.md §3.2). Keep their path and query but send them to the configured endpoint, so the
    /// token never travels to a host the user did not choose.
    fn rebase_on_endpoint(&self, next: &Url) -> Result<Url, HubError> {
        let endpoint = self.url("")?;
        if same_origin(&endpoint, next) {
            return Ok(next.clone());
        }
        let mut rebased = next.clone();
        let _ = rebased.set_scheme(endpoint.scheme());
        rebased
            .set_host(endpoint.host_str())
            .map_err(|e| HubError::protocol(format!("bad pagination link ({e})")))?;
        let _ = rebased.set_port(endpoint.port());
        Ok(rebased)
    }
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<Url> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                let target = target.trim_start_matches('<').trim_end_matches('>');
                return Url::parse(target).ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
