#!/usr/bin/python3
"""bf16 against fp32 (fcn-run --precision): every fixture, and the bundled
model on generated canvases.

usage: bf16_accuracy.py FCN_RUN [--canvas N ...]

For every line of tests/fixtures*/manifest.txt, fcn-run writes the score
map of the input with --precision fp32 and with bf16 (--out, the fixture's
loader options); per fixture model it prints the largest difference of the
scores (of the probabilities where the model ends in a softmax), relative
to max(1, max |fp32 score|), and the share of cells whose top class is
fp32's. Then models/fashion.bin on models/example.png and on canvases of
N x N pixels (--canvas; default 512 and 1024) tiled with random crops of
the example (fixed seed). Cells whose two best fp32 scores are within the
bf16 difference found there (a tie at bf16's resolution) are counted
apart: "ties". Needs numpy and PIL (Debian's python3-numpy, python3-pil).
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(fcn_run, model, inp, opts, precision, out):
    cmd = [fcn_run, model, inp, "--out", out, "--quiet", "--precision",
           precision] + opts
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return np.load(out)


def compare(a, b):
    """(max |a - b| / max(1, max |a|), share of cells with a's top class,
    cells, ties)."""
    d = np.abs(a - b).max() / max(1.0, float(np.abs(a).max()))
    ta, tb = a.argmax(0), b.argmax(0)
    s = np.sort(a, axis=0)
    gap = s[-1] - s[-2] if a.shape[0] > 1 else np.full(ta.shape, np.inf)
    amb = gap <= np.abs(a - b).max(0) * 2
    agree = ta == tb
    return d, agree.mean(), agree.size, int((~agree & amb).sum())


def fixtures(fcn_run, tmp):
    rows = {}
    for man in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures*",
                                             "manifest.txt"))):
        base = os.path.dirname(man)
        for line in open(man):
            f = line.split()
            if not f or f[0].startswith("#"):
                continue
            case, model, inp, opts = f[0], f[1], f[2], f[5]
            o = [] if opts == "-" else sum(
                (["--" + k, v] for k, v in
                 (x.split("=") for x in opts.split(","))), [])
            m, i = os.path.join(base, model), os.path.join(base, inp)
            a = run(fcn_run, m, i, o, "fp32", os.path.join(tmp, "a.npy"))
            b = run(fcn_run, m, i, o, "bf16", os.path.join(tmp, "b.npy"))
            key = os.path.basename(base) + "/" + case
            r = rows.setdefault(key, [0.0, 0, 0, 0])
            d, agree, n, ties = compare(a, b)
            r[0] = max(r[0], d)
            r[1] += int(round(agree * n))
            r[2] += n
            r[3] += ties
    print("| fixture | max diff / max(1, max score) | top-1 = fp32 | cells "
          "| differing at a tie |")
    print("|---|---|---|---|---|")
    for k, (d, same, n, ties) in sorted(rows.items()):
        print("| %s | %.2e | %.2f%% | %d | %d |" % (k, d, 100.0 * same / n,
                                                    n, ties))
    tot = sum(r[1] for r in rows.values()), sum(r[2] for r in rows.values())
    print("\nall fixtures: %d of %d cells (%.3f%%) have fp32's top class"
          % (tot[0], tot[1], 100.0 * tot[0] / tot[1]))


def canvases(fcn_run, tmp, sizes):
    from PIL import Image
    model = os.path.join(ROOT, "models", "fashion.bin")
    ex = os.path.join(ROOT, "models", "example.png")
    img = np.asarray(Image.open(ex).convert("L"))
    rng = np.random.default_rng(1)
    inputs = [("example.png 224x160", ex)]
    for n in sizes:
        c = np.zeros((n, n), np.uint8)
        for y in range(0, n, 80):
            for x in range(0, n, 112):
                y0 = rng.integers(0, img.shape[0] - 80 + 1)
                x0 = rng.integers(0, img.shape[1] - 112 + 1)
                p = img[y0:y0 + 80, x0:x0 + 112]
                c[y:y + 80, x:x + 112] = p[:min(80, n - y), :min(112, n - x)]
        path = os.path.join(tmp, "canvas_%d.png" % n)
        Image.fromarray(c).save(path)
        inputs.append(("canvas %dx%d" % (n, n), path))
    print("\n| fashion.bin on | max diff of probabilities | top-1 = fp32 "
          "| cells | differing at a tie |")
    print("|---|---|---|---|---|")
    for name, path in inputs:
        a = run(fcn_run, model, path, [], "fp32", os.path.join(tmp, "a.npy"))
        b = run(fcn_run, model, path, [], "bf16", os.path.join(tmp, "b.npy"))
        d, agree, n, ties = compare(a, b)
        print("| %s | %.2e | %.3f%% | %d | %d |" % (name, d, 100 * agree, n,
                                                    ties))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    sizes = [int(argv[i + 1]) for i, x in enumerate(argv) if x == "--canvas"]
    with tempfile.TemporaryDirectory() as tmp:
        fixtures(argv[1], tmp)
        canvases(argv[1], tmp, sizes or [512, 1024])


if __name__ == "__main__":
    main(sys.argv)
