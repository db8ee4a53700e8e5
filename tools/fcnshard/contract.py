"""The files of a sharded run (docs/scale-out.md), as fcn-run --shard
writes them (src/cli/run_shard.c, src/cli/shard.c): pure Python (hashlib,
json, numpy), so that a driver without fcn can plan and check parts."""

import hashlib
import json
import os
import tempfile

import numpy as np

FORMAT = 1  # "fcn_shard"


class ShardError(Exception):
    """A part cannot run or be resumed here; the message says why."""


def sha256_file(path):
    """(hex SHA-256, bytes) of a file."""
    h, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
            n += len(b)
    return h.hexdigest(), n


def stem(path):
    """The input's file name without its extension (fcn-run's stem)."""
    b = os.path.basename(path)
    dot = b.rfind(".")
    return b[:dot] if dot > 0 else b


def manifest_name(part, parts):
    return "part-%d-of-%d.json" % (part, parts)


def band_name(inp, part, parts):
    """A cells-mode part's output, within DIR."""
    return "%s.part-%d-of-%d.npy" % (stem(inp), part, parts)


def band(region, part, parts):
    """Part `part` of `parts` of region (row, col, height, width): whole
    cell rows [floor(I*H/N), floor((I+1)*H/N)) of it."""
    r, c, h, w = region
    a, b = part * h // parts, (part + 1) * h // parts
    return (r + a, c, b - a, w)


def job(model, inputs, parts, precision="fp32", gap="window", level=0,
        cells=None, stride_divisor=1):
    """The job object every part of one run writes alike: model (as given)
    and its SHA-256, mode, parts, inputs (as given), and the options that
    change the scores (null: the model's own). The options fcn-dask does
    not offer (winograd, gemm, preprocessing overrides, resize) are those
    of an fcn-run command line without them."""
    try:
        sha = sha256_file(model)[0]
    except OSError as e:
        raise ShardError("%s: %s" % (model, e.strerror or e))
    return {
        "model": model,
        "model_sha256": sha,
        "mode": "cells" if len(inputs) == 1 else "list",
        "parts": parts,
        "inputs": list(inputs),
        "options": {
            "precision": precision, "gemm": "auto", "winograd": "auto",
            "gap": gap, "stride_divisor": max(stride_divisor, 1),
            "level": level,
            "cells": None if cells is None else list(cells),
            "color": None, "scale": None, "mean": None, "std": None,
            "resize": None, "fit": None}}


def write_atomic(path, write):
    """Call write(file) on a temporary file beside path, then rename it
    into place: the file is whole or absent, whenever the process dies."""
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def npy_header(shape):
    """fcn's .npy header for a float32 array (version 1.0, padded to 64
    bytes; src/io/npy.c), so that a band written here is byte for byte the
    file fcn-run --shard writes for it."""
    dims = ",".join("%d" % n for n in shape) + ("," if len(shape) == 1
                                                 else "")
    hdr = ("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }"
           % dims).encode()
    pad = (64 - (10 + len(hdr) + 1) % 64) % 64
    hlen = len(hdr) + pad + 1
    return (b"\x93NUMPY\x01\x00" + bytes((hlen & 0xff, hlen >> 8)) + hdr +
            b" " * pad + b"\n")


def write_npy(path, scores):
    a = np.ascontiguousarray(scores, dtype="<f4")

    def write(f):
        f.write(npy_header(a.shape))
        f.write(memoryview(a).cast("B"))
    write_atomic(path, write)


def read_manifest(path):
    """The manifest at path as a dict, or None where there is none; a file
    that is not one: ShardError."""
    try:
        with open(path, "rb") as f:
            m = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ShardError("%s: not a manifest (%s; remove it to run this "
                         "part afresh)" % (path, e))
    if not (isinstance(m, dict) and m.get("fcn_shard") == FORMAT and
            isinstance(m.get("job"), dict) and
            isinstance(m.get("entries"), list)):
        raise ShardError("%s: not a manifest of fcn's sharded runs "
                         "(\"fcn_shard\": %d; remove it to run this part "
                         "afresh)" % (path, FORMAT))
    return m


def write_manifest(out_dir, job_obj, part, complete, entries):
    m = {"fcn_shard": FORMAT, "job": job_obj, "part": part,
         "complete": bool(complete), "entries": entries}
    text = (json.dumps(m, indent=1) + "\n").encode()
    write_atomic(os.path.join(out_dir, manifest_name(part,
                                                     job_obj["parts"])),
                 lambda f: f.write(text))


def entry_ok(out_dir, e):
    """Whether e's output exists in out_dir with its size and SHA-256."""
    try:
        sha, n = sha256_file(os.path.join(out_dir, e["output"]))
    except (OSError, KeyError, TypeError):
        return False
    return n == e.get("bytes") and sha == e.get("sha256")


def open_part(out_dir, job_obj, part):
    """The entries a part resumes with: those of its manifest in out_dir
    (none if it has none), which must be of the same job (else
    ShardError, as fcn-run refuses)."""
    path = os.path.join(out_dir, manifest_name(part, job_obj["parts"]))
    m = read_manifest(path)
    if m is None:
        return []
    if m["job"] != job_obj:
        raise ShardError("%s is a part of another job (another model, "
                         "inputs, number of parts or options): use another "
                         "--out-dir, or remove it" % path)
    return m["entries"]


def done(out_dir, entries, output):
    """The entry of output if it checks out (skip the unit), else None."""
    for e in entries:
        if isinstance(e, dict) and e.get("output") == output:
            return e if entry_ok(out_dir, e) else None
    return None
