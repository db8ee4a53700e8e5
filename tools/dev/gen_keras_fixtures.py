"""Generate the Keras / TF.js converter fixtures (tests/fixtures-keras/).

    /usr/bin/python3 -m tools.dev.gen_keras_fixtures [OUTDIR] [--keep DIR] [--no-verify]

1. Runs tools/dev/tfjs_ref/make_models.js (node + @tensorflow/tfjs, see
   docs/convert-keras.md) which builds Keras-style classifiers with random
   weights in TensorFlow.js, saves them as TF.js layers models (model.json +
   weight shards; float32, and float16 / uint8-quantized variants) and writes
   TF.js's outputs: the classifier at its trained size, and on larger inputs
   the FCN map (crops for VALID models, a hand-converted FCN built in tfjs for
   padded ones; see the header of make_models.js).
2. Converts each model.json with tools/fcn-convert. The same Keras config and
   weights are also written as a Keras 2 HDF5 file (Keras 2's exact layout:
   root attribute model_config, model_weights/<layer>/<layer>/<w>:0 with
   weight_names / layer_names attributes) and as a Keras 3 .keras zip
   (config.json in Keras 3's format, model.weights.h5 with
   layers/<layer>/vars/<i>); both must convert to a byte-identical model.bin.
3. Adds cases TF.js cannot make, with NumPy (float64) references:
   keras1_th   a Keras 1 HDF5 model, dim_ordering 'th' (Theano: kernels are
               for true convolution -> Conv flip: 1), Keras 1 parameter and
               weight names, BatchNormalization with running_std;
   keras3_ops  a Keras 3 .keras Functional model: Rescaling + Normalization
               folded into the preprocessing metadata, dilated and grouped
               convs, hard_swish / hard_sigmoid (Keras 3 definitions),
               ReLU(negative_slope, max_value), BatchNormalization without
               center / scale, GlobalMaxPooling2D(keepdims) -> Flatten.
4. Writes OUTDIR/<case>/model.bin, in_<k>.npy (C,H,W), out_<k>.npy
   (classes,H',W') and OUTDIR/manifest.txt (format: tests/test_fixtures.c);
   then, when build/fcn-run exists, runs every check through it and prints the
   max abs difference (--no-verify skips that).

Environment: /usr/bin/python3 with numpy and h5py; node >= 18 with
@tensorflow/tfjs installed from tools/dev/tfjs_ref/package.json, found in
$TFJS_REF_NODE_MODULES or tools/dev/tfjs_ref/node_modules.
"""
import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from .. import FCN_CONVERT, ROOT
from ..fcnconv import keras_src, modelbin
from .reference import np_conv, np_softmax

TFJS_REF = os.path.join(ROOT, "tools", "dev", "tfjs_ref")

try:
    import h5py
except ImportError:
    sys.exit("gen_keras_fixtures: needs h5py (apt-get install python3-h5py)")

TOL = "1e-4"    # written as-is into the manifest
FCN_RUN = os.path.join(ROOT, "build", "fcn-run")


def fail(msg):
    sys.exit("gen_keras_fixtures: " + msg)


# ---------------------------------------------------------------------------
# TF.js side

def node_modules():
    for d in (os.environ.get("TFJS_REF_NODE_MODULES"),
              os.path.join(TFJS_REF, "node_modules")):
        if d and os.path.isdir(os.path.join(d, "@tensorflow", "tfjs")):
            return d
    fail("@tensorflow/tfjs not found: run `npm ci --prefix tools/dev/tfjs_ref` (or install "
         "tools/dev/tfjs_ref/package.json elsewhere and set TFJS_REF_NODE_MODULES to its "
         "node_modules)")


def run_tfjs(outdir):
    if not shutil.which("node"):
        fail("node not found (node >= 18 runs tools/dev/tfjs_ref/make_models.js)")
    env = dict(os.environ, NODE_PATH=node_modules())
    r = subprocess.run(["node", os.path.join(TFJS_REF, "make_models.js"), outdir],
                       env=env, capture_output=True, text=True)
    if r.returncode:
        fail("make_models.js failed:\n" + r.stderr)
    print(r.stdout, end="")


