//! The hub origin: resolve, resolve-cache, raw, `/api/…` and whoami.
//!
//! Paths are parsed by hand from the raw (still percent-encoded) URI because Hub repo ids are
//! either `ns/name` or a legacy single `name`, revisions arrive as one encoded segment
//! (`refs%2Fpr%2F1`), and redirects must echo the client's own encoding. Every answer mirrors
//! the real Hub as documented in `hub-protocol.md` (section numbers in comments): status codes,
//! redirect hops, `X-Error-Code`/`X-Error-Message` and verbatim texts.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::content::{self, is_hex40, iso8601, parse_query, percent_decode, percent_encode};
use crate::fault::{BodyFaults, FaultAction};
use crate::scenario::{Gate, RepoType, TokenRole};
use crate::serve;
use crate::state::{Caller, Denial, FileEntry, GateDenial, RepoState, Shared, object_id};

pub(crate) const INVALID_CREDENTIALS: &str = "Invalid credentials in Authorization header";
pub(crate) const INVALID_USER_PASS: &str = "Invalid username or password.";

/// Error bodies: text on resolve routes, JSON `{"error": …}` on `/api/…` (§4.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Flavor {
    Text,
    Json,
}

fn hv(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Some(v) = hv(value) {
        resp.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// An error answer with `X-Error-Message` always and `X-Error-Code` when the Hub sends one.
pub(crate) fn error(
    status: StatusCode,
    code: Option<&str>,
    message: &str,
    flavor: Flavor,
) -> Response {
    let (body, ctype) = match flavor {
        Flavor::Text => (message.to_string(), "text/plain; charset=utf-8"),
        Flavor::Json => (
            json!({ "error": message }).to_string(),
            "application/json; charset=utf-8",
        ),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    set(&mut resp, "content-type", ctype);
    // Header values cannot hold control characters; the body keeps the full text.
    let header_msg: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    set(&mut resp, "x-error-message", &header_msg);
    if let Some(c) = code {
        set(&mut resp, "x-error-code", c);
    }
    resp
}

/// Missing repo, wrong type, or private without access: indistinguishable on purpose (§4.1, §4.4).
fn not_found(caller: &Caller, flavor: Flavor) -> Response {
    if caller.is_anonymous() {
        error(StatusCode::UNAUTHORIZED, None, INVALID_USER_PASS, flavor)
    } else {
        error(
            StatusCode::NOT_FOUND,
            Some("RepoNotFound"),
            "Repository not found",
            flavor,
        )
    }
}

fn denial_response(
    shared: &Shared,
    denial: &Denial,
    repo: &RepoState,
    caller: &Caller,
    flavor: Flavor,
) -> Response {
    let word = repo.repo_type.word();
    let id = &repo.id;
    match denial {
        Denial::NotFound => not_found(caller, flavor),
        // §4.6: the code is unknown; GUESS: none (clients match the message).
        Denial::Disabled => error(
            StatusCode::FORBIDDEN,
            None,
            "Access to this resource is disabled.",
            flavor,
        ),
        // GUESS (§4.4, §8): no code for org security restrictions.
        Denial::Restricted(msg) => error(StatusCode::FORBIDDEN, None, msg, flavor),
        Denial::Gate(g) => {
            let (status, code, msg) = match g {
                GateDenial::Anonymous => (
                    StatusCode::UNAUTHORIZED,
                    Some("GatedRepo"),
                    format!("Access to {word} {id} is restricted. You must have access to it and be authenticated to access it. Please log in."),
                ),
                // §4.3: the real text says https://huggingface.co; we point at our own hub.
                GateDenial::NotRequested => (
                    StatusCode::FORBIDDEN,
                    Some("GatedRepo"),
                    format!(
                        "Access to {word} {id} is restricted and you are not in the authorized list. Visit {}/{}{id} to ask for access.",
                        shared.hub_url,
                        repo.repo_type.url_prefix()
                    ),
                ),
                GateDenial::Pending => (
                    StatusCode::FORBIDDEN,
                    Some("GatedRepo"),
                    format!("Your request to access {word} {id} is awaiting a review from the repo authors."),
                ),
                GateDenial::Rejected => (
                    StatusCode::FORBIDDEN,
                    Some("GatedRepo"),
                    format!("Your request to access {word} {id} has been rejected by the repo's authors."),
                ),
                GateDenial::FineGrainedNoGated => (
                    StatusCode::FORBIDDEN,
                    None,
                    "Please enable access to public gated repositories in your fine-grained token settings to view this repository.".to_string(),
                ),
            };
            error(status, code, &msg, flavor)
        }
    }
}

/// The relative `307` of a renamed repo / other casing (§1.2): text body, no ETag/X-Repo-Commit.
fn rename_redirect(location: &str) -> Response {
    let mut resp = Response::new(Body::from(format!(
        "Temporary Redirect. Redirecting to {location}"
    )));
    *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    set(&mut resp, "location", location);
    set(&mut resp, "content-type", "text/plain; charset=utf-8");
    resp
}

/// What a request needs besides the shared state.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Arc<Shared>,
    pub method: Method,
    pub headers: HeaderMap,
    pub raw_path: String,
    pub raw_query: Option<String>,
    pub caller: Caller,
    pub faults: BodyFaults,
}

impl Ctx<'_> {
    fn head(&self) -> bool {
        self.method == Method::HEAD
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn query(&self) -> Vec<(String, String)> {
        self.raw_query
            .as_deref()
            .map(parse_query)
            .unwrap_or_default()
    }
    fn query_flag(&self, key: &str) -> bool {
        self.query().iter().any(|(k, v)| {
            k == key && matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes")
        })
    }
    /// Finds and authorises a repo, or answers the redirect / error. `rebuild` makes the
    /// redirect target from the canonical id.
    fn open_repo(
        &self,
        ty: RepoType,
        id: &str,
        content: bool,
        flavor: Flavor,
        rebuild: impl FnOnce(&str) -> String,
    ) -> Result<&RepoState, Box<Response>> {
        match self.shared.lookup(ty, id) {
            Ok(repo) => match self.shared.check(repo, &self.caller, content) {
                Ok(()) => Ok(repo),
                Err(d) => Err(Box::new(denial_response(
                    self.shared,
                    &d,
                    repo,
                    &self.caller,
                    flavor,
                ))),
            },
            Err(Some(repo)) => {
                // GUESS: the rename/casing redirect is only given to callers who may see the
                // target; others get the usual not-found answer (the Hub hides private repos).
                match self.shared.check(repo, &self.caller, false) {
                    Err(Denial::NotFound) => Err(Box::new(not_found(&self.caller, flavor))),
                    _ => {
                        let mut loc = rebuild(&repo.id);
                        if let Some(q) = &self.raw_query {
                            loc.push('?');
                            loc.push_str(q);
                        }
                        Err(Box::new(rename_redirect(&loc)))
                    }
                }
            }
            Err(None) => Err(Box::new(not_found(&self.caller, flavor))),
        }
    }
}

/// Hub entry point after faults: dispatches on the path.
pub(crate) async fn handle(ctx: Ctx<'_>, req: Request) -> Response {
    // The authorization server ignores `Authorization` (issue #14).
    if ctx.raw_path.starts_with("/oauth/") {
        let query = ctx.raw_query.as_deref();
        return crate::oauth::handle(ctx.shared, &ctx.method, &ctx.raw_path, query, req).await;
    }
    // §4.4: a bad token fails every request, even on public repos and whoami.
    if matches!(ctx.caller, Caller::Invalid) {
        let flavor = if ctx.raw_path.starts_with("/api/") {
            Flavor::Json
        } else {
            Flavor::Text
        };
        let message = crate::hub2026::bad_token_message(&ctx.shared.cfg.hub2026);
        return error(StatusCode::UNAUTHORIZED, None, message, flavor);
    }
    let path = ctx.raw_path.clone();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "whoami-v2"] => whoami(&ctx),
        ["api", "resolve-cache", ty, rest @ ..] => match RepoType::from_plural(ty) {
            Some(ty) => resolve_cache(&ctx, ty, rest),
            None => error(StatusCode::NOT_FOUND, None, "Not Found", Flavor::Text),
        },
        ["api", ty, rest @ ..] if RepoType::from_plural(ty).is_some() && !rest.is_empty() => {
            let ty = RepoType::from_plural(ty).unwrap_or_default();
            api_repo(&ctx, ty, rest, req).await
        }
        _ => {
            let (ty, rest) = match segs.first() {
                Some(&"datasets") if segs.len() > 3 => (RepoType::Dataset, &segs[1..]),
                Some(&"spaces") if segs.len() > 3 => (RepoType::Space, &segs[1..]),
                _ => (RepoType::Model, &segs[..]),
            };
            let is_kind = |s: &str| s == "resolve" || s == "raw";
            let split = if rest.len() > 3 && is_kind(rest[2]) {
                Some(2)
            } else if rest.len() > 2 && is_kind(rest[1]) {
                Some(1)
            } else {
                None
            };
            match split {
                Some(n) => resolve(&ctx, ty, &rest[..n], rest[n], &rest[n + 1..]),
                // GUESS: pages we do not emulate answer a plain 404.
                None if ctx.raw_path.starts_with("/api/") => {
                    error(StatusCode::NOT_FOUND, None, "Not Found", Flavor::Json)
                }
                None => error(StatusCode::NOT_FOUND, None, "Not Found", Flavor::Text),
            }
        }
    }
}

