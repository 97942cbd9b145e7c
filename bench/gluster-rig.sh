#!/usr/bin/env bash
# A GlusterFS replica-2 volume mounted twice, as tests/it/common/gluster.rs sets it up, for
# bench/gluster.sh: `gluster-rig.sh up DIR` and `gluster-rig.sh down DIR`. Everything lives in
# DIR and in two network namespaces named after DIR's rig number; glusterd's entries in its
# own folders (/var/lib/glusterd, /run/gluster) that it makes whatever its options say are
# removed at `down`. Root only.
set -euo pipefail
cmd=$1 dir=$(realpath -m "$2")
n=${GLUSTER_RIG_NUMBER:-7}
srv=hfget-glb-$n-srv cli=hfget-glb-$n-cli ip=10.232.$n.1 cip=10.232.$n.2
g() { gluster --mode=script --glusterd-sock="$dir/glusterd.socket" --log-file="$dir/log/cli.log" "$@"; }
case $cmd in
up)
  mkdir -p "$dir"/{work,run,log,brick1,brick2,m1,m2}
  find /var/lib/glusterd /run/gluster -maxdepth 2 2>/dev/null | sort > "$dir/state-before"
  ip netns add $srv; ip netns add $cli
  ip link add hgb${n}s type veth peer name hgb${n}c
  ip link set hgb${n}s netns $srv; ip link set hgb${n}c netns $cli
  ip -n $srv addr add $ip/30 dev hgb${n}s; ip -n $cli addr add $cip/30 dev hgb${n}c
  for ns in $srv $cli; do ip -n $ns link set lo up; done
  ip -n $srv link set hgb${n}s up; ip -n $cli link set hgb${n}c up
  cat > "$dir/glusterd.vol" <<VOL
volume management
    type mgmt/glusterd
    option working-directory $dir/work
    option run-directory $dir/run
    option logging-directory $dir/log
    option glusterd-sockfile $dir/glusterd.socket
    option transport-type socket
    option transport.socket.bind-address $ip
    option ping-timeout 0
    option event-threads 1
end-volume
VOL
  nsenter --net=/run/netns/$srv glusterd -N -f "$dir/glusterd.vol" -p "$dir/glusterd.pid" \
    -l "$dir/log/glusterd.log" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 300); do g volume list >/dev/null 2>&1 && break; sleep 0.1; done
  g volume create gv0 replica 2 $ip:"$dir/brick1" $ip:"$dir/brick2" force >/dev/null
  g volume start gv0 >/dev/null
  for m in m1:$srv m2:$cli; do
    nsenter --net=/run/netns/${m#*:} glusterfs --process-name fuse --volfile-server=$ip \
      --volfile-id=gv0 --log-file="$dir/log/${m%%:*}.log" --pid-file="$dir/${m%%:*}.pid" "$dir/${m%%:*}"
  done
  for _ in $(seq 100); do
    echo rig > "$dir/m1/.rig" 2>/dev/null && [ "$(cat "$dir/m2/.rig" 2>/dev/null)" = rig ] && break
    sleep 0.1
  done
  rm -f "$dir/m1/.rig"
  ;;
down)
  for m in m1 m2; do umount "$dir/$m" 2>/dev/null || umount -l "$dir/$m" 2>/dev/null || true; done
  g --timeout=30 volume stop gv0 force >/dev/null 2>&1 && g --timeout=30 volume delete gv0 >/dev/null 2>&1 || true
  pids=$(cat "$dir"/m1.pid "$dir"/m2.pid "$dir/glusterd.pid" $(find "$dir/run" -name '*.pid') 2>/dev/null || true)
  for p in $pids; do kill $p 2>/dev/null || true; done
  sleep 1
  for p in $pids; do kill -9 $p 2>/dev/null || true; done
  for ns in $srv $cli; do
    for p in $(ip netns pids $ns 2>/dev/null); do kill -9 $p 2>/dev/null || true; done
    ip netns del $ns 2>/dev/null || true
  done
  # What glusterd made in its own folders: empty folders and files, dead sockets.
  find /var/lib/glusterd /run/gluster -maxdepth 2 2>/dev/null | sort > "$dir/state-after"
  comm -13 "$dir/state-before" "$dir/state-after" | sort -r | while read -r p; do
    if [ -d "$p" ]; then rmdir "$p" 2>/dev/null || true
    elif [ -f "$p" ] && [ ! -s "$p" ]; then rm -f "$p"
    elif [ -S "$p" ] && ! python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$p" 2>/dev/null; then
      rm -f "$p"  # nobody listens: one of this rig's bricks
    fi
  done
  rm -rf "$dir"
  ;;
esac
