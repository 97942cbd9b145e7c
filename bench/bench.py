#!/usr/bin/env python3
"""hfget benchmarks (issues #5 and #9): hfget, curl, aria2c and `hf download` side by side.

Run through bench/run.sh, which installs the tools and builds the release binaries first.
Everything lives under bench/work (gitignored): scenarios, the blobs nginx serves, the download
targets, olah's caches, raw results.

Hub = the hub-emulator (release build). CDN = nginx serving the blobs exported by
`hub-emulator export-blobs` (uncapped cases), or the emulator's own CDN origin where issue #9's
conditions need it (per-connection caps, one slow connection), or olah 0.5.4 (a real
pull-through mirror) in front of the emulator. Wall times are medians; peak RSS and user+sys
CPU come from `/usr/bin/time -v`; resolves and 429s from the emulator's counters
(`GET /_emulator/counters`, reset before every run).
"""

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import xet as xet_cases  # bench/xet.py: the Xet rig and its cases

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
HFGET = TARGET / "release" / "hfget"
EMULATOR = TARGET / "release" / "hub-emulator"
HF = Path(os.environ.get("HF_BIN", "/tmp/hfvenv/bin/hf"))
OLAH = Path(os.environ.get("OLAH_BIN", str(WORK / "venv-olah" / "bin" / "olah-cli")))
GB = 1_000_000_000
MB = 1_000_000
TOOLS = []
SCALE = 1.0  # --scale: shrink every file for a smoke test of this script


def size(n):
    return max(4096, int(n * SCALE))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def repo(repo_id, files, lfs):
    return {
        "type": "model",
        "id": repo_id,
        "commits": [
            {
                "files": [
                    {"path": p, "content": {"seed": seed, "size": n}, "lfs": lfs}
                    for p, seed, n in files
                ]
            }
        ],
    }


# ------------------------------------------------------------------------------------------
# Processes: the emulator, nginx, olah


class Emulator:
    def __init__(self, spec, name):
        path = WORK / f"{name}.json"
        path.write_text(json.dumps(spec, indent=1))
        hub, cdn = free_port(), free_port()
        self.proc = subprocess.Popen(
            [EMULATOR, "--scenario", path, "--port", str(hub), "--cdn-port", str(cdn)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("HF_ENDPOINT="):
            raise SystemExit(f"the emulator did not start: {line!r}")
        self.url = line.split("=", 1)[1]
        self.cdn_url = f"http://127.0.0.1:{cdn}"

    def counters(self):
        with urllib.request.urlopen(f"{self.url}/_emulator/counters") as r:
            return json.load(r)

    def reset(self):
        req = urllib.request.Request(f"{self.url}/_emulator/reset", method="POST", data=b"")
        urllib.request.urlopen(req).read()

    def location(self, path):
        """The signed CDN URL a Range-less resolve of `path` redirects to."""
        req = urllib.request.Request(f"{self.url}/{path}", method="HEAD")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(req)
        except urllib.error.HTTPError as e:
            if e.code == 302:
                return e.headers["Location"]
            raise
        raise SystemExit(f"{path}: no redirect")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


class Nginx:
    def __init__(self, root, name="nginx", access_log=None):
        self.port = free_port()
        prefix = WORK / name
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "logs").mkdir(exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            f"""user root;
worker_processes 2;
error_log {prefix}/logs/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    {"access_log off;" if access_log is None else "log_format sent '$request_uri $status $bytes_sent'; access_log " + str(access_log) + " sent;"}
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
    }}
}}
"""
        )
        self.proc = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"])
        wait_listening(self.port)
        self.url = f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self):
        """User+system CPU its workers used so far. On loopback the CDN shares the client's
        cores, and where the kernel does nginx's TCP sending (in nginx's time slices, or in the
        client's when the client's reads release the window) moves whole tenths of a second
        between the two: a single-threaded client like curl is much faster in the first case."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return None
        for child in children:
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(timeout=10)


def wait_listening(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


class Olah:
    """olah 0.5.4 in front of an emulator, with a fresh cache (the same TOML as tests/it/common/olah.rs)."""

    def __init__(self, emulator, name):
        self.port = free_port()
        self.dir = WORK / f"olah-{name}"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        hub = emulator.url.split("://")[1]
        cdn = emulator.cdn_url.split("://")[1]
        (self.dir / "olah.toml").write_text(
            f"""[basic]
host = "127.0.0.1"
port = {self.port}
repos-path = "{self.dir / 'repos'}"
hf-scheme = "http"
hf-netloc = "{hub}"
hf-lfs-netloc = "{cdn}"
mirror-scheme = "http"
mirror-netloc = "127.0.0.1:{self.port}"
mirror-lfs-netloc = "127.0.0.1:{self.port}"

[accessibility]
offline = false
"""
        )
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.dir),
               "NO_PROXY": "127.0.0.1,localhost", "GIT_PYTHON_REFRESH": "quiet"}
        self.log = open(self.dir / "olah.out", "w")
        self.proc = subprocess.Popen([OLAH, "--config", self.dir / "olah.toml"], cwd=self.dir, env=env,
                                     stdout=self.log, stderr=self.log)
        wait_listening(self.port)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()


# ------------------------------------------------------------------------------------------
# Measuring


CONGESTION_CONTROL = Path("/proc/sys/net/ipv4/tcp_congestion_control")


def timer_interrupts():
    """Local timer interrupts so far, all cores (`LOC` in /proc/interrupts). An idle machine
    takes about 50 a second. With BBR as the congestion control, nginx's sockets pace their
    sends with a high-resolution timer, and on loopback those timers fire on the client's own
    cores: a run of (1) then takes about 31000 of them against about 500 with cubic, and the
    sends they trigger run there too (measured at stop 19: every tool's CPU rose by 0.75-0.8 s
    per run). A remote CDN paces on its own machine."""
    try:
        for line in Path("/proc/interrupts").read_text().splitlines():
            fields = line.split()
            if fields and fields[0] == "LOC:":
                return sum(int(f) for f in fields[1:1 + os.cpu_count()] if f.isdigit())
    except OSError:
        pass
    return None


def congestion_control(wanted):
    """The TCP congestion control for this run: the machine's, or `wanted` (set for the run,
    needs root; new sockets, nginx's included, take it). The previous value, to restore."""
    current = CONGESTION_CONTROL.read_text().strip() if CONGESTION_CONTROL.exists() else "unknown"
    if not wanted or wanted == current:
        return current, None
    try:
        CONGESTION_CONTROL.write_text(wanted + "\n")
    except OSError as e:
        sys.exit(f"--tcp-cc {wanted}: cannot set net.ipv4.tcp_congestion_control ({e}); run as root")
    return wanted, current


