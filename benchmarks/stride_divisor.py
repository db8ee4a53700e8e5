#!/usr/bin/python3
"""--stride-divisor K against K^2 separate runs (docs/engine.md, "Maps finer
than the stride").

The map K times finer than the stride S of a model on a large image, in
one fcn-run (the a-trous rewrite), against what it replaces: K^2 runs of
the model at its own stride on the image shifted by (dy, dx) * S/K
(dy, dx in 0..K-1), one fcn-run over the K^2 shifted inputs (the model
loaded once), interleaved. Times are fcn-run's own per-input "plan" +
"run" (--json), summed over the K^2 inputs; each figure is the median of
--repeat rounds. The interleaved map is also compared with the finer one
(for VALID models they are the same cells; max |difference| printed).

Models: the bundled models/fashion.bin (VALID, stride 4) on a generated
SIZE x SIZE image (default 2048), and a VGG-like padded model (random
weights, 3x3 convs with padding, four 2x2/2 max pools, Flatten -> Dense,
stride 16) on a SIZE/2 square 3-channel image, written here (--no-vgg to
skip). For a padded model the shifted runs are not the same cells at the
border (zero padding falls elsewhere); the time comparison still holds.

usage: stride_divisor.py FCN_RUN [--size N] [--repeat R] [--threads T]
                         [--no-vgg]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from fcnconv import modelbin  # noqa: E402


def run(fcn_run, model, inputs, opts, tmp):
    """Per-input (plan + run) seconds and the maps, in one fcn-run."""
    outs = os.path.join(tmp, "out")
    os.makedirs(outs, exist_ok=True)
    lst = os.path.join(tmp, "list.txt")
    with open(lst, "w") as f:
        f.write("\n".join(inputs) + "\n")
    js = os.path.join(tmp, "t.json")
    subprocess.run([fcn_run, model, "--list", lst, "-q", "--out", outs,
                    "--json", js] + opts, check=True, stdout=subprocess.DEVNULL)
    with open(js) as f:
        j = json.load(f)
    j = j if isinstance(j, list) else [j]
    t = sum(r["timings"]["plan"] + r["timings"]["run"] for r in j)
    maps = [np.load(os.path.join(outs, os.path.splitext(
        os.path.basename(p))[0] + ".npy")) for p in inputs]
    return t, maps


def vgg_model(path):
    g = np.random.default_rng(16)
    m = modelbin.Model((3, 64, 64), ["c%d" % i for i in range(10)],
                       scale=1.0, name="VGG-like benchmark")
    cur, c = "input", 3
    for i, v in enumerate([32, "M", 64, "M", 128, 128, "M", 128, 128, "M"]):
        if v == "M":
            m.add("MaxPool", "p%d" % i, [cur], "p%d" % i, {"kernel": [2, 2]})
            cur = "p%d" % i
            continue
        w = g.standard_normal((v, c, 3, 3)) * np.sqrt(2.0 / (c * 9))
        m.add("Conv", "c%d" % i, [cur], "c%d" % i, {"pad": [1, 1, 1, 1]},
              weight=w, bias=g.uniform(-0.1, 0.1, v))
        m.add("Relu", "r%d" % i, ["c%d" % i], "r%d" % i)
        cur, c = "r%d" % i, v
    m.add("Flatten", "fl", [cur], "fl", {"order": "chw"})
    m.add("Dense", "fc1", ["fl"], "fc1",
          weight=g.standard_normal((256, c * 16)) * np.sqrt(2.0 / (c * 16)),
          bias=np.zeros(256))
    m.add("Relu", "r_fc1", ["fc1"], "r_fc1")
    m.add("Dense", "fc2", ["r_fc1"], "fc2",
          weight=g.standard_normal((10, 256)) * 0.06, bias=np.zeros(10))
    m.add("Softmax", "sm", ["fc2"], "prob")
    m.save(path)


def bench(fcn_run, name, model, img, S, Ks, repeat, threads, tmp):
    whole = os.path.join(tmp, "whole.npy")
    np.save(whole, img)
    opts = ["--threads", str(threads)] if threads else []
    for K in Ks:
        st = S // K
        shifted = []
        for dy in range(K):
            for dx in range(K):
                p = os.path.join(tmp, "s%d_%d.npy" % (dy, dx))
                np.save(p, np.ascontiguousarray(img[:, dy * st:, dx * st:]))
                shifted.append(p)
        tf, tk = [], []
        for _ in range(repeat):
            t, (fine,) = run(fcn_run, model, [whole],
                             opts + ["--stride-divisor", str(K)], tmp)
            tf.append(t)
            t, maps = run(fcn_run, model, shifted, opts, tmp)
            tk.append(t)
        inter = np.full(fine.shape, np.nan, np.float32)
        for (dy, dx), mp in zip([(a, b) for a in range(K) for b in range(K)],
                                maps):
            blk = inter[:, dy::K, dx::K]
            h, w = min(blk.shape[1], mp.shape[1]), min(blk.shape[2],
                                                      mp.shape[2])
            blk[:, :h, :w] = mp[:, :h, :w]
        diff = float(np.nanmax(np.abs(inter - fine)))
        a, b = float(np.median(tf)), float(np.median(tk))
        print("%-10s %5dx%-5d K=%d  map %4dx%-4d  stride-divisor %8.3f s   "
              "%2d shifted runs %8.3f s   ratio %.2fx   max|diff| %.2g"
              % (name, img.shape[1], img.shape[2], K, fine.shape[1],
                 fine.shape[2], a, K * K, b, b / a, diff))
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fcn_run")
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--no-vgg", action="store_true")
    a = ap.parse_args()
    g = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        img = g.standard_normal((1, a.size, a.size)).astype(np.float32)
        bench(a.fcn_run, "fashion", os.path.join(ROOT, "models/fashion.bin"),
              img, 4, (2, 4), a.repeat, a.threads, tmp)
        if not a.no_vgg:
            vgg = os.path.join(tmp, "vgg.bin")
            vgg_model(vgg)
            n = a.size // 2
            img = g.standard_normal((3, n, n)).astype(np.float32)
            bench(a.fcn_run, "vgg-like", vgg, img, 16, (2, 4), a.repeat,
                  a.threads, tmp)


if __name__ == "__main__":
    main()