/// Splits `rev` + path segments, re-joining an unencoded `refs/pr/N` (GUESS: the Hub accepts
/// it unencoded too; clients encode it as one segment, §1.1).
fn split_rev<'a>(segs: &'a [&'a str]) -> (String, String, &'a [&'a str]) {
    if segs.len() >= 3 && segs[0] == "refs" && segs[1] == "pr" && segs[2].parse::<u32>().is_ok() {
        let raw = segs[..3].join("/");
        return (format!("refs/pr/{}", segs[2]), raw, &segs[3..]);
    }
    match segs.split_first() {
        Some((rev, rest)) => (percent_decode(rev, false), rev.to_string(), rest),
        None => (String::new(), String::new(), segs),
    }
}

fn decode_path(segs: &[&str]) -> String {
    segs.iter()
        .map(|s| percent_decode(s, false))
        .collect::<Vec<_>>()
        .join("/")
        .trim_matches('/')
        .to_string()
}

fn rev_not_found(rev: &str, flavor: Flavor) -> Response {
    error(
        StatusCode::NOT_FOUND,
        Some("RevisionNotFound"),
        &format!("Invalid rev id: {rev}"),
        flavor,
    )
}

fn entry_not_found(commit: &str, flavor: Flavor) -> Response {
    let mut r = error(
        StatusCode::NOT_FOUND,
        Some("EntryNotFound"),
        "Entry not found",
        flavor,
    );
    set(&mut r, "x-repo-commit", commit);
    r
}

/// `HEAD|GET /{prefix}{id}/resolve|raw/{rev}/{path}` (§1.2).
fn resolve(ctx: &Ctx<'_>, ty: RepoType, id_segs: &[&str], kind: &str, tail: &[&str]) -> Response {
    let flavor = Flavor::Text;
    let id = decode_path(id_segs);
    let tail_raw = tail.join("/");
    // issue #10: a gated repo's root README.md may be readable by anyone.
    let content = !crate::hub2026::readable_by_anyone(
        &ctx.shared.cfg.hub2026,
        &decode_path(split_rev(tail).2),
    );
    let repo = match ctx.open_repo(ty, &id, content, flavor, |canon| {
        format!("/{}{canon}/{kind}/{tail_raw}", ty.url_prefix())
    }) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let (rev, _rev_raw, path_segs) = split_rev(tail);
    // GUESS: the gate is checked before the revision as well as before the entry (§4.5).
    let Some(ci) = repo.resolve_rev(&rev) else {
        return rev_not_found(&rev, flavor);
    };
    let commit = &repo.commits[ci];
    let path = decode_path(path_segs);
    let Some(file) = commit.by_path.get(&path) else {
        return entry_not_found(&commit.sha, flavor);
    };
    if kind == "raw" {
        // `/raw/` serves the git blob: the pointer for LFS files (§1.1).
        return serve_regular(ctx, file, &commit.sha, &file.raw_blob(), &file.git_oid);
    }
    if let Some(lfs) = &file.lfs {
        return lfs_redirect(ctx, repo, &commit.sha, file, &lfs.sha256);
    }
    if ctx.shared.cfg.resolve_cache_redirect
        && crate::hub2026::resolve_cache_hop(&ctx.shared.cfg.hub2026, repo)
    {
        // §1.2: relative 307 to /api/resolve-cache/… with the original path as a query key.
        // GUESS: for datasets/spaces the key keeps the `/datasets/` prefix of the original path,
        // and the revision is the decoded one, re-encoded with the rest of the key.
        let orig = format!("/{}{}/resolve/{}/{}", ty.url_prefix(), repo.id, rev, path);
        let loc = format!(
            "/api/resolve-cache/{}/{}/{}/{}?{}=&etag=%22{}%22",
            ty.plural(),
            repo.id,
            commit.sha,
            percent_encode(&path, "/"),
            percent_encode(&orig, ""),
            file.content_git_sha1
        );
        // GUESS: the hop carries no ETag/X-Repo-Commit; the metadata is on the final 200
        // (§1.2 [INFERRED]), so a client that does not follow the hop fails visibly.
        let mut resp = Response::new(Body::from(format!(
            "Temporary Redirect. Redirecting to {loc}"
        )));
        *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
        set(&mut resp, "location", &loc);
        set(&mut resp, "content-type", "text/plain; charset=utf-8");
        return resp;
    }
    serve_regular(ctx, file, &commit.sha, &file.blob, &file.content_git_sha1)
}

/// `/api/resolve-cache/{type}/{id}/{commit}/{path}?…` — the target of the 307 (§1.1).
// GUESS: errors here use text bodies like /resolve/ (the OpenAPI lists the same responses).
fn resolve_cache(ctx: &Ctx<'_>, ty: RepoType, rest: &[&str]) -> Response {
    let flavor = Flavor::Text;
    let split = if rest.len() >= 4 && is_hex40(rest[2]) {
        2
    } else if rest.len() >= 3 && is_hex40(rest[1]) {
        1
    } else {
        return error(StatusCode::NOT_FOUND, None, "Not Found", flavor);
    };
    let id = decode_path(&rest[..split]);
    let tail_raw = rest[split..].join("/");
    // issue #10: the hop's target is as readable as the file it came from.
    let content = !crate::hub2026::readable_by_anyone(
        &ctx.shared.cfg.hub2026,
        &decode_path(&rest[split + 1..]),
    );
    let repo = match ctx.open_repo(ty, &id, content, flavor, |canon| {
        format!("/api/resolve-cache/{}/{canon}/{tail_raw}", ty.plural())
    }) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let rev = rest[split].to_ascii_lowercase();
    let Some(ci) = repo.resolve_rev(&rev) else {
        return rev_not_found(&rev, flavor);
    };
    let commit = &repo.commits[ci];
    let path = decode_path(&rest[split + 1..]);
    let Some(file) = commit.by_path.get(&path) else {
        return entry_not_found(&commit.sha, flavor);
    };
    if let Some(lfs) = &file.lfs {
        return lfs_redirect(ctx, repo, &commit.sha, file, &lfs.sha256);
    }
    serve_regular(ctx, file, &commit.sha, &file.blob, &file.content_git_sha1)
}

/// GUESS: the Hub's exact Content-Type table is unknown; JSON and text get charset=utf-8.
fn content_type_for(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "json" => "application/json; charset=utf-8",
        "md" | "txt" | "py" | "yaml" | "yml" | "csv" | "gitattributes" | "model" => {
            "text/plain; charset=utf-8"
        }
        _ => "application/octet-stream",
    }
}

fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/").trim_matches('"') == etag
    })
}

/// A regular file's final `200`/`206`/`304`/`416` (§1.2, §1.5).
fn serve_regular(
    ctx: &Ctx<'_>,
    file: &FileEntry,
    commit: &str,
    blob: &crate::state::Blob,
    etag: &str,
) -> Response {
    let quoted = format!("\"{etag}\"");
    if ctx
        .header("if-none-match")
        .is_some_and(|inm| etag_matches(inm, etag))
    {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        set(&mut resp, "etag", &quoted);
        set(&mut resp, "x-repo-commit", commit);
        return resp;
    }
    let mut headers = HeaderMap::new();
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    for (k, v) in [
        ("etag", quoted.as_str()),
        ("x-repo-commit", commit),
        ("content-type", content_type_for(&file.path)),
    ] {
        if let Some(v) = hv(v) {
            headers.insert(HeaderName::from_static(k), v);
        }
    }
    if let Some(v) = hv(&format!(
        "inline; filename*=UTF-8''{}; filename=\"{}\";",
        percent_encode(name, ""),
        name.replace(|c: char| !c.is_ascii() || c == '"', "_")
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    let commit_owned = commit.to_string();
    serve::file_response(
        ctx.head(),
        blob,
        ctx.header("range"),
        &ctx.faults,
        headers,
        move |len| {
            // GUESS: the Hub's 416 body is undocumented; we send the standard text.
            let mut r = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                None,
                "Range Not Satisfiable",
                Flavor::Text,
            );
            r.headers_mut()
                .insert(header::CONTENT_RANGE, serve::unsatisfied_range_header(len));
            set(&mut r, "x-repo-commit", &commit_owned);
            r
        },
    )
}

/// Signature binding path, expiry and (for xet files) the minted `Range` (§1.2, landscape §2.4).
pub(crate) fn sign(secret: &str, path: &str, expires: u64, range: &str) -> String {
    content::sha256_hex(format!("{secret}\n{path}\n{expires}\n{range}").as_bytes())
}

/// LFS / xet file: `302` to the CDN with the linked metadata (§1.2, §6).
fn lfs_redirect(
    ctx: &Ctx<'_>,
    repo: &RepoState,
    commit: &str,
    file: &FileEntry,
    sha: &str,
) -> Response {
    let shared = ctx.shared;
    let xet = file.xet_hash.is_some();
    // GUESS: only xet-bridge URLs are bound to the Range that minted them (landscape §2.4);
    // classic LFS CDN URLs (`Repo::lfs_plain`) are plain CloudFront signed URLs.
    let range = if xet {
        ctx.header("range").unwrap_or("")
    } else {
        ""
    };
    let expires = content::now_unix() + shared.cfg.signed_url_ttl_secs;
    let cdn_path = format!("/repos/{}/{}/{}", &sha[0..2], &sha[2..4], sha);
    let sig = sign(&shared.secret, &cdn_path, expires, range);
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let disposition = format!(
        "inline; filename*=UTF-8''{}; filename=\"{}\";",
        percent_encode(name, ""),
        name.replace(|c: char| !c.is_ascii() || c == '"', "_")
    );
    let location = format!(
        "{}{cdn_path}?response-content-disposition={}&Expires={expires}&Signature={sig}&Key-Pair-Id=EMULATOR&X-Range={}",
        shared.cdn_public_url,
        percent_encode(&disposition, ""),
        percent_encode(range, "")
    );
    let plural = repo.repo_type.plural();
    let link = file.xet_hash.as_ref().map(|xh| {
        // The real reconstruction-info URL points at the CAS server (docs/real-hub.md); without
        // one configured, GUESS: a Hub URL that answers 501.
        let reconstruction = match &shared.cfg.xet_cas {
            Some(cas) => format!("{}/v1/reconstructions/{xh}", cas.cas_url),
            None => format!(
                "{}/api/{plural}/{}/xet-reconstruction-info/{xh}",
                shared.hub_url, repo.id
            ),
        };
        format!(
            "<{hub}/api/{plural}/{id}/xet-read-token/{commit}>; rel=\"xet-auth\", <{reconstruction}>; rel=\"xet-reconstruction-info\"",
            hub = shared.hub_url,
            id = repo.id
        )
    });
    // §1.2 row "Xet file with Accept: application/vnd.xet-fileinfo+json".
    if let (Some(xh), true) = (
        &file.xet_hash,
        ctx.header("accept")
            .is_some_and(|a| a.contains("application/vnd.xet-fileinfo+json")),
    ) {
        let body = json!({
            "hash": xh,
            "refreshUrl": format!("{}/api/{plural}/{}/xet-read-token/{commit}", shared.hub_url, repo.id),
            "reconstructionUrl": match &shared.cfg.xet_cas {
                Some(cas) => format!("{}/v1/reconstructions/{xh}", cas.cas_url),
                None => format!("{}/api/{plural}/{}/xet-reconstruction-info/{xh}", shared.hub_url, repo.id),
            },
            "etag": sha,
            "size": file.size,
        })
        .to_string();
        let mut resp = Response::new(Body::from(body));
        set(
            &mut resp,
            "content-type",
            "application/vnd.xet-fileinfo+json",
        );
        set(&mut resp, "x-linked-size", &file.size.to_string());
        set(&mut resp, "x-linked-etag", &format!("\"{sha}\""));
        set(&mut resp, "x-xet-hash", xh);
        set(&mut resp, "x-repo-commit", commit);
        if let Some(l) = &link {
            set(&mut resp, "link", l);
        }
        return resp;
    }
    // GUESS: an Express-style redirect body; only its length matters (§1.2: Content-Length is
    // the redirect body's, not the file's).
    let body = format!("Found. Redirecting to {location}");
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::FOUND;
    set(&mut resp, "location", &location);
    set(&mut resp, "content-type", "text/plain; charset=utf-8");
    set(&mut resp, "x-linked-etag", &format!("\"{sha}\""));
    set(&mut resp, "x-linked-size", &file.size.to_string());
    set(&mut resp, "x-repo-commit", commit);
    // GUESS (§8 "The ETag value on an LFS 302"): the git oid of the pointer, i.e. what /raw/
    // would give. It differs from X-Linked-Etag on purpose, catching clients that prefer ETag.
    set(&mut resp, "etag", &format!("\"{}\"", file.git_oid));
    if let (Some(xh), Some(l)) = (&file.xet_hash, &link) {
        set(&mut resp, "x-xet-hash", xh);
        set(&mut resp, "link", l);
    }
    resp
}

/// `/api/{type}s/{id}/…`.
async fn api_repo(ctx: &Ctx<'_>, ty: RepoType, rest: &[&str], req: Request) -> Response {
    const SUBS: &[&str] = &[
        "revision",
        "tree",
        "paths-info",
        "refs",
        "auth-check",
        "xet-read-token",
        "xet-reconstruction-info",
    ];
    let flavor = Flavor::Json;
    let n = if rest.len() >= 2 && !SUBS.contains(&rest[1]) {
        2
    } else {
        1
    };
    let id = decode_path(&rest[..n]);
    let sub = &rest[n..];
    let sub_raw = sub.join("/");
    let content = matches!(
        sub.first(),
        Some(&"paths-info") | Some(&"auth-check") | Some(&"xet-read-token")
    );
    let repo = match ctx.open_repo(ty, &id, content, flavor, |canon| {
        let mut p = format!("/api/{}/{canon}", ty.plural());
        if !sub_raw.is_empty() {
            p.push('/');
            p.push_str(&sub_raw);
        }
        p
    }) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    match sub {
        [] => repo_info(ctx, repo, "main"),
        ["revision", revs @ ..] if !revs.is_empty() => {
            let rev = percent_decode(&revs.join("/"), false);
            repo_info(ctx, repo, &rev)
        }
        ["tree", tail @ ..] if !tail.is_empty() => tree(ctx, repo, tail),
        ["paths-info", revs @ ..] if !revs.is_empty() => {
            let rev = percent_decode(&revs.join("/"), false);
            let ctype = ctx.header("content-type").unwrap_or("").to_string();
            let body = match axum::body::to_bytes(req.into_body(), 64 * 1024 * 1024).await {
                Ok(b) => b,
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        None,
                        "Invalid request body",
                        flavor,
                    );
                }
            };
            paths_info(ctx, repo, &rev, &ctype, &body)
        }
        ["refs"] => refs(ctx, repo),
        ["auth-check", ..] => crate::hub2026::auth_check_ok(&ctx.shared.cfg.hub2026),
        // With a CAS configured (`xet_cas`), the token answer of §6: the same three values as
        // JSON and as `X-Xet-*` headers (huggingface_hub reads the headers).
        ["xet-read-token", ..] if ctx.shared.cfg.xet_cas.is_some() => xet_read_token(ctx),
        // GUESS: Xet CAS is not emulated; after the usual access checks, a 501 tells a Xet client
        // (hf_xet) to be disabled (HF_HUB_DISABLE_XET=1) instead of hanging.
        ["xet-read-token", ..] | ["xet-reconstruction-info", ..] => error(
            StatusCode::NOT_IMPLEMENTED,
            None,
            "Xet transfers are not emulated; download through the LFS bridge URL",
            flavor,
        ),
        _ => error(StatusCode::NOT_FOUND, None, "Not Found", flavor),
    }
}