def timed(cmd, env=None, cwd=None, timeout=None):
    """One run: wall, peak RSS (MiB), user+sys CPU (s), ok, and the end of stderr. A run past
    `timeout` is killed with its whole process group and counts as failed."""
    stats = WORK / "time.txt"
    stats.unlink(missing_ok=True)
    errfile = WORK / "stderr.txt"
    full = ["/usr/bin/time", "-v", "-o", str(stats)] + [str(c) for c in cmd]
    start = time.perf_counter()
    with open(errfile, "w") as err:
        proc = subprocess.Popen(full, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
        # A blocking wait, with the timeout on a timer thread: `Popen.wait(timeout=…)` polls
        # with sleeps of up to 50 ms, which rounded every wall time up to the next poll (+25 ms
        # on average: a 1.42 s run measured 1.47 s).
        expired = threading.Event()

        def kill():
            expired.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended meanwhile

        killer = threading.Timer(timeout, kill) if timeout else None
        if killer:
            killer.start()
        code = proc.wait()
        wall = time.perf_counter() - start
        if killer:
            killer.cancel()
        ok, why = (False, f"timed out after {timeout} s; ") if expired.is_set() else (code == 0, "")
    full_stderr = errfile.read_text(errors="replace")
    stderr = why + full_stderr[-2000:]
    engine = [engine_summary(line) for line in full_stderr.splitlines() if "every byte in after" in line]
    rss = cpu = 0.0
    if stats.exists():
        for line in stats.read_text().splitlines():
            if "Maximum resident set size" in line:
                rss = int(line.split(":")[1]) / 1024
            elif "User time (seconds)" in line or "System time (seconds)" in line:
                cpu += float(line.split(":")[1])
    return {"wall": wall, "rss": rss, "cpu": cpu, "ok": ok, "stderr": stderr, "engine": engine}


def engine_summary(line):
    """hfget's `-v` summary of one large file: `NAME: every byte in after 1.23 s, hashed 0.45 s
    later; … N segment requests, M segments, at most P connections at once`."""
    import re
    def num(pattern):
        m = re.search(pattern, line)
        return float(m.group(1)) if m else None
    return {"bytes_in": num(r"every byte in after ([0-9.]+) s"), "hash_after": num(r"hashed ([0-9.]+) s later"),
            "requests": num(r"([0-9]+) segment requests"), "peak": num(r"at most ([0-9]+) connections")}

def sync():
    subprocess.run(["sync"], check=True)


def tool_env(endpoint, home):
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),
        "HF_ENDPOINT": endpoint,
        "HF_HUB_DISABLE_XET": "1",  # the emulator has no Xet CAS (its README)
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HFGET_KEYRING": "none",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def check_outputs(out, files, expected_sha, deep):
    """Every expected file exists somewhere under `out` with the right size (and hash if deep)."""
    found = {}
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found.setdefault(path.stat().st_size, []).append(path)
    for name, _seed, n in files:
        if n not in found:
            return f"no file of {n} bytes for {name}"
    if deep:
        shas = {sha256_of(p) for ps in found.values() for p in ps}
        missing = set(expected_sha) - shas
        if missing:
            return f"wrong content, missing sha256 {sorted(missing)[:2]}"
    return None


def fresh(*dirs):
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    sync()


class Results:
    def __init__(self):
        self.rows = []  # (case, tool, [sample dicts])

    def add(self, case, tool, samples):
        self.rows.append((case, tool, samples))

    def samples(self, case, tool):
        for c, t, s in self.rows:
            if c == case and t == tool:
                return s
        return None

    def median(self, case, tool, key="wall"):
        s = self.samples(case, tool)
        if not s or not all(x["ok"] for x in s):
            return None
        return statistics.median(x[key] for x in s)