def convert(src, dst, *extra):
    r = subprocess.run([FCN_CONVERT, src, dst] + list(extra), capture_output=True, text=True)
    if r.returncode:
        fail("fcn-convert %s failed: %s" % (src, r.stderr.strip()))
    with open(dst, "rb") as f:
        return f.read()


# ---------------------------------------------------------------------------
# The same model as Keras 2 HDF5 and Keras 3 .keras

def keras2_weight_groups(config, tfjs_weights):
    """tfjs weights [(layer/w, array)] -> ordered {layer: [(w, array)]} and
    the model's layer list as Keras 2 records it (Functional: with the
    InputLayer; Sequential: without)."""
    groups = {}
    for name, arr in tfjs_weights:
        layer, _, w = name.rpartition("/")
        groups.setdefault(layer, []).append((w, arr))
    layers = config["config"]["layers"]
    names = [L.get("name") or L["config"]["name"] for L in layers]
    return groups, names


def write_keras2_h5(path, model_config, groups, layer_names, keras_version="2.15.0",
                    backend="tensorflow", weight_name=None):
    """Keras 2's save_model_to_hdf5 + save_weights_to_hdf5_group layout."""
    weight_name = weight_name or (lambda layer, w: "%s/%s:0" % (layer, w))
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = keras_version
        if backend:
            f.attrs["backend"] = backend
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([n.encode("utf8") for n in layer_names])
        if backend:
            g.attrs["backend"] = backend.encode("utf8")
        g.attrs["keras_version"] = keras_version.encode("utf8")
        for layer in sorted(layer_names):
            lg = g.create_group(layer)
            ws = groups.get(layer, [])
            names = [weight_name(layer, w).encode("utf8") for w, _ in ws]
            lg.attrs["weight_names"] = np.array(names) if names else np.array([])
            for n, (_, arr) in zip(names, ws):
                d = lg.create_dataset(n.decode("utf8"), arr.shape, dtype=arr.dtype)
                d[...] = arr
        if keras_version.startswith("2"):   # tf-keras 2.13+: the model's own weights
            g.create_group("top_level_model_weights").attrs["weight_names"] = np.array([])


_POLICY = {"module": "keras", "class_name": "DTypePolicy",
           "config": {"name": "float32"}, "registered_name": None}


def _k3_tensor(ref):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": None, "dtype": "float32",
                       "keras_history": [ref[0], ref[1], ref[2]]}}


def _k3_layer(L, inbound=None):
    c = dict(L["config"])
    c.pop("batch_input_shape", None)
    c["dtype"] = _POLICY
    if L["class_name"] == "LeakyReLU" and "alpha" in c:
        c["negative_slope"] = c.pop("alpha")
    out = {"module": "keras.layers", "class_name": L["class_name"], "config": c,
           "registered_name": None, "name": c["name"]}
    if inbound is not None:
        out["inbound_nodes"] = inbound
    return out


def to_keras3_config(model_config):
    """A Keras 2 / TF.js model config rewritten as Keras 3 writes it."""
    cls, conf = model_config["class_name"], model_config["config"]
    layers = conf["layers"]
    if cls == "Sequential":
        shape = layers[0]["config"]["batch_input_shape"]
        inp = {"module": "keras.layers", "class_name": "InputLayer",
               "config": {"batch_shape": shape, "dtype": "float32", "sparse": False,
                          "name": "input_layer"}, "registered_name": None}
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": conf["name"], "trainable": True, "dtype": _POLICY,
                           "layers": [inp] + [_k3_layer(L) for L in layers]},
                "registered_name": None, "build_config": {"input_shape": shape}}
    out = []
    for L in layers:
        if L["class_name"] == "InputLayer":
            c = L["config"]
            out.append({"module": "keras.layers", "class_name": "InputLayer",
                        "config": {"batch_shape": c["batch_input_shape"],
                                   "dtype": "float32", "sparse": False, "name": c["name"]},
                        "registered_name": None, "name": c["name"], "inbound_nodes": []})
            continue
        nodes = []
        for node in L["inbound_nodes"]:
            ts = [_k3_tensor(r) for r in node]
            nodes.append({"args": [ts[0]] if len(ts) == 1 else [ts], "kwargs": {}})
        out.append(_k3_layer(L, nodes))
    ins, outs = conf["input_layers"], conf["output_layers"]
    return {"module": "keras", "class_name": "Functional",
            "config": {"name": conf["name"], "trainable": True, "layers": out,
                       "input_layers": ins[0] if len(ins) == 1 else ins,  # Keras 3: bare
                       "output_layers": outs},
            "registered_name": "Functional", "build_config": {"input_shape": None},
            "compile_config": None}


