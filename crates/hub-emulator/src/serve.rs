//! Serving file bytes: single-range handling (200/206/416) and a chunked body stream that
//! applies the body faults.
//!
//! Bodies are generated 256 KiB at a time from the [`Blob`], so even a 1 GB pattern file is
//! never held in memory. Faults that must look like network failures (`CutAfter`,
//! `ShortBody`) rely on hyper: a stream error aborts the connection, and a stream that ends
//! before the promised `Content-Length` makes hyper close it, so the client sees an incomplete
//! body either way.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::{Bytes, BytesMut};

use crate::fault::BodyFaults;
use crate::state::Blob;

const CHUNK: usize = 256 * 1024;

/// Outcome of a `Range` header against a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangePlan {
    Full,
    /// Inclusive bounds.
    Partial(u64, u64),
    Unsatisfiable,
}

/// Single-range `bytes=a-b`, `bytes=a-`, `bytes=-n`.
// GUESS: multi-range and malformed headers are ignored (full 200), like CloudFront/S3 and
// tower-http do; the Hub's behaviour for them is undocumented.
pub(crate) fn plan_range(header: Option<&str>, len: u64) -> RangePlan {
    let Some(h) = header else {
        return RangePlan::Full;
    };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return RangePlan::Full;
    };
    if spec.contains(',') {
        return RangePlan::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangePlan::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return RangePlan::Full;
        };
        if n == 0 || len == 0 {
            return RangePlan::Unsatisfiable;
        }
        return RangePlan::Partial(len.saturating_sub(n), len - 1);
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangePlan::Full;
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e,
            _ => return RangePlan::Full,
        }
    };
    if start >= len {
        return RangePlan::Unsatisfiable;
    }
    RangePlan::Partial(start, end.min(len - 1))
}

/// Builds a 200/206 file response (or delegates a 416 to `unsatisfiable`), with `headers`
/// (ETag, Content-Type, …) added. `head` sends the same headers without a body.
pub(crate) fn file_response(
    head: bool,
    blob: &Blob,
    range: Option<&str>,
    faults: &BodyFaults,
    headers: HeaderMap,
    unsatisfiable: impl FnOnce(u64) -> Response,
) -> Response {
    let len = blob.len();
    let plan = if faults.ignore_range {
        RangePlan::Full
    } else {
        plan_range(range, len)
    };
    let (status, start, end_incl) = match plan {
        RangePlan::Full => (StatusCode::OK, 0, len.checked_sub(1)),
        RangePlan::Partial(s, e) => (StatusCode::PARTIAL_CONTENT, s, Some(e)),
        RangePlan::Unsatisfiable => return unsatisfiable(len),
    };
    let end_excl = end_incl.map_or(0, |e| e + 1);
    let body_len = end_excl - start;
    let body = if head {
        Body::empty()
    } else {
        stream_body(blob.clone(), start, end_excl, faults.clone())
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.extend(headers);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end_excl - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    resp
}

/// `Content-Range: bytes */len` for a 416.
pub(crate) fn unsatisfied_range_header(len: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("bytes */{len}"))
        .unwrap_or(HeaderValue::from_static("bytes */0"))
}

struct Streamer {
    blob: Blob,
    pos: u64,
    /// Where the body stops (earlier than the range end for `ShortBody`).
    stop: u64,
    sent: u64,
    faults: BodyFaults,
    stalled: bool,
    done: bool,
}

fn stream_body(blob: Blob, start: u64, end_excl: u64, faults: BodyFaults) -> Body {
    let stop = match faults.short_missing {
        Some(m) => end_excl.saturating_sub(m).max(start),
        None => end_excl,
    };
    let st = Streamer {
        blob,
        pos: start,
        stop,
        sent: 0,
        faults,
        stalled: false,
        done: false,
    };
    let stream = futures_util::stream::unfold(st, |mut st| async move {
        if st.done {
            return None;
        }
        if let Some(cut) = st.faults.cut_after
            && st.sent >= cut
        {
            // Let hyper flush the head and the bytes sent so far before aborting.
            tokio::time::sleep(Duration::from_millis(30)).await;
            st.done = true;
            let err = std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "hub-emulator fault: CutAfter",
            );
            return Some((Err(err), st));
        }
        if let Some((after, millis)) = st.faults.stall
            && !st.stalled
            && st.sent >= after
        {
            st.stalled = true;
            tokio::time::sleep(Duration::from_millis(millis)).await;
        }
        if st.pos >= st.stop {
            if st.faults.short_missing.is_some() {
                // Give the client the bytes first; hyper then sees the early end and closes.
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            return None;
        }
        let mut n = ((st.stop - st.pos) as usize).min(CHUNK);
        if let Some(cut) = st.faults.cut_after {
            n = n.min((cut - st.sent) as usize);
        }
        if let Some((after, _)) = st.faults.stall
            && !st.stalled
            && after > st.sent
        {
            n = n.min((after - st.sent) as usize);
        }
        if let Some(bps) = st.faults.slow_bps {
            // About ten chunks per second.
            let per = ((bps / 10).max(1)) as usize;
            n = n.min(per);
            tokio::time::sleep(Duration::from_micros(n as u64 * 1_000_000 / bps)).await;
        }
        let mut data: Bytes = st.blob.chunk(st.pos, n);
        let (lo, hi) = (st.pos, st.pos + data.len() as u64);
        if st.faults.corrupt.iter().any(|&o| o >= lo && o < hi) {
            let mut m = BytesMut::from(&data[..]);
            for &o in st.faults.corrupt.iter().filter(|&&o| o >= lo && o < hi) {
                m[(o - lo) as usize] ^= 0xFF;
            }
            data = m.freeze();
        }
        st.pos = hi;
        st.sent += data.len() as u64;
        Some((Ok::<Bytes, std::io::Error>(data), st))
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(plan_range(None, 10), RangePlan::Full);
        assert_eq!(plan_range(Some("bytes=0-0"), 10), RangePlan::Partial(0, 0));
        assert_eq!(plan_range(Some("bytes=5-"), 10), RangePlan::Partial(5, 9));
        assert_eq!(
            plan_range(Some("bytes=5-100"), 10),
            RangePlan::Partial(5, 9)
        );
        assert_eq!(plan_range(Some("bytes=-3"), 10), RangePlan::Partial(7, 9));
        assert_eq!(plan_range(Some("bytes=10-"), 10), RangePlan::Unsatisfiable);
        assert_eq!(plan_range(Some("bytes=0-1,3-4"), 10), RangePlan::Full);
        assert_eq!(plan_range(Some("items=0-1"), 10), RangePlan::Full);
        assert_eq!(plan_range(Some("bytes=0-0"), 0), RangePlan::Unsatisfiable);
    }
}
