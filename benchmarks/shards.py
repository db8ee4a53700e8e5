#!/usr/bin/python3
"""shards.py: the throughput of a sharded score map (docs/scale-out.md).

    benchmarks/shards.py [--size 4000] [--rounds 2] [--build build]
                         [--python PY] [--tmp /tmp/fcn-shards]
                         [--out benchmarks/results-shards]

One generated gray SIZE x SIZE image (tests/shard_image.py: the example
photo tiled, with noise; a 256 x 256-tiled BigTIFF, read window by window)
and the bundled model, run as

- one process, the whole map: `fcn-run MODEL IMG --out F.npy` with 1 and
  with 2 threads (every run with --mem-limit, default 64 MiB: blocks of
  fcn's default 512 MiB took 1 s more per run here);
- two `fcn-run --shard I/2 --out-dir DIR --threads 1` processes at once,
  then `fcn-merge DIR F.npy`;
- tools/fcn-dask on a LocalCluster of 2 workers (1 thread each, fcn with 1
  thread per part), in-process (the package fcn, from PY: default the
  build's tests/python-venv) with N = 2 and 4 parts, and through fcn-run
  (--cli) with N = 2; its "parts done in" time (the cluster up, from the
  plan to the last part) and the whole command (the cluster's start and
  the merge included), and fcn-merge's time as fcn-merge reports it.

The configurations are interleaved over the rounds (fresh output
directories every time, so nothing is resumed); each figure is the median
of the rounds. Megapixels/s: the image's pixels over the wall time. Every
merged map is compared (cmp) with the single run's. Writes OUT.md (also
printed) and OUT.json."""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, **kw)
    if p.returncode:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                                          p.stdout[-2000:]))
    return time.perf_counter() - t0, p.stdout


