"""hfget against `hf download` as people run it in 2026: with Xet (issue #23, section 2).

The rig, all on 127.0.0.1:
- the files are written by `hub-emulator export-blobs` and uploaded with hf_xet (the bench venv's,
  next to `hf`) into a `local://` store under bench/work/xet/store;
- `bench/xet-cas` (its own Cargo project: xet-client's `LocalClient`, feature `simulation`) answers
  the CAS reconstruction queries from that store, with every xorb URL pointing at nginx;
- one nginx (sendfile) serves both the xorbs (ranges) and the plain-HTTP bridge hfget and
  `hf download` without Xet use (the whole files, `repos/aa/bb/<sha256>`);
- the hub-emulator is the Hub: `X-Xet-Hash`, the `xet-auth` link, `xetHash` in the tree, and
  `xet-read-token` answering with the CAS URL (`xet_cas` in its scenario). Its CDN points at nginx.

Cases: (x1) two files of 768 MiB (1.5 GiB); (x3) 1000 Xet-backed files of 4 KiB behind a Hub that
takes 40 ms per request (like (3), whose files are plain git files); (xr) a new revision of a
64 MiB file with 1 MiB changed, downloaded into the cache that holds the old one: what each tool
fetches again (bytes nginx sent).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# bench.py's own module (it runs as __main__), set by bench.py before anything here runs.
b = None

XET = Path(__file__).resolve().parent / "work" / "xet"
CAS_PROJECT = Path(__file__).resolve().parent / "xet-cas"
CAS_BIN = CAS_PROJECT / "target" / "release" / "xet-cas"
MIB = 1 << 20

CASES = {
    "x1": "(x1) two 768 MiB files (1.5 GiB), Xet-backed; hf with Xet from a local CAS",
    "x3": "(x3) 1000 × 4 KiB Xet-backed files, 40 ms per Hub request",
}
ALL = set(CASES) | {"xr"}  # xr: a new revision with 1 MiB changed (a note, not a row)

UPLOAD = r"""
import json, sys
import hf_xet
store, listing = sys.argv[1], json.load(open(sys.argv[2]))
session = hf_xet.XetSession()
with session.new_upload_commit(endpoint="local://" + store) as commit:
    handles = [(name, commit.start_upload_file(path)) for name, path in listing]
