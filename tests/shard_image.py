#!/usr/bin/python3
"""A gray test image for the sharded-run tests and benchmarks
(test_dask.sh, test_slurm.sh, benchmarks/shards.py): models/example.png
tiled to HEIGHT x WIDTH with uniform noise of +-10 (seed 1), so that every
band of cell rows has items in it.

usage: shard_image.py SOURCE_ROOT OUT HEIGHT WIDTH   (OUT: .png or .tif;
a .tif is written tiled 256 x 256 by the vips command, read window by
window by fcn)"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image


def make(src, out, h, w):
    g = np.asarray(Image.open(os.path.join(src, "models", "example.png"))
                   .convert("L"), dtype=np.int16)
    a = np.tile(g, (-(-h // g.shape[0]), -(-w // g.shape[1])))[:h, :w]
    a = a + np.random.default_rng(1).integers(-10, 11, a.shape,
                                              dtype=np.int16)
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if not out.endswith(".tif"):
        im.save(out)
        return
    with tempfile.TemporaryDirectory() as d:
        png = os.path.join(d, "i.png")
        im.save(png)
        subprocess.run(["vips", "tiffsave", png, out, "--tile",
                        "--tile-width", "256", "--tile-height", "256",
                        "--bigtiff"], check=True)


if __name__ == "__main__":
    make(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
