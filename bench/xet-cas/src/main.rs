//! A Xet CAS server for the benchmark rig, over a `local://` store written by `hf_xet`.
//!
//! Reconstruction answers come from `xet-client`'s `LocalClient` (the store's shards), with every
//! xorb URL pointed at `--xorb-base`: a plain file server (nginx with sendfile) serving the
//! store's `xorbs/` folder, so that xorb bytes never pass through this process. The stock
//! `LocalServer` reads a whole xorb for every range it serves, which made it the bottleneck.
//!
//! Usage: `xet-cas --store DIR --xorb-base http://127.0.0.1:N/xorbs [--port P]`. Prints
//! `CAS_URL=http://127.0.0.1:P` once listening; every request is counted in `GET /_counters`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use xet_client::cas_client::{DirectAccessClient, LocalClient};
use xet_client::cas_types::FileRange;
use xet_core_structures::merklehash::MerkleHash;
use xet_runtime::core::XetContext;

struct Cas {
    client: Arc<LocalClient>,
    xorb_base: String,
    reconstructions: AtomicU64,
    other: AtomicU64,
}

type Shared = Arc<Cas>;

fn usage() -> ! {
    eprintln!("usage: xet-cas --store DIR --xorb-base URL [--port P]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut store = None;
    let mut xorb_base = None;
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--store" => store = args.next().map(PathBuf::from),
            "--xorb-base" => xorb_base = args.next(),
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| usage()),
            _ => usage(),
        }
    }
    let (Some(store), Some(xorb_base)) = (store, xorb_base) else { usage() };
    let ctx = match XetContext::default() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xet-cas: runtime: {e}");
            std::process::exit(1)
        },
    };
    let client = match LocalClient::new(ctx, &store).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xet-cas: opening {}: {e}", store.display());
            std::process::exit(1)
        },
    };
    let state = Arc::new(Cas {
        client,
        xorb_base: xorb_base.trim_end_matches('/').to_string(),
        reconstructions: AtomicU64::new(0),
        other: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/_counters", get(counters))
        .route("/v1/reconstructions/{file_id}", get(reconstruction_v1))
        .route("/v2/reconstructions/{file_id}", get(reconstruction_v2))
        .fallback(fallback)
        .with_state(state);
    let listener = match tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("xet-cas: bind: {e}");
            std::process::exit(1)
        },
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    println!("CAS_URL=http://{addr}");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("xet-cas: {e}");
        std::process::exit(1)
    }
}

async fn counters(State(s): State<Shared>) -> Response {
    axum::Json(json!({
        "reconstructions": s.reconstructions.load(Ordering::Relaxed),
        "other": s.other.load(Ordering::Relaxed),
    }))
    .into_response()
}

async fn fallback(State(s): State<Shared>, method: Method, uri: Uri) -> Response {
    s.other.fetch_add(1, Ordering::Relaxed);
    eprintln!("xet-cas: not served: {method} {uri}");
    (StatusCode::NOT_FOUND, "not served by the bench CAS").into_response()
}

/// `Range: bytes=a-b` (inclusive) or `bytes=a-` on the file; `end` is exclusive when given.
fn file_range(headers: &HeaderMap) -> Result<Option<(u64, Option<u64>)>, Response> {
    let Some(v) = headers.get("range") else { return Ok(None) };
    let bad = || (StatusCode::RANGE_NOT_SATISFIABLE, "bad Range").into_response();
    let v = v.to_str().map_err(|_| bad())?;
    let spec = v.strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let start: u64 = a.trim().parse().map_err(|_| bad())?;
    let end = if b.trim().is_empty() {
        None
    } else {
        Some(b.trim().parse::<u64>().map_err(|_| bad())? + 1)
    };
    Ok(Some((start, end)))
}

async fn resolve_range(s: &Cas, id: &MerkleHash, headers: &HeaderMap) -> Result<Option<FileRange>, Response> {
    match file_range(headers)? {
        None => Ok(None),
        Some((start, Some(end))) => Ok(Some(FileRange::new(start, end))),
        Some((start, None)) => {
            let size = s
                .client
                .get_file_size(id)
                .await
                .map_err(|e| (StatusCode::NOT_FOUND, e.to_string()).into_response())?;
            Ok(Some(FileRange::new(start, size)))
        },
    }
}

fn parse_id(id: &str) -> Result<MerkleHash, Response> {
    MerkleHash::from_hex(id).map_err(|_| (StatusCode::BAD_REQUEST, "bad file id").into_response())
}

/// Points every `url` of a fetch map (`fetch_info` in v1, `xorbs` in v2) at the file server.
fn rewrite(value: &mut Value, key: &str, base: &str) {
    let Some(map) = value.get_mut(key).and_then(Value::as_object_mut) else { return };
    for (hash, entries) in map.iter_mut() {
        let Ok(h) = MerkleHash::from_hex(hash) else { continue };
        // `LocalClient` keeps xorb H as `xorbs/default.{H:?}`.
        let url = format!("{base}/default.{h:?}");
        for e in entries.as_array_mut().into_iter().flatten() {
            e["url"] = Value::from(url.clone());
        }
    }
}

fn answer<T: serde::Serialize>(got: xet_client::error::Result<Option<T>>, key: &str, base: &str) -> Response {
    match got {
        Ok(Some(r)) => match serde_json::to_value(&r) {
            Ok(mut v) => {
                rewrite(&mut v, key, base);
                let mut resp = Response::new(Body::from(v.to_string()));
                resp.headers_mut()
                    .insert("content-type", axum::http::HeaderValue::from_static("application/json"));
                resp
            },
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
        Ok(None) => (StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable").into_response(),
        Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}

async fn reconstruction_v1(State(s): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    s.reconstructions.fetch_add(1, Ordering::Relaxed);
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let range = match resolve_range(&s, &id, &headers).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let got = DirectAccessClient::get_reconstruction_v1(s.client.as_ref(), &id, range).await;
    answer(got, "fetch_info", &s.xorb_base)
}

async fn reconstruction_v2(State(s): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    s.reconstructions.fetch_add(1, Ordering::Relaxed);
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let range = match resolve_range(&s, &id, &headers).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let got = DirectAccessClient::get_reconstruction_v2(s.client.as_ref(), &id, range).await;
    answer(got, "xorbs", &s.xorb_base)
}
