//! The engine's numbers, and how `--connections` and `--chunk-size` shape a file's transfer.

use std::time::Duration;

/// What a split leaves the running connection past its written frontier: about what it has
/// received but not written yet (its writer's queue), so that little of it is dropped.
pub(super) const SPLIT_MARGIN: u64 = 512 << 10;
pub(super) const SIDECAR_VERSION: u32 = 1;
/// The most bytes a segment writes between two updates of the progress record (fewer with a
/// smaller `--chunk-size`): what a killed run's successor may fetch again, per connection.
pub(super) const RECORD_EVERY: u64 = 4 << 20;
/// ... and at most this often per file. A record is a write and a rename; on a fast link
/// every 4 MiB meant 250 of them per GB, which cost about 5 % of a CPU-bound download's wall
/// time (docs/engine.md: two 1 GB files, 1.70 s against 1.61 s, medians of 7). A killed run's
/// successor then fetches again at most this long's worth of bytes per connection.
pub(super) const RECORD_INTERVAL: Duration = Duration::from_millis(100);
/// Connections a large file starts with in adaptive mode.
pub const INITIAL_CONNECTIONS: usize = 8;
/// The most connections one file (and, together, all files) may use in adaptive mode.
pub const MAX_CONNECTIONS: usize = 32;
/// Connections per file behind a pull-through mirror.
pub const MIRROR_CONNECTIONS: usize = 2;
/// A pull-through mirror's block (olah's `LFS_FILE_BLOCK`, docs/real-hub.md §5).
pub const MIRROR_BLOCK: u64 = 64 << 20;
/// How often the throughput is sampled, and how long new connections get to ramp up.
pub(super) const GROWTH_WINDOW: Duration = Duration::from_millis(250);
/// A step of growth must raise the throughput by this factor to be followed by another.
pub(super) const GROWTH_FACTOR: f64 = 1.3;
/// A first connection that writes this many bytes within [`FAST_WITHIN`] of its answer
/// (about 200 MB/s) marks a *fast link*: see [`Split::BackEighth`].
pub(super) const FAST_BYTES: u64 = 8 << 20;
pub(super) const FAST_WITHIN: Duration = Duration::from_millis(40);
/// A last range without a new byte for this long gets a second request racing it.
pub const RACE_AFTER: Duration = Duration::from_secs(2);

/// How large files are split; from `--connections` and `--chunk-size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// `--connections N`: that many per file; `None` adapts ([`INITIAL_CONNECTIONS`] up to
    /// [`MAX_CONNECTIONS`]).
    pub connections: Option<usize>,
    /// Files of at least twice this size are split; a segment's progress is saved after every
    /// this many bytes.
    pub chunk_size: u64,
}

/// The command's defaults: adaptive connections, 16 MiB (`--chunk-size`).
impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            connections: None,
            chunk_size: 16 << 20,
        }
    }
}

impl Tuning {
    /// Files at least this large are split; smaller ones stream on one connection, where a
    /// second request would cost a resolve round trip for little gain.
    pub fn parallel_threshold(&self) -> u64 {
        self.chunk_size.saturating_mul(2)
    }

    pub fn splits(&self, size: u64) -> bool {
        self.connections != Some(1) && size >= self.parallel_threshold()
    }

    /// The connections all large files share: two files at full width when pinned; the
    /// adaptive limit otherwise.
    pub fn budget(&self) -> usize {
        match self.connections {
            Some(n) => n.max(1) * 2,
            None => MAX_CONNECTIONS,
        }
    }
}

/// The smallest segment a split may leave (either side), outside mirror mode.
pub fn min_segment(tuning: &Tuning) -> u64 {
    tuning.chunk_size.clamp(SPLIT_MARGIN * 2, 4 << 20)
}
