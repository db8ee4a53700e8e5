"""Generate the Darknet converter fixtures (tests/fixtures-darknet/).

Needs Debian's darknet package (`apt-get install darknet`): its classifier cfgs
(/usr/share/darknet/cfg), its program (/usr/bin/darknet) and its library
(/usr/lib/darknet/libdarknet.so, the same code as the program, called through
ctypes). Deterministic: fixed seeds, no timestamps.

For each case the generator
  1. reads a classifier cfg shipped by Debian and writes a reduced copy
     (fewer filters, smaller input, for densenet201 fewer blocks) into
     <case>/<case>.cfg; the header of that file says what was changed. The
     `features` cases are not from Debian: a small synthetic cfg covering the
     sections and options the Debian classifiers do not use (features_t: the
     same with flipped=1 and a version 1001 weights file, both of which make
     darknet read weights transposed);
  2. writes random weights in darknet's .weights format (batch-norm layers get
     random scales, means and variances; darknet_ref has two channels with
     variance 1e-6, where darknet's (x-mean)/(sqrt(var)+1e-6) and the usual
     (x-mean)/sqrt(var+1e-6) differ by 41%);
  3. converts cfg + weights with tools/fcn-convert into <case>/model.bin;
  4. computes the expected outputs with darknet itself:
       out_0_program.npy  the probabilities printed by
                          `darknet classifier predict` for a PNG at the network
                          size (in_0.npy = its pixels / 255, centre-cropped for
                          a cfg that starts with [crop]), all classes (top=N in
                          the .data file). Printed as "%5.2f%%": +-5e-5, so
                          these lines have tolerance 6e-5.
       out_0.npy          the same image through libdarknet's network_predict,
                          full float32 precision; must agree with the printout
                          within its rounding (this ties the library path to
                          the program).
       out_1.npy          a larger input (in_1.npy): the FCN. libdarknet runs a
                          hand-converted copy of the cfg at that size: [avgpool]
                          -> a depthwise k x k conv with weights 1/k^2 (k = the
                          trained map), [connected] -> a conv whose filter is
                          the trained map (same weights, same order), later
                          [connected] -> 1x1 convs, a [maxpool] whose window
                          is the whole trained map (no padding) -> stride 1
                          (fcn treats it as a global pool), [crop] -> a crop of the
                          whole input, and the final [softmax] (darknet's is
                          over all values) dropped: NumPy applies it per cell
                          over the classes, in float64. That converted cfg run
                          at the trained size must reproduce out_0.npy (1e-5).
       out_1_local.npy    (global-pool cases) the same with [avgpool] replaced
                          by [dropout] (identity), for `gap=local`.
  5. when build/fcn-run exists, runs it on every input and on the PNG itself
     (its own preprocessing: RGB, /255) and asserts it is within tolerance.

Manifest line:  <case> <model> <input.npy> <expected.npy> <tolerance> <options>

Usage: /usr/bin/python3 -m tools.dev.gen_darknet_fixtures [OUTDIR]  (default tests/fixtures-darknet)
"""
import ctypes
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

from .. import FCN_CONVERT, ROOT

CFG_DIR = "/usr/share/darknet/cfg"
DARKNET = "/usr/bin/darknet"
LIBDARKNET = "/usr/lib/darknet/libdarknet.so"
FCN_RUN = os.path.join(ROOT, "build", "fcn-run")

TOL_PROGRAM = 6e-5   # printout rounding (5e-5) + float32 differences
TOL_LIB = 1e-5       # darknet float32 vs fcn float32 (measured <= ~1e-6)


# --------------------------------------------------------------------------
# cfg handling (independent of tools/fcnconv)

def read_cfg(path):
    secs = []
    for line in open(path):
        line = re.sub(r"\s+", "", line)
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            secs.append([line[1:-1], []])
        else:
            k, v = line.split("=", 1)
            secs[-1][1].append([k, v])
    return secs


def opt(sec, key, default=None):
    for k, v in sec[1]:
        if k == key:
            return v
    return default


def iopt(sec, key, default):
    v = opt(sec, key)
    return default if v is None else int(v)


