#!/usr/bin/env python3
"""Two machines sharing one hfget cache on GlusterFS: the figures of BENCHMARKS.md's "GlusterFS"
section. Run by bench/gluster.sh, which sets up the volume (bench/gluster-rig.sh) and passes its
folder. One 1 GB LFS file from the emulator's own CDN (25 MB/s per connection, as case 7 of
bench.py); machine A mounts the volume in the server's network namespace (m1), machine B from
another one (m2) and runs in its own pid and UTS namespaces (`unshare`), so A's pids mean
nothing to it. The CDN's bytes come from the emulator's counters. bench/gluster.sh runs this in
the volume server's network namespace (its loopback carries the emulator's traffic).

Cases, `--runs` times each (medians; alternating, a fresh cache folder each run):
- plain: one run on A alone (the baseline of the same run);
- concurrent: A and B at once: CDN bytes / file, target <= 1.10;
- kill: A, then B 1 s later; A is `kill -9`ed once the CDN has sent 40 % of the file; B must
  finish within one plain download's time + 10 s of the kill, and the CDN send <= 1.15 x.
Default lease timeout (30 s): a waiter that waited for the lease would miss the target.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as B  # noqa: E402

SIZE = 1_000_000_000


HFGET_ARGS = []


def hfget_cmd(machine):
    cmd = [str(B.HFGET), "download", "bench/shared", "--quiet"] + HFGET_ARGS
    if machine == "B":
        cmd = ["unshare", "--pid", "--fork", "--uts", "--mount-proc", "--kill-child", "--"] + cmd
    return cmd


def start(emu, rig, machine, hub, home):
    env = B.tool_env(emu.url, home)
    env["HF_HUB_CACHE"] = str(rig / ("m1" if machine == "A" else "m2") / hub)
    return subprocess.Popen(hfget_cmd(machine), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, what):
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{what}: exit {proc.returncode}: {err}")


def check(rig, hub):
    """The blob as a third look at the volume sees it (through m1, after the runs)."""
    blobs = rig / "m1" / hub / "models--bench--shared" / "blobs"
    names = [p.name for p in blobs.iterdir()]
    leftovers = [n for n in names if "." in n]
    blob = [n for n in names if "." not in n]
    if len(blob) != 1 or leftovers:
        raise SystemExit(f"{hub}: blobs/ holds {names}")
    if B.sha256_of(blobs / blob[0]) != blob[0]:
        raise SystemExit(f"{hub}: the blob does not match its hash")


def plain(emu, rig, hub, home):
    emu.reset()
    t = time.monotonic()
    finish(start(emu, rig, "A", hub, home), "plain")
    wall = time.monotonic() - t
    return wall, emu.counters()["cdn_bytes"] / SIZE


def concurrent(emu, rig, hub, home):
    emu.reset()
    t = time.monotonic()
    a, b = start(emu, rig, "A", hub, home), start(emu, rig, "B", hub, home)
    finish(a, "concurrent A")
    finish(b, "concurrent B")
    return time.monotonic() - t, emu.counters()["cdn_bytes"] / SIZE


def kill(emu, rig, hub, home):
    emu.reset()
    a = start(emu, rig, "A", hub, home)
    time.sleep(1)
    b = start(emu, rig, "B", hub, home)
    deadline = time.monotonic() + 600
    while emu.counters()["cdn_bytes"] < 0.4 * SIZE:
        if time.monotonic() > deadline or a.poll() is not None:
            raise SystemExit("kill: machine A ended or made no progress")
        time.sleep(0.01)
    a.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    a.wait()
    at_kill = emu.counters()["cdn_bytes"]
    finish(b, "kill B")
    total = emu.counters()["cdn_bytes"]
    print(f"  kill: A had been sent {at_kill / SIZE:.3f} x the file, B {(total - at_kill) / SIZE:.3f} x",
          flush=True)
    return time.monotonic() - killed, total / SIZE


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rig", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hfget-args", default="", help="extra hfget arguments, e.g. '--connections 8'")
    args = parser.parse_args()
    HFGET_ARGS.extend(args.hfget_args.split())
    B.WORK.mkdir(parents=True, exist_ok=True)
    home = B.WORK / "gluster-home"
    home.mkdir(exist_ok=True)
    spec = {"range_binding": "exact_when_ranged", "cdn_connection_bytes_per_sec": 25_000_000,
            "repos": [B.repo("bench/shared", [("model.safetensors", 231, SIZE)], True)]}
    emu = B.Emulator(spec, "gluster")
    results = {"plain": [], "concurrent": [], "kill": []}
    try:
        for run in range(args.runs):
            for name, case in [("plain", plain), ("concurrent", concurrent), ("kill", kill)]:
                hub = f"hub-{name}-{run}"
                wall, ratio = case(emu, args.rig, hub, home)
                check(args.rig, hub)
                subprocess.run(["rm", "-rf", str(args.rig / "m1" / hub)], check=True)
                results[name].append((wall, ratio))
                print(f"run {run + 1} {name}: {wall:.1f} s, CDN {ratio:.3f} x the file", flush=True)
    finally:
        emu.stop()
    med = {k: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v),
               min(r for _, r in v), max(r for _, r in v), min(w for w, _ in v), max(w for w, _ in v))
           for k, v in results.items()}
    machine = B.machine_description()
    print()
    print(f"Machine: {machine['cpu']}, {machine['memory']}, kernel {machine['kernel']}; hfget {B.git_head()}")
    print(f"hfget arguments: {' '.join(HFGET_ARGS) or '(defaults)'}")
    print(f"GlusterFS: {subprocess.run(['glusterfs', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}")
    print()
    print("| case | wall (median, range) | CDN bytes / file (median, range) | target | met |")
    print("|---|---|---|---|---|")
    p, c, k = med["plain"], med["concurrent"], med["kill"]
    print(f"| plain: one run on machine A (baseline) | {p[0]:.1f} s ({p[4]:.1f}–{p[5]:.1f}) | {p[1]:.3f} ({p[2]:.3f}–{p[3]:.3f}) | — | — |")
    print(f"| concurrent: A and B at once | {c[0]:.1f} s ({c[4]:.1f}–{c[5]:.1f}) | {c[1]:.3f} ({c[2]:.3f}–{c[3]:.3f}) | CDN ≤ 1.10 | {'yes' if c[3] <= 1.10 else 'no'} |")
    limit = p[0] + 10
    print(f"| kill -9 of A at 40 % sent, B waiting: B done after the kill | {k[0]:.1f} s ({k[4]:.1f}–{k[5]:.1f}) | {k[1]:.3f} ({k[2]:.3f}–{k[3]:.3f}) | ≤ plain + 10 s = {limit:.1f} s, CDN ≤ 1.15 | {'yes' if k[5] <= limit and k[3] <= 1.15 else 'no'} |")


if __name__ == "__main__":
    sys.exit(main())
