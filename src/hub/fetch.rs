//! The one ranged open of a file's bytes: resolve, follow the redirect to whoever
//! serves the bytes (the CDN, or a mirror itself), check the answer once — status,
//! `Content-Range`, length — and hand back a [`FileBody`] that yields the bytes and nothing
//! else. Every transport error is mapped here; no `reqwest::Response` leaves `hub`.
//!
//! - One call is one resolve: the signed URL the resolve mints is used for exactly the `Range`
//!   it was minted for, once (Xet-era bridge URLs are bound to the range and expire,
//!   docs/real-hub.md §4). The token goes only to the endpoint's origin ([`HubClient::send_once`]).
//! - The body has three clocks ([`Timeouts`]): headers within the metadata timeout, the first
//!   byte within the longer first-byte timeout (announced once when it passes the idle timeout:
//!   a mirror may be filling its cache), then no gap longer than the idle timeout.
//! - [`FileBody::served_by_endpoint`] tells a pull-through mirror (bytes from the endpoint's
//!   own origin, docs/real-hub.md §5) from the Hub (a redirect to a CDN host).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_RANGE, HeaderMap, HeaderValue, RANGE};
use reqwest::{Response, StatusCode};

use super::client::{HeaderTimeout, HubClient, Timeouts, network_error_from, strip_query};
use super::error::{HubError, NetworkErrorKind};
use super::repo::RepoId;
use crate::output;

/// Which bytes of which file.
#[derive(Clone, Copy, Debug)]
pub struct FileRange<'a> {
    pub repo: &'a RepoId,
    pub commit: &'a str,
    pub path: &'a str,
    /// The file's size from the listing: every answer is checked against it.
    pub size: u64,
    /// First byte wanted.
    pub start: u64,
    /// One past the last byte wanted; `None` means "to the end" (`bytes=START-`), and with
    /// `start == 0` no `Range` header at all.
    pub end: Option<u64>,
}

/// Why an open or a body read failed.
#[derive(Debug)]
pub enum FetchError {
    /// May pass if tried again (network, 5xx, 429, a refused signed URL): the bytes received
    /// before it are good.
    Hub(HubError),
    /// The server answered a range request with a `Content-Range` that does not match what was
    /// asked, or sent more bytes than it announced. Not retried.
    BadRange { detail: String },
    /// The length the server announced contradicts the listing's size. Not retried.
    SizeMismatch { actual: u64 },
}

impl From<HubError> for FetchError {
    fn from(error: HubError) -> Self {
        FetchError::Hub(error)
    }
}

/// An open body: bytes `start..end` of the file, in order.
pub struct FileBody {
    response: Response,
    url: String,
    /// The file offset of the first byte this body carries (0 when the server ignored `Range`).
    pub start: u64,
    /// One past the last byte it carries.
    pub end: u64,
    /// A range was asked for and the server answered 200 with the whole file (docs/protocol.md §1.5).
    pub range_ignored: bool,
    /// The bytes come from the endpoint's own origin, not from a host it redirected to: a
    /// pull-through mirror such as olah.
    pub served_by_endpoint: bool,
    received: u64,
    timeouts: Timeouts,
}

/// The first slow first byte is announced once per process, not once per connection.
static FIRST_BYTE_ANNOUNCED: AtomicBool = AtomicBool::new(false);

