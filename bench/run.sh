#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: builds the release binaries, then runs bench/bench.py (all cases,
# 3 runs each, ~10 minutes). Extra arguments go to bench.py (--runs N, --cases 1,3,
# --hfget-args '--chunk-size 32M', --output -).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in nginx aria2c hyperfine curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install nginx aria2 hyperfine curl time" >&2; exit 1; }
done
cargo build --release -p hfget -p hub-emulator
exec python3 bench/bench.py "$@"