def run_tools(case, tools, runs, results, emulator=None, files=None, shas=None, out=None, home=None,
              timeout=None, runs_for=None, server=None):
    """Runs every tool `runs` times (fresh folders, counters reset) and records the samples."""
    out = out or WORK / "out"
    home = home or WORK / "home"
    tools = with_previous_build(tools)
    samples = {t: [] for t in tools}
    for run in range(runs):
        for tool, (cmd, env) in tools.items():
            if runs_for and run >= runs_for.get(tool, runs):
                continue
            if any(x["stderr"].startswith("timed out") for x in samples[tool]):
                continue  # one timeout is the answer; do not spend the budget on more
            fresh(out, home)
            if emulator:
                emulator.reset()
            # Counters read around each run of an uncapped case: what it cost outside the tool.
            counters = {"server_cpu": server.cpu_seconds, "timer_irqs": timer_interrupts} if server else {}
            before = {name: read() for name, read in counters.items()}
            s = timed(cmd(run) if callable(cmd) else cmd, env=env, timeout=timeout)
            for name, read in counters.items():
                after = read()
                if before[name] is not None and after is not None:
                    s[name] = after - before[name]
            if emulator:
                c = emulator.counters()
                s["resolves"], s["r429"] = c["resolves"], c["rate_limited"]
            if s["ok"] and files:
                problem = check_outputs(out, files, shas or [], deep=(run == 0 and shas is not None))
                if problem:
                    s["ok"], s["stderr"] = False, problem
            samples[tool].append(s)
            extra = f"  resolves {s.get('resolves', '-')}, 429s {s.get('r429', '-')}" if emulator else ""
            if "server_cpu" in s:
                extra += f", nginx cpu {s['server_cpu']:.2f} s"
            if "timer_irqs" in s:
                extra += f", {s['timer_irqs']} timer interrupts"
            state = "" if s["ok"] else f"  FAILED: {s['stderr'][-300:]!r}"
            print(f"  ({case}) {tool:24} run {run + 1}: {s['wall']:7.2f} s  cpu {s['cpu']:6.2f} s  "
                  f"{s['rss']:6.0f} MiB{extra}{state}", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    sync()
    for tool, s in samples.items():
        results.add(case, tool, s)


def lfs_shas(endpoint, repo_id):
    """name → sha256 from the Hub's own listing (what every client verifies against)."""
    with urllib.request.urlopen(f"{endpoint}/api/models/{repo_id}/tree/main?recursive=true") as r:
        entries = json.load(r)
    return {e["path"]: e["lfs"]["oid"] for e in entries if e.get("lfs")}


def with_previous_build(tools):
    """With HFGET_BEFORE=/path/to/an/older/hfget, every hfget row gets a twin run with that binary,
    interleaved run by run: a regression check side by side, in one run."""
    before = os.environ.get("HFGET_BEFORE")
    if not before or "hfget" not in tools:
        return tools
    cmd, env = tools["hfget"]
    swap = lambda argv: [before if a == HFGET else a for a in argv]
    twin = (lambda run: swap(cmd(run))) if callable(cmd) else swap(cmd)
    # HFGET_BEFORE_FIRST=1 runs the previous build first in each pair, to tell order from change.
    first = os.environ.get("HFGET_BEFORE_FIRST") == "1"
    out = {}
    for name, entry in tools.items():
        if name == "hfget" and first:
            out["hfget (previous build)"] = (twin, env)
        out[name] = entry
        if name == "hfget" and not first:
            out["hfget (previous build)"] = (twin, env)
    return out


def only(tools):
    return {t: c for t, c in tools.items() if not TOOLS or t in TOOLS}


# ------------------------------------------------------------------------------------------
# The cases


def large_tools(repo_id, files, shas, endpoint, nginx, out, home, extra, names=()):
    """`names`: the files hfget and hf take from the repo (all of it when empty)."""
    urls = [f"{nginx.url}/repos/{s[0:2]}/{s[2:4]}/{s}" for s in shas]
    list_file = WORK / "aria2.txt"
    list_file.write_text("".join(f"{u}\n  out={n.replace('/', '_')}\n" for u, (n, _, _) in zip(urls, files)))
    env = tool_env(endpoint, home)
    curl = ["curl", "-s", "-f", "--parallel", "--parallel-max", "32"]
    for url, (name, _, _) in zip(urls, files):
        curl += ["-o", str(out / name.replace("/", "_")), url]
    # What verifying costs with standard tools: curl, then every file's SHA-256 at once with
    # openssl (SHA-NI; coreutils' sha256sum took 2.66 s per GB here against openssl's 0.65 s).
    checks = " ".join(
        f"(openssl dgst -sha256 -r {shlex.quote(str(out / name.replace('/', '_')))} | grep -q '^{sha} ') & pids+=($!);"
        for (name, _, _), sha in zip(files, shas))
    verified = ["bash", "-c", f"set -e; {shlex.join(curl)}; pids=(); {checks} for p in \"${{pids[@]}}\"; do wait $p; done"]
    return only({
        # `-v` (stderr goes to a file): the engine's summary per file (connections, requests).
        "hfget": ([HFGET, "download", repo_id, *names, "--cache-dir", out, "-v"] + extra, env),
        "hf download": ([HF, "download", repo_id, *names, "--cache-dir", out], env),
        "curl": (curl, env),
        "curl + openssl sha256": (verified, env),
        "aria2c -x16 -s16": (["aria2c", "-x16", "-s16", "--file-allocation=falloc", "-d", out, "-i", list_file,
                              "--console-log-level=warn", "--summary-interval=0", "--download-result=hide", "-q"], env),
    })


def hub_tools(repo_id, names, endpoint, out, home, extra, aria_urls=None, aria_x=16):
    """hfget and hf through the Hub; curl one stream per file through the Hub's redirects;
    aria2c -x16 on the given URLs (default: the Hub's resolve URLs)."""
    env = tool_env(endpoint, home)
    resolve = [f"{endpoint}/{repo_id}/resolve/main/{n}" for n in names]
    curl = ["curl", "-s", "-f", "-L", "--parallel", "--parallel-max", "64"]
    for url, n in zip(resolve, names):
        curl += ["-o", str(out / n.replace("/", "_")), url]
    list_file = WORK / "aria2-hub.txt"
    list_file.write_text("".join(f"{u}\n  out={n.replace('/', '_')}\n" for u, n in zip(aria_urls or resolve, names)))
    return only({
        "hfget": ([HFGET, "download", repo_id] + names + ["--cache-dir", out, "-v"] + extra, env),
        "hf download": ([HF, "download", repo_id] + names + ["--cache-dir", out], env),
        "curl": (curl, env),
        f"aria2c -x{aria_x} -s{aria_x}": (["aria2c", f"-x{aria_x}", f"-s{aria_x}", "-j", "64",
                                           "--file-allocation=falloc", "-d", out, "-i", list_file,
                                           "--console-log-level=warn", "--summary-interval=0",
                                           "--download-result=hide", "-q"], env),
    })


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", default="1,10,3,4,5,6,7,8,9,x1,x3,xr",
                        help="x1, x3, xr: hfget against hf with Xet (bench/xet.py)")
    parser.add_argument("--hfget-args", default="", help="extra flags for hfget download (tuning)")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--tools", default="", help="only these tools (comma-separated)")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every file (smoke test)")
    parser.add_argument("--note", default="", help="a sentence for BENCHMARKS.md (e.g. machine load)")
    parser.add_argument("--tcp-cc", default="", help="TCP congestion control for the run (e.g. cubic; "
                        "needs root; restored afterwards); default: the machine's")
    args = parser.parse_args()
    cc, restore_cc = congestion_control(args.tcp_cc)
    try:
        return run_benchmark(args, cc, restore_cc)
    finally:
        if restore_cc:
            CONGESTION_CONTROL.write_text(restore_cc + "\n")


