//! How many connections a file gets in adaptive mode: pure logic fed with throughput samples,
//! and a CPU sampler that tells a CPU-bound machine apart.

use super::tuning::{GROWTH_FACTOR, GROWTH_WINDOW};

/// The adaptive controller: grows the connections while a step raises the throughput by
/// [`GROWTH_FACTOR`], and stops at the first step that does not. A step that paid almost in
/// proportion (twice the connections, nearly twice the bytes: each connection is capped, as a
/// CDN that limits every connection does) is followed by a bigger one, ×4 instead of ×2:
/// with a 25 MB/s cap per connection (docs/engine.md), the doubling alone took 1.4 s of a
/// 3.2 s download to reach 32 connections.
pub(super) struct Growth {
    pub(super) enabled: bool,
    /// A fast link ([`Split::BackEighth`]): steps add one probe connection until one pays.
    pub(super) fast: bool,
    pub(super) last_bytes: Option<u64>,
    pub(super) last_rate: f64,
    /// Samples to skip while new connections ramp up.
    pub(super) settling: u32,
    /// The connections before and after the last step (0 before the first).
    pub(super) before_step: usize,
    pub(super) after_step: usize,
    /// The last decision, in words, for the `-v` trace (taken by [`Growth::take_trace`]).
    pub(super) trace: Option<String>,
}

fn connections(count: usize) -> String {
    match count {
        1 => "1 connection".to_string(),
        n => format!("{n} connections"),
    }
}

/// The idle share of the machine's CPU below which a fast link gets no probe connection.
pub(super) const PROBE_IDLE_CPU: f64 = 0.10;

/// Cumulative CPU time of the whole machine (`/proc/stat`, in clock ticks), to tell whether
/// it has CPU to spare. `None` where this cannot be read (other systems): then a fast link
/// probes as if the CPU were free.
#[derive(Clone, Copy, Debug)]
pub(super) struct CpuTimes {
    pub(super) idle: u64,
    pub(super) total: u64,
}

impl CpuTimes {
    /// The `cpu` line of `/proc/stat` (proc(5)): user nice system idle iowait irq softirq
    /// steal; idle counts idle and iowait.
    pub(super) fn parse(stat: &str) -> Option<CpuTimes> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        Some(CpuTimes {
            idle,
            total: fields.iter().sum(),
        })
    }

    pub(super) fn idle_share_since(self, before: CpuTimes) -> f64 {
        let total = self.total.saturating_sub(before.total);
        if total == 0 {
            return 1.0;
        }
        self.idle.saturating_sub(before.idle) as f64 / total as f64
    }
}

pub(super) async fn cpu_times() -> Option<CpuTimes> {
    tokio::task::spawn_blocking(|| {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|stat| CpuTimes::parse(&stat))
    })
    .await
    .ok()
    .flatten()
}

/// A step "paid in proportion" when the throughput grew by at least this share of the factor
/// the connections grew by.
pub(super) const PROPORTIONAL_SHARE: f64 = 0.8;

impl Growth {
    pub(super) fn new(enabled: bool, fast: bool) -> Growth {
        Growth {
            enabled,
            fast: fast && enabled,
            last_bytes: None,
            last_rate: 0.0,
            // The first connections started just before the first sample: the first window
            // measures them.
            settling: 0,
            before_step: 0,
            after_step: 0,
            trace: None,
        }
    }

    /// Whether steps are still probes (a fast link whose probe has not paid).
    pub(super) fn is_fast(&self) -> bool {
        self.fast
    }

    /// The last decision's trace line, once.
    pub(super) fn take_trace(&mut self) -> Option<String> {
        self.trace.take()
    }

    /// Whether a fast link's probe is still to be decided.
    pub(super) fn may_probe(&self) -> bool {
        self.fast && self.enabled && self.after_step == 0
    }

    /// Told the share of the machine's CPU that was idle in the last window: with less than
    /// [`PROBE_IDLE_CPU`] idle, a fast link is CPU-bound and the probe is skipped (docs/engine.md:
    /// two 1 GB files on 2 cores leave 3 % idle with one connection each).
    pub(super) fn machine_idle(&mut self, idle: f64) {
        if self.may_probe() && idle < PROBE_IDLE_CPU {
            self.trace = Some(format!(
                "{:.0} % of the CPU idle: a fast link on a busy machine; no probe connection",
                idle * 100.0
            ));
            self.enabled = false;
        }
    }

    /// Called every [`GROWTH_WINDOW`] with the file's written bytes and whether every
    /// connection has received bytes yet; returns how many connections to add.
    pub(super) fn sample(
        &mut self,
        bytes: u64,
        flowing: bool,
        running: usize,
        limit: usize,
    ) -> usize {
        let previous = self.last_bytes.replace(bytes);
        if !self.enabled {
            return 0;
        }
        let Some(previous) = previous else {
            return 0;
        };
        if self.settling > 0 {
            self.settling -= 1;
            return 0;
        }
        if !flowing {
            // A window in which some connections still wait for their resolve or first byte
            // (hundreds of ms from the real Hub) would understate what they bring: no verdict.
            return 0;
        }
        let rate = bytes.saturating_sub(previous) as f64 / GROWTH_WINDOW.as_secs_f64();
        if rate <= 0.0 {
            // Nothing arrived at all in this window (waiting on a mirror, a stall): no verdict.
            return 0;
        }
        let mut factor = 2;
        if self.after_step > 0 {
            let gain = rate / self.last_rate;
            if gain < GROWTH_FACTOR {
                let verdict = if self.fast {
                    "of one; the probe did not pay"
                } else {
                    "before; no more connections"
                };
                self.trace = Some(format!(
                    "{}: {:.1} MB/s, not {GROWTH_FACTOR}× the {:.1} MB/s {verdict}",
                    connections(running),
                    rate / 1e6,
                    self.last_rate / 1e6
                ));
                self.enabled = false;
                return 0;
            }
            let grown = self.after_step as f64 / self.before_step.max(1) as f64;
            if gain >= grown * PROPORTIONAL_SHARE {
                factor = 4;
            }
            // A probe that paid: the link was the limit after all; grow as usual.
            self.fast = false;
        }
        if running >= limit {
            self.enabled = false;
            return 0;
        }
        let target = if self.fast {
            running + 1
        } else {
            running * factor
        }
        .min(limit);
        self.trace = Some(format!(
            "{}: {:.1} MB/s; trying {target}",
            connections(running),
            rate / 1e6,
        ));
        self.last_rate = rate;
        self.before_step = running;
        self.after_step = target;
        self.settling = 1;
        target - running
    }
}

#[cfg(test)]
mod tests;
