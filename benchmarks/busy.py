#!/usr/bin/python3
"""busy.py: fcn on a machine whose cores are busy with other work.

    benchmarks/busy.py MODEL [--size 224] [--busy N] [--rounds 5]
                       [--repeat 10] [--fcn-bench build/fcn-bench]
                       [--out benchmarks/results-busy]

Times fcn-bench on MODEL with 1 thread, with all cores and with the default
thread count, first on the idle machine and then beside N busy processes
(default: one per core; each is a plain loop that never sleeps). The
configurations are interleaved over the rounds so that drift in the
machine's speed falls on all of them alike; each cell is the median of the
rounds' medians. The goal: with one busy process per core, the default run
is at most 1.3x the better of the 1- and N-thread runs, and on the idle
machine it is as fast as the N-thread run.

MODEL: any model.bin; benchmarks/peers.py generates ResNet-18 into
/tmp/fcn-peers/models/resnet18.bin (`peers.py --models resnet18 --sizes 224
--runtimes fcn,ort`). Writes OUT.md (also printed) and OUT.json.
"""
import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def spin():
    while True:
        pass


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def isa_flags():
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return ""
    return " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16") if f in flags)


def bench(fcn_bench, model, size, threads, repeat, warmup):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [fcn_bench, model, "--size", size, "--repeat", str(repeat),
               "--warmup", str(warmup), "--no-layers", "--json", f.name]
        if threads:
            cmd += ["--threads", str(threads)]
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if r.returncode:
            sys.exit("busy.py: %s failed: %s" % (" ".join(cmd), r.stderr.strip()))
        j = json.load(open(f.name))[0]
    return j["median_ms"], j["threads"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--size", default="224x224")
    ap.add_argument("--busy", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--fcn-bench", default=os.path.join(ROOT, "build", "fcn-bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results-busy"))
    a = ap.parse_args()
    if "x" not in a.size:
        a.size = "%sx%s" % (a.size, a.size)
    n = os.cpu_count()
    configs = [("1 thread", 1), ("%d threads" % n, n), ("default", 0)]
    times = {(load, c): [] for load in ("idle", "busy") for c, _ in configs}
    default_threads = None
    for load in ("idle", "busy"):
        procs = []
        if load == "busy":
            procs = [multiprocessing.Process(target=spin, daemon=True)
                     for _ in range(a.busy)]
            for p in procs:
                p.start()
        try:
            for r in range(a.rounds):
                for name, t in configs:
                    ms, used = bench(a.fcn_bench, a.model, a.size, t, a.repeat, a.warmup)
                    if not t:
                        default_threads = used
                    times[(load, name)].append(ms)
                    print("[busy] %s round %d %-10s %8.2f ms" % (load, r + 1, name, ms),
                          file=sys.stderr, flush=True)
        finally:
            for p in procs:
                p.terminate()
                p.join()
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = ["fcn on %s (%s), %d logical cores; %s at %s; median of %d rounds, each the "
             "median of %d runs; busy: %d spinning processes"
             % (cpu_name(), isa_flags(), n, os.path.basename(a.model), a.size, a.rounds,
                a.repeat, a.busy), "",
             "| machine | " + " | ".join("%s ms" % c for c, _ in configs) +
             " | default / best of 1 and %d |" % n,
             "|---|" + "---:|" * (len(configs) + 1)]
    result = {"cpu": cpu_name(), "isa": isa_flags(), "cores": n, "model": a.model,
              "size": a.size, "busy_processes": a.busy, "rounds": a.rounds,
              "repeat": a.repeat, "default_threads": default_threads, "rows": []}
    for load in ("idle", "busy"):
        best = min(med[(load, configs[0][0])], med[(load, configs[1][0])])
        ratio = med[(load, "default")] / best
        lines.append("| %s | " % load + " | ".join("%.2f" % med[(load, c)] for c, _ in configs)
                     + " | %.2f |" % ratio)
        result["rows"].append({"load": load, "median_ms": {c: med[(load, c)] for c, _ in configs},
                               "times_ms": {c: times[(load, c)] for c, _ in configs},
                               "default_over_best": ratio})
    text = "\n".join(lines) + "\n"
    print(text)
    open(a.out + ".md", "w").write(text)
    json.dump(result, open(a.out + ".json", "w"), indent=1)


if __name__ == "__main__":
    main()
