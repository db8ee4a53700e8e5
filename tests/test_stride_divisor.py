"""--stride-divisor K (fcn_options.stride_divisor): score maps K times finer
than the network's stride, checked against references computed here in
numpy float64 (plain windows, /usr/bin/python3), never against fcn's own
output.

  1. The bundled model (models/fashion.bin, VALID, stride 4, 28x28 window)
     on a 64x96 part of models/example.png, K = 2 and 4: every cell (i, j)
     equals the classifier (the file's layers as trained: Flatten, Dense) on the
     28x28 crop at (i*4/K, j*4/K); the map is floor((H-28)/(4/K))+1 cells a
     side. Tolerance 1e-5 absolute on the probabilities.
  2. A padded model written here (random weights: padded 3x3 convs, a
     stride-2 conv, a padded AvgPool 3x3/2 without the padding in its
     count, a depthwise conv, a padded MaxPool, a Flatten -> Dense head),
     K = 2 and 4: the reference is the phase decomposition: the
     layers before the first de-strided one on the whole image, it with its
     stride divided, then each of the f x f phases of its output through
     the rest (recursively, the rest de-strided by K/f), interleaved.
     Tolerance 1e-5 absolute on the probabilities.
  3. Both kernel variants (FCN_ISA avx2 and avx512, where the CPU has them).
  4. Every K-th cell of the finer map (K = 2, 4; 8 where the stride
     allows) is the map without the option (tolerance 1e-5): the models
     above, the fixtures gap_head (a GAP head, VALID: also the classifier
     on every crop) and ops_mix (Pad, LRN, grouped and dilated convs,
     pools in ceil mode), the padded model with its AvgPool in ceil mode.
  5. K = 1 is bit for bit the map without the option; K = 3 fails with the
     message naming the stride; K out of 1..64 is a usage error.
  6. Regions and tiles of a stride-divided model are bit for bit the whole
     map's cells (--cells, streamed; --tile).

usage: test_stride_divisor.py FCN_RUN SOURCE_ROOT
Ends with "N passed, N failed".
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

RUN, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(ROOT, "tools"))
from fcnconv import modelbin  # noqa: E402

TOL = 1e-5
counts = [0, 0]


def check(ok, what):
    counts[0 if ok else 1] += 1
    if not ok:
        print("FAIL:", what)


def fcn(model, inp, *opts, env=None):
    """fcn-run's score map (classes, H, W) of a .npy input; (rc, map, stderr)."""
    out = os.path.join(TMP, "out.npy")
    if os.path.exists(out):
        os.remove(out)
    e = dict(os.environ, **(env or {}))
    r = subprocess.run([RUN, model, inp, "-q", "--out", out] + list(opts),
                       capture_output=True, text=True, env=e)
    y = np.load(out) if r.returncode == 0 and os.path.exists(out) else None
    return r.returncode, y, r.stderr.strip()


# ------------------------------------------- the network, numpy float64

def fcn_layers(m):
    """The converted network as steps (kind, attrs, weight, bias), float64:
    the first Dense after Flatten becomes a conv over the trained map (chw
    order), later ones 1x1 convs."""
    t = np.zeros((1,) + m.input_shape)
    steps, flat = [], None
    for L in m.layers:
        a = dict(L.attrs)
        if L.op == "Flatten":
            flat = t.shape[1:]
            continue
        if L.op == "Dense":
            w = L.weight("weight").astype(np.float64)
            shp = flat if flat is not None else (w.shape[1], 1, 1)
            steps.append(("Conv", {}, w.reshape((w.shape[0],) + tuple(shp)),
                          L.weight("bias").astype(np.float64)))
            flat = None
        elif L.op == "Conv":
            steps.append(("Conv", a, L.weight("weight").astype(np.float64),
                          L.weight("bias").astype(np.float64)))
        elif L.op == "Dropout":
            continue
        else:
            steps.append((L.op, a))
        t = apply(steps[-1], t, 1)
    return steps


def first(v):
    return v[0] if isinstance(v, (list, tuple, np.ndarray)) else v


def pads(a):
    p = list(a.get("pad", [0, 0, 0, 0]))
    return p if len(p) == 4 else p * 4


def stride(step):
    a = step[1]
    if step[0] == "Conv":
        return first(a.get("stride", 1))
    if step[0] in ("MaxPool", "AvgPool"):
        return first(a.get("stride", a["kernel"]))
    return 1