def run_benchmark(args, cc, restore_cc):
    global SCALE
    SCALE = args.scale
    cases = set(args.cases.split(","))
    extra = args.hfget_args.split()
    TOOLS.extend(t for t in args.tools.split(",") if t)
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.time()
    runs = args.runs
    slow_runs = 1  # single-stream tools on capped links (~40 s): one run each

    big = [(f"model-{i}.safetensors", 100 + i, size(GB)) for i in range(2)]
    medium = [(f"shard-{i:02}.bin", 200 + i, size(50 * MB)) for i in range(20)]
    small = [(f"data/{i // 100:02}/item-{i:04}.json", 1000 + i, 4096) for i in range(1000)]
    capped_file = [("model.bin", 300, size(GB))]

    nginx = Nginx(WORK / "cdn")
    large_repos = [repo("bench/two-1gb", big, True), repo("bench/twenty-50mb", medium, True)]
    stamp = WORK / "cdn-exported.json"
    fingerprint = json.dumps(large_repos)
    if not stamp.exists() or stamp.read_text() != fingerprint:
        print("exporting blobs for nginx …", flush=True)
        shutil.rmtree(WORK / "cdn", ignore_errors=True)
        (WORK / "export.json").write_text(json.dumps({"repos": large_repos}))
        subprocess.run([EMULATOR, "export-blobs", "--scenario", WORK / "export.json", "--out", WORK / "cdn"],
                       check=True, stdout=subprocess.DEVNULL)
        stamp.write_text(fingerprint)
    # The origin's blobs stay in the page cache (the CDN's disk is not what is measured); the
    # targets are synced before every run so no run pays for the previous one's writeback.
    sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        dropped = True
    except OSError:
        dropped = False
    for p in (WORK / "cdn" / "repos").rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                while f.read(1 << 24):
                    pass

    results = Results()
    machine = machine_description()
    info = {"drop_caches": dropped, "runs": runs, "hfget_args": args.hfget_args, "note": args.note,
            "scale": SCALE, "loadavg_before": os.getloadavg(),
            "tcp_cc": cc + (f" (set for this run; the machine's is {restore_cc})" if restore_cc else
                            " (the machine's)")}
    out, home = WORK / "out", WORK / "home"

    # (1), (10), (2), (6): nginx behind the Hub's signed 302s.
    if cases & {"1", "2", "6", "10"}:
        large = Emulator({"cdn_base_url": nginx.url, "repos": large_repos}, "large")
        try:
            shas = {r["id"]: lfs_shas(large.url, r["id"]) for r in large_repos}
            info.update(measure_machine(nginx, shas["bench/two-1gb"]["model-0.safetensors"]))
            print(f"machine: {machine['cpu']}; dd {info['dd_cached']:.0f} MB/s (page cache); "
                  f"nginx one stream {info['nginx_one_stream']:.0f} MB/s", flush=True)
            # (10): one of (1)'s files alone, the commonest download of all.
            for case, repo_id, files, names in [("1", "bench/two-1gb", big, ()),
                                                ("10", "bench/two-1gb", big[:1], (big[0][0],)),
                                                ("2", "bench/twenty-50mb", medium, ())]:
                if case in cases:
                    expected = [shas[repo_id][n] for n, _, _ in files]
                    tools = large_tools(repo_id, files, expected, large.url, nginx, out, home, extra, names)
                    run_tools(case, tools, runs, results, large, files, expected, out, home, timeout=300,
                              server=nginx)
        finally:
            large.stop()
        if "6" in cases:
            # (6) The same 2 GB under a quota of 40 resolves per 300 s. One run per tool: each run
            # starts a fresh window (the counters' reset). curl and aria2c go through the Hub's
            # redirects here so that they pay resolves too.
            quota = Emulator({"cdn_base_url": nginx.url, "resolver_quota": {"quota": 40, "window_secs": 300},
                              "repos": large_repos[:1]}, "quota")
            try:
                names = [n for n, _, _ in big]
                tools = hub_tools("bench/two-1gb", names, quota.url, out, home, extra)
                tools["hfget"] = ([HFGET, "download", "bench/two-1gb", "--cache-dir", out, "-v"] + extra,
                                  tool_env(quota.url, home))
                tools["hf download"] = ([HF, "download", "bench/two-1gb", "--cache-dir", out],
                                        tool_env(quota.url, home))
                run_tools("6", tools, 1, results, quota, big, None, out, home, timeout=240)
            finally:
                quota.stop()

    # (7), (8): the emulator's own CDN, 25 MB/s per connection; (8) adds one slow connection.
    for case, slow in [("7", None), ("8", {"nth": 3, "bytes_per_sec": 1_000_000})]:
        if case not in cases:
            continue
        spec = {"range_binding": "exact_when_ranged", "cdn_connection_bytes_per_sec": 25_000_000,
                "repos": [repo("bench/capped", capped_file, True)]}
        if slow:
            spec["slow_cdn_connection"] = slow
        emu = Emulator(spec, f"capped-{case}")
        try:
            # aria2c gets the signed URL of a Range-less resolve, which serves any range
            # (`exact_when_ranged`, the 2026 binding): it cannot re-resolve per range itself.
            loc = emu.location("bench/capped/resolve/main/model.bin")
            tools = hub_tools("bench/capped", ["model.bin"], emu.url, out, home, extra, aria_urls=[loc])
            if case == "8":
                tools = {t: c for t, c in tools.items() if t in ("hfget", "aria2c -x16 -s16")}
            run_tools(case, tools, runs, results, emu, capped_file, None, out, home, timeout=240,
                      runs_for={"curl": slow_runs, "hf download": slow_runs})
        finally:
            emu.stop()

    # (9): olah 0.5.4 in front of an emulator whose CDN gives 2 MB/s per connection (the
    # upstream); a fresh 50 MB file for every run so olah's cache never helps.
    if "9" in cases:
        if not OLAH.exists():
            print(f"(9) skipped: no olah at {OLAH}", flush=True)
        else:
            n_runs = min(runs, 2)
            names = [f"file-{r}.bin" for r in range(4 * n_runs)]
            files = [(nm, 400 + i, size(50 * MB)) for i, nm in enumerate(names)]
            emu = Emulator({"cdn_connection_bytes_per_sec": 2_000_000,
                            "repos": [repo("bench/mirrored", files, True)]}, "mirror")
            olah = Olah(emu, "bench")
            try:
                env = tool_env(olah.url, home)

                def cmd_for(tool, make):
                    def cmd(run):
                        return make(names.pop(0))
                    return cmd

                tools = only({
                    "hfget": (cmd_for("hfget", lambda nm: [HFGET, "download", "bench/mirrored", nm, "--cache-dir", out, "-q"] + extra), env),
                    "curl (one stream)": (cmd_for("curl", lambda nm: ["curl", "-s", "-f", "-L", "-o", out / nm, f"{olah.url}/bench/mirrored/resolve/main/{nm}"]), env),
                    "hf download": (cmd_for("hf", lambda nm: [HF, "download", "bench/mirrored", nm, "--cache-dir", out]), env),
                    "aria2c -x16 -s16": (cmd_for("aria2c", lambda nm: ["aria2c", "-x16", "-s16", "--file-allocation=falloc", "-d", out, f"{olah.url}/bench/mirrored/resolve/main/{nm}",
                                                                          "--console-log-level=warn", "--summary-interval=0", "--download-result=hide", "-q"]), env),
                })
                run_tools("9", tools, n_runs, results, emu, None, None, out, home, timeout=150,
                          runs_for={"hf download": 1, "aria2c -x16 -s16": 1})
            finally:
                olah.stop()
                emu.stop()

    # (3), (4): 1000 × 4 KiB behind a 40 ms Hub; (4) the rerun on a complete cache.
    if "3" in cases or "4" in cases:
        emu = Emulator({"hub_latency_ms": 40, "repos": [repo("bench/thousand-4k", small, False)]}, "small")
        try:
            run_small_cases(emu, runs, results, [n for n, _, _ in small], extra)
        finally:
            emu.stop()
    # (x1), (x3): hfget against `hf download` with Xet, from a local CAS (bench/xet.py).
    if cases & xet_cases.ALL:
        xet_cases.b = sys.modules[__name__]
        xet_cases.run(cases, runs, results, info, extra)
    if "5" in cases:
        run_version_case(results)
    nginx.stop()
    info["loadavg_after"] = os.getloadavg()
    info["duration_s"] = time.time() - started
    (WORK / "results.json").write_text(json.dumps({"rows": results.rows, "info": info, "machine": machine}, indent=1))
    text = render(results, info, machine)
    print(text)
    if args.output != "-":
        Path(args.output).write_text(text)


