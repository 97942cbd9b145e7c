//! End-to-end tests of the emulator over real HTTP: every behaviour hfget's tests rely on,
//! checked against the texts and shapes of hub-protocol.md.

// Test code may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hub_emulator::{
    AccessState, Content, Emulator, Fault, FaultAction, Gate, Origin, Repo, Scenario, Token, User,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sha2::Digest as _;

const CONFIG: &[u8] = b"{\"hidden_size\": 16}\n";
const BIG: Content = Content::Pattern {
    seed: 7,
    size: 600_000,
};

fn scenario() -> Scenario {
    Scenario::new()
        .user(User::new("alice").org("acme", "admin"))
        .user(User::new("bob"))
        .user(User::new("carol").org_with_restrictions("secure", "read", &["sso"]))
        .user(User::new("dave").org("acme", "read"))
        .token(Token::read("hf_alice", "alice", "laptop"))
        .token(Token::read("hf_bob", "bob", "bob-laptop"))
        .token(Token::read("hf_carol", "carol", "carol"))
        .token(Token::read("hf_dave", "dave", "dave"))
        .token(
            Token::fine_grained("hf_fg_nogate", "bob", "fg")
                .can_read_gated(false)
                .global(&["discussion.write"]),
        )
        .token(
            Token::fine_grained("hf_fg_other", "alice", "fg-other").scope(
                "org",
                "other-org",
                &["repo.content.read"],
            ),
        )
        .token(Token::fine_grained("hf_fg_acme", "alice", "fg-acme").scope(
            "org",
            "acme",
            &["repo.content.read"],
        ))
        .token(Token::read("hf_revoked", "alice", "old").invalid())
        .token(Token::read("hf_expired", "alice", "exp").expires_at("2020-01-01T00:00:00Z"))
        .repo(
            Repo::model("acme/tiny")
                .file("config.json", CONFIG)
                .file("nested/dir/vocab.txt", b"a\nb\n")
                .file("nested/readme.md", b"# nested\n")
                .lfs("model.safetensors", BIG)
                .lfs_plain("plain.bin", Content::Bytes(b"0123456789".to_vec()))
                .tag("v1")
                .commit()
                .file("config.json", b"{\"hidden_size\": 32}\n")
                .branch("dev")
                .pr(1)
                .renamed_from("old-org/tiny"),
        )
        .repo(Repo::dataset("acme/data").file("data.csv", b"a,b\n1,2\n"))
        .repo(
            Repo::model("acme/gated")
                .gated(Gate::Manual)
                .file("config.json", CONFIG)
                .access("alice", AccessState::Granted)
                .access("bob", AccessState::Granted)
                .access("dave", AccessState::Pending),
        )
        .repo(
            Repo::model("other/gated")
                .gated(Gate::Auto)
                .file("config.json", CONFIG)
                .access("bob", AccessState::Rejected),
        )
        .repo(
            Repo::model("acme/private")
                .private()
                .file("config.json", CONFIG),
        )
        .repo(
            Repo::model("secure/private")
                .private()
                .file("config.json", CONFIG),
        )
        .repo(
            Repo::model("acme/disabled")
                .disabled()
                .file("config.json", CONFIG),
        )
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn h(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

async fn send(method: &str, url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut rb = client().request(method.parse().expect("method"), url);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.expect("send");
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.bytes().await.expect("body").to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Resp {
    send("GET", url, headers).await
}

fn git_sha1(data: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex(&h.finalize())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn assert_error(r: &Resp, status: u16, code: Option<&str>, msg: &str) {
    assert_eq!(r.status.as_u16(), status, "status; body {}", r.text());
    assert_eq!(r.h("x-error-code"), code, "code for {msg}");
    assert_eq!(r.h("x-error-message"), Some(msg));
}

#[tokio::test]
async fn regular_file_resolve_cache_hop() {
    let emu = Emulator::start(scenario()).expect("start");
    let hub = emu.hub_url();
    let r = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/v1/config.json"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    let loc = r.h("location").expect("location").to_string();
    let sha1 = git_sha1(CONFIG);
    assert!(
        loc.starts_with("/api/resolve-cache/models/acme/tiny/"),
        "{loc}"
    );
    assert!(
        loc.ends_with(&format!(
            "/config.json?%2Facme%2Ftiny%2Fresolve%2Fv1%2Fconfig.json=&etag=%22{sha1}%22"
        )),
        "{loc}"
    );
    assert!(r.h("etag").is_none());
    assert!(r.h("x-repo-commit").is_none());
    let commit = loc.split('/').nth(6).expect("commit").to_string();
    assert_eq!(commit.len(), 40);

    let r = send("HEAD", &format!("{hub}{loc}"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.h("etag"), Some(format!("\"{sha1}\"").as_str()));
    assert_eq!(r.h("x-repo-commit"), Some(commit.as_str()));
    assert_eq!(
        r.h("content-length"),
        Some(CONFIG.len().to_string().as_str())
    );
    assert_eq!(r.h("accept-ranges"), Some("bytes"));
    assert!(r.h("content-type").is_some());
    assert!(r.body.is_empty());

    let r = get(&format!("{hub}{loc}"), &[]).await;
    assert_eq!(r.body, CONFIG);
    let r = get(&format!("{hub}{loc}"), &[("Range", "bytes=2-5")]).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.body, &CONFIG[2..6]);
    assert_eq!(
        r.h("content-range"),
        Some(format!("bytes 2-5/{}", CONFIG.len()).as_str())
    );
    let r = get(&format!("{hub}{loc}"), &[("Range", "bytes=9999-")]).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        r.h("content-range"),
        Some(format!("bytes */{}", CONFIG.len()).as_str())
    );
    let r = get(
        &format!("{hub}{loc}"),
        &[("If-None-Match", &format!("\"{sha1}\""))],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);

    // main moved on: a different commit and content.
    let r = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/main/config.json"),
        &[],
    )
    .await;
    let loc2 = r.h("location").expect("location");
    assert!(!loc2.contains(&commit));
    // refs/pr/1, encoded as one segment.
    let r = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/refs%2Fpr%2F1/config.json"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    assert!(
        r.h("location")
            .expect("loc")
            .contains("%2Facme%2Ftiny%2Fresolve%2Frefs%2Fpr%2F1%2Fconfig.json=")
    );
    // Commit sha as revision.
    let r = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/{commit}/config.json"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    // Dataset prefix.
    let r = get(
        &format!("{hub}/datasets/acme/data/resolve/main/data.csv"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    assert!(
        r.h("location")
            .expect("loc")
            .starts_with("/api/resolve-cache/datasets/acme/data/")
    );
}

#[tokio::test]
async fn regular_file_without_hop_and_raw() {
    let emu = Emulator::start(scenario().resolve_cache_redirect(false)).expect("start");
    let hub = emu.hub_url();
    let r = get(&format!("{hub}/acme/tiny/resolve/v1/config.json"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, CONFIG);
    assert_eq!(
        r.h("etag"),
        Some(format!("\"{}\"", git_sha1(CONFIG)).as_str())
    );
    let r = get(&format!("{hub}/acme/tiny/raw/main/model.safetensors"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text()
            .starts_with("version https://git-lfs.github.com/spec/v1\n")
    );
}

#[tokio::test]
async fn lfs_redirect_cdn_and_range_bound_signature() {
    let emu = Emulator::start(scenario()).expect("start");
    let hub = emu.hub_url();
    let full = BIG.to_vec();
    let sha = hex(&sha2::Sha256::digest(&full));
    let r = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/main/model.safetensors"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(r.h("x-linked-etag"), Some(format!("\"{sha}\"").as_str()));
    assert_eq!(r.h("x-linked-size"), Some("600000"));
    assert_eq!(r.h("x-repo-commit").map(str::len), Some(40));
    assert!(r.h("x-xet-hash").is_some_and(|x| x.len() == 64));
    let link = r.h("link").expect("link");
    assert!(link.contains("rel=\"xet-auth\""), "{link}");
    assert!(link.contains(&format!("{hub}/api/models/acme/tiny/xet-read-token/")));
    let cl: u64 = r.h("content-length").expect("cl").parse().expect("num");
    assert_ne!(cl, 600_000);
    assert!(cl > 0);
    let loc = r.h("location").expect("location").to_string();
    assert!(
        loc.starts_with(&format!(
            "{}/repos/{}/{}/{sha}?",
            emu.cdn_url(),
            &sha[..2],
            &sha[2..4]
        )),
        "{loc}"
    );
    assert!(loc.contains("Expires=") && loc.contains("Signature=") && loc.contains("X-Range="));

    let r = get(&loc, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.len(), full.len());
    assert!(r.body == full);
    assert_eq!(r.h("content-type"), Some("application/octet-stream"));
    assert_eq!(r.h("accept-ranges"), Some("bytes"));
    // Xet: the CDN ETag is the xet hash, not the sha256 (§1.7).
    assert_ne!(r.h("etag"), Some(format!("\"{sha}\"").as_str()));

    // A URL minted without Range refuses a ranged request…
    let r = get(&loc, &[("Range", "bytes=10-19")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.h("content-type"), Some("application/xml"));
    assert_eq!(
        r.text(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
    );
    // …a URL minted for a Range works for exactly that Range.
    let r = get(
        &format!("{hub}/acme/tiny/resolve/main/model.safetensors"),
        &[("Range", "bytes=10-19")],
    )
    .await;
    let loc_r = r.h("location").expect("location").to_string();
    assert!(loc_r.contains("X-Range=bytes%3D10-19"), "{loc_r}");
    let r = get(&loc_r, &[("Range", "bytes=10-19")]).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.body, &full[10..20]);
    assert_eq!(r.h("content-range"), Some("bytes 10-19/600000"));
    assert_eq!(
        get(&loc_r, &[("Range", "bytes=20-29")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(get(&loc_r, &[]).await.status, StatusCode::FORBIDDEN);
    // Tampered signature.
    let bad = loc.replace("Signature=", "Signature=00");
    assert_eq!(get(&bad, &[]).await.status, StatusCode::FORBIDDEN);
    // Authorization on the CDN: 400 InvalidArgument.
    let r = get(&loc, &[("Authorization", "Bearer hf_alice")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("<Code>InvalidArgument</Code>"));
    // HEAD on the CDN.
    let r = send("HEAD", &loc, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.h("content-length"), Some("600000"));

    // Plain LFS (not xet): no xet headers, URL not bound to a Range.
    let r = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/main/plain.bin"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert!(r.h("x-xet-hash").is_none() && r.h("link").is_none());
    let loc = r.h("location").expect("location").to_string();
    let r = get(&loc, &[("Range", "bytes=3-")]).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.body, b"3456789");
}

#[tokio::test]
async fn expired_signature_is_denied() {
    let emu = Emulator::start(scenario().signed_url_ttl_secs(0)).expect("start");
    let r = send(
        "HEAD",
        &format!("{}/acme/tiny/resolve/main/model.safetensors", emu.hub_url()),
        &[],
    )
    .await;
    let loc = r.h("location").expect("location").to_string();
    let r = get(&loc, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("AccessDenied"));
}

#[tokio::test]
async fn tree_listing_and_pagination() {
    let emu = Emulator::start(scenario().page_size(2)).expect("start");
    let hub = emu.hub_url();
    let mut url = format!("{hub}/api/models/acme/tiny/tree/main?recursive=true");
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let r = get(&url, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert!(r.h("etag").is_some_and(|e| e.starts_with("W/\"")));
        let page = r.json();
        let page = page.as_array().expect("array").clone();
        assert!(page.len() <= 2);
        all.extend(page);
        pages += 1;
        match r.h("link") {
            Some(link) => {
                assert!(link.ends_with(">; rel=\"next\""), "{link}");
                assert!(link.starts_with(&format!("<{hub}/api/models/acme/tiny/tree/main?")));
                url = link[1..link.find('>').expect(">")].to_string();
            }
            None => break,
        }
    }
    let paths: Vec<&str> = all
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [
            "config.json",
            "model.safetensors",
            "nested",
            "nested/dir",
            "nested/dir/vocab.txt",
            "nested/readme.md",
            "plain.bin"
        ]
    );
    assert_eq!(pages, 4);
    let model = all
        .iter()
        .find(|e| e["path"] == "model.safetensors")
        .expect("model");
    assert_eq!(model["type"], "file");
    assert_eq!(model["size"], 600_000);
    assert_eq!(model["lfs"]["size"], 600_000);
    assert_eq!(model["lfs"]["oid"].as_str().map(str::len), Some(64));
    assert!(
        model["lfs"]["pointerSize"]
            .as_u64()
            .is_some_and(|n| n > 100)
    );
    assert_eq!(model["xetHash"].as_str().map(str::len), Some(64));
    assert_eq!(model["oid"].as_str().map(str::len), Some(40));
    let dir = all.iter().find(|e| e["path"] == "nested").expect("dir");
    assert_eq!(dir["type"], "directory");

    // Non-recursive, sub-path.
    let r = get(&format!("{hub}/api/models/acme/tiny/tree/main/nested"), &[]).await;
    let v = r.json();
    let names: Vec<&str> = v
        .as_array()
        .expect("arr")
        .iter()
        .map(|e| e["path"].as_str().expect("p"))
        .collect();
    assert_eq!(names, ["nested/dir", "nested/readme.md"]);
    let r = get(&format!("{hub}/api/models/acme/tiny/tree/main/nope"), &[]).await;
    assert_error(&r, 404, Some("EntryNotFound"), "Entry not found");
    assert_eq!(r.json()["error"], "Entry not found");
    let r = get(&format!("{hub}/api/models/acme/tiny/tree/nope"), &[]).await;
    assert_error(&r, 404, Some("RevisionNotFound"), "Invalid rev id: nope");
}

#[tokio::test]
async fn repo_info_refs_paths_info() {
    let emu = Emulator::start(scenario()).expect("start");
    let hub = emu.hub_url();
    let r = get(
        &format!("{hub}/api/models/acme/tiny/revision/v1?blobs=true"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["id"], "acme/tiny");
    assert_eq!(v["modelId"], "acme/tiny");
    assert_eq!(v["author"], "acme");
    assert_eq!(v["gated"], false);
    assert_eq!(v["private"], false);
    assert_eq!(v["disabled"], false);
    assert_eq!(v["sha"].as_str().map(str::len), Some(40));
    let sib = v["siblings"].as_array().expect("siblings");
    let m = sib
        .iter()
        .find(|s| s["rfilename"] == "model.safetensors")
        .expect("model");
    assert_eq!(m["lfs"]["size"], 600_000);
    assert!(m["lfs"]["sha256"].is_string() && m["blobId"].is_string());
    let r = get(&format!("{hub}/api/models/acme/gated"), &[]).await;
    assert_eq!(r.json()["gated"], "manual");
    let r = get(
        &format!("{hub}/api/models/acme/tiny?expand%5B%5D=xetEnabled"),
        &[],
    )
    .await;
    let v = r.json();
    assert_eq!(v.as_object().map(|o| o.len()), Some(3), "{v}");
    assert_eq!(v["xetEnabled"], true);
    let r = get(&format!("{hub}/api/datasets/acme/data"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json().get("modelId").is_none());

    let r = get(
        &format!("{hub}/api/models/acme/tiny/refs?include_prs=1"),
        &[],
    )
    .await;
    let v = r.json();
    let branches: Vec<&str> = v["branches"]
        .as_array()
        .expect("b")
        .iter()
        .map(|b| b["name"].as_str().expect("n"))
        .collect();
    assert!(branches.contains(&"main") && branches.contains(&"dev"));
    assert_eq!(v["tags"][0]["ref"], "refs/tags/v1");
    assert_eq!(v["pullRequests"][0]["ref"], "refs/pr/1");
    assert_eq!(v["converts"], serde_json::json!([]));

    let url = format!("{hub}/api/models/acme/tiny/paths-info/main");
    let r = client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("paths=config.json&paths=nested&paths=missing&expand=true")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value =
        serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    let arr = v.as_array().expect("arr");
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["type"], "file");
    assert!(arr[0]["lastCommit"]["id"].is_string());
    assert_eq!(arr[1]["type"], "directory");
    let r = client()
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"paths": ["model.safetensors"], "expand": false}"#)
        .send()
        .await
        .expect("send");
    let v: serde_json::Value =
        serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    assert_eq!(v[0]["lfs"]["size"], 600_000);
    // Gated like content.
    let r = client()
        .post(format!("{hub}/api/models/acme/gated/paths-info/main"))
        .body("paths=config.json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["x-error-code"], "GatedRepo");
}

#[tokio::test]
async fn error_catalogue() {
    let emu = Emulator::start(scenario()).expect("start");
    let hub = emu.hub_url();
    let res = |repo: &str| format!("{hub}/{repo}/resolve/main/config.json");
    let bearer = |t: &str| format!("Bearer {t}");

    // Missing repo: anonymous 401 without code, authenticated 404 RepoNotFound.
    assert_error(
        &get(&res("acme/nope"), &[]).await,
        401,
        None,
        "Invalid username or password.",
    );
    let r = get(&res("acme/nope"), &[("Authorization", &bearer("hf_alice"))]).await;
    assert_error(&r, 404, Some("RepoNotFound"), "Repository not found");
    assert_eq!(r.text(), "Repository not found");
    let r = get(
        &format!("{hub}/api/models/acme/nope"),
        &[("Authorization", &bearer("hf_alice"))],
    )
    .await;
    assert_error(&r, 404, Some("RepoNotFound"), "Repository not found");
    assert_eq!(r.json()["error"], "Repository not found");
    // Wrong type.
    let r = get(
        &format!("{hub}/acme/data/resolve/main/data.csv"),
        &[("Authorization", &bearer("hf_alice"))],
    )
    .await;
    assert_error(&r, 404, Some("RepoNotFound"), "Repository not found");

    // Private: outsiders see "missing"; owner org members read.
    assert_error(
        &get(&res("acme/private"), &[]).await,
        401,
        None,
        "Invalid username or password.",
    );
    let r = get(
        &res("acme/private"),
        &[("Authorization", &bearer("hf_bob"))],
    )
    .await;
    assert_error(&r, 404, Some("RepoNotFound"), "Repository not found");
    let r = get(
        &res("acme/private"),
        &[("Authorization", &bearer("hf_dave"))],
    )
    .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    // Fine-grained scope: wrong org → hidden; right org → readable.
    let r = get(
        &res("acme/private"),
        &[("Authorization", &bearer("hf_fg_other"))],
    )
    .await;
    assert_error(&r, 404, Some("RepoNotFound"), "Repository not found");
    let r = get(
        &res("acme/private"),
        &[("Authorization", &bearer("hf_fg_acme"))],
    )
    .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);

    // Invalid, revoked and expired tokens, even on public repos and whoami.
    for t in ["hf_unknown", "hf_revoked", "hf_expired"] {
        let r = get(&res("acme/tiny"), &[("Authorization", &bearer(t))]).await;
        assert_error(&r, 401, None, "Invalid credentials in Authorization header");
        let r = get(
            &format!("{hub}/api/whoami-v2"),
            &[("Authorization", &bearer(t))],
        )
        .await;
        assert_error(&r, 401, None, "Invalid credentials in Authorization header");
        assert_eq!(
            r.json()["error"],
            "Invalid credentials in Authorization header"
        );
    }

    // Gated: the five states + fine-grained.
    let g = res("acme/gated");
    let r = get(&g, &[]).await;
    assert_error(
        &r,
        401,
        Some("GatedRepo"),
        "Access to model acme/gated is restricted. You must have access to it and be authenticated to access it. Please log in.",
    );
    let r = get(
        &res("other/gated"),
        &[("Authorization", &bearer("hf_alice"))],
    )
    .await;
    assert_error(
        &r,
        403,
        Some("GatedRepo"),
        &format!(
            "Access to model other/gated is restricted and you are not in the authorized list. Visit {hub}/other/gated to ask for access."
        ),
    );
    let r = get(&g, &[("Authorization", &bearer("hf_dave"))]).await;
    // dave is an acme member: insiders bypass the gate.
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    emu.set_access("acme/gated", "carol", AccessState::Pending);
    let r = get(&g, &[("Authorization", &bearer("hf_carol"))]).await;
    assert_error(
        &r,
        403,
        Some("GatedRepo"),
        "Your request to access model acme/gated is awaiting a review from the repo authors.",
    );
    let r = get(&res("other/gated"), &[("Authorization", &bearer("hf_bob"))]).await;
    assert_error(
        &r,
        403,
        Some("GatedRepo"),
        "Your request to access model other/gated has been rejected by the repo's authors.",
    );
    let r = get(&g, &[("Authorization", &bearer("hf_bob"))]).await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT, "granted");
    let r = get(&g, &[("Authorization", &bearer("hf_fg_nogate"))]).await;
    assert_error(
        &r,
        403,
        None,
        "Please enable access to public gated repositories in your fine-grained token settings to view this repository.",
    );
    // Gate before entry existence; metadata stays public.
    let r = get(&format!("{hub}/acme/gated/resolve/main/missing.bin"), &[]).await;
    assert_error(
        &r,
        401,
        Some("GatedRepo"),
        "Access to model acme/gated is restricted. You must have access to it and be authenticated to access it. Please log in.",
    );
    assert_eq!(
        get(&format!("{hub}/api/models/acme/gated"), &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&format!("{hub}/api/models/acme/gated/tree/main"), &[])
            .await
            .status,
        StatusCode::OK
    );
    let r = get(
        &format!("{hub}/api/models/acme/gated/auth-check"),
        &[("Authorization", &bearer("hf_carol"))],
    )
    .await;
    assert_error(
        &r,
        403,
        Some("GatedRepo"),
        "Your request to access model acme/gated is awaiting a review from the repo authors.",
    );
    assert_eq!(
        r.json()["error"],
        "Your request to access model acme/gated is awaiting a review from the repo authors."
    );
    emu.set_access("acme/gated", "carol", AccessState::Granted);
    let r = get(
        &format!("{hub}/api/models/acme/gated/auth-check"),
        &[("Authorization", &bearer("hf_carol"))],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    // Disabled, on content and metadata.
    assert_error(
        &get(&res("acme/disabled"), &[]).await,
        403,
        None,
        "Access to this resource is disabled.",
    );
    assert_error(
        &get(&format!("{hub}/api/models/acme/disabled"), &[]).await,
        403,
        None,
        "Access to this resource is disabled.",
    );

    // Org security restriction: member carol of `secure` with SSO pending.
    let r = get(
        &res("secure/private"),
        &[("Authorization", &bearer("hf_carol"))],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.h("x-error-code").is_none());
    assert!(r.h("x-error-message").is_some_and(|m| m.contains("SSO")));

    // Revision and entry.
    let r = get(&format!("{hub}/acme/tiny/resolve/nope/config.json"), &[]).await;
    assert_error(&r, 404, Some("RevisionNotFound"), "Invalid rev id: nope");
    let r = get(&format!("{hub}/acme/tiny/resolve/main/nope.json"), &[]).await;
    assert_error(&r, 404, Some("EntryNotFound"), "Entry not found");
    assert_eq!(r.h("x-repo-commit").map(str::len), Some(40));

    // Revoking at runtime.
    emu.set_token_valid("hf_alice", false);
    let r = get(&res("acme/tiny"), &[("Authorization", &bearer("hf_alice"))]).await;
    assert_error(&r, 401, None, "Invalid credentials in Authorization header");
    emu.set_token_valid("hf_alice", true);
    assert_eq!(
        get(&res("acme/tiny"), &[("Authorization", &bearer("hf_alice"))])
            .await
            .status,
        StatusCode::TEMPORARY_REDIRECT
    );
}

#[tokio::test]
async fn renamed_and_case_redirects() {
    let emu = Emulator::start(scenario()).expect("start");
    let hub = emu.hub_url();
    let r = send(
        "HEAD",
        &format!("{hub}/old-org/tiny/resolve/main/config.json"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(r.h("location"), Some("/acme/tiny/resolve/main/config.json"));
    assert!(r.h("etag").is_none() && r.h("x-repo-commit").is_none());
    let r = get(
        &format!("{hub}/api/models/ACME/Tiny/revision/main?blobs=true"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        r.h("location"),
        Some("/api/models/acme/tiny/revision/main?blobs=true")
    );
    assert_eq!(r.h("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        r.text(),
        "Temporary Redirect. Redirecting to /api/models/acme/tiny/revision/main?blobs=true"
    );
    // Gate messages use the canonical id.
    let r = get(&format!("{hub}/acme/gated/resolve/main/config.json"), &[]).await;
    assert!(
        r.h("x-error-message")
            .is_some_and(|m| m.contains("acme/gated"))
    );
}

#[tokio::test]
async fn whoami_schema() {
    let emu = Emulator::start(scenario()).expect("start");
    let hub = emu.hub_url();
    let r = get(&format!("{hub}/api/whoami-v2"), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = get(
        &format!("{hub}/api/whoami-v2"),
        &[("Authorization", "Bearer hf_alice")],
    )
    .await;
    let v = r.json();
    assert_eq!(v["type"], "user");
    assert_eq!(v["name"], "alice");
    assert_eq!(v["id"].as_str().map(str::len), Some(24));
    for k in [
        "fullname",
        "email",
        "emailVerified",
        "canPay",
        "isPro",
        "periodEnd",
        "avatarUrl",
        "billingMode",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(v["orgs"][0]["name"], "acme");
    assert_eq!(v["orgs"][0]["roleInOrg"], "admin");
    assert_eq!(v["orgs"][0]["type"], "org");
    assert_eq!(v["auth"]["type"], "access_token");
    assert_eq!(v["auth"]["accessToken"]["displayName"], "laptop");
    assert_eq!(v["auth"]["accessToken"]["role"], "read");
    let r = get(
        &format!("{hub}/api/whoami-v2"),
        &[("Authorization", "Bearer hf_fg_nogate")],
    )
    .await;
    let v = r.json();
    assert_eq!(v["auth"]["accessToken"]["role"], "fineGrained");
    assert_eq!(
        v["auth"]["accessToken"]["fineGrained"]["canReadGatedRepos"],
        false
    );
    assert_eq!(
        v["auth"]["accessToken"]["fineGrained"]["global"][0],
        "discussion.write"
    );
    let r = get(
        &format!("{hub}/api/whoami-v2"),
        &[("Authorization", "Bearer hf_fg_acme")],
    )
    .await;
    let s = &r.json()["auth"]["accessToken"]["fineGrained"]["scoped"][0];
    assert_eq!(s["entity"]["type"], "org");
    assert_eq!(s["entity"]["name"], "acme");
    assert_eq!(s["permissions"][0], "repo.content.read");
    let r = get(
        &format!("{hub}/api/whoami-v2"),
        &[("Authorization", "Bearer hf_carol")],
    )
    .await;
    assert_eq!(r.json()["orgs"][0]["securityRestrictions"][0], "sso");
    // Common hub headers.
    let r = get(
        &format!("{hub}/api/whoami-v2"),
        &[
            ("Authorization", "Bearer hf_alice"),
            ("X-Amzn-Trace-Id", "abc-123"),
        ],
    )
    .await;
    let rid = r.h("x-request-id").expect("rid");
    assert!(
        rid.starts_with("Root=1-") && rid.ends_with(";abc-123"),
        "{rid}"
    );
    assert_eq!(r.h("x-powered-by"), Some("huggingface-moon"));
    assert!(
        r.h("ratelimit")
            .is_some_and(|v| v.starts_with("\"api\";r="))
    );
    assert!(
        r.h("access-control-expose-headers")
            .is_some_and(|v| v.contains("X-Error-Code"))
    );
}

#[tokio::test]
async fn faults_and_request_log() {
    let emu = Emulator::start(scenario()).expect("start");
    let hub = emu.hub_url();
    let full = BIG.to_vec();
    let head = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/main/model.safetensors"),
        &[],
    )
    .await;
    let loc = head.h("location").expect("loc").to_string();

    // CutAfter: headers promise the full length, the body stops.
    emu.add_fault(
        Fault::on_cdn()
            .path("/repos/")
            .times(1)
            .action(FaultAction::CutAfter { bytes: 1000 }),
    );
    let r = client().get(&loc).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.content_length(), Some(600_000));
    assert!(r.bytes().await.is_err(), "incomplete body must error");
    // times(1): gone now.
    assert!(get(&loc, &[]).await.body == full);

    // Corrupt: one byte flipped.
    emu.add_fault(
        Fault::on_cdn()
            .times(1)
            .action(FaultAction::Corrupt { offset: 300_000 }),
    );
    let r = get(&loc, &[]).await;
    assert_eq!(r.body.len(), full.len());
    assert_eq!(r.body[300_000], full[300_000] ^ 0xFF);
    assert_eq!(r.body[..300_000], full[..300_000]);

    // ShortBody.
    emu.add_fault(
        Fault::on_cdn()
            .times(1)
            .action(FaultAction::ShortBody { missing: 10 }),
    );
    let r = client().get(&loc).send().await.expect("send");
    assert!(r.bytes().await.is_err());

    // IgnoreRange on the hub's regular files.
    emu.add_fault(
        Fault::on_hub()
            .path("resolve-cache")
            .times(1)
            .action(FaultAction::IgnoreRange),
    );
    let h = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/v1/config.json"),
        &[],
    )
    .await;
    let cache = format!("{hub}{}", h.h("location").expect("loc"));
    let r = get(&cache, &[("Range", "bytes=0-1")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, CONFIG);

    // Rate limited (anonymous, api bucket).
    emu.add_fault(
        Fault::on_hub()
            .path("/api/models/acme/tiny")
            .times(2)
            .action(FaultAction::RateLimited {
                retry_after_secs: 7,
            }),
    );
    let r = get(&format!("{hub}/api/models/acme/tiny"), &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.h("ratelimit"), Some("\"api\";r=0;t=7"));
    assert_eq!(r.h("retry-after"), Some("7"));
    assert!(
        r.h("ratelimit-policy")
            .is_some_and(|p| p.contains("q=500;w=300"))
    );
    assert_eq!(
        r.json()["error"],
        "We had to rate limit your IP (127.0.0.1). To continue using our service, create a HF account or login to your existing account, and make sure you pass a HF_TOKEN if you're using the API."
    );
    let r = get(
        &format!("{hub}/api/models/acme/tiny"),
        &[("Authorization", "Bearer hf_alice")],
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.text()
            .contains("you hit the quota of 1000 api requests per 5 minutes period")
    );
    assert_eq!(
        get(&format!("{hub}/api/models/acme/tiny"), &[])
            .await
            .status,
        StatusCode::OK
    );

    // Status and HTML faults, method filter.
    emu.add_fault(
        Fault::on_hub()
            .method("HEAD")
            .times(1)
            .action(FaultAction::Status { status: 500 }),
    );
    assert_eq!(
        get(&format!("{hub}/api/models/acme/tiny"), &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(
            "HEAD",
            &format!("{hub}/acme/tiny/resolve/main/config.json"),
            &[]
        )
        .await
        .status
        .as_u16(),
        500
    );
    emu.add_fault(
        Fault::on_hub()
            .path("whoami")
            .action(FaultAction::HtmlError { status: 429 }),
    );
    let r = get(&format!("{hub}/api/whoami-v2"), &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.h("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    emu.clear_faults();
    assert_eq!(
        get(&format!("{hub}/api/whoami-v2"), &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Slow + Stall + Latency still deliver the right bytes.
    emu.add_fault(Fault::on_cdn().times(1).action(FaultAction::Stall {
        after_bytes: 1000,
        millis: 50,
    }));
    emu.add_fault(
        Fault::on_cdn()
            .times(1)
            .action(FaultAction::Latency { millis: 20 }),
    );
    assert!(get(&loc, &[]).await.body == full);

    // Request log.
    emu.clear_requests();
    let _ = get(
        &format!("{hub}/acme/tiny/resolve/main/config.json"),
        &[("Authorization", "Bearer hf_alice")],
    )
    .await;
    let _ = get(&loc, &[("Range", "bytes=5-")]).await;
    let log = emu.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].origin, Origin::Hub);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/acme/tiny/resolve/main/config.json");
    assert_eq!(log[0].authorization.as_deref(), Some("Bearer hf_alice"));
    assert_eq!(log[0].status, 307);
    assert_eq!(log[1].origin, Origin::Cdn);
    assert!(log[1].path.starts_with("/repos/") && log[1].path.contains("Signature="));
    assert_eq!(log[1].range.as_deref(), Some("bytes=5-"));
    assert_eq!(log[1].status, 403);
    assert!(log[1].authorization.is_none());
}

#[test]
fn demo_json_matches_demo_and_serves() {
    let from_file = Scenario::from_json(include_str!("../scenarios/demo.json")).expect("demo.json");
    let built = Scenario::demo().normalized();
    assert_eq!(
        serde_json::to_value(&from_file).expect("ser"),
        serde_json::to_value(&built).expect("ser")
    );
    // Plain #[test]: the emulator is usable without an async runtime.
    let emu = Emulator::start(from_file).expect("start");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let r = rt.block_on(send(
        "HEAD",
        &format!("{}/acme/tiny/resolve/main/model.safetensors", emu.hub_url()),
        &[],
    ));
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(r.h("x-linked-size"), Some("3145728"));
    let r = rt.block_on(get(
        &format!(
            "{}/alice/private-model/resolve/main/config.json",
            emu.hub_url()
        ),
        &[("Authorization", "Bearer hf_alice_read")],
    ));
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
}

#[test]
fn emulator_is_send_sync_and_exports_blobs() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Emulator>();
    let emu = Emulator::start(scenario()).expect("start");
    let main = emu.commit_sha("acme/tiny", "main").expect("main");
    assert_eq!(emu.commit_sha("acme/tiny", "refs/pr/1"), Some(main.clone()));
    assert_ne!(emu.commit_sha("acme/tiny", "v1"), Some(main));
    assert_eq!(emu.commit_sha("acme/tiny", "nope"), None);

    let dir = std::env::temp_dir().join(format!("hub-emulator-export-{}", std::process::id()));
    let n = hub_emulator::export_blobs(&scenario(), &dir).expect("export");
    assert_eq!(n, 2);
    let sha = BIG.sha256_hex();
    let path = dir
        .join("repos")
        .join(&sha[..2])
        .join(&sha[2..4])
        .join(&sha);
    let data = std::fs::read(&path).expect("blob");
    assert!(data == BIG.to_vec());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scenario_json_round_trip_with_faults() {
    let json = r#"{
        "page_size": 5,
        "tokens": [{"value": "hf_x", "user": "u", "display_name": "x", "role": {"fineGrained": {"can_read_gated_repos": false}}}],
        "repos": [{"type": "dataset", "id": "u/d", "gated": "auto", "access": {"v": "pending"},
                   "commits": [{"files": [{"path": "a.txt", "content": {"text": "hi"}},
                                          {"path": "b.bin", "content": {"base64": "AAEC"}, "lfs": true, "xet": false}]}],
                   "tags": {"v1": 0}}],
        "faults": [{"origin": "Cdn", "times": 1, "action": {"cut_after": {"bytes": 10}}},
                   {"path_contains": "x", "action": "ignore_range"}]
    }"#;
    let s = Scenario::from_json(json).expect("parse");
    assert_eq!(s.page_size, 5);
    assert!(s.resolve_cache_redirect);
    assert_eq!(s.signed_url_ttl_secs, 3600);
    assert_eq!(s.repos[0].gated, Gate::Auto);
    let b = &s.repos[0].commits[0].files[1];
    assert!(b.lfs && !b.xet);
    assert_eq!(b.content, Content::Bytes(vec![0, 1, 2]));
    assert_eq!(s.faults[0].action, FaultAction::CutAfter { bytes: 10 });
    assert_eq!(s.faults[1].action, FaultAction::IgnoreRange);
}

#[test]
fn binary_prints_endpoint_and_stops_on_sigterm() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hub-emulator"))
        .arg("--demo")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("line");
    let endpoint = line
        .trim()
        .strip_prefix("HF_ENDPOINT=")
        .expect("prefix")
        .to_string();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let r = rt.block_on(send(
        "HEAD",
        &format!("{endpoint}/acme/tiny/resolve/main/config.json"),
        &[],
    ));
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn hub_latency_applies_to_hub_only() {
    let emu = Emulator::start(scenario().hub_latency_ms(150)).expect("start");
    let t = std::time::Instant::now();
    let r = send(
        "HEAD",
        &format!("{}/acme/tiny/resolve/main/plain.bin", emu.hub_url()),
        &[],
    )
    .await;
    assert!(t.elapsed() >= std::time::Duration::from_millis(150));
    let loc = r.h("location").expect("location").to_string();
    let t = std::time::Instant::now();
    assert_eq!(get(&loc, &[]).await.body, b"0123456789");
    assert!(t.elapsed() < std::time::Duration::from_millis(150));
}

// ---------------------------------------------------------------------------------------------
// Issue #9 (helper emu): the resolver quota, range-binding modes, per-connection CDN caps, one
// slow connection, olah-like mirror mode, and the counters.

const MODEL: &str = "acme/tiny/resolve/main/model.safetensors";

#[tokio::test]
async fn resolver_quota_fixed_window_headers_and_429() {
    let emu = Emulator::start(scenario().resolver_quota(3, 2)).expect("start");
    let hub = emu.hub_url();
    let url = format!("{hub}/{MODEL}");
    for left in [2, 1, 0] {
        let r = send("HEAD", &url, &[]).await;
        assert_eq!(r.status, StatusCode::FOUND);
        let rl = r.h("ratelimit").expect("ratelimit");
        assert!(
            rl.starts_with(&format!("\"resolvers\";r={left};t=")),
            "{rl}"
        );
        let t: u64 = rl.rsplit("t=").next().unwrap().parse().unwrap();
        assert!((1..=2).contains(&t), "{rl}");
        assert_eq!(
            r.h("ratelimit-policy"),
            Some("\"fixed window\";\"resolvers\";q=3;w=2")
        );
    }
    // Authenticated callers have their own bucket; the anonymous one is spent.
    let r = send("HEAD", &url, &[("authorization", "Bearer hf_alice")]).await;
    assert_eq!(r.status, StatusCode::FOUND);
    let r = get(&url, &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.text()
            .starts_with("We had to rate limit your IP (127.0.0.1).")
    );
    assert!(
        r.h("ratelimit")
            .unwrap()
            .starts_with("\"resolvers\";r=0;t=")
    );
    let retry: u64 = r.h("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry));
    // The api bucket is separate: not refused, and reported under its own name.
    let r = get(&format!("{hub}/api/models/acme/tiny"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.h("ratelimit").unwrap().starts_with("\"api\";"));
    // The CDN is in no bucket.
    let loc = send("HEAD", &url, &[("authorization", "Bearer hf_alice")])
        .await
        .h("location")
        .unwrap()
        .to_string();
    assert_eq!(get(&loc, &[]).await.status, StatusCode::OK);
    // A new window starts after `window_secs`.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = send("HEAD", &url, &[]).await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert!(r.h("ratelimit").unwrap().starts_with("\"resolvers\";r=2;"));
    let c = emu.counters();
    assert_eq!((c.resolves, c.rate_limited), (7, 1), "{c:?}");
    assert_eq!(c.cdn_bytes, 600_000);
    emu.reset_conditions();
    assert_eq!(emu.counters(), hub_emulator::Counters::default());
}

#[tokio::test]
async fn without_quota_switch_resolves_are_never_refused() {
    let emu = Emulator::start(scenario()).expect("start");
    let url = format!("{}/{MODEL}", emu.hub_url());
    for _ in 0..50 {
        assert_eq!(send("HEAD", &url, &[]).await.status, StatusCode::FOUND);
    }
    assert_eq!(emu.counters().resolves, 50);
    assert_eq!(emu.counters().rate_limited, 0);
}

/// (status minted with `Range: bytes=0-0` then fetched with another range, minted without a
/// Range then fetched with one, minted with a Range then fetched without, exact use).
async fn binding_statuses(emu: &Emulator) -> [u16; 4] {
    let url = format!("{}/{MODEL}", emu.hub_url());
    let ranged = send("HEAD", &url, &[("Range", "bytes=0-0")]).await;
    let ranged = ranged.h("location").unwrap().to_string();
    let plain = send("HEAD", &url, &[]).await;
    let plain = plain.h("location").unwrap().to_string();
    [
        get(&ranged, &[("Range", "bytes=5-9")])
            .await
            .status
            .as_u16(),
        get(&plain, &[("Range", "bytes=5-9")]).await.status.as_u16(),
        get(&ranged, &[]).await.status.as_u16(),
        get(&ranged, &[("Range", "bytes=0-0")])
            .await
            .status
            .as_u16(),
    ]
}

#[tokio::test]
async fn range_binding_modes() {
    use hub_emulator::RangeBinding;
    let strict_default = Emulator::start(scenario()).expect("start");
    assert_eq!(
        binding_statuses(&strict_default).await,
        [403, 403, 403, 206]
    );
    for (mode, want) in [
        (RangeBinding::None, [206, 206, 200, 206]),
        (RangeBinding::ExactWhenRanged, [403, 206, 403, 206]),
        (RangeBinding::Strict, [403, 403, 403, 206]),
    ] {
        let emu = Emulator::start(scenario().range_binding(mode)).expect("start");
        assert_eq!(binding_statuses(&emu).await, want, "{mode:?}");
    }
    // Classic LFS URLs are never bound.
    let emu = Emulator::start(scenario().range_binding(RangeBinding::Strict)).expect("start");
    let r = send(
        "HEAD",
        &format!("{}/acme/tiny/resolve/main/plain.bin", emu.hub_url()),
        &[],
    )
    .await;
    let loc = r.h("location").unwrap().to_string();
    assert_eq!(
        get(&loc, &[("Range", "bytes=2-3")]).await.body,
        b"23".to_vec()
    );
}

/// Seconds to GET `url` on a fresh connection of its own.
async fn timed_get(url: String, range: Option<String>) -> (f64, Vec<u8>) {
    let started = std::time::Instant::now();
    let mut rb = client().get(&url);
    if let Some(r) = range {
        rb = rb.header("Range", r);
    }
    let body = rb.send().await.unwrap().bytes().await.unwrap().to_vec();
    (started.elapsed().as_secs_f64(), body)
}

#[tokio::test]
async fn cdn_cap_paces_each_connection() {
    // 600 000 bytes at 1 MB/s per connection: about 0.6 s, whether one or two connections run.
    let emu = Emulator::start(
        scenario()
            .range_binding(hub_emulator::RangeBinding::None)
            .cdn_connection_bytes_per_sec(1_000_000),
    )
    .expect("start");
    let url = format!("{}/{MODEL}", emu.hub_url());
    let loc = send("HEAD", &url, &[])
        .await
        .h("location")
        .unwrap()
        .to_string();
    let (alone, body) = timed_get(loc.clone(), None).await;
    assert_eq!(body, BIG.to_vec());
    assert!((0.5..3.0).contains(&alone), "{alone}");
    let a = tokio::spawn(timed_get(loc.clone(), None));
    let b = tokio::spawn(timed_get(loc.clone(), None));
    let (ta, tb) = (a.await.unwrap().0, b.await.unwrap().0);
    // Two connections in parallel each get their own 1 MB/s.
    assert!(ta < alone * 1.6 && tb < alone * 1.6, "{alone} {ta} {tb}");
    let c = emu.counters();
    assert_eq!(c.cdn_connections, 3, "{c:?}");
    assert_eq!(c.cdn_bytes, 3 * 600_000);
}

#[tokio::test]
async fn the_nth_cdn_connection_is_slow() {
    let emu = Emulator::start(
        scenario()
            .range_binding(hub_emulator::RangeBinding::None)
            .slow_cdn_connection(2, 300_000),
    )
    .expect("start");
    let url = format!("{}/{MODEL}", emu.hub_url());
    let loc = send("HEAD", &url, &[])
        .await
        .h("location")
        .unwrap()
        .to_string();
    let range = Some("bytes=0-299999".to_string());
    let (first, _) = timed_get(loc.clone(), range.clone()).await;
    let (second, body) = timed_get(loc.clone(), range.clone()).await;
    let (third, _) = timed_get(loc.clone(), range).await;
    assert_eq!(body, BIG.to_vec()[..300_000].to_vec());
    assert!(first < 0.5 && third < 0.5, "{first} {third}");
    assert!(second > 0.8, "{second}");
    // After a reset, numbering starts again: the next second connection is the slow one.
    emu.reset_conditions();
    let (again, _) = timed_get(loc.clone(), None).await;
    assert!(again < 0.5, "{again}");
}

#[tokio::test]
async fn mirror_mode_serves_lfs_bytes_itself_in_blocks() {
    use hub_emulator::MirrorMode;
    // 600 000 bytes = blocks of 262 144, 262 144 and 75 712 bytes; one block fetch takes about
    // 0.52 s at 500 kB/s; headers are held 200 ms.
    let emu = Emulator::start(
        scenario().mirror_mode(
            MirrorMode::new()
                .block_size(256 * 1024)
                .upstream_bytes_per_sec(500_000)
                .header_hold_ms(200),
        ),
    )
    .expect("start");
    let url = format!("{}/{MODEL}", emu.hub_url());
    let full = BIG.to_vec();
    let sha = hex(&sha2::Sha256::digest(&full));
    let r = send("HEAD", &url, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "no 302 to another host");
    assert!(r.h("location").is_none());
    assert_eq!(r.h("content-length"), Some("600000"));
    assert_eq!(r.h("x-linked-size"), Some("600000"));
    assert_eq!(r.h("etag"), Some(format!("\"{sha}\"").as_str()));
    assert_eq!(r.h("x-repo-commit").map(str::len), Some(40));

    // A leads the fetch of block 0; B, inside the same block, waits for it: headers after the
    // hold, then no body until the block is complete.
    let started = std::time::Instant::now();
    let leader = tokio::spawn(timed_get(url.clone(), Some("bytes=0-9".to_string())));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let waiter = client()
        .get(&url)
        .header("Range", "bytes=100000-100009")
        .send()
        .await
        .unwrap();
    let headers_at = started.elapsed().as_secs_f64();
    assert_eq!(waiter.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        waiter.headers()["content-range"].to_str().unwrap(),
        "bytes 100000-100009/600000"
    );
    let body = waiter.bytes().await.unwrap();
    let body_at = started.elapsed().as_secs_f64();
    assert_eq!(&body[..], &full[100_000..100_010]);
    assert!((0.2..0.5).contains(&headers_at), "headers at {headers_at}");
    assert!(body_at > 0.45, "body at {body_at}");
    // The leader's last piece is held until the block is cached, too.
    let (lead_time, lead_body) = leader.await.unwrap();
    assert_eq!(lead_body, full[..10].to_vec());
    assert!(lead_time > 0.45, "{lead_time}");

    // Blocks 1 and 2 are fetched now, block 0 comes from the cache; then all is cached.
    let (cold, body) = timed_get(url.clone(), None).await;
    assert_eq!(body, full);
    assert!(cold > 0.6, "{cold}");
    let (warm, body) = timed_get(url.clone(), Some("bytes=1000-599999".to_string())).await;
    assert_eq!(body, full[1000..].to_vec());
    assert!(warm < 0.3, "{warm}");
    let c = emu.counters();
    assert_eq!(c.cdn_bytes, 0, "nothing from the CDN: {c:?}");
    assert_eq!(c.hub_bytes, 20 + 600_000 + 599_000, "{c:?}");

    // A cold mirror again.
    emu.clear_mirror_cache();
    let (cold_again, _) = timed_get(url.clone(), Some("bytes=0-9".to_string())).await;
    assert!(cold_again > 0.45, "{cold_again}");
}

#[tokio::test]
async fn mirror_abandons_a_block_when_its_leader_disconnects() {
    use hub_emulator::MirrorMode;
    let emu = Emulator::start(
        scenario().mirror_mode(
            MirrorMode::new()
                .block_size(256 * 1024)
                .upstream_bytes_per_sec(500_000)
                .header_hold_ms(100),
        ),
    )
    .expect("start");
    let url = format!("{}/{MODEL}", emu.hub_url());
    // The leader hangs up after its headers, 0.1 s into a 0.52 s block fetch …
    let r = client()
        .get(&url)
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    drop(r);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // … so the fetch starts again from zero for the next client (0.52 s, not 0.12 s).
    let (t, body) = timed_get(url, Some("bytes=0-9".to_string())).await;
    assert_eq!(body, BIG.to_vec()[..10].to_vec());
    assert!(t > 0.45, "{t}");
}

#[test]
fn issue9_switches_round_trip_as_json() {
    let json = r#"{
        "resolver_quota": {"quota": 40, "window_secs": 300},
        "range_binding": "exact_when_ranged",
        "cdn_connection_bytes_per_sec": 25000000,
        "slow_cdn_connection": {"nth": 3, "bytes_per_sec": 1000000},
        "mirror_mode": {"upstream_bytes_per_sec": 2000000}
    }"#;
    let s = Scenario::from_json(json).unwrap();
    assert_eq!(s.resolver_quota.as_ref().unwrap().quota, 40);
    assert_eq!(s.range_binding, hub_emulator::RangeBinding::ExactWhenRanged);
    assert_eq!(s.cdn_connection_bytes_per_sec, Some(25_000_000));
    assert_eq!(s.slow_cdn_connection.unwrap().nth, 3);
    let m = s.mirror_mode.clone().unwrap();
    assert_eq!(m.block_size, hub_emulator::OLAH_BLOCK_SIZE);
    assert_eq!(m.header_hold_ms, 5000);
    let back = Scenario::from_json(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back.mirror_mode, s.mirror_mode);
    // Absent switches keep today's behaviour.
    let old = Scenario::from_json("{}").unwrap();
    assert!(old.resolver_quota.is_none() && old.mirror_mode.is_none());
    assert_eq!(old.range_binding, hub_emulator::RangeBinding::Strict);
}

#[tokio::test]
async fn the_resolve_cache_hop_is_not_counted_as_a_resolve() {
    // Reported-only quotas (no switch): a regular file's resolve counts, its 307 hop does not.
    let emu = Emulator::start(scenario()).expect("start");
    let hub = emu.hub_url();
    let left = |r: &Resp| -> u64 {
        let v = r.h("ratelimit").unwrap();
        assert!(v.starts_with("\"resolvers\";"), "{v}");
        v.split(";r=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let first = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/main/config.json"),
        &[],
    )
    .await;
    assert_eq!(first.status, StatusCode::TEMPORARY_REDIRECT);
    let hop = send(
        "HEAD",
        &format!("{hub}{}", first.h("location").unwrap()),
        &[],
    )
    .await;
    assert_eq!(hop.status, StatusCode::OK);
    assert_eq!(
        left(&hop),
        left(&first),
        "the hop shows the bucket without counting"
    );
    let second = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/main/config.json"),
        &[],
    )
    .await;
    assert_eq!(left(&second), left(&first) - 1);
    // A reset starts the reported windows afresh too.
    emu.reset_conditions();
    let again = send(
        "HEAD",
        &format!("{hub}/acme/tiny/resolve/main/config.json"),
        &[],
    )
    .await;
    assert_eq!(left(&again), left(&first));
}
