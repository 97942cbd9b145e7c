//! The one retry policy: every request hfget makes (Hub API calls, resolves, CDN ranges, the
//! doctor's probes) decides "again, after how long, or give up" here, so the rules cannot drift apart again.
//!
//! The rules:
//! - **Full-jitter exponential backoff**: after the n-th failure in a row, wait a uniformly random
//!   time in `[0, min(max_delay, base_delay · 2ⁿ⁻¹)]` (the AWS "full jitter" scheme: many clients
//!   behind one NAT address do not retry in lockstep).
//! - **The server's word wins**: an exhausted `RateLimit` (`"bucket";r=0;t=<secs>`) or a
//!   delta-seconds `Retry-After` replaces the backoff, plus a second of jittered margin as
//!   huggingface_hub does (`t + 1`, docs/protocol.md §4.7). A wait longer than
//!   [`RetryPolicy::max_server_wait`] is not slept through: the error is reported with the reset
//!   time instead.
//! - **Progress resets the count**: a transfer gives up after
//!   [`MAX_ATTEMPTS_WITHOUT_PROGRESS`] failures in a row *without a new byte*; a connection that
//!   keeps delivering is never abandoned.
//! - **Pace before the quota runs out**: [`Pacer`] reads `RateLimit`/`RateLimit-Policy` on every
//!   Hub answer (docs/real-hub.md §1) and holds requests of a nearly spent bucket until its window
//!   resets, instead of spending the last requests and then eating 429s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::error::HubError;
use crate::output;
use crate::random::random_u64;

/// Failures in a row, without a single new byte, before a file (or one of its segments) is given
/// up. Shared by the single-stream and the parallel paths.
pub const MAX_ATTEMPTS_WITHOUT_PROGRESS: u32 = 5;

/// Retry budget for requests that failed in a way that may pass (exponential backoff
/// with jitter, `Retry-After`/`RateLimit` honoured, a bounded total).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, for one request that makes no progress.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest single wait hfget accepts from a `Retry-After`; beyond it the error is
    /// reported with the reset time instead of sleeping for minutes.
    pub max_server_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: MAX_ATTEMPTS_WITHOUT_PROGRESS,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_server_wait: Duration::from_secs(60),
        }
    }
}

/// What to do after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this long.
    RetryAfter(Duration),
    /// The error is final (not retryable, budget spent, or the server asks for too long a wait).
    GiveUp,
}

impl RetryPolicy {
    /// The doctor's probes: three attempts, short pauses, and a rate limit is reported at once
    /// rather than waited out (a diagnosis should not sleep for a minute).
    pub fn probe() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(2),
            max_server_wait: Duration::ZERO,
        }
    }

    /// The upper bound of the backoff after failure number `attempt + 1`: `base · 2^attempt`,
    /// capped at `max_delay`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Full-jitter exponential backoff: a uniformly random delay in `[0, backoff_ceiling]`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let fraction = (random_u64() % 10_001) as f64 / 10_000.0;
        self.backoff_ceiling(attempt).mul_f64(fraction)
    }

    /// The decision after `error`, the `failures`-th failure in a row (1-based) of something
    /// allowed `limit` failures.
    pub fn decide_with_limit(&self, error: &HubError, failures: u32, limit: u32) -> Decision {
        if !error.is_retryable() || failures >= limit {
            return Decision::GiveUp;
        }
        match server_wait(error) {
            Some(wait) if wait > self.max_server_wait => Decision::GiveUp,
            // A second of margin, as huggingface_hub does (`t + 1`, docs/protocol.md §4.7), jittered so that
            // the connections that all got the same 429 do not come back in the same instant.
            Some(wait) => {
                Decision::RetryAfter(wait + Duration::from_millis(200 + random_u64() % 800))
            }
            None => Decision::RetryAfter(self.backoff(failures.saturating_sub(1))),
        }
    }

    /// [`RetryPolicy::decide_with_limit`] with this policy's own `max_attempts`.
    pub fn decide(&self, error: &HubError, failures: u32) -> Decision {
        self.decide_with_limit(error, failures, self.max_attempts)
    }
}

