//! A random number without a dependency, for jitter, trace ids and unique temporary names. A leaf
//! module: `hub`, `auth` and `cache` all need one, and none of them should import another for
//! it (cycles: `auth` and `cache` reached into `hub::client` for this).

use std::hash::{BuildHasher, Hasher};

/// std's `RandomState` is seeded per process from the OS; the clock makes two calls differ.
pub fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default(),
    );
    hasher.finish()
}
