//! The CDN origin: serves LFS blobs at the signed URLs minted by the hub's `302`s.
//!
//! It behaves like CloudFront/S3 in front of the Hub's storage (§4.9): S3-style XML errors, a
//! request carrying `Authorization` is refused (so tests catch clients leaking the Hub token
//! across origins, §1.4), signatures expire, and xet-bridge URLs only work for the exact
//! `Range` header that minted them (landscape §2.4).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::content::{self, parse_query};
use crate::fault::{BodyFaults, FaultAction};
use crate::hub::sign;
use crate::serve;
use crate::state::Shared;

/// An S3-style XML error.
pub(crate) fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

/// §4.9 verbatim.
fn access_denied() -> Response {
    xml_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
}

pub(crate) struct CdnRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub faults: BodyFaults,
}

pub(crate) fn handle(shared: &Shared, req: CdnRequest<'_>) -> Response {
    let h = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok());
    if h("authorization").is_some() {
        // GUESS: modelled on S3's answer to a presigned URL that also carries an
        // Authorization header (the CloudFront/xet-bridge answer is undocumented).
        return xml_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    if req.method != Method::GET && req.method != Method::HEAD {
        return xml_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    let segs: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let sha = match segs.as_slice() {
        ["repos", a, b, sha]
            if sha.len() == 64 && sha.starts_with(a) && sha[2..].starts_with(b) =>
        {
            *sha
        }
        // GUESS: like S3 behind CloudFront, an unknown key shape is simply denied.
        _ => return access_denied(),
    };
    let q = req.query.map(parse_query).unwrap_or_default();
    let get = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str());
    let (Some(expires), Some(sig)) = (get("Expires"), get("Signature")) else {
        return access_denied();
    };
    let Ok(expires) = expires.parse::<u64>() else {
        return access_denied();
    };
    let minted_range = get("X-Range").unwrap_or("");
    if sign(&shared.secret, req.path, expires, minted_range) != sig
        || expires <= content::now_unix()
    {
        return access_denied();
    }
    let Some(entry) = shared.cdn_blobs.get(sha) else {
        return xml_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    // Issue #9: the binding mode is a scenario switch (binding.rs); strict by default.
    if entry.xet_hash.is_some()
        && !shared
            .conditions
            .range_binding
            .allows(minted_range, h("range"))
    {
        return access_denied();
    }
    let mut headers = HeaderMap::new();
    // §1.7: for xet files the CDN's ETag is the xet hash, not the sha256.
    let etag = format!("\"{}\"", entry.xet_hash.as_deref().unwrap_or(sha));
    let pairs = [
        ("etag", etag),
        ("content-type", "application/octet-stream".to_string()),
        ("x-cache", "Miss from cloudfront".to_string()),
        (
            "content-disposition",
            get("response-content-disposition")
                .unwrap_or("")
                .to_string(),
        ),
    ];
    for (k, v) in pairs {
        if let (false, Ok(v)) = (v.is_empty(), HeaderValue::from_str(&v)) {
            headers.insert(HeaderName::from_static(k), v);
        }
    }
    serve::file_response(
        req.method == Method::HEAD,
        &entry.blob,
        h("range"),
        &req.faults,
        headers,
        |len| {
            // GUESS: S3's InvalidRange error for an unsatisfiable Range.
            let mut r = xml_error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range is not satisfiable",
            );
            r.headers_mut()
                .insert(header::CONTENT_RANGE, serve::unsatisfied_range_header(len));
            r
        },
    )
}

/// Status-like faults on the CDN (S3-style XML bodies).
// GUESS: S3 error codes for the statuses a CDN can produce.
pub(crate) fn fault_response(actions: &[FaultAction]) -> Option<Response> {
    for a in actions {
        match a {
            FaultAction::RateLimited { retry_after_secs } => {
                let mut r = xml_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "SlowDown",
                    "Please reduce your request rate.",
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return Some(r);
            }
            FaultAction::Status { status } => {
                let st = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let (code, msg) = match st.as_u16() {
                    400 => ("InvalidRequest", "Bad Request"),
                    403 => ("AccessDenied", "Access Denied"),
                    404 => ("NoSuchKey", "The specified key does not exist."),
                    429 => ("SlowDown", "Please reduce your request rate."),
                    500 => (
                        "InternalError",
                        "We encountered an internal error. Please try again.",
                    ),
                    503 => ("SlowDown", "Please reduce your request rate."),
                    _ => (
                        "ServiceUnavailable",
                        st.canonical_reason().unwrap_or("Error"),
                    ),
                };
                let mut r = xml_error(st, code, msg);
                if st == StatusCode::TOO_MANY_REQUESTS {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                }
                return Some(r);
            }
            FaultAction::HtmlError { status } => {
                let st = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Some(crate::hub::html_page(st));
            }
            _ => {}
        }
    }
    None
}