def run_small_cases(emu, runs, results, names, extra):
    out, home = WORK / "out-small", WORK / "home"
    tools = hub_tools("bench/thousand-4k", names, emu.url, out, home, extra)
    # hfget and hf take the whole repo; curl and aria2c get the 1000 resolve URLs.
    tools.update(only({
        "hfget": ([HFGET, "download", "bench/thousand-4k", "--cache-dir", out, "-q"] + extra, tool_env(emu.url, home)),
        "hf download": ([HF, "download", "bench/thousand-4k", "--cache-dir", out], tool_env(emu.url, home)),
    }))
    tools = with_previous_build(tools)
    twice = ("hfget", "hfget (previous build)", "hf download")
    fresh_s = {t: [] for t in tools}
    rerun_s = {t: [] for t in twice if t in tools}
    for run in range(runs):
        for tool, (cmd, env) in tools.items():
            if any(not x["ok"] for x in fresh_s[tool]):
                continue  # a failed or timed-out tool is not run again
            if run > 0 and tool not in twice:
                continue  # curl and aria2c: one run each (context, not a target)
            fresh(out, home)
            emu.reset()
            s = timed(cmd, env=env, timeout=120)
            s["resolves"] = emu.counters()["resolves"]
            got = len([p for p in out.rglob("*.json") if p.is_file() or p.is_symlink()])
            if s["ok"] and got < 1000:
                s["ok"], s["stderr"] = False, f"{got} files instead of 1000"
            fresh_s[tool].append(s)
            line = f"  (3) {tool:24} run {run + 1}: fresh {s['wall']:6.2f} s"
            if tool in rerun_s and s["ok"]:
                s2 = timed(cmd, env=env, timeout=120)
                rerun_s[tool].append(s2)
                line += f", rerun {s2['wall']:6.3f} s"
            print(line + ("" if s["ok"] else f"  FAILED {s['stderr'][-200:]!r}"), flush=True)
    for tool, s in fresh_s.items():
        results.add("3", tool, s)
    for tool, s in rerun_s.items():
        results.add("4", tool, s)
    shutil.rmtree(out, ignore_errors=True)


