"""Make a detection set for fcn-detect: large canvases of Fashion-MNIST items with ground truth.

Every canvas is an 8-bit grayscale PNG with a black-ish textured background
of the kind models/fashion.bin was trained with (fashion_common.py:
a base level, a smooth field on a 7 px grid and Gaussian pixel noise, all
within the training ranges, here varying slowly across the canvas), and
Fashion-MNIST items from the official t10k TEST split (never seen in
training) composited with max() at random positions and random sizes: the
28x28 item resized to round(28*k) pixels, k uniform in [--min-item-scale,
--max-item-scale] (area averaging when it shrinks, bilinear when it grows,
like fcn-detect's pyramid). Items' frames do not overlap and lie inside the
canvas.

Two disjoint halves of t10k keep tuning honest: --items tune draws items
from t10k indices 0..4999, --items eval (default) from 5000..9999.

Output in OUTDIR: canvas-NNN.png, canvas-NNN.json (ground truth: each item's
label, class, box = [x, y, w, h] of its resized 28x28 frame, tight_box of its
non-zero pixels, k, source index) and set.json (the list, the options).
With --demo: one small canvas, OUTDIR/detect-demo.png + detect-demo.json
(the README's demo picture).

Usage:  /usr/bin/python3 -m tools.bundled.make_detection_set OUTDIR [--seed 2] [--items eval]
            [--sizes 2000x1500,2000x1500,2000x1500,6000x4000] [--density 40]
            [--min-item-scale 0.8] [--max-item-scale 1.6]
        /usr/bin/python3 -m tools.bundled.make_detection_set models --demo
Needs:  numpy; the Debian Fashion-MNIST files in /usr/share/datasets/fashion-mnist.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from . import fashion_common as fc

HALVES = {"tune": (0, 5000), "eval": (5000, 10000), "all": (0, 10000)}
# Background, per pixel: base level in [BASE_LO, BASE_HI] and texture amplitude
# in [0, AMP_HI] and noise sigma in [0, SIGMA_HI], each a smooth field on a
# coarse FIELD_CELL grid; texture on a 7 px grid as in training. The training
# ranges (fashion_common.backgrounds) are base U(0, 24), amplitude U(0, 12),
# sigma U(0, 6).
BASE_LO, BASE_HI, AMP_HI, SIGMA_HI = 2.0, 22.0, 10.0, 5.0
FIELD_CELL = 300
TEXTURE_CELL = 7


def resample_matrix(n_in, n_out):
    """[n_out, n_in] weights resizing one axis like stb_image_resize with edge
    clamp: area averaging (box) when shrinking, triangle (bilinear) when
    growing, pixel centres aligned ((u + 0.5) * n_in / n_out - 0.5)."""
    m = np.zeros((n_out, n_in))
    r = n_in / n_out
    for u in range(n_out):
        if n_out < n_in:      # box over [u*r, (u+1)*r)
            a, b = u * r, (u + 1) * r
            for i in range(int(np.floor(a)), int(np.ceil(b))):
                m[u, min(max(i, 0), n_in - 1)] += min(b, i + 1) - max(a, i)
        else:                 # triangle of radius 1 around the centre
            c = (u + 0.5) * r - 0.5
            i0 = int(np.floor(c))
            f = c - i0
            m[u, min(max(i0, 0), n_in - 1)] += 1 - f
            m[u, min(max(i0 + 1, 0), n_in - 1)] += f
    return m / m.sum(axis=1, keepdims=True)


def resize_item(img, size):
    r = resample_matrix(img.shape[0], size)
    return np.clip(r @ img.astype(np.float64) @ r.T, 0, 255)


def smooth_field(rng, h, w, cell, lo, hi):
    """A field in [lo, hi]: uniform values on a coarse grid, bilinear."""
    cells = (max(2, h // cell + 1), max(2, w // cell + 1))
    f = fc.upsample_bilinear(rng.uniform(lo, hi, size=(1,) + cells), h, w)[0]
    return f.astype(np.float32)


def background(rng, h, w):
    base = smooth_field(rng, h, w, FIELD_CELL, BASE_LO, BASE_HI)
    amp = smooth_field(rng, h, w, FIELD_CELL, 0.0, AMP_HI)
    sigma = smooth_field(rng, h, w, FIELD_CELL, 0.0, SIGMA_HI)
    tex = smooth_field(rng, h, w, TEXTURE_CELL, -1.0, 1.0)
    bg = base + amp * tex
    del base, amp, tex
    bg += sigma * rng.standard_normal((h, w), dtype=np.float32)
    return np.clip(bg, 0, 255)


def make_canvas(rng, w, h, n_items, images, labels, first, kmin, kmax):
    canvas = background(rng, h, w)
    taken = np.zeros((h, w), dtype=bool)
    items, tries = [], 0
    while len(items) < n_items and tries < 50 * n_items:
        tries += 1
        k = rng.uniform(kmin, kmax)
        s = int(round(fc.WINDOW * k))
        x = int(rng.integers(0, w - s + 1))
        y = int(rng.integers(0, h - s + 1))
        if taken[y:y + s, x:x + s].any():
            continue
        taken[y:y + s, x:x + s] = True
        idx = int(rng.integers(len(images)))
        item = resize_item(images[idx], s)
        np.maximum(canvas[y:y + s, x:x + s], item, out=canvas[y:y + s, x:x + s])
        ys, xs = np.nonzero(item >= 0.5)
        cls = int(labels[idx])
        items.append({
            "label": fc.LABELS[cls], "class": cls, "box": [x, y, s, s],
            "tight_box": [x + int(xs.min()), y + int(ys.min()),
                          int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
            "k": round(s / fc.WINDOW, 4),
            "source": "t10k-images-idx3-ubyte.gz index %d" % (first + idx),
        })
    return fc.quantize(canvas), items


def write_truth(path, meta, items):
    text = json.dumps(dict(meta, items=[]), indent=1)
    text = text.replace('"items": []', '"items": [\n  ' +
                        ",\n  ".join(json.dumps(it) for it in items) + "\n ]")
    json.loads(text)
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--items", choices=sorted(HALVES), default="eval",
                    help="which half of t10k the items come from (tune: 0..4999, eval: 5000..9999)")
    ap.add_argument("--sizes", default="2000x1500,2000x1500,2000x1500,6000x4000",
                    help="canvas sizes WxH, comma-separated")
    ap.add_argument("--density", type=float, default=40.0, help="items per megapixel")
    ap.add_argument("--min-item-scale", type=float, default=0.8)
    ap.add_argument("--max-item-scale", type=float, default=1.6)
    ap.add_argument("--demo", action="store_true",
                    help="one 400x300 canvas with 14 items, written as detect-demo.png/.json")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    x_test, y_test = fc.load_split("t10k")
    lo, hi = HALVES[a.items]
    images, labels = x_test[lo:hi], y_test[lo:hi]
    os.makedirs(a.outdir, exist_ok=True)
    # the script's path when models/detect-demo.json was made (kept: the file
    # regenerates byte-identically)
    cmd = "tools/make_detection_set.py " + " ".join(sys.argv[1:])

    if a.demo:
        sizes, names = [(400, 300)], ["detect-demo"]
    else:
        sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
        names = ["canvas-%03d" % i for i in range(len(sizes))]
    entries = []
    for (w, h), name in zip(sizes, names):
        t0 = time.time()
        n = 14 if a.demo else int(round(a.density * w * h / 1e6))
        img, items = make_canvas(rng, w, h, n, images, labels, lo,
                                 a.min_item_scale, a.max_item_scale)
        png = os.path.join(a.outdir, name + ".png")
        fc.write_png_gray(png, img)
        meta = {"image": name + ".png", "width": w, "height": h, "channels": 1,
                "made_by": cmd, "items_from": "t10k indices %d..%d" % (lo, hi - 1),
                "notes": "box = [x, y, w, h] of the item's resized 28x28 frame (pixels, "
                         "top-left corner); tight_box = its non-zero pixels; k = frame "
                         "size / 28; source = index in the t10k file."}
        write_truth(os.path.join(a.outdir, name + ".json"), meta, items)
        entries.append({"image": name + ".png", "truth": name + ".json",
                        "width": w, "height": h, "items": len(items)})
        print("wrote %s (%dx%d, %d items, %d bytes, %.1f s)"
              % (os.path.normpath(png), w, h, len(items), os.path.getsize(png),
                 time.time() - t0))
    if not a.demo:
        with open(os.path.join(a.outdir, "set.json"), "w") as f:
            json.dump({"made_by": cmd, "seed": a.seed, "items": a.items,
                       "item_scale": [a.min_item_scale, a.max_item_scale],
                       "density_per_mpx": a.density, "images": entries}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