def write_keras3(path, config3, layer_vars):
    """layer_vars: [(layer name, [arrays in Keras 3 variable order])]."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for name, arrs in layer_vars:
            g = f.create_group("layers/%s/vars" % name)
            for i, a in enumerate(arrs):
                g.create_dataset(str(i), data=a)
        f.create_group("vars")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3",
                                                "date_saved": "2024-01-01@00:00:00"}))
        z.writestr("config.json", json.dumps(config3))
        z.writestr("model.weights.h5", buf.getvalue())


def same_model_three_ways(case_dir, tmp):
    """Convert model.json, and the same config + weights as .h5 and .keras;
    all three model.bin files must be identical. Returns the bytes."""
    mj = os.path.join(case_dir, "model.json")
    b_json = convert(mj, os.path.join(tmp, "from_json.bin"))
    with open(mj) as f:
        j = json.load(f)
    topo = j["modelTopology"]
    config = {"class_name": topo["class_name"], "config": topo["config"]}
    weights = keras_src.tfjs_weights(mj, j["weightsManifest"])
    groups, names = keras2_weight_groups(config, weights)
    h5 = os.path.join(tmp, "model.h5")
    write_keras2_h5(h5, config, groups, names)
    b_h5 = convert(h5, os.path.join(tmp, "from_h5.bin"))
    if b_h5 != b_json:
        fail("%s: model.bin from the Keras 2 .h5 differs from the one from model.json"
             % case_dir)
    k3 = os.path.join(tmp, "model.keras")
    order = [L.get("name") or L["config"]["name"] for L in config["config"]["layers"]]
    write_keras3(k3, to_keras3_config(config),
                 [(n, [a for _, a in groups.get(n, [])]) for n in order])
    b_k3 = convert(k3, os.path.join(tmp, "from_keras.bin"))
    if b_k3 != b_json:
        fail("%s: model.bin from the Keras 3 .keras differs from the one from model.json"
             % case_dir)
    return b_json


# ---------------------------------------------------------------------------
# NumPy (float64) reference layers on (C, H, W) arrays

def keras_conv(x, k, b=None, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1), groups=1,
               flip=False):
    """k: Keras layout (kh, kw, cin/groups, cout); flip: true convolution."""
    if flip:
        k = k[::-1, ::-1]
    return np_conv(x, k.transpose(3, 2, 0, 1), b, stride, pad, dil, groups)


def np_pool(x, k, s, mode):
    C, H, W = x.shape
    oh, ow = (H - k) // s + 1, (W - k) // s + 1
    out = np.empty((C, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = x[:, i * s:i * s + k, j * s:j * s + k]
            out[:, i, j] = win.max(axis=(1, 2)) if mode == "max" else win.mean(axis=(1, 2))
    return out


def np_bn(x, gamma, beta, mean, var, eps):
    sh = (-1,) + (1,) * (x.ndim - 1)
    return (x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * gamma.reshape(sh) + \
        beta.reshape(sh)


def relu6(x):
    return np.clip(x, 0, 6)


def crops(fn, x, th, tw, stride):
    C, H, W = x.shape
    oh, ow = (H - th) // stride + 1, (W - tw) // stride + 1
    cells = [[fn(x[:, i * stride:i * stride + th, j * stride:j * stride + tw])
              for j in range(ow)] for i in range(oh)]
    return np.stack([np.stack(row, axis=-1) for row in cells], axis=-2)


class Rng:
    def __init__(self, seed):
        self.r = np.random.default_rng(seed)

    def kernel(self, *shape, fan_in=None):
        fan_in = fan_in or int(np.prod(shape[:-1]))
        return (self.r.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def vec(self, n, sd=0.1):
        return (self.r.standard_normal(n) * sd).astype(np.float32)

    def bn(self, n):
        return (self.r.uniform(0.6, 1.4, n).astype(np.float32), self.vec(n, 0.2),
                self.vec(n, 0.3), self.r.uniform(0.4, 1.6, n).astype(np.float32))

    def x(self, *shape):
        return self.r.standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------
# keras1_th: Keras 1.2 HDF5, dim_ordering 'th', Theano kernels

def keras1_th(tmp):
    rng = Rng(101)
    C, H, W = 3, 14, 14
    w1 = rng.kernel(3, 3, 3, 6)              # Keras 2 layout, converted below
    b1 = rng.vec(6)
    w2 = rng.kernel(3, 3, 6, 8)
    b2 = rng.vec(8)
    g, be, mu, var = rng.bn(8)
    d1 = rng.kernel(8 * 6 * 6, 16)
    db1 = rng.vec(16)
    d2 = rng.kernel(16, 4)
    db2 = rng.vec(4)

    def conv_cfg(name, nf, border, first=False):
        c = {"name": name, "trainable": True, "nb_filter": nf, "nb_row": 3, "nb_col": 3,
             "init": "glorot_uniform", "activation": "linear", "border_mode": border,
             "subsample": [1, 1], "dim_ordering": "th", "W_regularizer": None,
             "b_regularizer": None, "activity_regularizer": None, "W_constraint": None,
             "b_constraint": None, "bias": True}
        if first:
            c.update(batch_input_shape=[None, C, H, W], input_dtype="float32")
        return {"class_name": "Convolution2D", "config": c}
    layers = [
        conv_cfg("convolution2d_1", 6, "valid", first=True),
        {"class_name": "Activation", "config": {"name": "activation_1", "trainable": True,
                                                "activation": "relu"}},
        {"class_name": "MaxPooling2D", "config": {"name": "maxpooling2d_1", "trainable": True,
                                                  "pool_size": [2, 2], "strides": [2, 2],
                                                  "border_mode": "valid",
                                                  "dim_ordering": "th"}},
        conv_cfg("convolution2d_2", 8, "same"),
        {"class_name": "BatchNormalization", "config": {
            "name": "batchnormalization_1", "trainable": True, "epsilon": 0.001, "mode": 0,
            "axis": 1, "gamma_regularizer": None, "beta_regularizer": None,
            "momentum": 0.99}},
        {"class_name": "Activation", "config": {"name": "activation_2", "trainable": True,
                                                "activation": "relu"}},
        {"class_name": "Flatten", "config": {"name": "flatten_1", "trainable": True}},
        {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True,
                                           "output_dim": 16, "init": "glorot_uniform",
                                           "activation": "tanh", "W_regularizer": None,
                                           "b_regularizer": None, "bias": True,
                                           "input_dim": None}},
        {"class_name": "Dropout", "config": {"name": "dropout_1", "trainable": True, "p": 0.5}},
        {"class_name": "Dense", "config": {"name": "dense_2", "trainable": True,
                                           "output_dim": 4, "activation": "softmax",
                                           "bias": True, "input_dim": None}},
    ]
    th = lambda k: k.transpose(3, 2, 0, 1)   # noqa: E731  Keras 1 'th': (out, in, kh, kw)
    groups = {"convolution2d_1": [("W", th(w1)), ("b", b1)],
              "convolution2d_2": [("W", th(w2)), ("b", b2)],
              "batchnormalization_1": [("gamma", g), ("beta", be), ("running_mean", mu),
                                       ("running_std", var)],
              "dense_1": [("W", d1), ("b", db1)], "dense_2": [("W", d2), ("b", db2)]}
    names = [L["config"]["name"] for L in layers]
    path = os.path.join(tmp, "keras1_th.h5")
    write_keras2_h5(path, {"class_name": "Sequential", "config": layers}, groups, names,
                    keras_version="1.2.2", backend=None,
                    weight_name=lambda layer, w: "%s_%s" % (layer, w))

    # Theano computes true convolutions with the stored kernels.
    def backbone(x):
        h = np.maximum(keras_conv(x, w1, b1, flip=True), 0)
        h = np_pool(h, 2, 2, "max")
        h = keras_conv(h, w2, b2, pad=(1, 1, 1, 1), flip=True)
        return np.maximum(np_bn(h, g, be, mu, var, 1e-3), 0)

    def head(m):        # m: the 8x6x6 map, flattened in 'th' order (chw)
        a = np.tanh(m.reshape(-1) @ d1 + db1)
        return np_softmax((a @ d2 + db2)[:, None])[:, 0]

    def fcn(x):         # padded model: the head on every 6x6 window of the map
        m = backbone(x)
        return crops(head, m, 6, 6, 1)
    checks = []
    for (h, w) in [(14, 14), (28, 28), (22, 18)]:
        x = rng.x(C, h, w)
        y = fcn(x.astype(np.float64))
        checks.append((x, y, "-"))
    return path, checks, {}


# ---------------------------------------------------------------------------
# keras3_ops: Keras 3 .keras, Keras 3 names and semantics

def keras3_ops(tmp):
    rng = Rng(202)
    H = W = 18
    mean = np.array([0.5, 0.4, 0.3], np.float32)
    var = np.array([0.04, 0.09, 0.0625], np.float32)
    k1, b1 = rng.kernel(3, 3, 3, 6), rng.vec(6)
    g1, _, m1, v1 = rng.bn(6)
    k2, b2 = rng.kernel(3, 3, 3, 8), rng.vec(8)         # groups 2: cin/groups = 3
    _, be2, m2, v2 = rng.bn(8)
    k3, b3 = rng.kernel(2, 2, 8, 1, fan_in=4), rng.vec(8)
    kd, bd = rng.kernel(8, 5), rng.vec(5)

    def L(cls, name, inbound, **cfg):
        cfg = dict(cfg, name=name, trainable=True, dtype=_POLICY)
        return {"module": "keras.layers", "class_name": cls, "config": cfg,
                "registered_name": None, "name": name,
                "inbound_nodes": [{"args": [_k3_tensor([inbound, 0, 0])], "kwargs": {}}]}
    layers = [
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"batch_shape": [None, H, W, 3], "dtype": "float32", "sparse": False,
                    "name": "image"}, "registered_name": None, "name": "image",
         "inbound_nodes": []},
        L("Rescaling", "rescaling", "image", scale=1 / 255.0, offset=0.0),
        L("Normalization", "normalization", "rescaling", axis=-1, mean=mean.tolist(),
          variance=var.tolist(), invert=False),
        L("Conv2D", "conv1", "normalization", filters=6, kernel_size=[3, 3],
          strides=[1, 1], padding="valid", data_format="channels_last",
          dilation_rate=[2, 2], groups=1, activation="hard_swish", use_bias=True),
        L("BatchNormalization", "bn1", "conv1", axis=-1, momentum=0.99, epsilon=0.001,
          center=False, scale=True),
        L("ReLU", "relu1", "bn1", max_value=4.0, negative_slope=0.1, threshold=0.0),
        L("Conv2D", "conv2", "relu1", filters=8, kernel_size=[3, 3], strides=[2, 2],
          padding="valid", data_format="channels_last", dilation_rate=[1, 1], groups=2,
          activation="linear", use_bias=True),
        L("BatchNormalization", "bn2", "conv2", axis=-1, momentum=0.99, epsilon=0.001,
          center=True, scale=False),
        L("LeakyReLU", "leaky", "bn2", negative_slope=0.2),
        L("DepthwiseConv2D", "dw", "leaky", kernel_size=[2, 2], strides=[1, 1],
          padding="valid", data_format="channels_last", depth_multiplier=1,
          dilation_rate=[1, 1], activation="hard_sigmoid", use_bias=True),
        L("GlobalMaxPooling2D", "gmp", "dw", data_format="channels_last", keepdims=True),
        L("Flatten", "flatten", "gmp", data_format="channels_last"),
        L("Dense", "dense", "flatten", units=5, activation="softmax", use_bias=True),
    ]
    config = {"module": "keras", "class_name": "Functional",
              "config": {"name": "keras3_ops", "trainable": True, "layers": layers,
                         "input_layers": [["image", 0, 0]],
                         "output_layers": ["dense", 0, 0]},
              "registered_name": "Functional", "build_config": {"input_shape": None},
              "compile_config": None}
    path = os.path.join(tmp, "keras3_ops.keras")
    write_keras3(path, config, [
        ("image", []), ("rescaling", []), ("normalization", []),
        ("conv1", [k1, b1]), ("bn1", [g1, m1, v1]), ("relu1", []), ("conv2", [k2, b2]),
        ("bn2", [be2, m2, v2]), ("leaky", []), ("dw", [k3, b3]), ("gmp", []),
        ("flatten", []), ("dense", [kd, bd])])

    def hswish(x):
        return x * relu6(x + 3) / 6

    def net(x):     # x: the normalized input (what fcn is fed as-is)
        h = hswish(keras_conv(x, k1, b1, dil=(2, 2)))
        h = np_bn(h, g1, np.zeros(6), m1, v1, 1e-3)
        h = np.where(h >= 0, h, 0.1 * h)
        h = np.minimum(h, 4.0)
        h = keras_conv(h, k2, b2, stride=(2, 2), groups=2)
        h = np_bn(h, np.ones(8), be2, m2, v2, 1e-3)
        h = np.where(h >= 0, h, 0.2 * h)
        h = np.stack([keras_conv(h[c:c + 1], k3[:, :, c:c + 1, :], b3[c:c + 1])[0]
                      for c in range(h.shape[0])])     # depthwise
        return relu6(h + 3) / 6         # Keras 3 hard_sigmoid

    def head(m):
        z = m.max(axis=(1, 2)) @ kd + bd
        return np_softmax(z[:, None])[:, 0]

    def clf(x):
        return head(net(x))
    checks = []
    for (h, w) in [(18, 18), (26, 22), (34, 30)]:
        x = rng.x(3, h, w)
        y = crops(clf, x.astype(np.float64), 18, 18, 2)    # VALID: crops, stride 2
        checks.append((x, y, "-"))
    x = rng.x(3, 26, 22)                # gap=local: the head at every backbone cell
    m = net(x.astype(np.float64))
    checks.append((x, crops(head, m, 1, 1, 1), "gap=local"))
    meta = {"scale": 1 / 255.0, "mean": mean.tolist(), "std": np.sqrt(var).tolist()}
    return path, checks, meta


# ---------------------------------------------------------------------------

def check_meta(case, model_bin, want):
    m = modelbin.load(model_bin)
    for k, v in want.items():
        got = m.meta.get(k)
        v = [v] if not isinstance(v, list) else v
        if got is None or len(got) != len(v) or not np.allclose(got, v, rtol=1e-6, atol=0):
            fail("%s: metadata %s is %s, expected %s" % (case, k, got, v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", default=os.path.join(ROOT, "tests", "fixtures-keras"))
    ap.add_argument("--keep", metavar="DIR", help="keep the TF.js models and "
                    "intermediate files in DIR")
    ap.add_argument("--no-verify", action="store_true", help="do not run build/fcn-run")
    a = ap.parse_args()
    tmp = a.keep or tempfile.mkdtemp(prefix="fcn-keras-")
    os.makedirs(tmp, exist_ok=True)
    ref = os.path.join(tmp, "tfjs")
    if os.path.isdir(ref):
        shutil.rmtree(ref)
    run_tfjs(ref)

    out = a.outdir
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    lines = []

    def emit_case(name, model_bytes, checks):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.bin"), "wb") as f:
            f.write(model_bytes)
        for k, (x, y, opts) in enumerate(checks):
            np.save(os.path.join(d, "in_%d.npy" % k), np.ascontiguousarray(x, np.float32))
            np.save(os.path.join(d, "out_%d.npy" % k), np.ascontiguousarray(y, np.float32))
            lines.append("%s %s/model.bin %s/in_%d.npy %s/out_%d.npy %s %s"
                         % (name, name, name, k, name, k, TOL, opts))

    order = ["vgg_cl", "vgg_cl_f16", "vgg_cl_u8", "valid_crops", "stride2_same", "mobile",
             "resnet", "cf_chw", "cf_hwc", "prep_gap"]
    found = sorted(os.listdir(ref), key=lambda n: order.index(n) if n in order else 99)
    for name in found:
        cdir = os.path.join(ref, name)
        with open(os.path.join(cdir, "case.json")) as f:
            case = json.load(f)
        work = os.path.join(tmp, "work", name)
        os.makedirs(work, exist_ok=True)
        model_bytes = same_model_three_ways(cdir, work)
        if case.get("prep"):
            p = case["prep"]
            # Rescaling(scale, offset) -> x*scale - mean with mean = -offset
            check_meta(name, os.path.join(work, "from_json.bin"),
                       {"scale": p["scale"], "mean": -p["offset"]})
        checks = []
        for c in case["checks"]:
            x = np.fromfile(os.path.join(cdir, c["input"]), "<f4").reshape(c["in_shape"])
            y = np.fromfile(os.path.join(cdir, c["expected"]), "<f4").reshape(c["out_shape"])
            checks.append((x, y, c["opts"]))
        emit_case(name, model_bytes, checks)
        print("%-14s %s weights, %d checks, model.bin %d bytes (json = h5 = keras)"
              % (name, case["weights"], len(checks), len(model_bytes)))

    for maker in (keras1_th, keras3_ops):
        path, checks, meta = maker(tmp)
        name = maker.__name__
        model_bytes = convert(path, os.path.join(tmp, name + ".bin"))
        if meta:
            check_meta(name, os.path.join(tmp, name + ".bin"), meta)
        emit_case(name, model_bytes, checks)
        print("%-14s %s, %d checks (NumPy reference)" % (name, os.path.basename(path),
                                                         len(checks)))

    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("# Keras / TF.js converter fixtures, generated by tools/dev/gen_keras_fixtures.py "
                "(do not edit).\n"
                "# <case> <model> <input.npy> <expected.npy> <tolerance> <options>\n"
                "# model.bin: tools/fcn-convert of a TF.js layers model (the same config as\n"
                "# Keras 2 .h5 and Keras 3 .keras converts byte-identically), or of the .h5 /\n"
                "# .keras written by the generator (keras1_th, keras3_ops). input: float32\n"
                "# (C,H,W) fed as-is (after the model's preprocessing); expected: float32\n"
                "# (classes,H',W') from TensorFlow.js (float32) or NumPy (float64).\n"
                "# Pass when max|got - expected| <= tolerance * max(1, max|expected|).\n")
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(dp, fn))
                for dp, _, fns in os.walk(out) for fn in fns)
    print("wrote %s: %d checks, %d bytes" % (out, len(lines), total))
    if not a.no_verify:
        verify(out, lines)
    if not a.keep:
        shutil.rmtree(tmp)


def verify(out, lines):
    """Run every check through build/fcn-run and report max |fcn - reference|."""
    if not os.access(FCN_RUN, os.X_OK):
        print("(build/fcn-run not built: skipping the run)")
        return
    bad = 0
    with tempfile.TemporaryDirectory() as t:
        for ln in lines:
            name, model, inp, exp, tol, opts = ln.split()
            cmd = [FCN_RUN, os.path.join(out, model), os.path.join(out, inp),
                   "--out", os.path.join(t, "s.npy"), "--threads", "1"]
            if "gap=local" in opts:
                cmd += ["--gap", "local"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            y = np.load(os.path.join(out, exp))
            if r.returncode:
                print("  %-14s %-12s FAILED: %s" % (name, os.path.basename(inp), r.stderr.strip()))
                bad += 1
                continue
            g = np.load(os.path.join(t, "s.npy"))
            if g.shape != y.shape:
                print("  %-14s %-12s shape %s, expected %s" % (name, os.path.basename(inp),
                                                             g.shape, y.shape))
                bad += 1
                continue
            err = float(np.abs(g.astype(np.float64) - y).max())
            rel = err / max(1.0, float(np.abs(y).max()))
            ok = rel <= float(tol)
            bad += not ok
            x = np.load(os.path.join(out, inp))
            print("  %-14s %-9s %-10s -> %-10s max|d| %.3g (rel %.2g)%s"
                  % (name, os.path.basename(inp), "x".join(map(str, x.shape[1:])),
                     "x".join(map(str, y.shape)), err, rel, "" if ok else "  FAIL"))
    if bad:
        fail("%d checks fail" % bad)


if __name__ == "__main__":
    main()