/// `GET …/xet-read-token/{rev}` with a CAS behind the Hub: `{accessToken, exp, casUrl}`, and the
/// same as `X-Xet-Access-Token`, `X-Xet-Token-Expiration` and `X-Xet-Cas-Url`.
fn xet_read_token(ctx: &Ctx<'_>) -> Response {
    let Some(cas) = &ctx.shared.cfg.xet_cas else {
        return error(StatusCode::NOT_FOUND, None, "Not Found", Flavor::Json);
    };
    let exp = content::now_unix() + cas.ttl_secs;
    let mut resp = json_response(&json!({
        "accessToken": cas.access_token,
        "exp": exp,
        "casUrl": cas.cas_url,
    }));
    set(&mut resp, "x-xet-access-token", &cas.access_token);
    set(&mut resp, "x-xet-token-expiration", &exp.to_string());
    set(&mut resp, "x-xet-cas-url", &cas.cas_url);
    resp
}

/// JSON response with a weak ETag like the Hub's `/api` answers (§1.2).
fn json_response(value: &Value) -> Response {
    let body = value.to_string();
    let digest = base64::engine::general_purpose::STANDARD_NO_PAD
        .encode(content::sha1_hex(body.as_bytes()).as_bytes());
    let etag = format!("W/\"{:x}-{}\"", body.len(), &digest[..27.min(digest.len())]);
    let mut r = Response::new(Body::from(body));
    set(&mut r, "content-type", "application/json; charset=utf-8");
    set(&mut r, "etag", &etag);
    r
}