/// Counts failures in a row for one request or one transfer. Call [`Attempts::progressed`]
/// when new bytes arrived, so only failures *without progress* count.
#[derive(Clone, Debug)]
pub struct Attempts {
    policy: RetryPolicy,
    failures: u32,
}

impl Attempts {
    pub fn new(policy: RetryPolicy) -> Attempts {
        Attempts {
            policy,
            failures: 0,
        }
    }

    /// Records a failure; `Some(wait)` means "sleep this long, then try again".
    pub fn failed(&mut self, error: &HubError) -> Option<Duration> {
        self.failures += 1;
        match self.policy.decide(error, self.failures) {
            Decision::RetryAfter(wait) => Some(wait),
            Decision::GiveUp => None,
        }
    }

    /// New bytes arrived: the count of failures in a row starts over.
    pub fn progressed(&mut self) {
        self.failures = 0;
    }

    /// Failures so far (in a row).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn max_attempts(&self) -> u32 {
        self.policy.max_attempts
    }
}

/// How long the server asked us to wait, if it did.
pub fn server_wait(error: &HubError) -> Option<Duration> {
    error
        .response
        .as_ref()
        .and_then(|r| r.retry_after_secs)
        .map(Duration::from_secs)
}

/// Seconds to wait before retrying, from the IETF `RateLimit` header (`…;r=0;t=42`) when it says
/// the quota is exhausted, else from a delta-seconds `Retry-After` (docs/protocol.md §4.7).
pub fn retry_after_secs(ratelimit: Option<&str>, retry_after: Option<&str>) -> Option<u64> {
    let from_ratelimit = ratelimit
        .map(parse_ratelimit)
        .and_then(|limits| limits.into_iter().find(|l| l.remaining == 0))
        .map(|l| l.reset_secs);
    from_ratelimit.or_else(|| retry_after.and_then(|value| value.trim().parse::<u64>().ok()))
}

/// One entry of a `RateLimit` header: `"resolvers";r=12;t=45` (huggingface_hub#3553).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// The bucket's name (`api`, `resolvers`), empty when the server gave none.
    pub bucket: String,
    /// Requests left in the window.
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset_secs: u64,
}

/// Parses `RateLimit` (one or more comma-separated `"name";r=N;t=N` items). Items without both
/// `r` and `t` are skipped.
pub fn parse_ratelimit(value: &str) -> Vec<RateLimit> {
    value
        .split(',')
        .filter_map(|item| {
            let mut bucket = String::new();
            let (mut remaining, mut reset) = (None, None);
            for part in item.split(';') {
                let part = part.trim();
                if let Some(r) = part.strip_prefix("r=") {
                    remaining = r.trim().parse::<u64>().ok();
                } else if let Some(t) = part.strip_prefix("t=") {
                    reset = t.trim().parse::<u64>().ok();
                } else if part.starts_with('"') {
                    bucket = part.trim_matches('"').to_string();
                }
            }
            Some(RateLimit {
                bucket,
                remaining: remaining?,
                reset_secs: reset?,
            })
        })
        .collect()
}

/// The quota of a bucket from `RateLimit-Policy: "fixed window";"resolvers";q=5000;w=300`.
pub fn parse_policy_quota(value: &str, bucket: &str) -> Option<u64> {
    value.split(',').find_map(|item| {
        let names: Vec<&str> = item
            .split(';')
            .map(str::trim)
            .filter(|p| p.starts_with('"'))
            .map(|p| p.trim_matches('"'))
            .collect();
        if !bucket.is_empty() && !names.contains(&bucket) {
            return None;
        }
        item.split(';')
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<u64>().ok())
    })
}

/// Which bucket a request counts in, known before it is sent: every URL containing `/resolve/`
/// counts as a resolve (hub-docs `rate-limits.md`, docs/real-hub.md §1); the rest is the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestClass {
    Resolve,
    Api,
}

