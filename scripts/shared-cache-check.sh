#!/usr/bin/env bash
# Measures issue #12's targets on two sshfs mounts of one folder (two "machines"), with the
# tests in tests/it/shared_cache.rs, which print their figures ("figure:"/"note:" lines):
# - concurrent runs on both machines: bytes the CDN sent / repository size (target ≤ 1.1);
# - kill -9 on machine A at ~35 %, then a run on machine B: total bytes sent (target ≤ 1.25);
# - an owner frozen on A, a waiter on B: time until B is done (lease timeout 30 s);
# - the soak with random kills: bytes sent per round.
# Every run must exit 0, with 0 corrupt blobs and 0 leftover files (the tests assert those).
# HFGET_CHECK_REPO_MIB sets the repository size of the figures run (default 512).
# Needs openssh-server, sshfs and /dev/fuse (root); .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
export CI=true
cargo test --locked --test it shared_cache -- --include-ignored --nocapture --test-threads=1 2>&1 \
  | grep -E '^(figure:|note:|round|test shared_cache|test result)'
