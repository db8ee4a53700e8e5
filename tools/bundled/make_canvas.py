"""Build fcn's example image, models/example.png, and its ground truth, models/example.json.

A 224x160 8-bit grayscale canvas: black-ish background with a mild smooth
texture and pixel noise (the same kind of background models/fashion.bin was
trained with as its "background" class), and six Fashion-MNIST items from the
official t10k TEST split, never seen in training, composited with max() at
non-overlapping positions.

Items: the first t10k image of each of the classes in CLASSES (no selection by
the model's output). Positions: one item per cell of a 3 x 2 grid, with a
seeded jitter; the top-left corners are multiples of the network's stride (4),
so the score-map cell (row, col) = (y/4, x/4) sees exactly the item's 28x28 box.

Usage:  /usr/bin/python3 -m tools.bundled.make_canvas [--seed 7] [--outdir models]
Needs:  numpy only (PNG written with zlib + struct).
"""
import argparse
import json
import os

import numpy as np

from .. import ROOT
from . import fashion_common as fc

WIDTH, HEIGHT = 224, 160
# Ankle boot, Trouser, Bag / Dress, Sandal, T-shirt/top: six different classes.
CLASSES = [9, 1, 8, 3, 5, 0]
# Allowed top-left x for each grid column and y for each grid row (inclusive,
# stepped by the stride). Boxes stay >= 32 px apart and inside the canvas.
COL_X = [(8, 24), (88, 108), (168, 188)]
ROW_Y = [(8, 32), (92, 124)]
# Background: level + smooth field (7 px grid, bilinear) + Gaussian noise.
BG_LEVEL, BG_AMP, BG_NOISE = 12.0, 8.0, 4.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--outdir", default=os.path.join(ROOT, "models"))
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)

    x_test, y_test = fc.load_split("t10k")

    cells = (HEIGHT // 7 + 1, WIDTH // 7 + 1)
    smooth = fc.upsample_bilinear(rng.uniform(-1, 1, size=(1,) + cells), HEIGHT, WIDTH)[0]
    canvas = BG_LEVEL + BG_AMP * smooth + BG_NOISE * rng.standard_normal((HEIGHT, WIDTH))
    canvas = np.clip(canvas, 0, 255)

    items = []
    for k, cls in enumerate(CLASSES):
        row, col = divmod(k, 3)
        idx = int(np.flatnonzero(y_test == cls)[0])
        x = int(rng.integers(COL_X[col][0] // 4, COL_X[col][1] // 4 + 1)) * 4
        y = int(rng.integers(ROW_Y[row][0] // 4, ROW_Y[row][1] // 4 + 1)) * 4
        img = x_test[idx]
        fc.paste_max(canvas, img.astype(np.float64), x, y)
        ys, xs = np.nonzero(img)
        items.append({
            "label": fc.LABELS[cls],
            "class": cls,
            "box": [x, y, fc.WINDOW, fc.WINDOW],
            "tight_box": [x + int(xs.min()), y + int(ys.min()),
                          int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
            "center": [x + fc.WINDOW // 2, y + fc.WINDOW // 2],
            "cell": [y // fc.STRIDE, x // fc.STRIDE],
            "source": "t10k-images-idx3-ubyte.gz index %d" % idx,
        })

    # Boxes must not overlap.
    for i in range(len(items)):
        for j in range(i):
            (xi, yi, w, h), (xj, yj, _, _) = items[i]["box"], items[j]["box"]
            assert abs(xi - xj) >= w or abs(yi - yj) >= h, "overlapping boxes"

    img = fc.quantize(canvas)
    os.makedirs(a.outdir, exist_ok=True)
    png = os.path.join(a.outdir, "example.png")
    fc.write_png_gray(png, img)
    out_h = (HEIGHT - fc.WINDOW) // fc.STRIDE + 1
    out_w = (WIDTH - fc.WINDOW) // fc.STRIDE + 1
    meta = {
        "image": "example.png",
        "width": WIDTH, "height": HEIGHT, "channels": 1,
        # the script's path when models/example.json was made (kept: the file
        # regenerates byte-identically)
        "made_by": "tools/make_canvas.py --seed %d" % a.seed,
        "model": "fashion.bin",
        "window": fc.WINDOW, "stride": fc.STRIDE,
        "score_map": [out_h, out_w],
        "notes": "box = [x, y, w, h] of the 28x28 Fashion-MNIST image placed on the canvas "
                 "(top-left corner, pixels); tight_box = its non-zero pixels; center = [x, y]; "
                 "cell = [row, col] of the score-map cell whose 28x28 window is exactly box.",
        "items": items,
    }
    js = os.path.join(a.outdir, "example.json")
    text = json.dumps(dict(meta, items=[]), indent=1)   # one item per line below
    text = text.replace('"score_map": [\n  %d,\n  %d\n ]' % (out_h, out_w),
                        '"score_map": [%d, %d]' % (out_h, out_w))
    text = text.replace('"items": []', '"items": [\n  ' +
                        ",\n  ".join(json.dumps(it) for it in items) + "\n ]")
    json.loads(text)
    with open(js, "w") as f:
        f.write(text + "\n")
    print("wrote %s (%dx%d, %d bytes) and %s (%d items)"
          % (os.path.normpath(png), WIDTH, HEIGHT, os.path.getsize(png), os.path.normpath(js), len(items)))
    for it in items:
        print("  %-12s box %s cell %s (%s)" % (it["label"], it["box"], it["cell"], it["source"]))


if __name__ == "__main__":
    main()