fn gated_value(g: Gate) -> Value {
    match g {
        Gate::None => Value::Bool(false),
        Gate::Auto => Value::from("auto"),
        Gate::Manual => Value::from("manual"),
    }
}

/// `GET /api/{type}s/{id}[/revision/{rev}]` (§3.1).
fn repo_info(ctx: &Ctx<'_>, repo: &RepoState, rev: &str) -> Response {
    let Some(ci) = repo.resolve_rev(rev) else {
        return rev_not_found(rev, Flavor::Json);
    };
    let commit = &repo.commits[ci];
    let blobs = ctx.query_flag("blobs");
    let siblings: Vec<Value> = commit
        .files
        .iter()
        .map(|f| {
            let mut s = json!({ "rfilename": f.path });
            if blobs {
                s["blobId"] = Value::from(f.git_oid.clone());
                s["size"] = Value::from(f.size);
                if let Some(l) = &f.lfs {
                    s["lfs"] = json!({ "sha256": l.sha256, "size": f.size, "pointerSize": l.pointer.len() });
                }
            }
            s
        })
        .collect();
    let mut full = Map::new();
    full.insert("_id".into(), Value::from(repo.object_id.clone()));
    full.insert("id".into(), Value::from(repo.id.clone()));
    if repo.repo_type == RepoType::Model {
        full.insert("modelId".into(), Value::from(repo.id.clone()));
    }
    full.insert("author".into(), Value::from(repo.owner.clone()));
    full.insert("sha".into(), Value::from(commit.sha.clone()));
    full.insert("lastModified".into(), Value::from(iso8601(commit.date)));
    full.insert("private".into(), Value::Bool(repo.private));
    full.insert("gated".into(), gated_value(repo.gated));
    full.insert("disabled".into(), Value::Bool(repo.disabled));
    full.insert("downloads".into(), Value::from(0));
    full.insert("likes".into(), Value::from(0));
    full.insert("tags".into(), Value::Array(Vec::new()));
    if repo.repo_type == RepoType::Space {
        // GUESS: a minimal static Space.
        full.insert("sdk".into(), Value::from("static"));
    }
    full.insert("siblings".into(), Value::Array(siblings));
    full.insert("createdAt".into(), Value::from(iso8601(repo.created)));
    let used: u64 = commit.files.iter().map(|f| f.size).sum();
    full.insert("usedStorage".into(), Value::from(used));
    let expand: Vec<String> = ctx
        .query()
        .into_iter()
        .filter(|(k, _)| k == "expand[]" || k == "expand")
        .map(|(_, v)| v)
        .collect();
    if expand.is_empty() {
        return json_response(&Value::Object(full));
    }
    // §3.1: with expand only `_id`, `id` and the expanded fields are returned.
    let mut extras = full.clone();
    extras.insert(
        "xetEnabled".into(),
        Value::Bool(commit.files.iter().any(|f| f.xet_hash.is_some())),
    );
    let mut out = Map::new();
    out.insert("_id".into(), Value::from(repo.object_id.clone()));
    out.insert("id".into(), Value::from(repo.id.clone()));
    for field in expand {
        if let Some(v) = extras.get(&field) {
            out.insert(field, v.clone());
        }
    }
    json_response(&Value::Object(out))
}

