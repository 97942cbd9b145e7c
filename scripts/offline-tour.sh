#!/usr/bin/env bash
# A one-command tour that needs no network: start the bundled Hub emulator with its demo
# scenario, download from it with hfget into a throwaway HF_HOME, show the resulting cache, and
# show how hfget explains a refused download.
# usage: scripts/offline-tour.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p hfget -p hub-emulator
bin=target/release
tour=$(mktemp -d)
trap 'kill "$emulator" 2>/dev/null || true; rm -rf "$tour"' EXIT

"$bin/hub-emulator" --demo --port 0 > "$tour/endpoint" &
emulator=$!
for _ in $(seq 100); do grep -q HF_ENDPOINT= "$tour/endpoint" 2>/dev/null && break; sleep 0.05; done
export $(grep HF_ENDPOINT= "$tour/endpoint")
export HF_HOME="$tour/hf_home" NO_PROXY=127.0.0.1,localhost HFGET_KEYRING=none
echo "Emulated Hub at $HF_ENDPOINT; cache in $HF_HOME/hub"
echo
set -x
"$bin/hfget" download acme/tiny --dry-run
snapshot=$("$bin/hfget" download acme/tiny)
ls -lR "$snapshot"
"$bin/hfget" download acme/tiny config.json
"$bin/hfget" download datasets/acme/tiny-data --local-dir "$tour/dataset" --json
HF_HUB_OFFLINE=1 "$bin/hfget" download acme/tiny
# Refusals, explained: anonymous on a gated repo, then bob, whose access request is pending.
"$bin/hfget" download acme/gated || true
HF_TOKEN=hf_bob_read "$bin/hfget" doctor acme/gated || true
