#!/usr/bin/env bash
# Measures issue #12's targets on two sshfs mounts of one folder (two "machines"), using the
# tests in tests/it/shared_cache.rs, which print their figures:
# - concurrent runs on both machines: bytes the CDN sent / repository size (target ≤ 1.1);
# - kill -9 on machine A, then a run on machine B: total bytes sent / repository size (≤ 1.25);
# - a frozen owner taken over: seconds until the waiter finished (lease timeout 3 s);
# - the soak with random kills: bytes sent per round.
# Every run must exit 0, with 0 corrupt blobs and 0 leftover files (the tests assert those).
# Needs openssh-server, sshfs and /dev/fuse (root); .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
CI=true cargo test --locked --test it shared_cache -- --include-ignored --nocapture --test-threads=1 2>&1 \
  | grep -E '^(note:|round|test shared_cache|test result)'