print(json.dumps({name: h.result().xet_info.hash for name, h in handles}))
"""


def python_of_hf():
    """The interpreter of the venv `hf` lives in (it has huggingface_hub and hf_xet)."""
    for name in ("python", "python3"):
        p = b.HF.parent / name
        if p.exists():
            return p
    sys.exit(f"no python next to {b.HF}: the Xet cases need the venv's hf_xet")


def build_cas():
    """bench/xet-cas, release (a no-op once built; the first build takes long: xet-client)."""
    print("building bench/xet-cas (first time: several minutes) …", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(CAS_PROJECT / "Cargo.toml")],
                   check=True)


class Cas:
    def __init__(self, store, xorb_base):
        log = open(XET / "xet-cas.log", "w")
        self.proc = subprocess.Popen([CAS_BIN, "--store", store, "--xorb-base", xorb_base],
                                     stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("CAS_URL="):
            sys.exit(f"bench/xet-cas did not start: {line!r} (see {XET / 'xet-cas.log'})")
        self.url = line.split("=", 1)[1]

    def counters(self):
        with urllib.request.urlopen(f"{self.url}/_counters") as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def xet_repo(repo_id, files, hashes):
    spec = b.repo(repo_id, files, True)
    for f in spec["commits"][0]["files"]:
        f["xet_hash"] = hashes[f["path"]]
    return spec


def prepare(repos, shas_of):
    """Exports the repos' blobs into bench/work/xet/www/repos (the bridge) and uploads them with
    hf_xet into bench/work/xet/www/store. Returns {repo id: {path: xet hash}}. Redone only when
    the repos change."""
    www = XET / "www"
    stamp = XET / "prepared.json"
    fingerprint = json.dumps(repos, sort_keys=True)
    if stamp.exists():
        saved = json.loads(stamp.read_text())
        if saved.get("fingerprint") == fingerprint and (www / "store").exists():
            return saved["hashes"]
    print("exporting and uploading the Xet files (hf_xet into local://) …", flush=True)
    shutil.rmtree(www, ignore_errors=True)
    www.mkdir(parents=True)
    scenario = XET / "export.json"
    scenario.write_text(json.dumps({"repos": repos}))
    subprocess.run([b.EMULATOR, "export-blobs", "--scenario", scenario, "--out", www], check=True,
                   stdout=subprocess.DEVNULL)
    hashes = {}
    started = time.time()
    for spec in repos:
        shas = shas_of(spec)
        listing = [(f["path"], str(www / "repos" / s[0:2] / s[2:4] / s))
                   for f in spec["commits"][-1]["files"] for s in [shas[f["path"]]]]
        (XET / "listing.json").write_text(json.dumps(listing))
        out = subprocess.run([python_of_hf(), "-c", UPLOAD, str(www / "store"), str(XET / "listing.json")],
                             check=True, capture_output=True, text=True).stdout
        hashes[spec["id"]] = json.loads(out.strip().splitlines()[-1])
    print(f"  uploaded in {time.time() - started:.1f} s", flush=True)
    stamp.write_text(json.dumps({"fingerprint": fingerprint, "hashes": hashes}))
    return hashes


def shas_from_emulator(spec):
    emu = b.Emulator({"page_size": 100000, "repos": [spec]}, "xet-shas")  # one tree page
    try:
        return b.lfs_shas(emu.url, spec["id"])
    finally:
        emu.stop()


def envs(endpoint, home):
    plain = b.tool_env(endpoint, home)
    plain["HF_HUB_DISABLE_UPDATE_CHECK"] = "1"
    xet = dict(plain)
    del xet["HF_HUB_DISABLE_XET"]
    return plain, xet


def tools(repo_id, endpoint, out, home, extra):
    plain, xet = envs(endpoint, home)
    return b.only({
        "hfget": ([b.HFGET, "download", repo_id, "--cache-dir", out, "-v"] + extra, plain),
        "hf download (Xet)": ([b.HF, "download", repo_id, "--cache-dir", out], xet),
        "hf download (no Xet)": ([b.HF, "download", repo_id, "--cache-dir", out], plain),
    })


def run(cases, runs, results, info, extra):
    """Runs the Xet cases that are in `cases`; adds their rows to `results`."""
    wanted = [c for c in ("x1", "x3", "xr") if c in cases]
    if not wanted:
        return
    build_cas()
    info["hf_xet_version"] = subprocess.run(
        [python_of_hf(), "-c", "import importlib.metadata as m; print(m.version('hf_xet'))"],
        capture_output=True, text=True).stdout.strip() or "not installed"
    big = [(f"model-{i}.safetensors", 500 + i, b.size(768 * MIB)) for i in range(2)]
    small = [(f"data/{i // 100:02}/item-{i:04}.bin", 3000 + i, 4096) for i in range(1000)]
    plain_repos = [b.repo("bench/xet-big", big, True), b.repo("bench/xet-small", small, True)]
    XET.mkdir(parents=True, exist_ok=True)
    shas_cache = {}

    def shas_of(spec):
        if spec["id"] not in shas_cache:
            shas_cache[spec["id"]] = shas_from_emulator(spec)
        return shas_cache[spec["id"]]

    hashes = prepare(plain_repos, shas_of)
    rev_hashes = prepare_revision() if "xr" in cases else None
    www = XET / "www"
    access = XET / "nginx-access.log"
    access.unlink(missing_ok=True)
    nginx = b.Nginx(www, name="nginx-xet", access_log=access)
    # LocalClient keeps its xorbs in <store>/xet/xorbs/xorbs/default.<hash>.
    cas = Cas(www / "store" / "xet" / "xorbs", f"{nginx.url}/store/xet/xorbs/xorbs")
    info["xet_cas"] = cas.url
    out, home = b.WORK / "out-xet", b.WORK / "home"
    try:
        for case, spec_files, latency in [("x1", big, 0), ("x3", small, 40)]:
            if case not in wanted:
                continue
            repo_id = "bench/xet-big" if case == "x1" else "bench/xet-small"
            spec = {"cdn_base_url": nginx.url, "hub_latency_ms": latency,
                    "xet_cas": {"cas_url": cas.url},
                    "repos": [xet_repo(repo_id, spec_files, hashes[repo_id])]}
            emu = b.Emulator(spec, f"xet-{case}")
            try:
                shas = shas_of(next(p for p in plain_repos if p["id"] == repo_id))
                expected = [shas[n] for n, _, _ in spec_files]
                before = cas.counters()
                sent_before = sent(access)
                b.run_tools(case, tools(repo_id, emu.url, out, home, extra), runs, results, emu, spec_files,
                            expected, out, home, timeout=600, server=nginx)
                after = cas.counters()
                info.setdefault("xet_reconstructions", {})[case] = after["reconstructions"] - before["reconstructions"]
                got = {k: v - sent_before.get(k, 0) for k, v in sent(access).items()}
                info.setdefault("xet_sent", {})[case] = got
            finally:
                emu.stop()
        if "xr" in cases:
            revision_case(nginx, cas, access, info, out, home, extra, rev_hashes)
    finally:
        cas.stop()
        nginx.stop()
        shutil.rmtree(out, ignore_errors=True)


def render(results, machine):
    """The Xet section of BENCHMARKS.md: rows, and what they say."""
    lines = [
        "| case | tool | median wall | runs | hfget / tool | user+sys | peak RSS | resolves | CPU |",
        "|---|---|---:|---|---:|---:|---:|---:|---|",
    ]
    any_row = False
    for case, title in CASES.items():
        hfget = results.median(case, "hfget")
        for c, tool, samples in results.rows:
            if c != case or not samples:
                continue
            any_row = True
            ok = all(s["ok"] for s in samples)
            walls = [s["wall"] for s in samples]
            median = statistics.median(walls)
            shown = ", ".join(b.fmt_time(w) + ("" if s["ok"] else " ✗") for w, s in zip(walls, samples))
            ratio = "" if tool == "hfget" or not hfget or not ok else f"{hfget / median:.2f}"
            cpu = statistics.median(s["cpu"] for s in samples)
            rss = max(s["rss"] for s in samples)
            res = statistics.median(s["resolves"] for s in samples) if "resolves" in samples[0] else None
            wall_cell = f"**{b.fmt_time(median)}**" if ok else f"failed ({b.fmt_time(median)})"
            lines.append(f"| {title} | {tool} | {wall_cell} | {shown} | {ratio} | {cpu:.2f} s | {rss:.0f} MiB | "
                         f"{'' if res is None else f'{res:g}'} | {machine['cpu']} |")
    return "\n".join(lines) if any_row else None


def notes(results):
    """What the Xet rows say, in figures."""
    lines = []
    for case in CASES:
        h = results.median(case, "hfget")
        x = results.median(case, "hf download (Xet)")
        p = results.median(case, "hf download (no Xet)")
        if not h:
            continue
        parts = []
        if x:
            parts.append(f"hfget {h / x:.2f} × hf with Xet")
        if p:
            parts.append(f"{h / p:.2f} × hf without Xet")
        if x and p:
            parts.append(f"hf with Xet {x / p:.2f} × hf without")
        rss = {t: max(s["rss"] for s in (results.samples(case, t) or [{"rss": 0}]))
               for t in ("hfget", "hf download (Xet)", "hf download (no Xet)")}
        parts.append("peak RSS " + ", ".join(f"{t} {m:.0f} MiB" for t, m in rss.items() if m))
        lines.append(f"- ({case}) " + "; ".join(parts))
    return "\n".join(lines)


def sent(access):
    """Bytes nginx sent so far: xorb ranges (`/store/`) and the bridge (`/repos/`)."""
    totals = {"xorbs": 0, "bridge": 0, "xorb_requests": 0, "bridge_requests": 0}
    if not access.exists():
        return totals
    for line in access.read_text().splitlines():
        parts = line.split()
        if len(parts) != 3 or not parts[2].isdigit():
            continue
        kind = "xorb" if parts[0].startswith("/store/") else "bridge" if parts[0].startswith("/repos/") else None
        if kind:
            totals[kind + "s" if kind == "xorb" else kind] += int(parts[2])
            totals[kind + "_requests"] += 1
    return totals


def revision_files():
    """The two revisions of (xr): 32 MiB, then the same with 1 MiB changed in the middle."""
    import random
    rng = random.Random(23)
    old = rng.randbytes(32 * MIB)
    new = old[:16 * MIB] + rng.randbytes(MIB) + old[17 * MIB:]
    return old, new


def prepare_revision():
    """Uploads both revisions into the store (before the CAS opens it: its database is locked
    while it runs) and puts them on the bridge. Returns their Xet hashes."""
    import hashlib
    www = XET / "www"
    stamp = www / "rev-hashes.json"  # inside www: a new export wipes it with the store
    if stamp.exists():
        return json.loads(stamp.read_text())
    old, new = revision_files()
    hashes = []
    for name, data in (("old.bin", old), ("new.bin", new)):
        sha = hashlib.sha256(data).hexdigest()
        p = www / "repos" / sha[0:2] / sha[2:4] / sha
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        (XET / "listing.json").write_text(json.dumps([[name, str(p)]]))
        out = subprocess.run([python_of_hf(), "-c", UPLOAD, str(www / "store"), str(XET / "listing.json")],
                             check=True, capture_output=True, text=True).stdout
        hashes.append(json.loads(out.strip().splitlines()[-1])[name])
    stamp.write_text(json.dumps(hashes))
    return hashes


def revision_case(nginx, cas, access, info, out, home, extra, hashes):
    """(xr) A 32 MiB file and a new revision of it with 1 MiB changed in the middle: each tool
    downloads the old revision, then the new one into the same cache; what nginx sends for the
    second download is what the tool fetched again."""
    import base64
    old, new = revision_files()
    b64 = lambda d: base64.b64encode(d).decode()
    spec = {"cdn_base_url": nginx.url, "xet_cas": {"cas_url": cas.url},
            "repos": [{"type": "model", "id": "bench/xet-rev",
                       "commits": [{"files": [{"path": "model.bin", "content": {"base64": b64(old)}, "lfs": True,
                                               "xet_hash": hashes[0]}]},
                                   {"files": [{"path": "model.bin", "content": {"base64": b64(new)}, "lfs": True,
                                               "xet_hash": hashes[1]}]}],
                       "branches": {"v1": 0}}]}
    emu = b.Emulator(spec, "xet-rev")
    rows = {}
    try:
        for tool, (cmd, env) in tools("bench/xet-rev", emu.url, out, home, extra).items():
            b.fresh(out, home)
            first = b.timed(cmd + ["--revision", "v1"], env=env, timeout=300)
            mark = sent(access)
            second = b.timed(cmd, env=env, timeout=300)
            got = {k: v - mark.get(k, 0) for k, v in sent(access).items()}
            rows[tool] = {"ok": first["ok"] and second["ok"], "wall": second["wall"],
                          "bytes": got["xorbs"] + got["bridge"],
                          "err": "" if first["ok"] and second["ok"] else (first["stderr"] + second["stderr"])[-300:]}
            print(f"  (xr) {tool:24} new revision: {second['wall']:6.2f} s, {rows[tool]['bytes'] / MIB:.1f} MiB "
                  f"fetched again" + ("" if rows[tool]["ok"] else f" FAILED {rows[tool]['err']!r}"), flush=True)
    finally:
        emu.stop()
    info["xet_revision"] = rows


def extra_notes(info, runs):
    lines = []
    for case, got in info.get("xet_sent", {}).items():
        lines.append(f"- ({case}) nginx sent per run: {got['xorbs'] / runs / MIB:.1f} MiB of xorb ranges in "
                     f"{got['xorb_requests'] / runs:g} requests (hf with Xet), {got['bridge'] / runs / 2 / MIB:.1f} MiB "
                     f"through the bridge in {got['bridge_requests'] / runs / 2:g} requests (hfget, and hf without "
                     "Xet: each about half)")
    rev = info.get("xet_revision")
    if rev:
        parts = [f"{tool} {r['bytes'] / MIB:.1f} MiB in {b.fmt_time(r['wall'])}" + ("" if r["ok"] else " (FAILED)")
                 for tool, r in rev.items()]
        lines.append("- (xr) a new revision of a 32 MiB Xet file with 1 MiB changed in the middle, downloaded "
                     "into the cache holding the old one (one run each; what nginx sent for the new revision): "
                     + "; ".join(parts) + ".")
    return "\n".join(lines)