def ceil_extra(n, k, s, pa, pb):
    """Rows past the padded end that ceil mode's last window reads
    (PyTorch: ceil((n + pa + pb - k) / s) + 1 windows, less one that would
    start past the input and its leading padding)."""
    o = -(-(n + pa + pb - k) // s) + 1
    if (o - 1) * s >= n + pa:
        o -= 1
    return max(0, (o - 1) * s + k - (n + pa + pb))


def windows(x, k, s, pad, value, ceil=0, extra_value=None):
    """[N, C, Ho, Wo, kh, kw] windows of x padded with value, stride s;
    ceil mode's partial windows padded with extra_value."""
    pt, pl, pb, pr = pad
    ey = ceil_extra(x.shape[2], k[0], s, pt, pb) if ceil else 0
    ex = ceil_extra(x.shape[3], k[1], s, pl, pr) if ceil else 0
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=value)
    x = np.pad(x, ((0, 0), (0, 0), (0, ey), (0, ex)),
               constant_values=value if extra_value is None else extra_value)
    return sliding_window_view(x, k, axis=(2, 3))[:, :, ::s, ::s]


def apply(step, x, div):
    """One step (x [N, C, H, W]) with its stride divided by div."""
    kind, a = step[0], step[1]
    if kind == "Relu":
        return np.maximum(x, 0)
    if kind == "Softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    s, p = stride(step) // div, pads(a)
    if kind == "Conv":
        w, b = step[2], step[3]
        g = first(a.get("groups", 1))
        win = windows(x, w.shape[2:], s, p, 0.0)
        ci, co = x.shape[1] // g, w.shape[0] // g
        y = np.concatenate([np.einsum("nchwyx,ocyx->nohw",
                                      win[:, i * ci:(i + 1) * ci],
                                      w[i * co:(i + 1) * co], optimize=True)
                            for i in range(g)], axis=1)
        return y + b[None, :, None, None]
    k, cm = tuple(a["kernel"]), first(a.get("ceil_mode", 0))
    if kind == "MaxPool":
        return windows(x, k, s, p, -np.inf, cm).max(axis=(4, 5))
    if kind == "AvgPool":
        sums = windows(x, k, s, p, 0.0, cm).sum(axis=(4, 5))
        one = np.ones_like(x[:, :1])
        if first(a.get("count_include_pad", 1)):
            # the window clipped to the padded map
            return sums / windows(one, k, s, p, 1.0, cm, 0.0).sum(axis=(4, 5))
        return sums / windows(one, k, s, p, 0.0, cm).sum(axis=(4, 5))
    raise ValueError(kind)


def factors(steps, K):
    """The stride each step loses: from the last strided one back."""
    f, need = [1] * len(steps), K
    for i in range(len(steps) - 1, -1, -1):
        f[i] = np.gcd(stride(steps[i]), need)
        need //= f[i]
    assert need == 1
    return f