/// Last commit (walking back) that still has this exact entry: the tree's `lastCommit`.
fn last_commit_of(repo: &RepoState, ci: usize, path: &str, oid: &str) -> Value {
    let mut found = ci;
    while found > 0 {
        let prev = &repo.commits[found - 1];
        match prev.by_path.get(path) {
            Some(f) if f.git_oid == oid => found -= 1,
            _ => break,
        }
    }
    let c = &repo.commits[found];
    json!({ "id": c.sha, "title": c.title, "date": iso8601(c.date) })
}

fn file_entry_json(repo: &RepoState, ci: usize, f: &FileEntry, expand: bool) -> Value {
    let mut e = json!({ "type": "file", "oid": f.git_oid, "size": f.size, "path": f.path });
    if let Some(l) = &f.lfs {
        e["lfs"] = json!({ "oid": l.sha256, "size": f.size, "pointerSize": l.pointer.len() });
    }
    if let Some(x) = &f.xet_hash {
        e["xetHash"] = Value::from(x.clone());
    }
    if expand {
        e["lastCommit"] = last_commit_of(repo, ci, &f.path, &f.git_oid);
        // GUESS: a minimal clean scan result.
        e["securityFileStatus"] = json!({ "status": "safe" });
    }
    e
}

/// Directory oid: GUESS, a sha1 over the children (the real one is the git tree sha).
fn dir_oid(repo: &RepoState, ci: usize, dir: &str) -> String {
    let prefix = format!("{dir}/");
    let mut s = String::new();
    for f in repo.commits[ci]
        .files
        .iter()
        .filter(|f| f.path.starts_with(&prefix))
    {
        s.push_str(&f.path);
        s.push_str(&f.git_oid);
    }
    content::sha1_hex(s.as_bytes())
}

fn dir_entry_json(repo: &RepoState, ci: usize, dir: &str, expand: bool) -> Value {
    let oid = dir_oid(repo, ci, dir);
    let mut e = json!({ "type": "directory", "oid": oid, "size": 0, "path": dir });
    if expand {
        e["lastCommit"] = last_commit_of(repo, ci, dir, "");
    }
    e
}

/// All directories of a commit.
fn dirs_of(repo: &RepoState, ci: usize) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for f in &repo.commits[ci].files {
        let mut p = f.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(parent.to_string());
            p = parent;
        }
    }
    dirs
}

enum Node<'a> {
    File(&'a FileEntry),
    Dir(String),
}

/// `GET /api/{type}s/{id}/tree/{rev}[/{path}]` with cursor pagination (§3.2).
fn tree(ctx: &Ctx<'_>, repo: &RepoState, tail: &[&str]) -> Response {
    let flavor = Flavor::Json;
    let (rev, rev_raw, path_segs) = split_rev(tail);
    let Some(ci) = repo.resolve_rev(&rev) else {
        return rev_not_found(&rev, flavor);
    };
    let commit = &repo.commits[ci];
    let path = decode_path(path_segs);
    let recursive = ctx.query_flag("recursive");
    let expand = ctx.query_flag("expand");
    let dirs = dirs_of(repo, ci);
    if !path.is_empty() && !dirs.contains(&path) {
        // GUESS: a file path (not a directory) is also "not found" for a tree listing.
        return entry_not_found(&commit.sha, flavor);
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let direct = |p: &str| !p[prefix.len()..].contains('/');
    let mut nodes: Vec<(&str, Node)> = Vec::new();
    for d in dirs
        .iter()
        .filter(|d| d.starts_with(&prefix) && d.len() > prefix.len())
    {
        if recursive || direct(d) {
            nodes.push((d.as_str(), Node::Dir(d.clone())));
        }
    }
    for f in commit.files.iter().filter(|f| f.path.starts_with(&prefix)) {
        if recursive || direct(&f.path) {
            nodes.push((f.path.as_str(), Node::File(f)));
        }
    }
    // GUESS: entries sorted by path, directories and files interleaved.
    nodes.sort_by(|a, b| a.0.cmp(b.0));
    let query = ctx.query();
    let offset = query
        .iter()
        .find(|(k, _)| k == "cursor")
        .and_then(|(_, v)| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.strip_prefix("offset:")
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(0);
    // GUESS (§8): `limit` may shrink a page; the scenario's page size is the maximum, with or
    // without expand.
    let limit = query
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .filter(|&l| l > 0)
        .map_or(ctx.shared.cfg.page_size, |l| {
            l.min(ctx.shared.cfg.page_size)
        });
    let mask = crate::hub2026::mask_for(ctx.shared, repo, &ctx.caller);
    let page: Vec<Value> = nodes
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(_, n)| match n {
            Node::File(f) => {
                let mut entry = file_entry_json(repo, ci, f, expand);
                crate::hub2026::mask_entry(&mut entry, mask);
                entry
            }
            Node::Dir(d) => dir_entry_json(repo, ci, d, expand),
        })
        .collect();
    let mut resp = json_response(&Value::Array(page));
    let next = offset + limit;
    if next < nodes.len() {
        let cursor =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{next}"));
        let kept: Vec<&str> = ctx
            .raw_query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("cursor="))
            .collect();
        let mut q = kept.join("&");
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str(&format!("cursor={cursor}"));
        let path_part = if path_segs.is_empty() {
            String::new()
        } else {
            format!("/{}", path_segs.join("/"))
        };
        let link = format!(
            "<{}/api/{}/{}/tree/{rev_raw}{path_part}?{q}>; rel=\"next\"",
            ctx.shared.hub_url,
            repo.repo_type.plural(),
            repo.id
        );
        set(&mut resp, "link", &link);
    }
    resp
}