impl HubClient {
    /// Opens `range` of a file through its resolve URL (see the module doc).
    pub async fn open_range(&self, range: FileRange<'_>) -> Result<FileBody, FetchError> {
        let url = self.resolve_url(range.repo, range.commit, range.path)?;
        let mut headers = HeaderMap::new();
        let wants_range = range.start > 0 || range.end.is_some();
        if wants_range {
            let value = match range.end {
                Some(end) => format!("bytes={}-{}", range.start, end.saturating_sub(1)),
                None => format!("bytes={}-", range.start),
            };
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(RANGE, value);
            }
        }
        let response = self.send_for_bytes(url, &headers).await?;
        if !response.status().is_success() {
            return Err(self.decode_error(response).await.into());
        }
        let served_by_endpoint = self.is_endpoint_origin(response.url());
        let length = response.content_length();
        let (start, end, range_ignored) = match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let detail = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("missing")
                    .to_string();
                let bad = || FetchError::BadRange {
                    detail: detail.clone(),
                };
                let (first, last, total) = parse_content_range(&detail).ok_or_else(bad)?;
                let wanted_end = range.end.unwrap_or(range.size);
                if first != range.start
                    || last + 1 != wanted_end
                    || total.is_some_and(|t| t != range.size)
                {
                    return Err(bad());
                }
                if length.is_some_and(|l| l != last + 1 - first) {
                    return Err(bad());
                }
                (first, last + 1, false)
            }
            StatusCode::OK => {
                if let Some(length) = length
                    && length != range.size
                {
                    return Err(FetchError::SizeMismatch { actual: length });
                }
                (0, range.size, wants_range)
            }
            other => {
                return Err(FetchError::BadRange {
                    detail: format!("status {other} instead of 200 or 206"),
                });
            }
        };
        Ok(FileBody {
            url: strip_query(response.url()),
            response,
            start,
            end,
            range_ignored,
            served_by_endpoint,
            received: 0,
            timeouts: self.timeouts,
        })
    }
}

impl FileBody {
    /// The next piece of the body; `Ok(None)` once all `end - start` bytes have arrived. A body
    /// that ends early is an interruption, one that runs long a [`FetchError::BadRange`].
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, FetchError> {
        let expected = self.end - self.start;
        let next = if self.received == 0 {
            self.first_chunk().await?
        } else {
            self.wait(self.timeouts.idle).await?
        };
        match next {
            Some(chunk) => {
                self.received += chunk.len() as u64;
                if self.received > expected {
                    return Err(FetchError::BadRange {
                        detail: format!("more than the {expected} bytes announced"),
                    });
                }
                Ok(Some(chunk))
            }
            None if self.received < expected => Err(FetchError::Hub(HubError::network(
                NetworkErrorKind::Interrupted,
                &self.url,
                ShortBody {
                    received: self.received,
                    expected,
                },
            ))),
            None => Ok(None),
        }
    }

    async fn first_chunk(&mut self) -> Result<Option<Bytes>, FetchError> {
        let patience = self.timeouts.idle.min(self.timeouts.first_byte);
        match tokio::time::timeout(patience, self.response.chunk()).await {
            Ok(result) => return self.map(result),
            Err(_) if patience >= self.timeouts.first_byte => return Err(self.timed_out(patience)),
            Err(_) => {}
        }
        let rest = self.timeouts.first_byte - patience;
        if !FIRST_BYTE_ANNOUNCED.swap(true, Ordering::AcqRel) {
            output::warn(format!(
                "{}: no data {:.0} s after the server answered; a mirror may still be fetching it. Waiting up to {:.0} s in all (HFGET_FIRST_BYTE_TIMEOUT).",
                self.url,
                patience.as_secs_f64(),
                self.timeouts.first_byte.as_secs_f64()
            ));
        } else {
            output::debug(|| format!("{}: still waiting for the first byte", self.url));
        }
        self.wait(rest).await
    }

    async fn wait(&mut self, limit: Duration) -> Result<Option<Bytes>, FetchError> {
        match tokio::time::timeout(limit, self.response.chunk()).await {
            Ok(result) => self.map(result),
            Err(_) => Err(self.timed_out(limit)),
        }
    }

    fn map(&self, result: reqwest::Result<Option<Bytes>>) -> Result<Option<Bytes>, FetchError> {
        result.map_err(|e| FetchError::Hub(network_error_from(&self.url, e)))
    }

    fn timed_out(&self, limit: Duration) -> FetchError {
        FetchError::Hub(HubError::network(
            NetworkErrorKind::Timeout,
            &self.url,
            HeaderTimeout(limit),
        ))
    }
}

/// A body that ended before its announced length.
#[derive(Debug, thiserror::Error)]
#[error("the body ended after {received} of {expected} bytes")]
struct ShortBody {
    received: u64,
    expected: u64,
}

/// `bytes START-END/TOTAL` → (START, END inclusive, TOTAL if known).
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start = start.trim().parse::<u64>().ok()?;
    let end = end.trim().parse::<u64>().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    Some((start, end, total))
}

#[cfg(test)]
mod tests;