def phase_run(steps, x, K):
    """The phase decomposition of the network made K times finer."""
    f = factors(steps, K)
    i = next((j for j in range(len(steps)) if f[j] > 1), None)
    if i is None:
        for st in steps:
            x = apply(st, x, 1)
        return x
    for st in steps[:i]:
        x = apply(st, x, 1)
    z = apply(steps[i], x, f[i])
    q = f[i]
    parts = [[phase_run(steps[i + 1:], z[:, :, ry::q, rx::q], K // q)
              for rx in range(q)] for ry in range(q)]
    H = sum(parts[ry][0].shape[2] for ry in range(q))
    W = sum(parts[0][rx].shape[3] for rx in range(q))
    y = np.zeros(parts[0][0].shape[:2] + (H, W))
    for ry in range(q):
        for rx in range(q):
            blk = y[:, :, ry::q, rx::q]
            assert blk.shape == parts[ry][rx].shape, (blk.shape,
                                                      parts[ry][rx].shape)
            y[:, :, ry::q, rx::q] = parts[ry][rx]
    return y


def classify(m, x):
    """The classifier as the file has it (Flatten, Dense as matrices) on a
    batch of crops x [N, C, h, w] at the trained size: [N, classes]."""
    for L in m.layers:
        if L.op == "Flatten":
            assert L.attrs["order"] == "chw"
            x = x.reshape(len(x), -1)
        elif L.op == "Dense":
            b = L.weight("bias")
            x = x @ L.weight("weight").astype(np.float64).T + (
                0.0 if b is None else b)
        elif L.op == "GlobalAvgPool":
            x = x.mean(axis=(2, 3), keepdims=True)
        elif L.op == "Conv":
            b = L.weight("bias")
            x = apply((L.op, L.attrs, L.weight("weight").astype(np.float64),
                       np.zeros(L.weight("weight").shape[0]) if b is None
                       else b.astype(np.float64)), x, 1)
        elif L.op == "Softmax" and x.ndim == 2:
            e = np.exp(x - x.max(axis=1, keepdims=True))
            x = e / e.sum(axis=1, keepdims=True)
        elif L.op != "Dropout":
            x = apply((L.op, L.attrs), x, 1)
    return x


def crops_ref(m, img, win, step):
    """The classifier on every win (h, w) crop at multiples of step."""
    C, H, W = img.shape
    u = sliding_window_view(img.astype(np.float64), win,
                            axis=(1, 2))[:, ::step, ::step]
    oh, ow = u.shape[1:3]
    b = u.transpose(1, 2, 0, 3, 4).reshape((oh * ow, C) + tuple(win))
    outs = [classify(m, b[k:k + 128]) for k in range(0, len(b), 128)]
    return np.concatenate(outs).T.reshape(-1, oh, ow)


def compare(y, ref, what):
    if y is None or y.shape != ref.shape:
        check(False, "%s: shape %s, reference %s" % (
            what, None if y is None else y.shape, ref.shape))
        return
    err = float(np.abs(y - ref).max())
    check(err <= TOL, "%s: max |fcn - ref| %.3g > %g" % (what, err, TOL))
    print("%s: %s cells, max |fcn - ref| %.2g" % (what, y.shape, err))


# ------------------------------------------------------------- the models

def bundled_input():
    from PIL import Image
    u8 = np.asarray(Image.open(os.path.join(ROOT, "models/example.png"))
                    .convert("L"), dtype=np.float32)
    x = ((u8 / 255.0 - 0.2860) / 0.3530).astype(np.float32)
    return x[None, 0:64, 90:186].copy()


def padded_model(path, ceil=0):
    g = np.random.default_rng(14)

    def w(*s):
        return (g.standard_normal(s) * (2.0 / np.prod(s[1:])) ** 0.5
                ).astype(np.float32)

    def b(n):
        return (g.standard_normal(n) * 0.1).astype(np.float32)

    m = modelbin.Model((1, 18, 18), [str(i) for i in range(5)], scale=1.0,
                       name="padded stride-divisor test")
    p1 = [1, 1, 1, 1]
    m.add("Conv", "c1", ["input"], "t1", {"pad": p1}, weight=w(8, 1, 3, 3),
          bias=b(8))
    m.add("Relu", "r1", ["t1"], "t2")
    m.add("Conv", "c2", ["t2"], "t3", {"pad": p1, "stride": [2, 2]},
          weight=w(16, 8, 3, 3), bias=b(16))
    m.add("Relu", "r2", ["t3"], "t4")
    m.add("AvgPool", "ap", ["t4"], "t5", {"kernel": [3, 3], "stride": [2, 2],
                                           "pad": p1, "count_include_pad": 0,
                                           "ceil_mode": ceil})
    m.add("Conv", "dw", ["t5"], "t6", {"pad": p1, "groups": 16},
          weight=w(16, 1, 3, 3), bias=b(16))
    m.add("Relu", "r3", ["t6"], "t7")
    m.add("MaxPool", "mp", ["t7"], "t8", {"kernel": [3, 3], "stride": [1, 1],
                                           "pad": p1})
    m.add("Flatten", "fl", ["t8"], "t9", {"order": "chw"})
    m.add("Dense", "fc1", ["t9"], "t10", weight=w(16, 400), bias=b(16))
    m.add("Relu", "r4", ["t10"], "t11")
    m.add("Dense", "fc2", ["t11"], "t12", weight=w(5, 16), bias=b(5))
    m.add("Softmax", "sm", ["t12"], "prob")
    m.save(path)
    return m


def isas():
    out = ["avx2"]
    flags = open("/proc/cpuinfo").read()
    if " avx512f " in flags and " avx512bw " in flags:
        out.append("avx512")
    return out


def fine(model, arr, K, isa, what):
    """The map with --stride-divisor K on kernel variant isa (checked)."""
    rc, y, err = fcn(model, arr, "--stride-divisor", str(K),
                     env={"FCN_ISA": isa})
    check(rc == 0, "%s K=%d %s: fcn-run failed: %s" % (what, K, isa, err))
    return y


def main():
    bundled = os.path.join(ROOT, "models/fashion.bin")
    mb = modelbin.load(bundled)
    img = bundled_input()
    inp = os.path.join(TMP, "part.npy")
    np.save(inp, img)
    for isa in isas():
        for K in (2, 4):
            y, st = fine(bundled, inp, K, isa, "bundled"), 4 // K
            check(y is not None and y.shape[1:] ==
                  ((64 - 28) // st + 1, (96 - 28) // st + 1),
                  "bundled K=%d: map size %s" % (K, None if y is None
                                                 else y.shape))
            compare(y, crops_ref(mb, img, (28, 28), st),
                    "bundled K=%d %s vs the classifier on every crop"
                    % (K, isa))

    # a VALID model with a global-average-pooling head (stride 2): the
    # trained-window average pool dilates too
    gap = os.path.join(ROOT, "tests/fixtures/gap_head/model.bin")
    gx = np.random.default_rng(8).standard_normal((3, 30, 34)).astype(
        np.float32)
    gin = os.path.join(TMP, "gap.npy")
    np.save(gin, gx)
    rc, y, err = fcn(gap, gin, "--stride-divisor", "2")
    check(rc == 0, "gap_head K=2: %s" % err)
    compare(y, crops_ref(modelbin.load(gap), gx, (11, 13), 1),
            "gap_head K=2 vs the classifier on every crop")

    padded = os.path.join(TMP, "padded.bin")
    pm = padded_model(padded)
    psteps = fcn_layers(pm)
    x = np.random.default_rng(5).standard_normal((1, 40, 52)).astype(
        np.float32)
    pin = os.path.join(TMP, "padded.npy")
    np.save(pin, x)
    for isa in isas():
        for K in (2, 4):
            y = fine(padded, pin, K, isa, "padded")
            ref = phase_run(psteps, x[None].astype(np.float64), K)[0]
            compare(y, ref, "padded K=%d %s vs the phase decomposition"
                    % (K, isa))
    # K = 1 at the network's stride: also the plain network, numpy
    rc, y0, _ = fcn(padded, pin)
    rc1, y1, _ = fcn(padded, pin, "--stride-divisor", "1")
    check(rc == 0 and rc1 == 0 and y0 is not None and y1 is not None and
          y0.tobytes() == y1.tobytes(), "K=1 differs from no option")
    compare(y0, phase_run(psteps, x[None].astype(np.float64), 1)[0],
            "padded, no option, vs the reference")
    # every K-th cell of the finer map is the network's own map; also with
    # ceil-mode pools (the padded model's AvgPool in ceil mode; ops_mix)
    mix = os.path.join(ROOT, "tests/fixtures/ops_mix/model.bin")
    pceil = os.path.join(TMP, "padded_ceil.bin")
    padded_model(pceil, 1)
    for model, arr in ((bundled, inp), (padded, pin), (pceil, pin), (gap, gin),
                       (mix, gin)):
        rc, y1, _ = fcn(model, arr)
        for K in (2,) if model == gap else (2, 4, 8) if model == mix \
                else (2, 4):
            rc, yk, _ = fcn(model, arr, "--stride-divisor", str(K))
            if y1 is None or yk is None:
                check(False, "no map")
                continue
            name = os.path.basename(os.path.dirname(model)) \
                if model in (gap, mix) else os.path.basename(model)
            compare(yk[:, ::K, ::K], y1, "%s K=%d: cells (K*i, K*j) vs the "
                    "map without the option" % (name, K))

    rc, y, err = fcn(bundled, inp, "--stride-divisor", "3")
    check(rc != 0 and y is None and "stride divisor 3 does not divide the "
          "score map's stride 4x4" in err, "K=3: rc %d, %r" % (rc, err))
    for v in ("0", "65", "x"):
        rc, y, err = fcn(bundled, inp, "--stride-divisor", v)
        check(rc != 0 and "--stride-divisor needs a number from 1 to 64" in
              err, "K=%s: rc %d, %r" % (v, rc, err))

    # regions (streamed from an image file), tiles: bit for bit the whole
    # map's cells
    from PIL import Image
    png = os.path.join(TMP, "padded.png")
    Image.fromarray(np.random.default_rng(6).integers(
        0, 256, (45, 61), dtype=np.uint8)).save(png)
    ex = os.path.join(ROOT, "models/example.png")
    for model, arr, K in ((bundled, ex, 4), (padded, png, 2), (padded, png,
                                                              4)):
        rc, whole, _ = fcn(model, arr, "--stride-divisor", str(K))
        for cells in ("3,5,10,12", "0,0,7,9", "1,13,12,4"):
            r0, c0, h, w = map(int, cells.split(","))
            rc, part, err = fcn(model, arr, "--stride-divisor", str(K),
                                "--cells", cells)
            check(rc == 0 and part is not None and whole is not None and
                  part.tobytes() == np.ascontiguousarray(
                      whole[:, r0:r0 + h, c0:c0 + w]).tobytes(),
                  "%s K=%d --cells %s: not the whole map's cells (%s)"
                  % (os.path.basename(model), K, cells, err))
        rc, tiled, err = fcn(model, arr, "--stride-divisor", str(K),
                             "--tile", "5")
        check(rc == 0 and tiled is not None and whole is not None and
              tiled.tobytes() == whole.tobytes(), "%s K=%d --tile 5: %s"
              % (os.path.basename(model), K, err))


with tempfile.TemporaryDirectory() as TMP:
    main()
print("%d passed, %d failed" % tuple(counts))
sys.exit(1 if counts[1] else 0)
