"""One part of a sharded run on a worker (docs/scale-out.md, "Dask").

In-process (cells mode, where the package fcn imports): the model is loaded
once per process and kept (a per-process cache, keyed by the file's SHA-256
and the load options), the band computed streamed with Model.run_region and
written with its manifest as fcn-run --shard writes them. Otherwise (the
package absent, a list job, or asked): fcn-run --shard I/N as a subprocess.
Either way a part whose manifest and output check out is skipped."""

import os
import re
import socket
import subprocess
import threading
import time

from . import contract

try:
    import fcn
except ImportError:  # the CLI path only
    fcn = None

_lock = threading.Lock()
_models = {}   # (path, sha256, precision, gap, stride_divisor) -> Model
loads = [0]    # models loaded by this process (the tests read it)


def model_for(spec):
    """This process's Model for spec's model file and options, loaded on
    first use."""
    o = spec["job"]["options"]
    key = (spec["model"], spec["job"]["model_sha256"], o["precision"],
           o["gap"], o["stride_divisor"])
    # stride_divisor passed only where it is not the default's
    kw = {"stride_divisor": o["stride_divisor"]} \
        if o["stride_divisor"] > 1 else {}
    with _lock:
        m = _models.get(key)
        if m is None:
            m = _models[key] = fcn.Model(spec["model"],
                                         precision=o["precision"],
                                         gap=o["gap"], **kw)
            loads[0] += 1
        return m


def _result(spec, how, t0, window):
    return {"part": spec["part"], "how": how,
            "seconds": time.perf_counter() - t0, "pid": os.getpid(),
            "host": socket.gethostname(), "model_loads": loads[0],
            "input_pixels": window[2] * window[3] if window else 0}


def run_inprocess(spec):
    """A cells-mode part through the package: spec's band (cells of the
    whole map) of its one input."""
    t0 = time.perf_counter()
    d, job, part = spec["out_dir"], spec["job"], spec["part"]
    inp = job["inputs"][0]
    os.makedirs(d, exist_ok=True)
    entries = contract.open_part(d, job, part)
    name = contract.band_name(inp, part, job["parts"])
    old = contract.done(d, entries, name)
    if old is not None:
        m = contract.read_manifest(os.path.join(
            d, contract.manifest_name(part, job["parts"])))
        if not m["complete"]:
            contract.write_manifest(d, job, part, True, entries)
        return _result(spec, "skipped", t0, old["input_window"])
    contract.write_manifest(d, job, part, False, entries)
    model = model_for(spec)
    level, mem = job["options"]["level"], spec["mem_limit"]
    # the plan's (a file read whole is decoded to know its size)
    h, w = spec.get("image") or model.image_size(inp, level=level)
    cells = tuple(spec["cells"])
    scores, _ = model.run_region(inp, cells=cells, threads=spec["threads"],
                                 mem_limit=mem, level=level)
    out = os.path.join(d, name)
    contract.write_npy(out, scores)
    sha, n = contract.sha256_file(out)
    g = model.info.geometry
    win = list(model.input_window(h, w, cells, mem_limit=mem))
    e = {"input": inp, "image": [h, w],
         "map": [model.info.classes] + list(model.map_size(h, w)),
         "cells": list(cells), "input_window": win,
         "geometry": {"stride": list(g.stride), "offset": list(g.offset),
                      "receptive_field": list(g.rf)},
         "kernels": model.kernels, "output": name, "bytes": n,
         "sha256": sha}
    entries = [x for x in entries if x.get("output") != name] + [e]
    contract.write_manifest(d, job, part, True, entries)
    return _result(spec, "in-process", t0, win)


