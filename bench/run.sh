#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: installs what is missing (Debian packages, a venv with the pinned
# huggingface_hub for `hf download`, one with olah 0.5.4), builds the release binaries, then runs
# bench/bench.py (every case of issue #9, 3 runs each, about 15 minutes). Extra arguments go to
# bench.py (--runs N, --cases 1,7, --tools hfget, --hfget-args '--connections 16', --output -,
# --scale 0.02 for a quick smoke run, --note 'machine was busy', --tcp-cc cubic to take the
# CDN's BBR pacing timers off the client's cores). The Xet cases x1 and x3 (bench/xet.py) build
# bench/xet-cas, their CAS server, on first use (xet-client: several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for entry in nginx:nginx aria2:aria2c hyperfine:hyperfine curl:curl time:/usr/bin/time; do
  command -v "${entry#*:}" >/dev/null || missing+=("${entry%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]} (install them: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -z "${HF_BIN:-}" ]; then
  venv=bench/work/venv
  if [ ! -x "$venv/bin/hf" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "huggingface_hub==2.4.0"
  fi
  # The Xet cases (x1, x3: bench/xet.py) run `hf` with this hf_xet, and upload with it.
  "$venv/bin/python" -c 'import importlib.metadata as m; assert m.version("hf_xet") == "1.8.0"' 2>/dev/null ||
    "$venv/bin/pip" install -q --disable-pip-version-check "hf_xet==1.8.0"
  export HF_BIN="$PWD/$venv/bin/hf"
fi

if [ -z "${OLAH_BIN:-}" ]; then
  venv=bench/work/venv-olah
  if [ ! -x "$venv/bin/olah-cli" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "olah==0.5.4"
  fi
  export OLAH_BIN="$PWD/$venv/bin/olah-cli"
fi

cargo build --release -p hfget -p hub-emulator
exec python3 bench/bench.py "$@"
