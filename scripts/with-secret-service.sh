#!/usr/bin/env bash
# Run a command inside a private D-Bus session bus that has an unlocked gnome-keyring
# (org.freedesktop.secrets), so the real-keyring tests of hfget can run on a headless machine
# or in CI. Exit status is the command's. The recipe and its pitfalls are in
# ../shared/reference/rust-stack.md §1.6–1.7.
#
# usage: scripts/with-secret-service.sh <command> [args...]
#   e.g. scripts/with-secret-service.sh env HFGET_TEST_SECRET_SERVICE=1 cargo test --test it auth
# needs (Debian 12): apt-get install -y --no-install-recommends dbus gnome-keyring libsecret-tools
set -euo pipefail

for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "with-secret-service.sh: $tool is missing; install: apt-get install -y --no-install-recommends dbus gnome-keyring libsecret-tools" >&2
    exit 127
  fi
done
if [ "$#" -eq 0 ]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

KR_TMP="$(mktemp -d)"
trap 'rm -rf "$KR_TMP"' EXIT
# Exported before the bus starts, so that dbus-daemon (and any daemon it activates) sees the
# same keyring location: a fresh login keyring every run (pitfall 3: a keyring created with
# another password stays locked). HOME stays as is: cargo and rustup live under it (pitfall 6).
export XDG_DATA_HOME="$KR_TMP/data" XDG_CACHE_HOME="$KR_TMP/cache"
mkdir -p "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
# A bus, always (pitfall 2: the upstream CI recipe relies on a user session bus we do not have).
dbus-run-session -- bash -c '
  set -euo pipefail
  # --foreground keeps the daemon our child, so we can stop it (pitfall 5: leaked daemons).
  # printf %s: no trailing newline (pitfall 3); the fresh XDG_DATA_HOME means the login
  # keyring is created with exactly this password and left unlocked.
  printf %s hfget-test-keyring-pw | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
  kr_pid=$!
  trap "kill $kr_pid 2>/dev/null || true" EXIT
  # Wait (max 5 s) until the daemon owns org.freedesktop.secrets; a client that asks earlier
  # makes dbus-daemon activate a second, locked daemon (pitfall 4).
  for _ in $(seq 50); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
        | grep -q "boolean true"; then
      break
    fi
    sleep 0.1
  done
  "$@"
' with-secret-service "$@"