def hyperfine_median(cmd):
    export = WORK / "hyperfine.json"
    subprocess.run(
        ["hyperfine", "-N", "--warmup", "5", "--runs", "100", "--export-json", str(export), cmd],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return json.loads(export.read_text())["results"][0]["times"]


def run_version_case(results):
    for tool, cmd, argv in [("hfget", f"{HFGET} --version", [HFGET, "--version"]),
                            ("hf version", f"{HF} version", [HF, "version"])]:
        times = hyperfine_median(cmd)
        rss = timed(argv)["rss"]
        results.add("5", tool, [{"wall": t, "rss": rss, "cpu": 0.0, "ok": True} for t in times])


def measure_machine(nginx, big_sha):
    """dd write bandwidth into the page cache, and one nginx stream."""
    info = {}
    target = WORK / "dd.bin"
    best = 0.0
    for _ in range(3):
        sync()
        start = time.perf_counter()
        subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", "count=1024"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = max(best, 1024 * (1 << 20) / (time.perf_counter() - start) / 1e6)
        target.unlink()
    info["dd_cached"] = best
    sync()
    url = f"{nginx.url}/repos/{big_sha[0:2]}/{big_sha[2:4]}/{big_sha}"
    speed = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{speed_download}", url],
                           check=True, capture_output=True, text=True).stdout
    info["nginx_one_stream"] = float(speed) / 1e6
    return info


def machine_description():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    sha_ni = "sha_ni" in Path("/proc/cpuinfo").read_text()

    def first_line(cmd, stream="stdout"):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
            return (r.stdout if stream == "stdout" else r.stderr).strip().split("\n")[0]
        except OSError:
            return "not installed"

    versions = {
        "hfget": first_line([HFGET, "--version"]) + f", built from {git_head()}",
        "huggingface_hub": first_line([HF, "version"]).split("version:")[-1].strip(),
        "curl": first_line(["curl", "--version"]),
        "aria2c": first_line(["aria2c", "--version"]),
        "nginx": first_line(["nginx", "-v"], "stderr"),
        "olah": "0.5.4 (PyPI)" if OLAH.exists() else "not installed",
    }
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores{' (SHA-NI)' if sha_ni else ''}",
        "memory": f"{mem} MiB",
        "kernel": platform.release(),
        "versions": versions,
    }


def git_head():
    r = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h"], capture_output=True, text=True)
    return r.stdout.strip()


# ------------------------------------------------------------------------------------------
# BENCHMARKS.md

CASES = {
    "1": "(1) two 1 GB files, uncapped local CDN (nginx)",
    "10": "(10) one 1 GB file, uncapped local CDN (nginx)",
    "2": "(2) twenty 50 MB files, uncapped (nginx)",
    "6": "(6) the same 2 GB under a quota of 40 resolves / 300 s",
    "7": "(7) 1 GB behind a CDN capped at 25 MB/s per connection",
    "8": "(8) (7) with one slow connection (the 3rd, 1 MB/s)",
    "9": "(9) 50 MB behind olah 0.5.4, upstream 2 MB/s per connection",
    "3": "(3) 1000 × 4 KiB, 40 ms per Hub request",
    "4": "(4) rerun of (3), complete cache",
    "5": "(5) `--version` start-up",
}


