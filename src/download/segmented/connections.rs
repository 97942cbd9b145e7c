//! One attempt's connections: the first alone until its answer says mirror or not, then the
//! initial set, then growth and races, until every segment is written.

use super::*;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl SegmentedTransfer<'_> {
    /// Runs the connections of one attempt until every segment is written: the first alone
    /// until its answer arrives (mirror or not), then the initial set, then growth and races.
    pub(super) async fn connections(
        &self,
        context: &Arc<WorkerContext>,
        mut opened: watch::Receiver<Option<bool>>,
    ) -> Result<(), WorkerError> {
        let shared = &context.shared;
        let mut workers = JoinSet::new();
        let mut running = 0usize;
        let spawn = |workers: &mut JoinSet<_>, permit: OwnedSemaphorePermit| {
            workers.spawn(connection(context.clone(), permit, None));
        };
        let permit = self
            .budget
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| DownloadError::Task(e.to_string()))?;
        spawn(&mut workers, permit);
        running += 1;
        // Wait for the first answer (or the first connection's end).
        loop {
            tokio::select! {
                changed = opened.changed() => {
                    if changed.is_err() || opened.borrow().is_some() {
                        break;
                    }
                }
                joined = workers.join_next() => {
                    match joined {
                        Some(result) => {
                            running -= 1;
                            flatten(result)?;
                        }
                        None => break,
                    }
                    break;
                }
            }
        }
        let mirror = context.mirror_now();
        let limit = context.connection_limit(mirror);
        let adaptive = self.tuning.connections.is_none() && !mirror;
        let fast = adaptive && running > 0 && {
            let first = first_connection(shared, &mut workers).await?;
            running -= usize::from(first.ended);
            first.fast
        };
        let _fast_file = fast.then(|| context.fast_files.enter());
        if fast {
            shared.fast.store(true, Ordering::Release);
            context.transfer.events.debug(|| {
                format!(
                    "{}: one connection brought {} MiB within {} ms: a fast link, so it stays alone unless a probe connection (the last eighth) pays",
                    context.transfer.path,
                    FAST_BYTES >> 20,
                    FAST_WITHIN.as_millis()
                )
            });
        }
        let initial = if mirror {
            limit
        } else if fast {
            1
        } else {
            self.tuning.connections.unwrap_or(INITIAL_CONNECTIONS)
        }
        .min(limit);
        while running < initial && shared.has_work(context.split_unit(mirror), Split::Half) {
            let Ok(permit) = self.budget.clone().acquire_owned().await else {
                break;
            };
            spawn(&mut workers, permit);
            running += 1;
        }
        let mut growth = Growth::new(adaptive, fast);
        // A fast link's probe is pointless on a machine with no idle CPU: the probe's bytes
        // would only be hashed later, read back.
        let mut cpu_before = if fast { cpu_times().await } else { None };
        let mut ticker = tokio::time::interval(GROWTH_WINDOW);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                joined = workers.join_next() => {
                    match joined {
                        Some(result) => {
                            running -= 1;
                            flatten(result)?;
                        }
                        None => {
                            if shared.is_complete() {
                                return Ok(());
                            }
                            // Every connection ended but bytes are missing (a segment freed
                            // by a connection that stopped early): start another.
                            let permit = self
                                .budget
                                .clone()
                                .acquire_owned()
                                .await
                                .map_err(|e| DownloadError::Task(e.to_string()))?;
                            spawn(&mut workers, permit);
                            running += 1;
                        }
                    }
                }
                _ = ticker.tick() => {
                    let mirror = context.mirror_now();
                    let limit = context.connection_limit(mirror);
                    let unit = context.split_unit(mirror);
                    if growth.may_probe() {
                        let now = cpu_times().await;
                        if let (Some(before), Some(now)) = (cpu_before, now) {
                            growth.machine_idle(now.idle_share_since(before));
                        }
                        cpu_before = now;
                    }
                    let wanted = growth.sample(
                        shared.written_bytes(),
                        shared.all_flowing(),
                        running,
                        limit,
                    );
                    if let Some(line) = growth.take_trace() {
                        context.transfer.events.debug(|| line);
                    }
                    shared.fast.store(growth.is_fast(), Ordering::Release);
                    let fresh = shared.split_now(true, true);
                    let mut added = 0;
                    while running < limit && added < wanted && shared.has_work(unit, fresh) {
                        let Ok(permit) = self.budget.clone().try_acquire_owned() else {
                            break;
                        };
                        spawn(&mut workers, permit);
                        running += 1;
                        added += 1;
                    }
                    // Never behind a mirror: a second request for a block it is still
                    // filling is only held back, and costs it an upstream resolve.
                    if running < limit
                        && !mirror
                        && context.transfer.client.may_resolve_optionally()
                        && let Some(stalled) =
                            shared.stalled_segment(unit, now_ms(), shared.split_now(false, true))
                        && let Ok(permit) = self.budget.clone().try_acquire_owned()
                    {
                        workers.spawn(connection(context.clone(), permit, Some(stalled)));
                        running += 1;
                    }
                }
            }
        }
    }
}

/// What the first connection's start says about the link.
pub(super) struct FirstConnection {
    /// It alone wrote [`FAST_BYTES`] within [`FAST_WITHIN`] of its answer. A slow start (a
    /// real network's first round trips) says no, which only means the usual growth.
    fast: bool,
    /// It ended meanwhile (a small file done).
    ended: bool,
}

/// Watches the first connection for up to [`FAST_WITHIN`] ([`FirstConnection`]).
pub(super) async fn first_connection(
    shared: &Shared,
    workers: &mut JoinSet<Result<(), WorkerError>>,
) -> Result<FirstConnection, WorkerError> {
    let answered = shared.progress.load(Ordering::Acquire);
    let deadline = tokio::time::Instant::now() + FAST_WITHIN;
    loop {
        if shared.progress.load(Ordering::Acquire) - answered >= FAST_BYTES {
            return Ok(FirstConnection {
                fast: true,
                ended: false,
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(FirstConnection {
                fast: false,
                ended: false,
            });
        }
        tokio::select! {
            joined = workers.join_next() => {
                let ended = joined.map(flatten).transpose()?.is_some();
                return Ok(FirstConnection { fast: false, ended });
            }
            () = tokio::time::sleep(Duration::from_millis(2)) => {}
        }
    }
}

pub(super) fn flatten(
    result: Result<Result<(), WorkerError>, tokio::task::JoinError>,
) -> Result<(), WorkerError> {
    result.unwrap_or_else(|e| Err(WorkerError::Fatal(task_error(e))))
}
