"""Check the bundled model and example image (models/fashion.bin, models/example.png).

Independent of PyTorch and of the training code's network: the classifier is
rebuilt from the file alone (fcnconv.modelbin's reader) and run by a small
numpy interpreter of its layers. Checks:

 (a) accuracy on the official Fashion-MNIST t10k test split, and on the
     held-out item / background patches made from it, equal the figures
     reported in models/README.md (EXPECTED below);
 (b) sliding the 28x28 classifier with stride 4 over example.png gives each
     item's label at the item's cell; the same map computed fully
     convolutionally (Dense layers turned into convolutions, as fcn does) agrees
     with the sliding one.

Usage:  /usr/bin/python3 -m tools.bundled.check_bundled [--model models/fashion.bin]
            [--image models/example.png] [--dump-scores scores.npy]
--dump-scores writes the reference score map (float32, classes x out_h x out_w,
softmax probabilities) as .npy. Exit status 0 when every check passes.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import ROOT
from ..fcnconv import modelbin
from . import fashion_common as fc

# The figures reported in models/README.md (measured by train_fashion.py).
EXPECTED = {
    "test_acc_11way": 0.9028,
    "test_acc_10way": 0.9031,
    "canvas_items_acc_11way": 0.8889,
    "bg_patches_background": 0.9981,
    "bg_vs_item_acc": 0.9985,
}
TOL = 3e-4   # up to 3 of 10000 borderline predictions may flip with float32 summation order
SEED = 1234  # train_fashion.py --seed; the held-out patches use SEED + 1000


# ------------------------------------------------------- numpy interpreter

def conv(x, w, b, attrs):
    """x [N,C,H,W], w [O,C,kh,kw]: VALID cross-correlation, stride 1."""
    assert list(attrs.get("stride", [1, 1])) == [1, 1]
    assert list(attrs.get("pad", [0, 0, 0, 0])) == [0, 0, 0, 0]
    assert list(attrs.get("dilation", [1, 1])) == [1, 1]
    assert list(attrs.get("groups", [1]))[0] == 1 and list(attrs.get("flip", [0]))[0] == 0
    kh, kw = w.shape[2:]
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))          # N,C,Ho,Wo,kh,kw
    y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))       # N,Ho,Wo,O
    y = y.transpose(0, 3, 1, 2)
    if b is not None:
        y = y + b[None, :, None, None]
    return np.ascontiguousarray(y, dtype=np.float32)


def maxpool(x, attrs):
    kh, kw = attrs["kernel"]
    sh, sw = attrs.get("stride", [kh, kw])
    assert (sh, sw) == (kh, kw) and list(attrs.get("pad", [0, 0, 0, 0])) == [0, 0, 0, 0]
    assert list(attrs.get("ceil_mode", [0]))[0] == 0
    n, c, h, w = x.shape
    ho, wo = h // kh, w // kw                                   # floor mode
    x = x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw)
    return x.max(axis=(3, 5))


def softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def run_classifier(model, x):
    """The classifier as stored: x [N,1,28,28] preprocessed -> [N, classes]."""
    t = {model.input_name: x}
    for L in model.layers:
        a = t[L.inputs[0]]
        if L.op == "Conv":
            y = conv(a, L.weight("weight"), L.weight("bias"), L.attrs)
        elif L.op == "Relu":
            y = np.maximum(a, 0)
        elif L.op == "MaxPool":
            y = maxpool(a, L.attrs)
        elif L.op == "Flatten":
            assert L.attrs["order"] == "chw"
            y = a.reshape(len(a), -1)
        elif L.op == "Dense":
            y = a @ L.weight("weight").T + L.weight("bias")
        elif L.op == "Dropout":
            y = a
        elif L.op == "Softmax":
            y = softmax(a, axis=1)
        else:
            raise ValueError("layer %s: op %s not handled here" % (L.name, L.op))
        t[L.output] = y
    return t[model.layers[-1].output]


def run_fcn(model, x):
    """The converted network: x [1,1,H,W] -> [1, classes, out_h, out_w]. The first
    Dense after Flatten becomes a Conv with the flattened C x h x w window as its
    kernel; later Dense layers become 1x1 Convs."""
    t = {model.input_name: x}
    first_dense = True
    for L in model.layers:
        a = t[L.inputs[0]]
        if L.op == "Conv":
            y = conv(a, L.weight("weight"), L.weight("bias"), L.attrs)
        elif L.op == "Relu":
            y = np.maximum(a, 0)
        elif L.op == "MaxPool":
            y = maxpool(a, L.attrs)
        elif L.op == "Flatten":       # the next Dense sees the C x h x w map itself
            y = a
        elif L.op == "Dense":
            w = L.weight("weight")
            if first_dense:            # kernel = the trained feature map, chw order
                w = w.reshape((w.shape[0],) + tuple(trained_feature_shape(model)))
                first_dense = False
            else:
                w = w.reshape(w.shape[0], w.shape[1], 1, 1)
            y = conv(a, w, L.weight("bias"), {})
        elif L.op == "Dropout":
            y = a
        elif L.op == "Softmax":
            y = softmax(a, axis=1)
        else:
            raise ValueError("layer %s: op %s not handled here" % (L.name, L.op))
        t[L.output] = y
    return t[model.layers[-1].output]


def trained_feature_shape(model):
    """C, h, w entering Flatten when the classifier runs at its trained size."""
    c, h, w = model.input_shape
    t = {model.input_name: np.zeros((1, c, h, w), np.float32)}
    for L in model.layers:
        if L.op == "Flatten":
            return t[L.inputs[0]].shape[1:]
        a = t[L.inputs[0]]
        if L.op == "Conv":
            t[L.output] = conv(a, L.weight("weight"), L.weight("bias"), L.attrs)
        elif L.op == "MaxPool":
            t[L.output] = maxpool(a, L.attrs)
        else:
            t[L.output] = a
    raise ValueError("no Flatten")


def predict(model, u8, batch=500):
    out = []
    for s in range(0, len(u8), batch):
        out.append(run_classifier(model, fc.preprocess(u8[s:s + batch])[:, None]))
    return np.concatenate(out)


# ------------------------------------------------------------------- main

def main():
    models = os.path.join(ROOT, "models")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(models, "fashion.bin"))
    ap.add_argument("--image", default=os.path.join(models, "example.png"))
    ap.add_argument("--truth", default=None, help="default: the image's .json")
    ap.add_argument("--dump-scores", default=None, metavar="NPY")
    a = ap.parse_args()
    failures = []

    def check(ok, what):
        print("  [%s] %s" % ("ok" if ok else "FAIL", what))
        if not ok:
            failures.append(what)

    m = modelbin.load(a.model)
    print("model %s: %d bytes, %d layers, input %s, labels %d" %
          (os.path.normpath(a.model), os.path.getsize(a.model), len(m.layers),
           m.input_shape, len(m.labels)))
    print("  meta: " + ", ".join("%s=%s" % (k, v) for k, v in sorted(m.meta.items())))
    check(m.labels == fc.LABELS, "labels are the 10 Fashion-MNIST classes + background")
    check(m.input_shape == (1, 28, 28) and m.meta.get("color") == "gray", "input 1x28x28 gray")
    check(abs(m.meta["scale"][0] - fc.SCALE) < 1e-9 and abs(m.meta["mean"][0] - fc.MEAN) < 1e-6
          and abs(m.meta["std"][0] - fc.STD) < 1e-6,
          "preprocessing (x*%.6g - %.4f) / %.4f" % (fc.SCALE, fc.MEAN, fc.STD))
    check(all(list(L.attrs.get("pad", [0, 0, 0, 0])) == [0, 0, 0, 0] for L in m.layers)
          and not any(L.op == "Pad" for L in m.layers), "no padding anywhere")

    # (a) accuracy on the t10k test split
    t0 = time.perf_counter()
    x_test, y_test = fc.load_split("t10k")
    p = predict(m, x_test)
    r = {"test_acc_11way": float((p.argmax(1) == y_test).mean()),
         "test_acc_10way": float((p[:, :10].argmax(1) == y_test).mean())}
    rng = np.random.default_rng(SEED + 1000)        # same held-out patches as training's report
    xi = fc.item_patches(rng, x_test, np.arange(len(x_test)))
    pi = predict(m, xi)
    r["canvas_items_acc_11way"] = float((pi.argmax(1) == y_test).mean())
    xb = fc.background_patches(rng, x_test, 10000)
    pb = predict(m, xb)
    r["bg_patches_background"] = float((pb.argmax(1) == fc.BACKGROUND).mean())
    r["bg_vs_item_acc"] = float(((pi.argmax(1) != fc.BACKGROUND).sum() +
                                 (pb.argmax(1) == fc.BACKGROUND).sum()) / 20000)
    print("(a) t10k test split (%.1f s):" % (time.perf_counter() - t0))
    print("  test accuracy, argmax over 11 outputs:     %.4f" % r["test_acc_11way"])
    print("  test accuracy, argmax over 10 item classes: %.4f" % r["test_acc_10way"])
    print("  held-out t10k items on background, 11-way:  %.4f" % r["canvas_items_acc_11way"])
    print("  held-out background patches -> background:  %.4f" % r["bg_patches_background"])
    print("  background-vs-item accuracy:                %.4f" % r["bg_vs_item_acc"])
    for k, v in EXPECTED.items():
        if v is not None:
            check(abs(r[k] - v) <= TOL, "%s = %.4f (reported %.4f)" % (k, r[k], v))

    # (b) the example image
    img = fc.read_png_gray(a.image)
    truth = json.load(open(a.truth or os.path.splitext(a.image)[0] + ".json"))
    H, W = img.shape
    S, K = fc.STRIDE, fc.WINDOW
    oh, ow = (H - K) // S + 1, (W - K) // S + 1
    print("(b) %s: %dx%d, score map %d x %d (stride %d, window %d)" %
          (os.path.normpath(a.image), W, H, oh, ow, S, K))
    check([H, W] == [truth["height"], truth["width"]], "image size matches the .json")
    t0 = time.perf_counter()
    crops = sliding_window_view(img, (K, K))[::S, ::S].reshape(-1, K, K)
    slide = predict(m, crops).reshape(oh, ow, -1).transpose(2, 0, 1)   # classes, oh, ow
    t1 = time.perf_counter()
    fcn = run_fcn(m, fc.preprocess(img)[None, None])[0]
    t2 = time.perf_counter()
    diff = float(np.abs(fcn - slide).max())
    print("  sliding %d crops: %.2f s; fully convolutional: %.2f s; max |diff| %.2e" %
          (oh * ow, t1 - t0, t2 - t1, diff))
    check(fcn.shape == slide.shape and diff < 1e-4, "fully convolutional map == sliding classifier")
    lab = slide.argmax(0)
    for it in truth["items"]:
        x, y = it["box"][:2]
        r_, c_ = int(round(y / S)), int(round(x / S))
        pr = slide[:, r_, c_]
        k = int(pr.argmax())
        # the cell where this item's class scores highest, over the whole map
        pk = np.unravel_index(int(slide[it["class"]].argmax()), (oh, ow))
        check(k == it["class"],
              "%-11s at cell (%2d,%2d): %-11s p=%.3f; its class peaks at cell (%d,%d) p=%.3f"
              % (it["label"], r_, c_, m.labels[k], pr[k], pk[0], pk[1],
                 slide[it["class"]][pk]))
    # cells whose window has every item shifted by >= BG_MIN_SHIFT px: background expected
    far = np.ones((oh, ow), bool)
    for it in truth["items"]:
        x, y = it["box"][:2]
        rr, cc = np.meshgrid(np.arange(oh) * S - y, np.arange(ow) * S - x, indexing="ij")
        far &= np.maximum(np.abs(rr), np.abs(cc)) >= fc.BG_MIN_SHIFT
    print("  cells with no item within %d px: %d of %d; predicted background: %.4f" %
          (fc.BG_MIN_SHIFT, far.sum(), far.size, float((lab[far] == fc.BACKGROUND).mean())))
    print("  label map (one character per cell; '.' background, 0-9 item classes):")
    for row in lab:
        print("    " + "".join("." if v == fc.BACKGROUND else str(v) for v in row))

    if a.dump_scores:
        np.save(a.dump_scores, slide.astype(np.float32))
        print("wrote %s (float32 %s)" % (a.dump_scores, slide.shape))

    print("%s" % ("all checks passed" if not failures else "%d check(s) FAILED" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
