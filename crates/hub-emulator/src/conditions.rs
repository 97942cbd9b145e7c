//! Issue #9's conditions in one place: the state of the opt-in behaviours that make the
//! emulator look like the Hub of 2026 (an enforced resolver quota, range-bound CDN URLs),
//! like a capped CDN (a per-connection rate cap, one slow connection) or like a pull-through
//! mirror (olah 0.5.4), plus the counters the tests and benchmarks read.
//!
//! Each behaviour lives in its own module (`quota`, `binding`, `throttle`, `mirror`,
//! `counters`); `server::entry` calls into them at three points: before the hub handler (the
//! quota), after it (mirror mode replaces an LFS `302` with the bytes), and around every
//! response body (byte counting and the CDN pacing).

use crate::binding::RangeBinding;
use crate::counters::CounterState;
use crate::mirror::MirrorState;
use crate::quota::QuotaState;
use crate::scenario::Scenario;
use crate::throttle::ThrottleState;

pub(crate) struct Conditions {
    pub quota: Option<QuotaState>,
    pub range_binding: RangeBinding,
    pub throttle: ThrottleState,
    pub mirror: Option<MirrorState>,
    pub counters: CounterState,
}

impl Conditions {
    pub fn from_scenario(s: &Scenario) -> Self {
        Conditions {
            quota: s.resolver_quota.clone().map(QuotaState::new),
            range_binding: s.range_binding,
            throttle: ThrottleState::new(s.cdn_connection_bytes_per_sec, s.slow_cdn_connection),
            mirror: s.mirror_mode.clone().map(MirrorState::new),
            counters: CounterState::default(),
        }
    }
}