impl RequestClass {
    pub fn of(path: &str) -> RequestClass {
        if path.contains("/resolve/") {
            RequestClass::Resolve
        } else {
            RequestClass::Api
        }
    }
}

/// What hfget knows about one bucket.
#[derive(Clone, Debug)]
struct Bucket {
    name: String,
    /// Requests left, as the server last said minus what was sent since.
    remaining: u64,
    /// When the window resets.
    resets_at: Instant,
    quota: Option<u64>,
}

/// Paces requests against the Hub's announced quotas (shared by every clone of a client).
///
/// The estimate is conservative: an answer's `r` counts this request, but maybe not the others
/// still in flight, so what may still be sent is `r - in_flight`; within a window answers can
/// only lower the estimate (they arrive late and out of order), each request sent lowers it by
/// one, and a new window is believed only once the old one's reset time has passed. At zero,
/// the next request of that class sleeps until the reset. The first such pause is announced on
/// stderr.
#[derive(Debug, Default)]
pub struct Pacer {
    state: Mutex<PacerState>,
    announced: AtomicBool,
}

#[derive(Debug, Default)]
struct PacerState {
    buckets: HashMap<RequestClass, Bucket>,
    in_flight: HashMap<RequestClass, u64>,
    /// Classes that got at least one answer. Until then one request at a time goes out, so a
    /// burst (64 small files at once) cannot spend a quota nobody has announced yet.
    answered: std::collections::HashSet<RequestClass>,
}

/// How often a request held for the first answer of its class looks again.
const FIRST_ANSWER_POLL: Duration = Duration::from_millis(10);

/// A margin after the announced reset: `t` is whole seconds and clocks differ (huggingface_hub
/// waits `t + 1`).
const RESET_MARGIN: Duration = Duration::from_secs(1);

