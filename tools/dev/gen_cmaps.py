"""The colour maps of the heat maps (viridis, magma, gray, turbo), taken
from matplotlib's own 256-entry tables, as C (src/cli/heatmap_cmaps.c), and
a test fixture of matplotlib's colours at values between the entries
(tests/fixtures-heatmap/cmaps.txt, for tests/test_heatmap.c). Needs Debian's
python3-matplotlib. Run from the repository root:
    /usr/bin/python3 -m tools.dev.gen_cmaps
"""
import os

import matplotlib
import numpy as np

from .. import ROOT

NAMES = ["viridis", "magma", "gray", "turbo"]


def table(name):
    cm = matplotlib.colormaps[name].resampled(256)
    return cm(np.arange(256))[:, :3]


def write_c(path):
    out = ["/*",
           "** heatmap_cmaps.c: the colour maps of heatmap.c, matplotlib's "
           "256-entry",
           "** tables (matplotlib %s), written by tools/dev/gen_cmaps.py: "
           "do not edit." % matplotlib.__version__,
           "*/",
           '#include "heatmap_cmaps.h"',
           "",
           "const float heat_cmap_table[HEAT_NCMAPS][256][3] = {"]
    for name in NAMES:
        out.append("    { /* %s */" % name)
        rows = ["{%.6ff, %.6ff, %.6ff}," % tuple(c) for c in table(name)]
        for k in range(0, 256, 2):
            out.append("        " + " ".join(rows[k:k + 2]))
        out.append("    },")
    out.append("};")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def write_fixture(path):
    rng = np.random.default_rng(7)
    # ends, entry boundaries and random values in between, and out of range
    t = np.concatenate([[0.0, 1.0, 0.5, 1 / 256, 255 / 256, -0.5, 1.5],
                        rng.random(60)])
    with open(path, "w") as f:
        f.write("# cmap t r g b: matplotlib.colormaps[cmap](t) (RGB as "
                "0..255 floats), tools/dev/gen_cmaps.py\n")
        for name in NAMES:
            cm = matplotlib.colormaps[name]
            for v in t:
                r, g, b = cm(float(v))[:3]
                f.write("%s %.9g %.6f %.6f %.6f\n" % (name, v, r * 255,
                                                      g * 255, b * 255))


if __name__ == "__main__":
    write_c(os.path.join(ROOT, "src", "cli", "heatmap_cmaps.c"))
    write_fixture(os.path.join(ROOT, "tests", "fixtures-heatmap",
                               "cmaps.txt"))