/// `POST /api/{type}s/{id}/paths-info/{rev}` (§3.3): form or JSON body.
fn paths_info(ctx: &Ctx<'_>, repo: &RepoState, rev: &str, ctype: &str, body: &[u8]) -> Response {
    let flavor = Flavor::Json;
    if ctx.method != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "Method Not Allowed",
            flavor,
        );
    }
    let Some(ci) = repo.resolve_rev(rev) else {
        return rev_not_found(rev, flavor);
    };
    let (paths, expand) = if ctype.contains("json") || body.first() == Some(&b'{') {
        let v: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    None,
                    &format!("Invalid JSON body: {e}"),
                    flavor,
                );
            }
        };
        let paths = match &v["paths"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let expand = matches!(&v["expand"], Value::Bool(true))
            || v["expand"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("true"));
        (paths, expand)
    } else {
        let form = parse_query(&String::from_utf8_lossy(body));
        let paths = form
            .iter()
            .filter(|(k, _)| k == "paths" || k == "paths[]")
            .map(|(_, v)| v.clone())
            .collect();
        let expand = form
            .iter()
            .any(|(k, v)| k == "expand" && matches!(v.to_ascii_lowercase().as_str(), "true" | "1"));
        (paths, expand)
    };
    if paths.is_empty() {
        // GUESS: modelled on the OpenAPI "paths" requirement.
        return error(StatusCode::BAD_REQUEST, None, "paths is required", flavor);
    }
    let commit = &repo.commits[ci];
    let dirs = dirs_of(repo, ci);
    // GUESS: missing paths are omitted from the array.
    let out: Vec<Value> = paths
        .iter()
        .map(|p| p.trim_matches('/').to_string())
        .filter_map(|p| match commit.by_path.get(&p) {
            Some(f) => Some(file_entry_json(repo, ci, f, expand)),
            None if dirs.contains(&p) => Some(dir_entry_json(repo, ci, &p, expand)),
            None => None,
        })
        .collect();
    json_response(&Value::Array(out))
}

/// `GET /api/{type}s/{id}/refs[?include_prs=1]` (§3.7).
fn refs(ctx: &Ctx<'_>, repo: &RepoState) -> Response {
    let sha = |i: usize| repo.commits[i].sha.clone();
    let branches: Vec<Value> = repo
        .branch_list()
        .into_iter()
        .map(|(name, i)| json!({ "name": name, "ref": format!("refs/heads/{name}"), "targetCommit": sha(i) }))
        .collect();
    let tags: Vec<Value> = repo
        .tags
        .iter()
        .map(|(name, &i)| json!({ "name": name, "ref": format!("refs/tags/{name}"), "targetCommit": sha(i) }))
        .collect();
    let mut v = json!({ "branches": branches, "tags": tags, "converts": [] });
    if ctx.query_flag("include_prs") {
        // GUESS: a PR ref's name is its full ref.
        v["pullRequests"] = Value::Array(
            repo.prs
                .iter()
                .map(|(n, &i)| json!({ "name": format!("refs/pr/{n}"), "ref": format!("refs/pr/{n}"), "targetCommit": sha(i) }))
                .collect(),
        );
    }
    json_response(&v)
}

/// `GET /api/whoami-v2` (schema of §3.4).
fn whoami(ctx: &Ctx<'_>) -> Response {
    let Caller::User { token, user } = &ctx.caller else {
        // GUESS: the text for a missing token on whoami.
        return error(
            StatusCode::UNAUTHORIZED,
            None,
            INVALID_USER_PASS,
            Flavor::Json,
        );
    };
    let avatar = |kind: &str, name: &str| {
        format!(
            "/avatars/{}.svg",
            &content::sha1_hex(format!("{kind}:{name}").as_bytes())[..32]
        )
    };
    let orgs: Vec<Value> = user
        .orgs
        .iter()
        .map(|m| {
            json!({
                "type": "org",
                "id": object_id("org", &m.org),
                "name": m.org,
                "fullname": m.org,
                "email": Value::Null,
                "canPay": false,
                "billingMode": "postpaid",
                "avatarUrl": avatar("org", &m.org),
                "periodEnd": Value::Null,
                "plan": "team",
                "roleInOrg": m.role,
                "securityRestrictions": m.security_restrictions,
                "resourceGroups": [],
                "pendingSSO": m.security_restrictions.iter().any(|r| r == "sso"),
                "missingMFA": m.security_restrictions.iter().any(|r| r == "mfa"),
            })
        })
        .collect();
    let role = match &token.role {
        TokenRole::Read => "read",
        TokenRole::Write => "write",
        TokenRole::FineGrained(_) => "fineGrained",
    };
    let mut access_token = json!({
        "displayName": token.display_name,
        "role": role,
        "createdAt": "2024-01-01T00:00:00.000Z",
    });
    if let TokenRole::FineGrained(fg) = &token.role {
        let scoped: Vec<Value> = fg
            .scoped
            .iter()
            .map(|s| {
                json!({
                    "entity": { "_id": object_id(&s.entity_type, &s.entity_name), "type": s.entity_type, "name": s.entity_name },
                    "permissions": s.permissions,
                })
            })
            .collect();
        access_token["fineGrained"] = json!({
            "canReadGatedRepos": fg.can_read_gated_repos,
            "global": fg.global,
            "scoped": scoped,
        });
    }
    // Issue #14: OAuth tokens have no display name (§3.4).
    // GUESS: whoami-v2 then leaves `displayName` out and reports `auth.type` "oauth" (hf.js
    // knows only access_token/app_token/app_token_as_user; hfget must not depend on it).
    let auth_type = if token.display_name.is_empty() {
        if let Some(fields) = access_token.as_object_mut() {
            fields.remove("displayName");
        }
        "oauth"
    } else {
        "access_token"
    };
    let mut auth = json!({ "type": auth_type, "accessToken": access_token });
    if let Some(exp) = &token.expires_at {
        auth["expiresAt"] = Value::from(exp.clone());
    }
    let v = json!({
        "type": "user",
        "id": object_id("user", &user.name),
        "name": user.name,
        "fullname": user.name,
        // GUESS: synthetic e-mail address.
        "email": format!("{}@users.hub-emulator.test", user.name),
        "emailVerified": true,
        "canPay": false,
        "isPro": false,
        "periodEnd": Value::Null,
        "avatarUrl": avatar("user", &user.name),
        "billingMode": "postpaid",
        "orgs": orgs,
        "auth": auth,
    });
    json_response(&v)
}

