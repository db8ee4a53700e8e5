"""The Dask driver of sharded runs (tools/fcn-dask; docs/scale-out.md,
"Dask"): the job and the parts as the contract says, one Dask task per part
on a LocalCluster or an existing scheduler, then fcn-merge."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile

from . import contract, part

USAGE_EPILOG = """\
Cells mode (one input): its map (or --cells of it) in N bands of cell
rows, one Dask task per band, each computed in the worker's process through
the package fcn (the model loaded once per worker) or, where fcn does not
import there (or with --cli), by fcn-run --shard I/N. List mode (several
inputs): input k in part k mod N, each part one task running fcn-run
--shard I/N. Parts whose manifest and output check out are skipped
(resume). --merge OUT then runs fcn-merge DIR OUT (cells mode)."""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="fcn-dask", epilog=USAGE_EPILOG,
        description="Run fcn's score maps in parts on a Dask cluster.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--parts", type=int, required=True, metavar="N")
    p.add_argument("--out-dir", required=True, metavar="DIR")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=2, metavar="W",
                   help="a LocalCluster of W worker processes (default 2)")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://host:port)")
    p.add_argument("--threads-per-worker", type=int, default=1, metavar="T",
                   help="Dask threads (parts at once) per local worker")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="fcn threads per part (default: the cores over "
                   "the local workers' threads; 0, all cores, on a "
                   "--scheduler)")
    p.add_argument("--mem-limit", type=int, default=0, metavar="BYTES",
                   help="bytes per block of a part (0: fcn's 512 MiB)")
    p.add_argument("--cells", metavar="R,C,H,W",
                   help="only that region of the map")
    p.add_argument("--level", type=int, default=0)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--gap", choices=["window", "local"], default="window")
    p.add_argument("--stride-divisor", type=int, default=1, metavar="K",
                   help="a map K times finer than the stride (fcn-run's)")
    p.add_argument("--merge", metavar="OUT",
                   help="then fcn-merge DIR OUT (OUT.npy or OUT.tif)")
    p.add_argument("--cli", action="store_true",
                   help="run every part through fcn-run, not in-process")
    p.add_argument("--fcn-run", metavar="PATH",
                   help="fcn-run for the CLI path (default: on PATH)")
    p.add_argument("--fcn-merge", metavar="PATH",
                   help="fcn-merge (default: beside --fcn-run, or on PATH)")
    a = p.parse_args(argv)
    if a.parts < 1 or a.workers < 1 or a.threads_per_worker < 1 or \
            a.stride_divisor < 1:
        p.error("--parts, --workers, --threads-per-worker and "
                "--stride-divisor must be >= 1")
    if a.cells is not None:
        try:
            a.cells = [int(x) for x in a.cells.split(",")]
            if len(a.cells) != 4 or min(a.cells[:2]) < 0 or \
                    min(a.cells[2:]) < 1:
                raise ValueError
        except ValueError:
            p.error("--cells needs R,C,H,W (R, C >= 0; H, W >= 1)")
    if len(a.inputs) > 1 and (a.cells or a.merge):
        p.error("--cells and --merge go with one input (cells mode)")
    return a


def find_tool(name, given, beside):
    if given:
        return os.path.abspath(given)
    if beside:
        b = os.path.join(os.path.dirname(beside), name)
        if os.access(b, os.X_OK):
            return b
    w = shutil.which(name)
    return os.path.abspath(w) if w else name


def connect(a):
    """A Client: of the scheduler given, or of a new LocalCluster of
    worker processes on this machine (localhost only, no dashboard)."""
    from dask.distributed import Client, LocalCluster
    if a.scheduler:
        c = Client(a.scheduler)
        # the workers import this package from the zip sent to them
        with tempfile.TemporaryDirectory() as d:
            z = os.path.join(d, "fcnshard.zip")
            here = os.path.dirname(os.path.abspath(__file__))
            with zipfile.ZipFile(z, "w") as f:
                for n in sorted(os.listdir(here)):
                    if n.endswith(".py"):
                        f.write(os.path.join(here, n), "fcnshard/" + n)
            c.upload_file(z)
        return c, None
    cluster = LocalCluster(n_workers=a.workers,
                           threads_per_worker=a.threads_per_worker,
                           processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def say(*args):
    print("fcn-dask:", *args, flush=True)


def run(a):
    d = os.path.abspath(a.out_dir)
    os.makedirs(d, exist_ok=True)
    fcn_run = find_tool("fcn-run", a.fcn_run, None)
    job = contract.job(a.model, a.inputs, a.parts, a.precision, a.gap,
                       a.level, a.cells, a.stride_divisor)
    threads = a.threads
    if threads is None:
        threads = 0 if a.scheduler else max(
            1, (os.cpu_count() or 1) // (a.workers * a.threads_per_worker))
    how = "cli" if a.cli or job["mode"] != "cells" else "auto"
    spec = {"model": a.model, "job": job, "out_dir": d, "threads": threads,
            "mem_limit": a.mem_limit, "how": how, "fcn_run": fcn_run}
    t0 = time.perf_counter()
    client, cluster = connect(a)
    say("%s in %.2f s: %d worker%s" % (
        "connected to " + a.scheduler if a.scheduler else "LocalCluster",
        time.perf_counter() - t0, len(client.scheduler_info()["workers"]),
        "s" if len(client.scheduler_info()["workers"]) != 1 else ""))
    try:
        return drive(a, client, spec, d, fcn_run)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def drive(a, client, spec, d, fcn_run):
    from dask.distributed import as_completed
    job, n = spec["job"], spec["job"]["parts"]
    token = uuid.uuid4().hex[:8]
    t0 = time.perf_counter()
    specs = [dict(spec, part=i) for i in range(n)]
    total_px = None
    if job["mode"] == "cells":
        try:
            pl = client.submit(part.plan, spec, key="fcn-plan-" + token,
                               pure=False).result()
        except Exception as e:  # fcn's or the plan's error, on the worker
            print("fcn-dask: %s" % e, file=sys.stderr)
            return 1
        for s in specs:
            s["cells"] = contract.band(pl["region"], s["part"], n)
            s["image"] = pl["image"]
        total_px = pl["input_window"][2] * pl["input_window"][3]
        say("%s: image %dx%d (WxH), map %d x %d x %d, cells %s in %d parts "
            "of whole cell rows" % (job["inputs"][0], pl["image"][1],
                                    pl["image"][0], *pl["map"],
                                    ",".join(map(str, pl["region"])), n))
    futures = {client.submit(part.run_part, s, pure=False,
                             key="fcn-part-%d-of-%d-%s" % (s["part"], n,
                                                           token)): s
               for s in specs}
    failed, reports = 0, []
    for f in as_completed(futures):
        s = futures[f]
        try:
            r = f.result()
        except Exception as e:  # the part's error, raised on the worker
            failed += 1
            print("fcn-dask: part %d/%d FAILED: %s" % (s["part"], n, e),
                  file=sys.stderr, flush=True)
            continue
        reports.append(r)
        rows = ("rows %d..%d, " % (s["cells"][0], s["cells"][0] +
                                   s["cells"][2] - 1) if "cells" in s
                else "")
        rate = "" if r["how"] == "skipped" else ", %.2f megapixels/s" % (
            r["input_pixels"] / 1e6 / max(r["seconds"], 1e-9))
        say("part %d/%d: %s%s, %.2f s%s (pid %d on %s, models loaded "
            "there: %d)" % (r["part"], n, rows, r["how"], r["seconds"], rate,
                            r["pid"], r["host"], r["model_loads"]))
    wall = time.perf_counter() - t0
    if total_px is None:
        total_px = sum(r["input_pixels"] for r in reports)
    say("%d of %d parts done (%d skipped) in %.2f s: %.2f megapixels, "
        "%.2f megapixels/s; %s" % (
            len(reports), n, sum(r["how"] == "skipped" for r in reports),
            wall, total_px / 1e6, total_px / 1e6 / wall, d))
    if failed:
        print("fcn-dask: %d part%s failed%s" % (
            failed, "s" if failed > 1 else "", ": not merged" if a.merge
            else ""), file=sys.stderr)
        return 1
    if a.merge:
        fm = find_tool("fcn-merge", a.fcn_merge, fcn_run)
        t1 = time.perf_counter()
        p = subprocess.run([fm, d, a.merge])
        if p.returncode != 0:
            say("fcn-merge failed (exit %d)" % p.returncode)
            return 1
        say("merged into %s in %.2f s" % (a.merge,
                                          time.perf_counter() - t1))
    return 0


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(a)
    except (contract.ShardError, OSError) as e:
        print("fcn-dask: %s" % e, file=sys.stderr)
        return 1