def setopt(sec, key, value):
    for kv in sec[1]:
        if kv[0] == key:
            kv[1] = str(value)
            return
    sec[1].append([key, str(value)])


def write_cfg(secs, path, header=""):
    with open(path, "w") as f:
        f.write(header)
        for kind, opts in secs:
            f.write("[%s]\n" % kind)
            for k, v in opts:
                f.write("%s=%s\n" % (k, v))
            f.write("\n")


def net_shape(secs):
    net = secs[0]
    return iopt(net, "channels", 0), iopt(net, "height", 0), iopt(net, "width", 0)


def shapes_of(secs):
    """Output shape (c, h, w) of each layer, darknet's arithmetic."""
    cur, out = net_shape(secs), []
    for kind, _ in secs[1:]:
        sec = secs[len(out) + 1]
        c, h, w = cur
        if kind == "convolutional":
            n, k, s = iopt(sec, "filters", 1), iopt(sec, "size", 1), iopt(sec, "stride", 1)
            p = k // 2 if iopt(sec, "pad", 0) else iopt(sec, "padding", 0)
            cur = (n, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        elif kind == "maxpool":
            s = iopt(sec, "stride", 1)
            k = iopt(sec, "size", s)
            p = iopt(sec, "padding", k - 1)
            cur = (c, (h + p - k) // s + 1, (w + p - k) // s + 1)
        elif kind == "avgpool":
            cur = (c, 1, 1)
        elif kind == "connected":
            cur = (iopt(sec, "output", 1), 1, 1)
        elif kind == "crop":
            cur = (c, iopt(sec, "crop_height", 1), iopt(sec, "crop_width", 1))
        elif kind == "route":
            idx = [int(x) for x in opt(sec, "layers").split(",")]
            idx = [i + len(out) if i < 0 else i for i in idx]
            cur = (sum(out[i][0] for i in idx), out[idx[0]][1], out[idx[0]][2])
        out.append(cur)
    return out


# --------------------------------------------------------------------------
# random parameters and the .weights file

def make_params(secs, rng, last_gain=1.0, tiny_var=()):
    """Per layer: a list of (name, array) in darknet's file order."""
    shapes = shapes_of(secs)
    ins = [net_shape(secs)] + shapes[:-1]
    params = []
    nlayers = len(secs) - 1
    # the last layer with weights feeds the softmax: scale it for spread probabilities
    last_w = max(i for i, s in enumerate(secs[1:]) if s[0] in ("convolutional", "connected"))
    for i, sec in enumerate(secs[1:]):
        kind = sec[0]
        c, h, w = ins[i]
        gain = last_gain if i == last_w else 1.0
        p = []
        if kind == "convolutional":
            n, k, g = iopt(sec, "filters", 1), iopt(sec, "size", 1), iopt(sec, "groups", 1)
            fan = c // g * k * k
            p.append(("biases", rng.normal(0, 0.1, n)))
            if iopt(sec, "batch_normalize", 0):
                sc = rng.uniform(0.6, 1.4, n)
                mean = rng.normal(0, 0.2, n)
                var = rng.uniform(0.3, 1.5, n)
                if i in tiny_var:
                    var[:2] = 1e-6
                    sc[:2] = [1e-3, -2e-3]
                p += [("scales", sc), ("rolling_mean", mean), ("rolling_variance", var)]
            p.append(("weights", rng.normal(0, gain * np.sqrt(2.0 / fan), n * fan)))
        elif kind == "connected":
            n, k = iopt(sec, "output", 1), c * h * w
            p.append(("biases", rng.normal(0, 0.1, n)))
            p.append(("weights", rng.normal(0, gain * np.sqrt(2.0 / k), n * k)))
            if iopt(sec, "batch_normalize", 0):
                p += [("scales", rng.uniform(0.6, 1.4, n)), ("rolling_mean", rng.normal(0, 0.2, n)),
                      ("rolling_variance", rng.uniform(0.3, 1.5, n))]
        elif kind == "batchnorm":
            p += [("scales", rng.uniform(0.6, 1.4, c)), ("rolling_mean", rng.normal(0, 0.2, c)),
                  ("rolling_variance", rng.uniform(0.3, 1.5, c))]
        params.append([(nm, a.astype(np.float32)) for nm, a in p])
    assert len(params) == nlayers
    return params


def write_weights(params, path, version=(0, 2, 0)):
    major, minor, rev = version
    with open(path, "wb") as f:
        f.write(struct.pack("<iii", major, minor, rev))
        if major * 10 + minor >= 2 and major < 1000 and minor < 1000:
            f.write(struct.pack("<q", 0))
        else:
            f.write(struct.pack("<i", 0))
        for p in params:
            for _, a in p:
                f.write(a.astype("<f4").tobytes())


# --------------------------------------------------------------------------
# darknet itself

class _Net(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int), ("batch", ctypes.c_int), ("seen", ctypes.c_void_p),
                ("t", ctypes.c_void_p), ("epoch", ctypes.c_float),
                ("subdivisions", ctypes.c_int), ("layers", ctypes.c_void_p),
                ("output", ctypes.c_void_p), ("policy", ctypes.c_int),
                ("learning_rate", ctypes.c_float), ("momentum", ctypes.c_float),
                ("decay", ctypes.c_float), ("gamma", ctypes.c_float), ("scale", ctypes.c_float),
                ("power", ctypes.c_float), ("time_steps", ctypes.c_int), ("step", ctypes.c_int),
                ("max_batches", ctypes.c_int), ("scales", ctypes.c_void_p),
                ("steps", ctypes.c_void_p), ("num_steps", ctypes.c_int),
                ("burn_in", ctypes.c_int), ("adam", ctypes.c_int), ("B1", ctypes.c_float),
                ("B2", ctypes.c_float), ("eps", ctypes.c_float), ("inputs", ctypes.c_int),
                ("outputs", ctypes.c_int)]


_lib = None


def libdarknet():
    global _lib
    if _lib is None:
        _lib = ctypes.CDLL(LIBDARKNET)
        _lib.load_network.restype = ctypes.POINTER(_Net)
        _lib.load_network.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        _lib.set_batch_network.argtypes = [ctypes.POINTER(_Net), ctypes.c_int]
        _lib.network_predict.restype = ctypes.POINTER(ctypes.c_float)
        _lib.network_predict.argtypes = [ctypes.POINTER(_Net), ctypes.POINTER(ctypes.c_float)]
    return _lib


def darknet_forward(cfg, weights, x):
    """network_predict on x (C,H,W float32, the network's input size); returns
    (C',H',W') with the output shape darknet prints for its last layer."""
    lib = libdarknet()
    with tempfile.TemporaryFile(mode="w+b") as log:
        sys.stdout.flush()
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            net = lib.load_network(cfg.encode(), weights.encode(), 0)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
    lib.set_batch_network(net, 1)
    n_in = net.contents.inputs
    assert n_in == x.size, (cfg, n_in, x.shape)
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = lib.network_predict(net, x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    n = net.contents.outputs
    y = np.ctypeslib.as_array(out, shape=(n,)).copy()
    # the last "->  W x H x C" in darknet's layer table
    dims = re.findall(r"->\s+(\d+)\s*x\s*(\d+)\s*x\s*(\d+)", text)
    w, h, c = (int(v) for v in dims[-1]) if dims else (1, 1, n)
    if c * h * w != n:
        c, h, w = n, 1, 1
    return y.reshape(c, h, w)


def write_png(path, img):
    """img: uint8 (H, W, 3)."""
    h, w, _ = img.shape
    raw = b"".join(b"\0" + img[r].tobytes() for r in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)


def darknet_program(cfg, weights, png, classes, tmp):
    """`darknet classifier predict` with top = all classes; returns the printed
    probabilities in class order."""
    names = os.path.join(tmp, "names.list")
    with open(names, "w") as f:
        f.write("".join("class%d\n" % i for i in range(classes)))
    data = os.path.join(tmp, "fixture.data")
    with open(data, "w") as f:
        f.write("classes=%d\nnames=%s\ntop=%d\n" % (classes, names, classes))
    r = subprocess.run([DARKNET, "classifier", "predict", data, cfg, weights, png],
                       capture_output=True, text=True, check=True)
    probs = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*(-?\d+\.\d+)%: class(\d+)$", line)
        if m:
            probs[int(m.group(2))] = float(m.group(1)) / 100.0
    assert sorted(probs) == list(range(classes)), r.stdout
    return np.array([probs[i] for i in range(classes)], dtype=np.float64)


# --------------------------------------------------------------------------
# the hand-converted FCN cfg that darknet runs on larger inputs

def fcn_reference_cfg(secs, params, size, local=False, transposed=False):
    """(sections, params, softmax temperature) computing the FCN at size (H, W):
    no softmax (applied per cell by NumPy afterwards)."""
    shapes = shapes_of(secs)
    ins = [net_shape(secs)] + shapes[:-1]
    out_s, out_p = [[secs[0][0], [list(kv) for kv in secs[0][1]]]], []
    setopt(out_s[0], "height", size[0])
    setopt(out_s[0], "width", size[1])
    temp = 1.0
    last = len(secs) - 2
    for i, (sec, p) in enumerate(zip(secs[1:], params)):
        kind = sec[0]
        c, h, w = ins[i]
        if kind == "softmax":
            assert i == last or all(s[0] == "cost" for s in secs[i + 2:])
            temp = float(opt(sec, "temperature", "1"))
            break
        if kind == "avgpool":
            if local:
                out_s.append(["dropout", [["probability", ".5"]]])
                out_p.append([])
                continue
            assert h == w, "non-square map before [avgpool]"
            out_s.append(["convolutional", [["filters", c], ["groups", c], ["size", h],
                                            ["stride", 1], ["pad", 0],
                                            ["activation", "linear"]]])
            out_p.append([("biases", np.zeros(c, np.float32)),
                          ("weights", np.full(c * h * w, 1.0 / (h * w), np.float32))])
            continue
        if kind == "connected":
            assert h == w, "non-square map before [connected]"
            bn = iopt(sec, "batch_normalize", 0)
            out_s.append(["convolutional", [["filters", opt(sec, "output")], ["size", h],
                                            ["stride", 1], ["pad", 0], ["batch_normalize", bn],
                                            ["activation", opt(sec, "activation", "logistic")]]])
            # same arrays; a conv stores biases, [scales, mean, variance], weights
            q = dict(p)
            if transposed:   # the file holds [connected] weights in x out; a conv's are not
                q["weights"] = q["weights"].reshape(c * h * w, -1).T.ravel()
            order = ["biases"] + (["scales", "rolling_mean", "rolling_variance"] if bn else [])
            out_p.append([(k, q[k]) for k in order + ["weights"]])
            continue
        if kind == "maxpool" and shapes[i][1:] == (1, 1) and (h, w) != (1, 1):
            s_ = iopt(sec, "stride", 1)
            k = iopt(sec, "size", s_)
            if k == h == w and iopt(sec, "padding", k - 1) == 0:
                # a window covering the whole trained map: fcn's loader slides it
                # with stride 1 (docs/conversion.md), like a global pool
                s = [kind, [list(kv) for kv in sec[1]]]
                setopt(s, "stride", 1)
                out_s.append(s)
                out_p.append(p)
                continue
        if kind == "crop":
            s = [kind, [list(kv) for kv in sec[1]]]
            setopt(s, "crop_height", size[0])
            setopt(s, "crop_width", size[1])
            out_s.append(s)
            out_p.append(p)
            continue
        out_s.append([kind, [list(kv) for kv in sec[1]]])
        out_p.append(p)
    return out_s, out_p, temp


def softmax_cells(z, temp):
    z = z.astype(np.float64) / temp
    z = z - z.max(axis=0, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=0, keepdims=True)


# --------------------------------------------------------------------------
# the cases

def reduce_cfg(src, net, conv_map=None, conn_map=None, keep=None, crop=None):
    secs = read_cfg(os.path.join(CFG_DIR, src))
    if keep is not None:
        secs = [secs[i] for i in keep]
    for k, v in net.items():
        setopt(secs[0], k, v)
    for s in secs[1:]:
        if s[0] == "convolutional" and conv_map:
            setopt(s, "filters", conv_map[iopt(s, "filters", 1)])
        if s[0] == "connected" and conn_map:
            setopt(s, "output", conn_map[iopt(s, "output", 1)])
        if s[0] == "crop" and crop:
            setopt(s, "crop_height", crop[0])
            setopt(s, "crop_width", crop[1])
    return secs


NET = {"batch": 1, "subdivisions": 1}

CASES = [
    dict(name="darknet_ref", src="darknet.cfg", seed=11, gain=0.6, tiny_var=(0,),
         net=dict(NET, height=72, width=72),
         conv_map={16: 4, 32: 8, 64: 8, 128: 16, 256: 16, 512: 16, 1024: 32, 1000: 10},
         note="input 72x72 (the maxpools then see odd sizes: 9 -> 5 -> 3 -> 2); "
              "first conv: channels 0, 1 with rolling variance 1e-6; "
              "filters 16,32,64,128,256,512,1024,1000 -> 4,8,8,16,16,16,32,10",
         fcn=[(136, 72)], local=True),
    dict(name="alexnet", src="alexnet.cfg", seed=12, gain=0.5,
         net=dict(NET, height=67, width=67),
         conv_map={96: 8, 256: 16, 384: 16}, conn_map={4096: 24, 1000: 10},
         note="input 67x67; filters 96,256,384 -> 8,16,16; connected 4096,1000 -> 24,10",
         fcn=[(99, 67)]),
    dict(name="resnet18", src="resnet18.cfg", seed=13, gain=0.25,
         net=dict(NET, height=64, width=64),
         conv_map={64: 4, 128: 8, 256: 8, 512: 16, 1000: 10},
         note="input 64x64; filters 64,128,256,512,1000 -> 4,8,8,16,10",
         fcn=[(96, 64)], local=True),
    dict(name="densenet201", src="densenet201.cfg", seed=14, gain=0.5,
         net=dict(NET, height=48, width=48),
         keep=list(range(0, 9)) + [21, 22, 23, 24, 25, 303, 304, 305],
         conv_map={64: 8, 128: 8, 32: 4, 1000: 10},
         note="input 48x48; sections 0-8, 21-25 and the last three kept (stem, two dense "
              "units, the first transition, one dense unit, the classifier); filters "
              "64,128,32,1000 -> 8,8,4,10",
         fcn=[(72, 48)], local=True),
    dict(name="vgg16", src="vgg-16.cfg", seed=15, gain=0.5,
         net=dict(NET, height=72, width=72), crop=(64, 64),
         conv_map={64: 4, 128: 8, 256: 8, 512: 12}, conn_map={4096: 24, 1000: 10},
         note="input 72x72 cropped to 64x64 (the original: 256 -> 224); filters "
              "64,128,256,512 -> 4,8,8,12; connected 4096,1000 -> 24,10",
         fcn=[(96, 64)]),
]

FEATURES_CFG = """\
[net]
batch=1
subdivisions=1
height=16
width=16
channels=3

[crop]
crop_height=14
crop_width=14
noadjust=1

[convolutional]
batch_normalize=1
filters=6
size=3
stride=1
pad=1
activation=logistic

[convolutional]
filters=6
groups=2
size=3
stride=2
pad=1
activation=tanh

[shortcut]
from=-2
alpha=0.5
beta=2
activation=relu

[convolutional]
filters=4
size=1
stride=1
pad=1
activation=leaky

[route]
layers=-1,-2

[route]
layers=-1

[activation]
activation=relu

[maxpool]
size=3
stride=2
padding=1

[connected]
output=12
batch_normalize=1
activation=leaky

[dropout]
probability=.5

[connected]
output=5
activation=linear

[softmax]
groups=1
temperature=2

[cost]
type=sse
"""


def features_cases():
    return [
        dict(name="features", text=FEATURES_CFG, seed=16, gain=1.0, weights_version=(0, 1, 0),
             note="synthetic (not from Debian): [crop] noadjust, grouped "
                  "conv, logistic/tanh, [shortcut] with a stride-2 source and alpha/beta, "
                  "[route] of two and of one layer, [activation], [maxpool] padding=1, "
                  "[connected] with batch_normalize, [softmax] temperature, [cost]; "
                  "weights file version 0.1 (32-bit seen)",
             fcn=[(22, 18)]),
        dict(name="features_t",
             text=FEATURES_CFG.replace("filters=6\nsize=3\nstride=1", "filters=6\nsize=3\n"
                                       "stride=1\nflipped=1", 1),
             seed=17, gain=0.5, weights_version=(1001, 0, 0),
             note="the features cfg with flipped=1 on the first conv (its weights are stored "
                  "transposed) and weights file version 1001.0.0 (32-bit seen, [connected] "
                  "weights stored transposed)",
             fcn=[(18, 22)]),
    ]


def fcn_run(model, inp, tmp):
    out = os.path.join(tmp, "fcn_out.npy")
    subprocess.run([FCN_RUN, model, inp, "--out", out], check=True, capture_output=True)
    return np.load(out)


def gen_case(case, outdir, manifest, tmp, report):
    name = case["name"]
    d = os.path.join(outdir, name)
    os.makedirs(d)
    rng = np.random.default_rng(case["seed"])
    if "text" in case:
        secs = read_cfg_text(case["text"])
        header = "# synthetic fixture cfg (not from Debian), written by " \
                 "tools/dev/gen_darknet_fixtures.py\n# %s\n\n" % case["note"]
    else:
        secs = reduce_cfg(case["src"], case["net"], case.get("conv_map"), case.get("conn_map"),
                          case.get("keep"), case.get("crop"))
        header = ("# reduced copy of Debian's %s/%s, written by tools/dev/gen_darknet_fixtures.py\n"
                  "# changes: batch=1, subdivisions=1, %s\n\n" % (
                      CFG_DIR, case["src"], case["note"]))
    cfg = os.path.join(d, name + ".cfg")
    write_cfg(secs, cfg, header)
    params = make_params(secs, rng, case["gain"], case.get("tiny_var", ()))
    weights = os.path.join(tmp, name + ".weights")
    write_weights(params, weights, case.get("weights_version", (0, 2, 0)))
    model = os.path.join(d, "model.bin")
    subprocess.run([sys.executable, FCN_CONVERT, cfg, model, "--weights", weights], check=True,
                   capture_output=True)

    c, H, W = net_shape(secs)
    classes = shapes_of(secs)[-1][0]
    lines = []
    errs = {}

    # trained size: a PNG through the program and the library
    img = rng.integers(0, 256, (H, W, c), dtype=np.uint8)
    png = os.path.join(tmp, name + ".png")
    write_png(png, img)
    x = (img.transpose(2, 0, 1) / 255.0).astype(np.float32)   # darknet: pixel / 255.
    printed = darknet_program(cfg, weights, png, classes, tmp)
    full = darknet_forward(cfg, weights, x)
    assert full.shape == (classes, 1, 1), full.shape
    e = np.abs(full.ravel() - printed).max()
    assert e <= 5.0001e-5, ("library and program disagree", name, e)
    xin = x
    if secs[1][0] == "crop":   # darknet's test-time crop is the centre
        ch, cw = iopt(secs[1], "crop_height", 1), iopt(secs[1], "crop_width", 1)
        dh, dw = (H - ch) // 2, (W - cw) // 2
        xin = x[:, dh:dh + ch, dw:dw + cw]
    np.save(os.path.join(d, "in_0.npy"), np.ascontiguousarray(xin))
    np.save(os.path.join(d, "out_0_program.npy"), printed.astype(np.float32).reshape(-1, 1, 1))
    np.save(os.path.join(d, "out_0.npy"), full.astype(np.float32))
    lines.append("%s %s/model.bin %s/in_0.npy %s/out_0_program.npy %g -" % (
        name, name, name, name, TOL_PROGRAM))
    lines.append("%s %s/model.bin %s/in_0.npy %s/out_0.npy %g -" % (
        name, name, name, name, TOL_LIB))
    report.append("%-12s probabilities printed by darknet: %s" % (
        name, " ".join("%.4f" % p for p in printed)))

    # the hand-converted FCN at the trained size reproduces the classifier
    def fcn_ref(size, local, xx):
        ver = case.get("weights_version", (0, 2, 0))
        s2, p2, temp = fcn_reference_cfg(secs, params, size, local,
                                         ver[0] > 1000 or ver[1] > 1000)
        c2 = os.path.join(tmp, "%s_fcn.cfg" % name)
        w2 = os.path.join(tmp, "%s_fcn.weights" % name)
        write_cfg(s2, c2)
        write_weights(p2, w2, ver)
        return softmax_cells(darknet_forward(c2, w2, xx), temp)
    same = fcn_ref(xin.shape[1:], False, xin)
    e = np.abs(same - full.astype(np.float64)).max()
    assert e <= 1e-5, ("hand-converted darknet FCN differs from the classifier", name, e)

    for k, size in enumerate(case["fcn"], 1):
        xk = rng.integers(0, 256, (c,) + size).astype(np.float32) / np.float32(255)
        np.save(os.path.join(d, "in_%d.npy" % k), xk)
        ref = fcn_ref(size, False, xk)
        np.save(os.path.join(d, "out_%d.npy" % k), ref.astype(np.float32))
        lines.append("%s %s/model.bin %s/in_%d.npy %s/out_%d.npy %g -" % (
            name, name, name, k, name, k, TOL_LIB))
        report.append("%-12s FCN on %dx%d: score map %s" % (name, size[0], size[1],
                                                           "x".join(map(str, ref.shape))))
        if case.get("local"):
            ref = fcn_ref(size, True, xk)
            np.save(os.path.join(d, "out_%d_local.npy" % k), ref.astype(np.float32))
            lines.append("%s %s/model.bin %s/in_%d.npy %s/out_%d_local.npy %g gap=local" % (
                name, name, name, k, name, k, TOL_LIB))

    # fcn itself, when built (the C test does this too; here it is a sanity check)
    if os.access(FCN_RUN, os.X_OK):
        for ln in lines:
            f = ln.split()
            if f[5] != "-":
                continue
            got = fcn_run(model, os.path.join(outdir, f[2]), tmp)
            exp = np.load(os.path.join(outdir, f[3]))
            err = np.abs(got.astype(np.float64) - exp).max() if got.shape == exp.shape else np.inf
            errs[f[3]] = err
            assert err <= float(f[4]), ("fcn-run", f[3], err)
        if secs[1][0] != "crop":
            got = fcn_run(model, png, tmp)   # fcn's own image preprocessing
            err = np.abs(got.astype(np.float64) - full).max()
            errs["png"] = err
            assert err <= TOL_LIB, ("fcn-run on the PNG", err)
        report.append("%-12s fcn-run max errors: %s" % (
            name, ", ".join("%s %.2g" % (os.path.basename(k), v) for k, v in errs.items())))
    manifest.extend(lines)


def read_cfg_text(text):
    fd, path = tempfile.mkstemp(suffix=".cfg")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    try:
        return read_cfg(path)
    finally:
        os.unlink(path)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures-darknet")
    for p in (DARKNET, LIBDARKNET, CFG_DIR):
        if not os.path.exists(p):
            sys.exit("gen_darknet_fixtures: %s missing (apt-get install darknet)" % p)
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    manifest, report = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES + features_cases():
            gen_case(case, outdir, manifest, tmp, report)
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.write("# Darknet converter fixtures, generated by tools/dev/gen_darknet_fixtures.py "
                "(do not edit).\n"
                "# <case> <model> <input.npy> <expected.npy> <tolerance> <options>\n"
                "# model.bin: tools/fcn-convert on <case>/<case>.cfg (reduced copies of Debian's\n"
                "# darknet cfgs; 'features*' are synthetic) and random .weights. Expected outputs\n"
                "# come from darknet (Debian 0.0.0+git20180914): out_0_program = the\n"
                "# probabilities `darknet classifier predict` printed (2 decimals of a percent,\n"
                "# tolerance 6e-5); out_0 = libdarknet's network_predict, full precision;\n"
                "# out_k (k >= 1) = libdarknet on a hand-converted FCN cfg at the larger size,\n"
                "# softmax per cell by NumPy. Inputs: RGB pixels / 255, (C,H,W) float32.\n")
        for ln in manifest:
            f.write(ln + "\n")
    for r in report:
        print(r)
    print("gen_darknet_fixtures: %d checks in %s" % (len(manifest), outdir))


if __name__ == "__main__":
    main()
