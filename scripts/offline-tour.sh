#!/usr/bin/env bash
# A one-command tour that needs no Hub access: start the bundled Hub emulator with its demo
# scenario on 127.0.0.1, download from it with hfget into a throwaway HF_HOME, show the
# resulting cache, go offline, and show how hfget explains a refused download.
#
# The first run compiles hfget and the emulator (debug profile, the same build `cargo test`
# makes, so either one warms the other): a few minutes on a fresh clone, which needs crates.io
# once unless the crates are vendored; seconds afterwards. Nothing else touches the network.
# usage: scripts/offline-tour.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "Building hfget and the Hub emulator (a few minutes the first time, seconds afterwards)..." >&2
cargo build --locked --quiet -p hfget -p hub-emulator
# Wherever cargo put them: CARGO_TARGET_DIR, .cargo/config.toml or ./target (issue #13.4).
target_dir=$(cargo metadata --locked --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="${target_dir:-target}/debug"
for program in hfget hub-emulator; do
    if [ ! -x "$bin/$program" ]; then
        echo "error: $bin/$program was not built; run 'cargo build -p hfget -p hub-emulator' and look at its errors." >&2
        exit 1
    fi
done

tour=$(mktemp -d)
emulator=
trap '[ -n "$emulator" ] && kill "$emulator" 2>/dev/null; rm -rf "$tour"' EXIT

"$bin/hub-emulator" --demo --port 0 >"$tour/endpoint" 2>"$tour/emulator.log" &
emulator=$!
endpoint=
for _ in $(seq 100); do
    endpoint=$(sed -n 's/^HF_ENDPOINT=//p' "$tour/endpoint" 2>/dev/null || true)
    [ -n "$endpoint" ] && break
    kill -0 "$emulator" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$endpoint" ]; then
    # Never `export $(grep …)` here: with no match, a bare `export` prints the whole
    # environment, tokens included (issue #13.4).
    echo "error: the Hub emulator did not start. Its output:" >&2
    cat "$tour/emulator.log" >&2
    exit 1
fi
# A private HF_HOME and no token or keyring from this machine: the tour never reads your
# logins and never writes to your cache.
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_TOKEN_PATH HF_HUB_CACHE HUGGINGFACE_HUB_CACHE \
    HF_HUB_OFFLINE TRANSFORMERS_OFFLINE
export HF_ENDPOINT="$endpoint" HF_HOME="$tour/hf_home" HFGET_KEYRING=none \
    HFGET_CONFIG_DIR="$tour/config" NO_PROXY=127.0.0.1,localhost
echo "Emulated Hub at $HF_ENDPOINT; cache in $HF_HOME/hub"
echo

PS4='\n$ '
set -x
"$bin/hfget" download acme/tiny --dry-run
snapshot=$("$bin/hfget" download acme/tiny)
ls -lR "$snapshot"
"$bin/hfget" download acme/tiny config.json
"$bin/hfget" download datasets/acme/tiny-data --local-dir "$tour/dataset" --json
# Offline: served from the cache with zero requests, and a clear answer for what is missing.
HF_HUB_OFFLINE=1 "$bin/hfget" download acme/tiny
HF_HUB_OFFLINE=1 "$bin/hfget" download acme/gated || true
# Refusals, explained: anonymous on a gated repo, then bob, whose access request is pending.
"$bin/hfget" download acme/gated || true
HF_TOKEN=hf_bob_read "$bin/hfget" doctor acme/gated || true
{ set +x; } 2>/dev/null
