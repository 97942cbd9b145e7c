//! Xet-backed files (docs/real-hub.md §6, docs/protocol.md §6). The Hub announces them with
//! `X-Xet-Hash`, the `xet-auth` and `xet-reconstruction-info` links and `xetHash` in the tree;
//! hfget fetches their bytes through the plain-HTTP bridge (the CDN origin), and huggingface_hub
//! with hf_xet switched on must then find them in the cache, offline and online, without a
//! byte moved and without asking the Xet CAS for anything.
//!
//! Needs HFGET_TEST_PYTHON with the pinned huggingface_hub and its hf_xet (see .ci/run).

use std::net::TcpListener;
use std::path::Path;

use hub_emulator::{Content, Origin, Repo, Scenario, XetCas};

use crate::common::*;

/// The Xet hash the Hub announces for the file (any 64 hex is a valid one to huggingface_hub).
const XET_HASH: &str = "3ed0e9fefe788ddd61d1e26eba67057e9740a064b009256fbafadf6bb95785ca";
const SIZE: u64 = 5 << 20;

/// A CAS address on loopback that nobody serves: whatever connects there is recorded by the
/// listener's backlog, which the test checks is empty.
fn unused_cas() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn assert_nobody_called(cas: &TcpListener) {
    match cas.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("something connected to the Xet CAS from {peer}"),
        Err(e) => panic!("accept on the CAS listener: {e}"),
    }
}

fn scenario(cas_url: &str) -> Scenario {
    Scenario::new().xet_cas(XetCas::new(cas_url)).repo(
        Repo::model("acme/xet")
            .file("config.json", b"{\"model_type\": \"xet\"}")
            .xet(
                "model.safetensors",
                Content::Pattern {
                    seed: 23,
                    size: SIZE,
                },
                XET_HASH,
            ),
    )
}

/// Python with huggingface_hub and hf_xet on (no `HF_HUB_DISABLE_XET`).
fn python_with_xet(ctx: &TestContext, python: &Path, script: &str, offline: bool) -> String {
    crate::interop::python_with(ctx, python, script, offline, true)
}

/// Fails unless huggingface_hub would really use Xet here.
const XET_ON: &str = r#"
from huggingface_hub import constants
from huggingface_hub.utils._runtime import is_xet_available
assert not constants.HF_HUB_DISABLE_XET, "HF_HUB_DISABLE_XET is set"
assert is_xet_available(), "hf_xet is not importable: install it next to huggingface_hub"
import hf_xet
print("hf_xet", hf_xet.__name__)
"#;

