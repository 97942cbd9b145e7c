#!/usr/bin/env bash
# BENCHMARKS.md's "GlusterFS" rows: two machines sharing one cache on a GlusterFS replica-2
# volume (bench/gluster-rig.sh), one 1 GB file; see bench/gluster.py for the cases. Root only;
# installs glusterfs-server and glusterfs-client when missing. Extra arguments go to
# bench/gluster.py (--runs N).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v glusterd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends glusterfs-server glusterfs-client >/dev/null
fi
cargo build --release --locked -p hfget -p hub-emulator
rig=$(mktemp -d /tmp/hfget-gluster-bench-XXXXXX)
trap 'bench/gluster-rig.sh down "$rig"' EXIT
bench/gluster-rig.sh up "$rig"
# Everything runs in the server's network namespace, on its own loopback: the emulator, both
# machines' hfget (machine B reaches the volume through m2, whose client is in the other
# namespace), so nothing the host's loopback carries (or a qdisc on it) is in the figures.
nsenter --net=/run/netns/hfget-glb-${GLUSTER_RIG_NUMBER:-7}-srv python3 bench/gluster.py "$rig" "$@"