def merge_seconds(text):
    m = re.search(r"fcn-merge: .* in ([\d.]+) ms", text)
    return float(m[1]) / 1e3 if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--mem-limit", type=int, default=64 << 20)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--python")
    ap.add_argument("--tmp", default="/tmp/fcn-shards")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks",
                                                  "results-shards"))
    a = ap.parse_args()
    run = os.path.join(a.build, "fcn-run")
    merge = os.path.join(a.build, "fcn-merge")
    py = a.python or os.path.join(a.build, "tests", "python-venv", "bin",
                                  "python")
    model = os.path.join(ROOT, "models", "fashion.bin")
    dask = [py, os.path.join(ROOT, "tools", "fcn-dask"), model]
    os.makedirs(a.tmp, exist_ok=True)
    img = os.path.join(a.tmp, "big%d.tif" % a.size)
    if not os.path.exists(img):
        subprocess.run([sys.executable, os.path.join(ROOT, "tests",
                                                     "shard_image.py"),
                        ROOT, img, str(a.size), str(a.size)], check=True)
    single = os.path.join(a.tmp, "single.npy")
    mp = a.size * a.size / 1e6

    def cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    def fresh(name):
        d = os.path.join(a.tmp, name)
        shutil.rmtree(d, ignore_errors=True)
        return d

    def same(path):
        return subprocess.run(["cmp", "-s", path, single]).returncode == 0

    mem = ["--mem-limit", str(a.mem_limit)]

    def whole(threads):
        t, _ = timed([run, model, img, "--out", single, "-q", "--threads",
                      str(threads)] + mem)
        return {"wall": t}

    def cli2():
        d = fresh("cli2")
        t0 = time.perf_counter()
        ps = [subprocess.Popen([run, model, img, "--shard", "%d/2" % i,
                                "--out-dir", d, "--threads", "1", "-q"] +
                               mem,
                               stdout=subprocess.DEVNULL)
              for i in range(2)]
        if any(p.wait() for p in ps):
            sys.exit("an fcn-run --shard failed")
        t = time.perf_counter() - t0
        tm, out = timed([merge, d, d + ".npy"])
        return {"wall": t, "merge": merge_seconds(out) or tm,
                "end_to_end": t + tm, "equal": same(d + ".npy")}

    def dask_run(n, cli):
        d = fresh("dask%d%s" % (n, "cli" if cli else ""))
        t, out = timed(dask + [img, "--parts", str(n), "--out-dir", d,
                               "--workers", "2", "--threads", "1",
                               "--fcn-run", run, "--fcn-merge", merge,
                               "--merge", d + ".npy"] + mem +
                       (["--cli"] if cli else []))
        parts = float(re.search(r"parts done \(0 skipped\) in ([\d.]+) s",
                                out)[1])
        how = "cli" if cli else "in-process"
        assert out.count(", %s, " % how) == n, out
        return {"wall": parts, "merge": merge_seconds(out),
                "end_to_end": t, "equal": same(d + ".npy")}

    configs = [
        ("1 process, whole map, 1 thread", lambda: whole(1)),
        ("1 process, whole map, 2 threads", lambda: whole(2)),
        ("2 fcn-run --shard processes (N=2), 1 thread each", cli2),
        ("Dask, 2 workers, in-process, N=2", lambda: dask_run(2, False)),
        ("Dask, 2 workers, in-process, N=4", lambda: dask_run(4, False)),
        ("Dask, 2 workers, fcn-run (--cli), N=2", lambda: dask_run(2, True)),
    ]
    res = {name: [] for name, _ in configs}
    load0 = " ".join(open("/proc/loadavg").read().split()[:3])
    whole(2)  # the reference map, and a warm page cache
    for r in range(a.rounds):
        for name, f in configs:
            c0 = cpu()
            res[name].append(f())
            # every process it started, reaped (Dask's workers by the
            # driver as the cluster closes), the merge's included
            res[name][-1]["cpu"] = cpu() - c0
            print("round %d: %s: %s" % (r + 1, name, res[name][-1]),
                  flush=True)
    cpu = ""
    try:
        cpu = re.search(r"model name\s*:\s*(.*)",
                        open("/proc/cpuinfo").read())[1]
    except (OSError, TypeError):
        pass
    med = {}
    for name, rs in res.items():
        med[name] = {k: statistics.median(x[k] for x in rs)
                     for k in rs[0] if k != "equal" and rs[0][k] is not None}
        med[name]["equal"] = all(x.get("equal", True) for x in rs)
        med[name]["best"] = min(x["wall"] for x in rs)
    lines = [
        "# Sharded score maps: one process, shard processes, Dask",
        "",
        "`benchmarks/shards.py --size %d --rounds %d --mem-limit %d` on %s "
        "(%d cores, %s); the bundled model (models/fashion.bin) on a %dx%d "
        "gray tiled BigTIFF (%.0f megapixels; a %d x %d x 11 map), every "
        "run streamed in blocks of --mem-limit. Medians of %d rounds; "
        "megapixels/s = the image's pixels / wall time." % (
            a.size, a.rounds, a.mem_limit, cpu or platform.processor(),
            os.cpu_count(),
            platform.platform(), a.size, a.size, mp, (a.size - 28) // 4 + 1,
            (a.size - 28) // 4 + 1, a.rounds),
        "",
        "| run | wall s | megapixels/s | best megapixels/s | merge s | "
        "end to end s | CPU s | megapixels per CPU s | merged = single |",
        "|---|---|---|---|---|---|---|---|---|"]
    for name, m in med.items():
        lines.append("| %s | %.2f | %.2f | %.2f | %s | %s | %.1f | %.2f | "
                     "%s |" % (
            name, m["wall"], mp / m["wall"], mp / m["best"],
            "%.2f" % m["merge"] if "merge" in m else "",
            "%.2f" % m["end_to_end"] if "end_to_end" in m else "",
            m["cpu"], mp / m["cpu"],
            "" if "merge" not in m else ("yes" if m["equal"] else "NO")))
    lines += ["", "Best: the fastest round's wall time. "
              "Dask's wall time is its \"parts done in\" (the plan and "
              "the parts, the cluster up); end to end adds the "
              "LocalCluster's start, the per-worker model loads and the "
              "merge. CPU s: user + system time of every process the run "
              "started (Dask's workers and the merge included), from "
              "getrusage(RUSAGE_CHILDREN): a figure that other load on the "
              "machine does not inflate as it does the wall time. Load "
              "average at the start: %s." % load0]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(a.out + ".md", "w") as f:
        f.write(text)
    with open(a.out + ".json", "w") as f:
        json.dump({"size": a.size, "rounds": a.rounds, "cpu": cpu,
                   "runs": res, "medians": med}, f, indent=1)


if __name__ == "__main__":
    main()