def fmt_time(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def issue23_targets(results, info):
    """Issue #23 section 3: the engine's targets, each against this run's figures."""
    def r(case, tool, limit):
        h, t = results.median(case, "hfget"), results.median(case, tool)
        if not h or not t:
            return f"{tool}: not measured"
        return f"{h / t:.2f} × {tool} ({'met' if h / t <= limit else 'NOT met'}, target ≤ {limit:.2f})"
    lines = [
        f"- (1) two 1 GB files, congestion control {info['tcp_cc']}: {r('1', 'curl', 1.00)}; "
        f"{r('1', 'curl + openssl sha256', 0.60)}",
    ]
    worst = []
    for case in CASES:
        s = results.samples(case, "hfget")
        if s and case != "5":
            worst.append((case, max(x["rss"] for x in s)))
    if worst:
        over = [f"({c}) {m:.0f} MiB" for c, m in worst if m > 64]
        lines.append("- hfget peak RSS in every case: " + ", ".join(f"({c}) {m:.0f}" for c, m in worst)
                     + f" MiB ({'met' if not over else 'NOT met: ' + ', '.join(over)}, target ≤ 64 MiB)")
    h7, a7 = results.samples("7", "hfget"), results.samples("7", "aria2c -x16 -s16")
    if h7 and a7:
        pairs = [x["wall"] / y["wall"] for x, y in zip(h7, a7) if x["ok"] and y["ok"]]
        lines.append("- (7) every run against the aria2c run next to it: "
                     + ", ".join(f"{p:.2f}" for p in pairs)
                     + f" × aria2c -x16 -s16 ({'met' if pairs and max(pairs) <= 0.80 else 'NOT met'}, "
                       "target ≤ 0.80 in every run)")
    lines.append(f"- (3) 1000 small files: {r('3', 'hf download', 0.10)}")
    return lines


def render(results, info, machine):
    lines = [
        "| case | tool | median wall | runs | hfget / tool | user+sys | peak RSS | resolves | 429s | CPU |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for case, title in CASES.items():
        hfget = results.median(case, "hfget")
        for c, tool, samples in results.rows:
            if c != case or not samples:
                continue
            ok = all(s["ok"] for s in samples)
            walls = [s["wall"] for s in samples]
            median = statistics.median(walls)
            shown = ", ".join(fmt_time(w) + ("" if s["ok"] else " ✗") for w, s in zip(walls, samples)) \
                if len(walls) <= 5 else f"{len(walls)} runs (hyperfine)"
            ratio = "" if tool == "hfget" or not hfget or not ok else f"{hfget / median:.2f}"
            cpu = statistics.median(s["cpu"] for s in samples)
            rss = max(s["rss"] for s in samples)
            res = statistics.median(s["resolves"] for s in samples) if "resolves" in samples[0] else None
            r429 = max(s.get("r429", 0) for s in samples) if "r429" in samples[0] else None
            wall_cell = f"**{fmt_time(median)}**" if ok else f"failed ({fmt_time(median)})"
            lines.append(
                f"| {title} | {tool} | {wall_cell} | {shown} | {ratio} | "
                f"{'' if case == '5' else f'{cpu:.2f} s'} | {rss:.0f} MiB | "
                f"{'' if res is None else f'{res:g}'} | {'' if r429 is None else r429} | {machine['cpu']} |")
    table = "\n".join(lines)
    failures = []
    for c, tool, samples in results.rows:
        for i, s in enumerate(samples):
            if not s["ok"]:
                failures.append(f"- ({c}) {tool}, run {i + 1}: `{s['stderr'].strip()[-400:]}`".replace("\n", " "))

    def ratio(case, tool, limit, base="hfget"):
        h, t = results.median(case, base), results.median(case, tool)
        if h is None:
            return f"hfget did not complete ({'failed' if results.samples(case, base) else 'not measured'}): NOT met"
        if t is None:
            return f"{tool} not measured or failed"
        r = h / t
        return f"{r:.2f} × {tool} ({'met' if r <= limit else 'NOT met'}, target ≤ {limit})"

    def with_server(case, tool):
        s = results.samples(case, tool)
        if not s or not all("server_cpu" in x for x in s):
            return f"{tool} not measured"
        def run(x):
            timers = f", {x['timer_irqs']} timer interrupts" if "timer_irqs" in x else ""
            return f"{fmt_time(x['wall'])} ({x['server_cpu']:.2f} s{timers})"
        return f"{tool} " + ", ".join(run(x) for x in s)

    def plain_ratio(case, tool):
        h, t = results.median(case, "hfget"), results.median(case, tool)
        return f"{h / t:.2f} × {tool}" if h and t else "not measured"

    def per_file(case, files, gb):
        s = results.samples(case, "hfget")
        if not s or "resolves" not in s[0]:
            return "not measured"
        r = statistics.median(x["resolves"] for x in s)
        hf = results.samples(case, "hf download")
        hf_r = f"; hf download {statistics.median(x['resolves'] for x in hf) / files:g} per file" if hf else ""
        engine = [e for x in s for e in x.get("engine", [])]
        detail = ""
        if engine and all(e["requests"] is not None and e["peak"] is not None for e in engine):
            reqs = statistics.median(e["requests"] for e in engine)
            peak = statistics.median(e["peak"] for e in engine)
            detail = (f" = {peak:g} connections + {reqs - peak:g} splits and races (median per file: "
                      f"{reqs:g} segment requests, at most {peak:g} connections at once)")
        return f"{r / files:g} per file, {r / gb:.1f} per GB (hfget){detail}{hf_r}"

    def tail(case):
        s = results.samples(case, "hfget")
        engine = [e for x in (s or []) for e in x.get("engine", []) if e["bytes_in"] is not None]
        if not engine:
            return "not measured"
        return (f"last byte after {statistics.median(e['bytes_in'] for e in engine):.2f} s, hash done "
                f"{statistics.median(e['hash_after'] for e in engine):.2f} s later (medians per file)")

    rss1 = results.samples("1", "hfget")
    rss1 = max(s["rss"] for s in rss1) if rss1 else None
    q = results.samples("6", "hfget")
    quota_line = "not measured"
    if q:
        s = q[0]
        quota_line = (f"{'completes' if s['ok'] else 'did NOT complete'} in {fmt_time(s['wall'])}, "
                      f"{s.get('resolves', '?')} resolves, {s.get('r429', '?')} × 429 received "
                      f"({'met' if s['ok'] and s.get('r429', 1) == 0 else 'NOT met'}, target: completes, zero 429)")
    slow = results.median("8", "hfget")
    nonslow = results.median("7", "hfget")
    slow_line = (f"{slow / nonslow:.2f} × the same download without the slow connection "
                 f"({'met' if slow / nonslow <= 1.15 else 'NOT met'}, target ≤ 1.15)") if slow and nonslow else \
        "hfget did not complete (NOT met)" if results.samples("8", "hfget") else "not measured"
    targets = [
        f"- (1) wall: {ratio('1', 'curl', 0.80)}; {ratio('1', 'hf download', 0.50)}",
        f"- (1) each run's wall (nginx's CPU and the machine's timer interrupts in it): "
        f"{with_server('1', 'hfget')}; {with_server('1', 'curl')}. "
        "On loopback nginx shares the client's cores, and the kernel does nginx's TCP sending either in "
        "nginx's own time slices or in the reader's (when its reads release the window): the more of it "
        "nginx does itself, the faster single-threaded curl runs, since it then has a core to itself. "
        "hfget keeps both cores busy either way. With BBR (see Setup) nginx's sends are paced by "
        "timers that fire on the client's cores too",
        f"- (10) one 1 GB file (the commonest download; no target): {plain_ratio('10', 'curl')}",
        f"- against curl that verifies (curl, then each file's SHA-256 at once with openssl; no target): "
        f"(1) {plain_ratio('1', 'curl + openssl sha256')}; (10) {plain_ratio('10', 'curl + openssl sha256')}",
        "- (1) hfget peak RSS: " + (f"{rss1:.0f} MiB ({'met' if rss1 <= 64 else 'NOT met'}, target ≤ 64 MiB)" if rss1 else "not measured"),
        f"- resolves per large file: (1) {per_file('1', 2, 2 * SCALE)}; (7) {per_file('7', 1, SCALE)} "
        "(target ≤ connections used + failures + splits)",
        f"- (6) 2 GB under 40 resolves / 300 s: {quota_line}",
        f"- (7) wall: {ratio('7', 'aria2c -x16 -s16', 0.80)}",
        f"- where hfget's time goes: (1) {tail('1')}; (7) {tail('7')}. SHA-256 is sequential, so bytes "
        "that arrive ahead of the hash position are hashed after the last one arrives",
        f"- (8) one slow connection: {slow_line}",
        f"- (9) behind olah: {ratio('9', 'curl (one stream)', 1.3)}",
        f"- (3) wall: {ratio('3', 'hf download', 0.10)}",
    ]
    targets_23 = issue23_targets(results, info)
    xet_table = xet_cases.render(results, machine)
    xet_queries = ", ".join(f"({c}) {n}" for c, n in info.get("xet_reconstructions", {}).items()) or "none"
    xet_section = "" if not xet_table else f"""## hfget against `hf download` with Xet (issue #23, section 2)

```
bench/run.sh --cases x1,x3 --runs 3 --output -     # only these rows, printed
```

The rig (bench/xet.py; all on 127.0.0.1): the files, uploaded once with hf_xet into a `local://`
store; `bench/xet-cas` (xet-client's `LocalClient`, feature `simulation`: its own Cargo project,
built on the first Xet run) answers the reconstruction queries with every xorb URL pointing at
nginx, which serves the xorb ranges with sendfile, and the whole files as the plain-HTTP bridge
hfget uses; the hub-emulator is the Hub (`X-Xet-Hash`, the `xet-auth` and
`xet-reconstruction-info` links, `xetHash` in the tree, `xet-read-token` answering with the CAS
URL). `hf download (Xet)` is huggingface_hub 2.4.0 with hf_xet {info.get('hf_xet_version', '?')} as installed,
`HF_HUB_DISABLE_UPDATE_CHECK=1`; `hf download (no Xet)` adds `HF_HUB_DISABLE_XET=1` and takes the
bridge, like hfget. Tools alternate run by run. CAS reconstruction queries per case (all runs):
{xet_queries}.

{xet_table}

{xet_cases.notes(results)}
{xet_cases.extra_notes(info, info['runs'])}
"""
    versions = "\n".join(f"  - {k}: `{v}`" for k, v in machine["versions"].items())
    extra = f" (hfget flags: `{info['hfget_args']}`)" if info.get("hfget_args") else ""
    scale = f" **Smoke run: every file scaled by {info['scale']}.**" if info.get("scale", 1) != 1 else ""
    load = (f"Load average before/after the run: {info['loadavg_before'][0]:.1f} / {info['loadavg_after'][0]:.1f} "
            f"(1-minute) on {os.cpu_count()} cores.")
    note = f" {info['note']}" if info.get("note") else ""
    return f"""# Benchmarks

Generated by `bench/run.sh` in one run ({info['runs']} runs per cell unless the cell says fewer, medians;
{info['duration_s'] / 60:.1f} minutes){extra}.{scale} {load}{note}

```
bench/run.sh            # installs what is missing, builds the release binaries, rewrites this file
bench/run.sh --cases 7,8 --tools hfget --runs 2 --output -     # a subset, printed only
```

It installs `nginx`, `aria2`, `time`, `hyperfine` and `curl` (Debian packages) when missing, a
virtualenv with `huggingface_hub==2.4.0` in `bench/work/venv` (or `HF_BIN=/path/to/hf`) and one with
`olah==0.5.4` in `bench/work/venv-olah` (or `OLAH_BIN`). Data lives in `bench/work/` (gitignored, ~4 GB).

## Setup

- Machine: {machine['cpu']}, {machine['memory']} RAM, Linux {machine['kernel']}, ext4 on a virtual disk.
  TCP congestion control: {info['tcp_cc']}. With `bbr` nginx paces its sends with timers that, on
  loopback, fire on the client's cores (a remote CDN paces on its own machine): every tool of (1)
  pays about 0.8 s of CPU for them, and curl's wall is bimodal. `bench/run.sh --tcp-cc cubic`
  measures without them (the last such run of (1) and (10): `bench/BENCHMARKS-cubic.md`).
  `dd` into the page cache: {info.get('dd_cached', 0):.0f} MB/s. Nothing else is meant to run
  (the load average above says what did), and absolute times still carry noise; each row's tools
  ran interleaved, run by run, so they saw the same load.
- Hub: `hub-emulator` (release build) on 127.0.0.1, resolving through signed `302`s.
  - (1), (10), (2), (6): the CDN is **nginx** (sendfile) serving `hub-emulator export-blobs` output
    (one stream: {info.get('nginx_one_stream', 0):.0f} MB/s). curl (`--parallel`, one stream per file) and
    aria2c (`-x16 -s16`) fetch straight from nginx, with no Hub and no hashing — except in (6), where
    they go through the Hub's resolve URLs so that they pay resolves too.
    `curl + openssl sha256` is what verifying costs with standard tools: the same curl, then
    every file's SHA-256 at once (`openssl dgst -sha256`, SHA-NI), compared with the Hub's.
  - (6): the emulator's `resolver_quota` (40 per 300 s, the real `RateLimit` headers, `429` when
    spent); one run per tool, each in a fresh window.
  - (7), (8): the emulator's own CDN with `cdn_connection_bytes_per_sec = 25 MB/s` and
    `range_binding = exact_when_ranged` (the 2026 binding). curl and `hf download` are one stream
    through the Hub (one run each: ~40 s); aria2c gets the signed URL of one Range-less resolve. (8)
    adds `slow_cdn_connection` (the 3rd CDN connection of each run at 1 MB/s) and compares with (7).
  - (9): olah 0.5.4 (a fresh cache per bench run, a fresh file per tool run) in front of an emulator
    whose CDN gives 2 MB/s per connection, so one olah block fetch (64 MiB) runs at 2 MB/s.
  - (3), (4): 40 ms on every Hub request; curl (`--parallel-max 64 -L`) and aria2c (`-j64`) get
    the 1000 resolve URLs, hfget and `hf download` the repo.
- hfget: `hfget download REPO [FILE] --cache-dir DIR -q`, default flags, every byte verified.
  `hf download`: huggingface_hub 2.4.0 with `HF_HUB_DISABLE_XET=1` (the emulator has no Xet CAS).
- "resolves" = Hub requests whose URL contains `/resolve/` (the quota's bucket), median per run;
  "429s" = the most `429` answers any run received. Case (5): `hyperfine -N --warmup 5 --runs 100`.
- Versions:
{versions}

## Results

{table}

## Targets (issue #9)

{chr(10).join(targets)}

## Targets (issue #23, section 3), this run

{chr(10).join(targets_23)}

{xet_section}
{"## Failed runs" + chr(10) + chr(10) + chr(10).join(failures) if failures else ""}
"""


if __name__ == "__main__":
    sys.exit(main())