#[test]
fn a_xet_file_downloaded_through_the_bridge_is_found_by_python_with_xet_on() {
    let Some(interpreter) = python() else {
        return;
    };
    let (cas, cas_url) = unused_cas();
    let ctx = TestContext::new(scenario(&cas_url));
    let expected = Content::Pattern {
        seed: 23,
        size: SIZE,
    }
    .sha256_hex();

    // The Hub as Python sees it: a Xet-backed file (header, links, tree entry), and a token
    // route that hands out the CAS. Nothing here moves file bytes or reaches the CAS.
    let announced = python_with_xet(
        &ctx,
        &interpreter,
        &format!(
            r#"{XET_ON}
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
from huggingface_hub.utils._xet import refresh_xet_connection_info
meta = get_hf_file_metadata(hf_hub_url("acme/xet", "model.safetensors"))
print("etag", meta.etag)
print("xet", meta.xet_file_data.file_hash)
print("refresh", meta.xet_file_data.refresh_route.split("/api/", 1)[1])
info = refresh_xet_connection_info(file_data=meta.xet_file_data, headers={{}})
print("cas", info.endpoint, info.access_token)
tree = {{f.path: f for f in HfApi().list_repo_tree("acme/xet")}}
print("tree", tree["model.safetensors"].xet_hash, tree["config.json"].xet_hash)
"#
        ),
        false,
    );
    assert!(
        announced.contains(&format!("etag {expected}")),
        "{announced}"
    );
    assert!(
        announced.contains(&format!("xet {XET_HASH}")),
        "{announced}"
    );
    assert!(
        announced.contains("refresh models/acme/xet/xet-read-token/"),
        "{announced}"
    );
    assert!(
        announced.contains(&format!("cas {cas_url} xet_emulator_read_token")),
        "{announced}"
    );
    assert!(
        announced.contains(&format!("tree {XET_HASH} None")),
        "{announced}"
    );

    // hfget: the bytes through the bridge, never the token route nor the CAS.
    ctx.clear_requests();
    let out = ctx.run(&["download", "acme/xet"]).success();
    let snapshot = std::path::PathBuf::from(out.stdout_line());
    assert_eq!(sha256_file(&snapshot.join("model.safetensors")), expected);
    let requests = ctx.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.origin == Origin::Cdn && r.status / 100 == 2),
        "the bytes came from the bridge: {requests:#?}"
    );
    assert!(
        !requests.iter().any(|r| r.path.contains("xet-")),
        "hfget asked for Xet routes: {requests:#?}"
    );
    assert_nobody_called(&cas);

    // Offline, Xet on: the cache hfget wrote is complete to huggingface_hub.
    let offline = python_with_xet(
        &ctx,
        &interpreter,
        &format!(
            r#"{XET_ON}
import hashlib, os
from huggingface_hub import hf_hub_download, snapshot_download, try_to_load_from_cache
path = hf_hub_download("acme/xet", "model.safetensors")
print("path", path)
print("sha256", hashlib.sha256(open(path, "rb").read()).hexdigest())
print("cached", try_to_load_from_cache("acme/xet", "model.safetensors") == path)
snap = snapshot_download("acme/xet")
print("snapshot", snap, sorted(os.listdir(snap)))
"#
        ),
        true,
    );
    let file = snapshot.join("model.safetensors");
    assert!(
        offline.contains(&format!("path {}", file.display())),
        "{offline}"
    );
    assert!(offline.contains(&format!("sha256 {expected}")), "{offline}");
    assert!(offline.contains("cached True"), "{offline}");
    assert!(
        offline.contains(&format!(
            "snapshot {} ['config.json', 'model.safetensors']",
            snapshot.display()
        )),
        "{offline}"
    );

    // Online, Xet on: huggingface_hub checks the Hub, finds the blob hfget placed and fetches
    // nothing (no bridge, no token, no CAS).
    ctx.clear_requests();
    let online = python_with_xet(
        &ctx,
        &interpreter,
        &format!(
            r#"{XET_ON}
from huggingface_hub import hf_hub_download, snapshot_download
print("path", hf_hub_download("acme/xet", "model.safetensors"))
print("snapshot", snapshot_download("acme/xet"))
"#
        ),
        false,
    );
    assert!(
        online.contains(&format!("path {}", file.display())),
        "{online}"
    );
    assert!(
        online.contains(&format!("snapshot {}", snapshot.display())),
        "{online}"
    );
    let requests = ctx.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.origin == Origin::Cdn || r.path.contains("xet-")),
        "Python fetched again what hfget had placed: {requests:#?}"
    );
    assert_nobody_called(&cas);
}

/// Without a CAS behind the Hub, its token route says so (`501`); with one, the token answer
/// carries the CAS in the body and in the headers huggingface_hub reads.
#[test]
fn the_token_route_answers_with_the_cas_only_when_there_is_one() {
    let (_cas, cas_url) = unused_cas();
    let with = TestContext::new(scenario(&cas_url));
    let without = TestContext::new(Scenario::new().repo(Repo::model("acme/xet").lfs(
        "model.safetensors",
        Content::Pattern {
            seed: 23,
            size: 4096,
        },
    )));
    // One plain HTTP/1.1 exchange; the answer lower-cased (header names are case-insensitive).
    let token = |ctx: &TestContext| {
        use std::io::{Read, Write};
        let hub = ctx.emulator.hub_url();
        let addr = hub.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET /api/models/acme/xet/xet-read-token/main HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.to_lowercase()
    };
    let answer = token(&with);
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(
        answer.contains(&format!("x-xet-cas-url: {cas_url}")),
        "{answer}"
    );
    assert!(
        answer.contains("x-xet-access-token: xet_emulator_read_token"),
        "{answer}"
    );
    assert!(answer.contains("x-xet-token-expiration: "), "{answer}");
    assert!(
        answer.contains(&format!("\"casurl\":\"{cas_url}\"")),
        "{answer}"
    );
    let answer = token(&without);
    assert!(answer.starts_with("http/1.1 501"), "{answer}");
}
