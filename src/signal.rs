//! The requests to stop that hfget honours: Ctrl-C on every system, and on Unix also SIGTERM
//! (how docker, Kubernetes and Slurm stop a job) and SIGHUP (a closed terminal or SSH session).
//! All three stop a command the same way: its future is dropped, so partial files and resume
//! records stay, guards restore the terminal, and leases are released before the process ends.

/// Which request to stop arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C (SIGINT).
    Interrupt,
    Terminate,
    Hangup,
}

impl StopSignal {
    /// The signal's name, as `kill -l` prints it.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
        }
    }

    /// 128 + the signal number, the code a shell reports for a process the signal killed, so
    /// supervisors that read it see what they expect.
    pub fn exit_code(self) -> u8 {
        match self {
            StopSignal::Interrupt => crate::exit::INTERRUPTED,
            StopSignal::Terminate => crate::exit::TERMINATED,
            StopSignal::Hangup => crate::exit::HANGUP,
        }
    }
}

/// Resolves when the process is asked to stop. A signal whose handler cannot be installed is
/// left to its default action.
pub async fn stop_requested() -> StopSignal {
    platform::stop_requested().await
}

#[cfg(unix)]
mod platform {
    use super::StopSignal;
    use tokio::signal::unix::{Signal, SignalKind, signal};

    pub async fn stop_requested() -> StopSignal {
        // A signal ignored when hfget started stays ignored: `nohup hfget …` must outlive the
        // terminal, and installing a handler would replace the inherited "ignore".
        let listen = |kind: SignalKind| {
            if was_ignored(kind.as_raw_value()) {
                None
            } else {
                signal(kind).ok()
            }
        };
        let (mut terminate, mut hangup) = (
            listen(SignalKind::terminate()),
            listen(SignalKind::hangup()),
        );
        tokio::select! {
            _ = super::interrupt() => StopSignal::Interrupt,
            () = received(&mut terminate) => StopSignal::Terminate,
            () = received(&mut hangup) => StopSignal::Hangup,
        }
    }

    /// Whether the signal's disposition is "ignore" (inherited from the parent, as `nohup` and
    /// some job runners set it). A null new action only reads it.
    fn was_ignored(signal: i32) -> bool {
        let mut current = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
        // SAFETY: with a null `act`, sigaction only writes the current disposition to `oldact`,
        // which points to memory of the right type and size.
        let queried = unsafe { libc::sigaction(signal, std::ptr::null(), current.as_mut_ptr()) };
        // SAFETY: zeroed memory is a valid `sigaction`, and on success the kernel filled it in.
        queried == 0 && unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN
    }

    /// Resolves when `stream` delivers a signal; never, when its handler could not be installed.
    async fn received(stream: &mut Option<Signal>) {
        match stream {
            Some(stream) => {
                stream.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
}

#[cfg(not(unix))]
mod platform {
    use super::StopSignal;

    pub async fn stop_requested() -> StopSignal {
        super::interrupt().await;
        StopSignal::Interrupt
    }
}

/// Ctrl-C; never resolves if its handler cannot be installed.
async fn interrupt() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