def cli_command(spec):
    """fcn-run's command line for the part (the same job object)."""
    job = spec["job"]
    o = job["options"]
    cmd = [spec["fcn_run"], job["model"]] + job["inputs"] + [
        "--shard", "%d/%d" % (spec["part"], job["parts"]),
        "--out-dir", spec["out_dir"], "--threads", str(spec["threads"])]
    if spec["mem_limit"]:
        cmd += ["--mem-limit", str(spec["mem_limit"])]
    if o["cells"] is not None:
        cmd += ["--cells", ",".join(map(str, o["cells"]))]
    if o["level"]:
        cmd += ["--level", str(o["level"])]
    if o["precision"] != "fp32":
        cmd += ["--precision", o["precision"]]
    if o["gap"] != "window":
        cmd += ["--gap", o["gap"]]
    if o["stride_divisor"] > 1:
        cmd += ["--stride-divisor", str(o["stride_divisor"])]
    return cmd


def run_cli(spec):
    t0 = time.perf_counter()
    p = subprocess.run(cli_command(spec), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    lines = p.stderr.strip().splitlines()
    if p.returncode != 0:
        raise contract.ShardError("part %d/%d: %s" % (
            spec["part"], spec["job"]["parts"],
            lines[-1] if lines else "fcn-run exited %d" % p.returncode))
    said = re.search(r"part \d+/\d+: (\d+) of \d+ units? run, (\d+) done "
                     r"before", p.stderr)
    how = "skipped" if said and said[1] == "0" and said[2] != "0" else "cli"
    m = contract.read_manifest(os.path.join(
        spec["out_dir"], contract.manifest_name(spec["part"],
                                                spec["job"]["parts"])))
    px = sum(e["input_window"][2] * e["input_window"][3]
             for e in m["entries"])
    r = _result(spec, how, t0, None)
    r["input_pixels"] = px
    return r


def run_part(spec):
    """Run (or skip) one part; its report (a dict: part, how, seconds,
    pid, host, model_loads, input_pixels)."""
    if spec["how"] == "cli" or fcn is None or \
            spec["job"]["mode"] != "cells":
        return run_cli(spec)
    return run_inprocess(spec)


def plan(spec):
    """The region the parts split (row, col, height, width of the map) and
    the image's size, computed on a worker (whose model stays loaded for its
    part): in-process, or from fcn-run --plan N."""
    job = spec["job"]
    o, n, inp = job["options"], job["parts"], job["inputs"][0]
    if spec["how"] == "cli" or fcn is None:
        return _plan_cli(spec)
    model = model_for(spec)
    h, w = model.image_size(inp, level=o["level"])
    mh, mw = model.map_size(h, w)
    r = tuple(o["cells"]) if o["cells"] is not None else (0, 0, mh, mw)
    if r[0] > mh - r[2] or r[1] > mw - r[3]:
        raise contract.ShardError("--cells %d,%d,%d,%d are not within the "
                                  "%dx%d map" % (r + (mh, mw)))
    if r[2] < n:
        raise contract.ShardError(
            "--parts %d: the map has %d row%s of cells, so at most %d parts"
            % (n, r[2], "s" if r[2] > 1 else "", r[2]))
    win = model.input_window(h, w, r, mem_limit=spec["mem_limit"])
    return {"image": [h, w], "map": [model.info.classes, mh, mw],
            "region": list(r), "input_window": list(win)}


def _plan_cli(spec):
    import json
    job = spec["job"]
    cmd = cli_command(dict(spec, part=0))
    i = cmd.index("--shard")
    cmd[i:i + 4] = ["--plan", str(job["parts"])]   # no --out-dir
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        lines = p.stderr.strip().splitlines()
        raise contract.ShardError(lines[-1] if lines else
                                  "fcn-run --plan exited %d" % p.returncode)
    units = [q["units"][0] for q in json.loads(p.stdout)["parts"]]
    first, last = units[0], units[-1]
    r = first["cells"][:2] + [sum(u["cells"][2] for u in units),
                              first["cells"][3]]
    y0, x0 = first["input_window"][:2]
    y1 = last["input_window"][0] + last["input_window"][2]
    return {"image": first["image"], "map": first["map"], "region": r,
            "input_window": [y0, x0, y1 - y0, first["input_window"][3]]}