/// Rate-limit bucket of a hub path (§4.7).
pub(crate) fn bucket(path: &str) -> &'static str {
    if path.starts_with("/api/resolve-cache/") {
        // GUESS: resolve-cache is counted as a resolver hit.
        "resolvers"
    } else if path.starts_with("/api/") {
        "api"
    } else if path.contains("/resolve/") {
        "resolvers"
    } else {
        "pages"
    }
}

/// Quota per 5-minute window (§4.7, free tier / anonymous).
pub(crate) fn quota(bucket: &str, anonymous: bool) -> u64 {
    match (bucket, anonymous) {
        ("api", true) => 500,
        ("api", false) => 1000,
        ("resolvers", true) => 3000,
        ("resolvers", false) => 5000,
        (_, true) => 100,
        (_, false) => 200,
    }
}

/// Answers for status-like faults on the hub origin; `None` when no such fault fired.
pub(crate) fn fault_response(
    actions: &[FaultAction],
    path: &str,
    anonymous: bool,
    peer: SocketAddr,
) -> Option<Response> {
    let flavor = if path.starts_with("/api/") && !path.starts_with("/api/resolve-cache/") {
        Flavor::Json
    } else {
        Flavor::Text
    };
    for a in actions {
        match a {
            FaultAction::RateLimited { retry_after_secs } => {
                return Some(rate_limited(
                    path,
                    anonymous,
                    peer,
                    *retry_after_secs,
                    flavor,
                ));
            }
            FaultAction::Status { status } => {
                let st = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Some(match st.as_u16() {
                    // GUESS: t=1 so retrying clients do not sleep long in tests.
                    429 => rate_limited(path, anonymous, peer, 1, flavor),
                    // §4.8 (the capture is lower-cased by the reporter; GUESS at the casing).
                    500 => error(
                        st,
                        None,
                        "Internal Error - We're working hard to fix this as soon as possible!",
                        flavor,
                    ),
                    // GUESS: 502/503/504 come from the load balancer as HTML, without X-Error-*.
                    502..=504 => html_page(st),
                    _ => error(st, None, st.canonical_reason().unwrap_or("Error"), flavor),
                });
            }
            FaultAction::HtmlError { status } => {
                let st = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Some(html_page(st));
            }
            FaultAction::ErrorAnswer {
                status,
                code,
                message,
            } => {
                let st = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Some(error(st, code.as_deref(), message, flavor));
            }
            _ => {}
        }
    }
    None
}

fn rate_limited(
    path: &str,
    anonymous: bool,
    peer: SocketAddr,
    retry: u64,
    flavor: Flavor,
) -> Response {
    let b = bucket(path);
    let q = quota(b, anonymous);
    // §4.7 verbatim bodies (anonymous per IP, authenticated per user).
    let msg = if anonymous {
        format!(
            "We had to rate limit your IP ({}). To continue using our service, create a HF account or login to your existing account, and make sure you pass a HF_TOKEN if you're using the API.",
            peer.ip()
        )
    } else {
        format!(
            "We had to rate limit you, you hit the quota of {q} {b} requests per 5 minutes period. Upgrade to a PRO user or Team/Enterprise organization account (https://hf.co/pricing) to get higher limits. See https://huggingface.co/docs/hub/rate-limits"
        )
    };
    // GUESS (§8): no X-Error-Code on 429; the message is also in X-Error-Message.
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, None, &msg, flavor);
    set(&mut r, "ratelimit", &format!("\"{b}\";r=0;t={retry}"));
    set(
        &mut r,
        "ratelimit-policy",
        &format!("\"fixed window\";\"{b}\";q={q};w=300"),
    );
    set(&mut r, "retry-after", &retry.to_string());
    r
}

/// An HTML error page (like the whoami 429 of §3.4, or a load balancer's 5xx).
pub(crate) fn html_page(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<!doctype html>\n<html class=\"\">\n<head>\n<meta charset=\"utf-8\" />\n<title>Hugging Face – The AI community building the future.</title>\n</head>\n<body>\n<h1>{} {reason}</h1>\n<p>{reason}</p>\n</body>\n</html>\n",
        status.as_u16()
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    set(&mut r, "content-type", "text/html; charset=utf-8");
    r
}