impl Pacer {
    /// Waits, if needed, until a request of `class` may be sent, and counts it as sent. Every
    /// admitted request must end in [`Pacer::observe`] (an answer) or [`Pacer::abandon`].
    pub async fn admit(&self, class: RequestClass) {
        loop {
            let wait = match self.state.lock() {
                Ok(mut state) => {
                    let state = &mut *state;
                    let first_pending = !state.answered.contains(&class)
                        && state.in_flight.get(&class).copied().unwrap_or(0) > 0;
                    let admitted = match state.buckets.get_mut(&class) {
                        None if first_pending => Err(FIRST_ANSWER_POLL),
                        None => Ok(()),
                        Some(bucket) => {
                            let now = Instant::now();
                            if bucket.remaining > 0 {
                                bucket.remaining -= 1;
                                Ok(())
                            } else if now >= bucket.resets_at + RESET_MARGIN {
                                match bucket.quota {
                                    // A new window of a known quota.
                                    Some(quota) => {
                                        bucket.remaining = quota.saturating_sub(1);
                                        bucket.resets_at = now + Duration::from_secs(1);
                                    }
                                    // Nobody announced a quota (a lone 429 from a Hub that sends
                                    // no RateLimit otherwise): the window is over, so is the
                                    // pacing, until an answer announces a limit again. Keeping
                                    // "one request per reset" here throttled 1000 files to one a
                                    // second after a single 429 (the soak hang).
                                    None => {
                                        state.buckets.remove(&class);
                                    }
                                }
                                Ok(())
                            } else {
                                let wait = bucket.resets_at + RESET_MARGIN - now;
                                self.announce(bucket, wait);
                                output::debug(|| {
                                    format!(
                                        "{class:?} request held {:.1} s for the quota",
                                        wait.as_secs_f64()
                                    )
                                });
                                Err(wait)
                            }
                        }
                    };
                    match admitted {
                        Ok(()) => {
                            *state.in_flight.entry(class).or_default() += 1;
                            return;
                        }
                        Err(wait) => wait,
                    }
                }
                Err(_) => return,
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Requests of `class` that may still be sent in this window without waiting, as far as
    /// the answers told (`None`: no quota announced). For optional requests: a download adds
    /// connections only while this leaves room for the requests it cannot do without.
    pub fn headroom(&self, class: RequestClass) -> Option<u64> {
        let state = self.state.lock().ok()?;
        let bucket = state.buckets.get(&class)?;
        if Instant::now() >= bucket.resets_at + RESET_MARGIN {
            return bucket.quota;
        }
        Some(bucket.remaining)
    }

    /// An admitted request got no answer (network failure): it is no longer in flight.
    pub fn abandon(&self, class: RequestClass) {
        if let Ok(mut state) = self.state.lock()
            && let Some(count) = state.in_flight.get_mut(&class)
        {
            *count = count.saturating_sub(1);
        }
    }

    /// Reads the `RateLimit` (and `RateLimit-Policy`) headers of the answer to an admitted
    /// request of `class`.
    pub fn observe(&self, class: RequestClass, ratelimit: Option<&str>, policy: Option<&str>) {
        self.read_answer(class, ratelimit, policy, true);
    }

    /// Reads the headers of a later hop of an admitted request (the `/api/resolve-cache/` hop
    /// of a resolve): they describe the same bucket, but the request was already counted.
    pub fn observe_hop(&self, class: RequestClass, ratelimit: Option<&str>, policy: Option<&str>) {
        self.read_answer(class, ratelimit, policy, false);
    }

    fn read_answer(
        &self,
        class: RequestClass,
        ratelimit: Option<&str>,
        policy: Option<&str>,
        admitted: bool,
    ) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let state = &mut *state;
        let in_flight = state.in_flight.entry(class).or_default();
        if admitted {
            state.answered.insert(class);
            *in_flight = in_flight.saturating_sub(1);
        }
        let others_in_flight = *in_flight;
        let Some(limit) = ratelimit
            .map(parse_ratelimit)
            .and_then(|limits| limits.into_iter().next())
        else {
            return;
        };
        let quota = policy.and_then(|p| parse_policy_quota(p, &limit.bucket));
        let now = Instant::now();
        let resets_at = now + Duration::from_secs(limit.reset_secs);
        let may_send = limit.remaining.saturating_sub(others_in_flight);
        output::debug(|| {
            format!(
                "{class:?} answer: {} left, reset in {} s, {others_in_flight} others in flight",
                limit.remaining, limit.reset_secs
            )
        });
        match state.buckets.get_mut(&class) {
            // An exhausted bucket's answer (a 429's `r=0;t=…`) names the reset to wait for, even
            // when it is sooner than the window an earlier answer announced: keeping the later
            // reset held every request for 300 s after a `r=0;t=0` 429 (the soak hang).
            Some(bucket) if now < bucket.resets_at && limit.remaining == 0 => {
                bucket.remaining = 0;
                bucket.resets_at = resets_at;
                bucket.quota = quota.or(bucket.quota);
            }
            Some(bucket) if now < bucket.resets_at => {
                bucket.remaining = bucket.remaining.min(may_send);
                bucket.resets_at = bucket.resets_at.max(resets_at);
                bucket.quota = quota.or(bucket.quota);
            }
            _ => {
                state.buckets.insert(
                    class,
                    Bucket {
                        name: limit.bucket,
                        remaining: may_send,
                        resets_at,
                        quota,
                    },
                );
            }
        }
    }

    fn announce(&self, bucket: &Bucket, wait: Duration) {
        if self.announced.swap(true, Ordering::AcqRel) {
            return;
        }
        let name = if bucket.name.is_empty() {
            "request"
        } else {
            bucket.name.as_str()
        };
        let quota = bucket.quota.map(|q| format!(" of {q}")).unwrap_or_default();
        output::warn(format!(
            "the Hub's \"{name}\" quota{quota} for this window is used up; pausing {:.0} s until it resets instead of being refused (RateLimit header). Logged-in and PRO accounts get larger quotas.",
            wait.as_secs_f64().ceil()
        ));
    }
}

#[cfg(test)]
mod tests;
