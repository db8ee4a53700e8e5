#!/usr/bin/python3
"""VGG-16 (torchvision's layout: 13 3x3 convs with ReLU, 5 max pools,
Flatten -> Dense 4096 -> 4096 -> 1000 -> Softmax), random He-scaled weights
and small biases (fixed seed), written as model.bin with tools/fcnconv, for
fcn-bench where torchvision (benchmarks/peers.py) is not installed.

usage: vgg16_bin.py OUT.bin      (554 MB; numpy only)
"""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tools"))
import numpy as np  # noqa: E402
from fcnconv.modelbin import Model  # noqa: E402

rng = np.random.default_rng(16)
cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
m = Model(input_shape=(3, 224, 224), labels=["c%d" % i for i in range(1000)], scale=1/255)
cur, c, i = "input", 3, 0
for v in cfg:
    i += 1
    if v == "M":
        m.add("MaxPool", "pool%d" % i, [cur], "p%d" % i, {"kernel": [2, 2], "stride": [2, 2]})
        cur = "p%d" % i
        continue
    w = (rng.standard_normal((v, c, 3, 3)) * np.sqrt(2.0 / (c * 9))).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, v).astype(np.float32)
    m.add("Conv", "conv%d" % i, [cur], "c%d" % i, {"kernel": [3, 3], "pad": [1, 1, 1, 1]}, weight=w, bias=b)
    m.add("Relu", "relu%d" % i, ["c%d" % i], "r%d" % i)
    cur, c = "r%d" % i, v
m.add("Flatten", "flat", [cur], "f", {"order": "chw"})
k = 512 * 7 * 7
for j, (n_in, n_out) in enumerate([(k, 4096), (4096, 4096), (4096, 1000)]):
    w = (rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, n_out).astype(np.float32)
    m.add("Dense", "fc%d" % j, ["f" if j == 0 else "a%d" % (j - 1)], "d%d" % j, weight=w, bias=b)
    if j < 2:
        m.add("Relu", "frelu%d" % j, ["d%d" % j], "a%d" % j)
m.add("Softmax", "prob", ["d2"], "out")
m.save(sys.argv[1])
