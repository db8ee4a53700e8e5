"""Keras / TF.js layers classifier -> fcn model.bin (docs/convert-keras.md).

convert(path, options) reads one Keras layer configuration (Sequential or
Functional) with its weights from any of three containers and translates it,
layer by layer, into a modelbin.Model holding the classifier as trained:

  .h5 / .hdf5  Keras 2 (and 1) HDF5: root attribute `model_config` (JSON),
               group `model_weights/<layer>` with a `weight_names` attribute
               naming its datasets (`<layer>/kernel:0`, Keras 1: `<layer>_W`).
  .keras       Keras 3 zip: `config.json` and `model.weights.h5`, whose
               datasets are `layers/<layer>/vars/0..n` (no names: by position).
  .json        TF.js layers model: `modelTopology` and `weightsManifest`, the
               weight shards beside it (float32, float16, int32, or quantized
               uint8 / uint16 / float16 as the manifest's `quantization` says).

Every tensor is tracked with its shape at the trained input size and its
layout: 'cl' (channels_last map), 'cf' (channels_first map) or 'vec' (a
flat vector). fcn tensors are always C x H x W; the layout only decides what
Keras axes mean (Flatten order, Concatenate/BatchNormalization/Softmax axis,
Dense on a map). SAME padding is resolved at the trained size, asymmetric as
TensorFlow pads it. The FCN conversion itself is done by fcn's loader
(docs/conversion.md).

tfjs_weights(path, manifest) decodes the weights a TF.js weights manifest
lists, as TF.js does (tools/dev/gen_keras_fixtures.py writes them into .h5
and .keras files).
"""
import io
import json
import math
import os
import re
import zipfile

import numpy as np

from . import ConvertError, Handlers
from . import validate
from .modelbin import Model
from .window import extent, same_pads, window_out


def _err(msg):
    """A ConvertError whose message is one line."""
    return ConvertError(" ".join(str(msg).split()))


def _h5py():
    try:
        import h5py
    except ImportError:
        raise _err("reading Keras .h5/.keras files needs h5py "
                   "(Debian: apt-get install python3-h5py)")
    return h5py


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _text(v[()])
    return str(v)


# ---------------------------------------------------------------------------
# Containers. Each yields a _Source: the model config ({class_name, config}),
# keras_version, backend, and layer_weights(name) -> [(key or None, array)].

class _Source:
    def __init__(self, path, kind, config, weights, keras_version="", backend=None):
        self.path, self.kind, self.config = path, kind, config
        self.weights = weights          # dict: layer key -> [(key, ndarray)]
        self.keras_version = keras_version or ""
        self.backend = backend
        self.keras3 = kind == "keras" or self.keras_version.startswith("3")

    def layer_weights(self, name):
        """The weights stored for layer `name`, or None when there are none."""
        if name in self.weights:
            return self.weights[name]
        hits = [k for k in self.weights if k.endswith("/" + name)]
        if len(hits) > 1:
            raise _err("%s: weights of layer '%s' are ambiguous (%s)"
                       % (self.path, name, ", ".join(sorted(hits))))
        return self.weights[hits[0]] if hits else None


def _h5_attr_list(group, name):
    """A Keras string-list attribute, possibly chunked as name0, name1, ..."""
    if name in group.attrs:
        vals = group.attrs[name]
    else:
        vals, i = [], 0
        while "%s%d" % (name, i) in group.attrs:
            vals.extend(list(group.attrs["%s%d" % (name, i)]))
            i += 1
    if isinstance(vals, (bytes, str)):
        vals = [vals]
    return [_text(v) for v in vals]


# gzip's best ratio is about 1000:1: an HDF5 dataset that claims more values
# than that over what it stores is a decompression bomb, refused before
# h5py allocates it.
_H5_MAX_RATIO = 1100


def _h5_array(path, what, ds):
    """An HDF5 dataset as a numpy array, its size checked first."""
    validate.check_array(path, what, ds.shape)
    stored = ds.id.get_storage_size()
    if ds.size and ds.nbytes > _H5_MAX_RATIO * stored + (1 << 20):
        raise _err("%s: %s claims %d bytes but stores %d; refused (a damaged or "
                   "hostile file)" % (path, what, ds.nbytes, stored))
    return np.array(ds)


def _h5_keras2_weights(path, g):
    """model_weights/<layer> groups -> {layer: [(weight name, array)]}."""
    out = {}
    names = _h5_attr_list(g, "layer_names") or list(g.keys())
    for lname in names:
        if lname not in g:
            continue
        lg = g[lname]
        wl = []
        for wn in _h5_attr_list(lg, "weight_names"):
            if wn not in lg:
                raise _err("%s: layer '%s' lists weight '%s' but the file has no "
                           "such dataset" % (path, lname, wn))
            try:
                arr = _h5_array(path, "weight '%s/%s'" % (lname, wn), lg[wn])
            except (OSError, ValueError, TypeError, AttributeError) as e:
                raise _err("%s: cannot read weight '%s/%s' (truncated file?): %s"
                           % (path, lname, wn, e))
            wl.append((wn, arr))
        out[lname] = wl
    return out


def _load_h5(path):
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04":
        raise _err("%s: is a zip archive (a Keras 3 .keras file?), not HDF5" % path)
    h5py = _h5py()
    if not h5py.is_hdf5(path):
        raise _err("%s: not an HDF5 file (expected a Keras 2 model saved with "
                   "model.save('model.h5'))" % path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise _err("%s: cannot open HDF5 file (truncated?): %s" % (path, e))
    with f:
        try:
            if "model_config" not in f.attrs:
                raise _err("%s: HDF5 file has no 'model_config' attribute (weights "
                           "only, from save_weights()?); save the whole model with "
                           "model.save()" % path)
            try:
                config = json.loads(_text(f.attrs["model_config"]))
            except ValueError as e:
                raise _err("%s: model_config is not valid JSON (%s)" % (path, e))
            kv = _text(f.attrs["keras_version"]) if "keras_version" in f.attrs else ""
            g = f["model_weights"] if "model_weights" in f else f
            backend = None
            for holder in (f, g):
                if "backend" in holder.attrs:
                    backend = _text(holder.attrs["backend"])
            weights = _h5_keras2_weights(path, g)
        except (OSError, KeyError, RuntimeError) as e:
            raise _err("%s: cannot read HDF5 contents (truncated file?): %s" % (path, e))
    return _Source(path, "h5", config, weights, kv, backend)


def _load_keras3(path):
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            hdf = f.read(8) == b"\x89HDF\r\n\x1a\n"
        raise _err("%s: not a zip archive, or a truncated one (expected a Keras 3 .keras file)%s"
                   % (path, "; it is HDF5: rename it .h5" if hdf else ""))
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise _err("%s: no config.json in the archive (not a Keras 3 "
                           ".keras file)" % path)
            try:
                config = json.loads(z.read("config.json").decode("utf-8"))
            except ValueError as e:
                raise _err("%s: config.json is not valid JSON (%s)" % (path, e))
            kv = ""
            if "metadata.json" in names:
                try:
                    kv = str(json.loads(z.read("metadata.json").decode("utf-8"))
                             .get("keras_version", ""))
                except (ValueError, AttributeError):
                    pass
            if "model.weights.h5" not in names:
                raise _err("%s: no model.weights.h5 in the archive" % path)
            blob = z.read("model.weights.h5")
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise _err("%s: cannot read zip archive: %s" % (path, e))
    h5py = _h5py()
    weights = {}
    try:
        with h5py.File(io.BytesIO(blob), "r") as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Group) and name.endswith("/vars"):
                    owner = name[:-len("/vars")]
                    keys = sorted(obj.keys(), key=lambda k: int(k) if k.isdigit() else 1 << 30)
                    weights[owner] = [(None, _h5_array(path, "weight '%s/%s'" % (name, k),
                                                       obj[k])) for k in keys]
            f.visititems(visit)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise _err("%s: model.weights.h5 is not readable HDF5: %s" % (path, e))
    # Look-ups are by layer name: 'layers/<name>' first.
    by_name = {}
    for owner, wl in weights.items():
        key = owner[len("layers/"):] if owner.startswith("layers/") else owner
        by_name[key] = wl
    return _Source(path, "keras", config, by_name, kv or "3", "tensorflow")


_TFJS_BYTES = {"float32": 4, "int32": 4, "float16": 2, "uint8": 1, "uint16": 2}


def _load_tfjs(path):
    try:
        with open(path, "rb") as f:
            j = json.loads(f.read().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise _err("%s: not a JSON text (%s)" % (path, e))
    except ValueError as e:
        raise _err("%s: not valid JSON (%s)" % (path, e))
    if not isinstance(j, dict):
        raise _err("%s: not a TF.js model.json (top level is not an object)" % path)
    if "modelTopology" not in j:
        if "class_name" in j and "config" in j:
            raise _err("%s: a Keras architecture JSON without weights "
                       "(model.to_json()); convert the .h5 or .keras file instead" % path)
        raise _err("%s: not a TF.js layers model (no modelTopology)" % path)
    topo = j["modelTopology"]
    if j.get("format") == "graph-model" or (isinstance(topo, dict) and "node" in topo):
        raise _err("%s: a TF.js graph model; only TF.js layers models (Keras "
                   "configs) are supported" % path)
    if not isinstance(topo, dict):
        raise _err("%s: modelTopology is not an object" % path)
    config = topo.get("model_config", topo)
    kv = str(topo.get("keras_version", ""))
    backend = topo.get("backend")
    manifest = j.get("weightsManifest")
    if not isinstance(manifest, list):
        raise _err("%s: no weightsManifest (a TF.js layers model lists its "
                   "weight shards there)" % path)
    flat = tfjs_weights(path, manifest)
    weights = {}
    for name, arr in flat:
        owner, _, wn = name.rpartition("/")
        weights.setdefault(owner, []).append((wn, arr))
    return _Source(path, "tfjs", config, weights, kv,
                   backend if isinstance(backend, str) else None)


def tfjs_weights(path, manifest):
    """Decode every group of a TF.js weights manifest as TF.js does."""
    base = os.path.dirname(os.path.abspath(path))
    out = []
    for gi, group in enumerate(manifest):
        paths, specs = group.get("paths", []), group.get("weights", [])
        bufs = []
        for p in paths:
            fp = os.path.join(base, p)
            if not os.path.isfile(fp):
                raise _err("%s: weight shard '%s' is missing" % (path, p))
            with open(fp, "rb") as f:
                bufs.append(f.read())
        buf = b"".join(bufs)
        ends = np.cumsum([len(b) for b in bufs])
        off = 0
        for s in specs:
            name = s["name"]
            shape = [int(d) for d in s.get("shape", [])]
            validate.check_array(path, "weight '%s'" % name, shape)
            dtype = s.get("dtype", "float32")
            q = s.get("quantization")
            store = q.get("dtype") if q else dtype
            if dtype not in ("float32", "int32", "float16") or store not in _TFJS_BYTES:
                raise _err("%s: weight '%s' has dtype %s%s; supported: float32, "
                           "float16, int32, quantized uint8/uint16/float16"
                           % (path, name, dtype, " quantized as %s" % store if q else ""))
            n = math.prod(shape)
            nb = n * _TFJS_BYTES[store]
            if off + nb > len(buf):
                shard = paths[min(int(np.searchsorted(ends, off, side="right")),
                                  len(paths) - 1)] if paths else "(none)"
                raise _err("%s: weight '%s' needs bytes %d..%d of group %d but its "
                           "shards hold %d (shard '%s' truncated or missing?)"
                           % (path, name, off, off + nb, gi + 1, len(buf), shard))
            raw = buf[off:off + nb]
            off += nb
            if q and store in ("uint8", "uint16"):
                if "scale" not in q or "min" not in q:
                    raise _err("%s: weight '%s': %s quantization without scale and "
                               "min" % (path, name, store))
                v = np.frombuffer(raw, dtype="<u1" if store == "uint8" else "<u2")
                # TF.js: values[i] = v * scale + min, in double, stored as float32
                a = (v.astype(np.float64) * float(q["scale"]) + float(q["min"]))
            elif store == "float16":
                a = np.frombuffer(raw, dtype="<f2")
            elif store == "int32":
                a = np.frombuffer(raw, dtype="<i4")
            else:
                a = np.frombuffer(raw, dtype="<f4")
            out.append((name, a.astype(np.float32).reshape(shape)))
        if off != len(buf):
            raise _err("%s: weight shards of group %d hold %d bytes, the manifest "
                       "describes %d (wrong shard or manifest?)"
                       % (path, gi + 1, len(buf), off))
    return out


def _load(path):
    low = path.lower()
    if low.endswith(".json"):
        return _load_tfjs(path)
    if low.endswith(".keras"):
        return _load_keras3(path)
    return _load_h5(path)


# ---------------------------------------------------------------------------
# The layer graph

class _Node:
    """One application of a Keras layer: (layer name, node index)."""

    def __init__(self, layer, k, inputs, order):
        self.layer = layer
        self.cls = layer.get("class_name")
        self.cfg = layer.get("config") or {}
        self.name = layer.get("name") or self.cfg.get("name")
        self.k = k
        self.inputs = inputs            # [(layer name, node index)]
        self.order = order

    @property
    def key(self):
        return (self.name, self.k)

    def desc(self):
        return "layer '%s' (%s)" % (self.name, self.cls)


def _history(ref, where):
    """[name, node_index, tensor_index(, kwargs)] -> (name, node_index)."""
    if not isinstance(ref, (list, tuple)) or len(ref) < 1 or not isinstance(ref[0], str):
        raise _err("%s: cannot read an inbound node reference %r" % (where, ref))
    ni = int(ref[1]) if len(ref) > 1 else 0
    ti = int(ref[2]) if len(ref) > 2 else 0
    if ti != 0:
        raise _err("%s: uses output %d of layer '%s'; only single-output layers "
                   "are supported" % (where, ti, ref[0]))
    return (ref[0], ni)


def _keras3_tensors(obj, acc):
    """Keras 3 inbound node args: collect keras tensor histories in order."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            acc.append(obj.get("config", {}).get("keras_history"))
        else:
            for v in obj.values():
                _keras3_tensors(v, acc)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _keras3_tensors(v, acc)


def _node_inputs(node_spec, where):
    if isinstance(node_spec, dict):     # Keras 3
        acc = []
        _keras3_tensors(node_spec.get("args", []), acc)
        return [_history(h, where) for h in acc]
    if isinstance(node_spec, (list, tuple)):   # Keras 1/2, TF.js
        if node_spec and isinstance(node_spec[0], str):   # a single bare reference
            return [_history(node_spec, where)]
        return [_history(r, where) for r in node_spec]
    raise _err("%s: cannot read inbound node %r" % (where, node_spec))


def _io_list(v):
    """input_layers / output_layers: [[n, i, t], ...] or a bare [n, i, t]."""
    if isinstance(v, (list, tuple)) and v and isinstance(v[0], str):
        return [v]
    return list(v or [])


# Keras class names this converter translates (and their aliases): class name
# -> _Translator method (self, node, inputs) -> the output _T.
LAYERS = Handlers()
# The fcn op of each pooling layer.
_POOL_OPS = {"MaxPooling2D": "MaxPool", "AveragePooling2D": "AvgPool",
             "GlobalAveragePooling2D": "GlobalAvgPool", "GlobalMaxPooling2D": "GlobalMaxPool"}
# Layers (canonical names) whose data_format is the model's.
_SPATIAL = {"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D",
            "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
            "ZeroPadding2D"}
_ACTIVATIONS = ["linear", "relu", "relu6", "sigmoid", "tanh", "softmax",
                "hard_sigmoid", "hard_swish"]


class _T:
    """A tensor: fcn name, shape at the trained size, layout cl/cf/vec."""

    def __init__(self, name, c, h, w, layout):
        self.name, self.c, self.h, self.w, self.layout = name, int(c), int(h), int(w), layout

    def desc(self):
        if self.layout == "vec":
            return "a vector of %d" % self.c
        return "a %dx%dx%d %s map" % (self.c, self.h, self.w,
                                      "channels_last" if self.layout == "cl" else "channels_first")


def _window_attrs(kh, kw, sh, sw, dh, dw, pads):
    """model.bin Conv attributes, defaults left out."""
    attrs = {"kernel": [kh, kw]}
    if (sh, sw) != (1, 1):
        attrs["stride"] = [sh, sw]
    if any(pads):
        attrs["pad"] = list(pads)
    if (dh, dw) != (1, 1):
        attrs["dilation"] = [dh, dw]
    return attrs


def _pair(v, where, what):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v), int(v)
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return int(v[0]), int(v[1])
    if isinstance(v, (list, tuple)) and len(v) == 1:
        return int(v[0]), int(v[0])
    raise _err("%s: %s %r is not one or two integers" % (where, what, v))


def _given(c, keys, default):
    """The value of the first of keys that config c sets (not null), else
    default. 0 is a value, not "absent": Keras refuses a zero stride,
    dilation or group count, and so does the window check after this."""
    for k in keys:
        if c.get(k) is not None:
            return c[k]
    return default


def _snake(s):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", s).lower()


class _Translator:
    def __init__(self, src, options):
        self.src, self.options = src, options
        self.path = src.path
        cfg = src.config
        if not isinstance(cfg, dict) or "class_name" not in cfg:
            raise _err("%s: model config has no class_name" % self.path)
        self.model_cls = cfg["class_name"]
        self.conf = cfg.get("config")
        self.keras1 = src.keras_version.startswith("1")
        self.used_names = set()
        self.prep = None        # folded preprocessing: (scale, mean[C], std[C])

    # ---- graph -------------------------------------------------------

    def parse(self):
        cls, conf = self.model_cls, self.conf
        if cls == "Sequential":
            layers = conf if isinstance(conf, list) else (conf or {}).get("layers")
            if not isinstance(layers, list) or not layers:
                raise _err("%s: Sequential model without layers" % self.path)
            nodes, prev = [], None
            first = layers[0]
            if first.get("class_name") == "InputLayer":
                self.input_layer = first
                layers = layers[1:]
            else:
                shape = None
                fc = first.get("config") or {}
                for key in ("batch_input_shape", "batch_shape"):
                    if fc.get(key) is not None:
                        shape = fc[key]
                        break
                if shape is None and fc.get("input_shape") is not None:
                    shape = [None] + list(fc["input_shape"])
                if shape is None and isinstance(conf, dict):
                    shape = conf.get("build_input_shape")
                    if shape is None:
                        bc = self.src.config.get("build_config")
                        shape = bc.get("input_shape") if isinstance(bc, dict) else None
                self.input_layer = {"class_name": "InputLayer", "name": None,
                                    "config": {"batch_input_shape": shape}}
            if not layers:
                raise _err("%s: Sequential model without layers" % self.path)
            for i, L in enumerate(layers):
                L = dict(L)
                L.setdefault("name", (L.get("config") or {}).get("name"))
                n = _Node(L, 0, [prev] if prev else [("__input__", 0)], i)
                nodes.append(n)
                prev = n.key
            self.nodes = nodes
            self.output_key = prev
            return
        if cls not in ("Model", "Functional"):
            raise _err("%s: model class '%s' is not a Sequential or Functional "
                       "model" % (self.path, cls))
        layers = (conf or {}).get("layers")
        if not isinstance(layers, list):
            raise _err("%s: Functional model without layers" % self.path)
        ins = _io_list(conf.get("input_layers"))
        outs = _io_list(conf.get("output_layers"))
        if len(ins) != 1:
            raise _err("%s: the model has %d inputs; fcn models take one image"
                       % (self.path, len(ins)))
        if len(outs) != 1:
            raise _err("%s: the model has %d outputs; fcn models have one"
                       % (self.path, len(outs)))
        in_key = _history(ins[0], self.path)
        self.output_key = _history(outs[0], self.path)
        nodes = []
        self.input_layer = None
        for i, L in enumerate(layers):
            L = dict(L)
            L.setdefault("name", (L.get("config") or {}).get("name"))
            where = "%s: layer '%s'" % (self.path, L["name"])
            if L.get("class_name") == "InputLayer":
                if L["name"] == in_key[0]:
                    self.input_layer = L
                continue
            for k, spec in enumerate(L.get("inbound_nodes") or []):
                inp = [("__input__", 0) if r == in_key else r
                       for r in _node_inputs(spec, where)]
                nodes.append(_Node(L, k, inp, i))
        if self.input_layer is None:
            raise _err("%s: input layer '%s' not found" % (self.path, in_key[0]))
        self.nodes = nodes

    def order(self):
        """Nodes the output depends on, in topological order (config order
        among the ready ones)."""
        by_key = {n.key: n for n in self.nodes}
        in_name = (self.input_layer or {}).get("name")
        if self.output_key == ("__input__", 0) or self.output_key[0] == in_name:
            raise _err("%s: the model's output is its input" % self.path)
        if self.output_key not in by_key:
            raise _err("%s: output layer '%s' not found" % (self.path, self.output_key[0]))
        need, stack = set(), [self.output_key]
        while stack:
            k = stack.pop()
            if k in need or k == ("__input__", 0):
                continue
            if k not in by_key:
                raise _err("%s: a layer reads '%s' (node %d), which is not in the "
                           "model" % (self.path, k[0], k[1]))
            need.add(k)
            stack.extend(by_key[k].inputs)
        pending = sorted((by_key[k] for k in need), key=lambda n: (n.order, n.k))
        done, out = {("__input__", 0)}, []
        while pending:
            for i, n in enumerate(pending):
                if all(r in done for r in n.inputs):
                    out.append(n)
                    done.add(n.key)
                    del pending[i]
                    break
            else:
                raise _err("%s: the layer graph has a cycle" % self.path)
        self.consumers = {}
        for n in out:
            for r in n.inputs:
                self.consumers[r] = self.consumers.get(r, 0) + 1
        return out

    # ---- input -------------------------------------------------------

    def data_format(self, nodes):
        seen = set()
        for n in nodes:
            if LAYERS.canonical.get(n.cls) not in _SPATIAL:
                continue
            df = n.cfg.get("data_format")
            if df is None and "dim_ordering" in n.cfg:
                df = {"th": "channels_first", "tf": "channels_last"}.get(n.cfg["dim_ordering"])
            if df:
                seen.add(df)
        if len(seen) > 1:
            raise _err("%s: the model mixes channels_first and channels_last "
                       "layers" % self.path)
        return seen.pop() if seen else "channels_last"

    def input_tensor(self, fmt):
        L = self.input_layer or {}
        c = L.get("config") or {}
        shape = None
        for key in ("batch_input_shape", "batch_shape"):
            if c.get(key) is not None:
                shape = list(c[key])
                break
        if shape is None and c.get("input_shape") is not None:
            shape = [None] + list(c["input_shape"])
        given = getattr(self.options, "input_size", None)
        if shape is None:
            if not given:
                raise _err("%s: the model does not say its input size; give "
                           "--input-size CxHxW" % self.path)
            C, H, W = given
        else:
            dims = shape[1:]
            if len(dims) == 2:      # (H, W): one channel, no channel axis
                dims = [dims[0], dims[1], 1] if fmt == "channels_last" else [1] + dims
            if len(dims) != 3:
                raise _err("%s: input shape %s is not an image (H, W, C)"
                           % (self.path, shape))
            if fmt == "channels_last":
                H, W, C = dims
            else:
                C, H, W = dims
            if given:
                for mine, theirs in zip((C, H, W), given):
                    if mine is not None and int(mine) != theirs:
                        raise _err("%s: --input-size %s differs from the model's "
                                   "own input %s" % (self.path,
                                                     "x".join(map(str, given)),
                                                     "x".join(str(d) for d in (C, H, W))))
                C, H, W = given
            if C is None:
                raise _err("%s: the input's channel count is not fixed" % self.path)
            if H is None or W is None:
                raise _err("%s: the model's input size is not fixed (%s x %s); give "
                           "--input-size CxHxW, the size it was trained at"
                           % (self.path, H, W))
        where = "%s: the model's input" % self.path
        validate.check_dim(where, "height", int(H), 1, validate.MAX_INPUT[1])
        validate.check_dim(where, "width", int(W), 1, validate.MAX_INPUT[2])
        validate.check_dim(where, "channel count", int(C), 1, validate.MAX_INPUT[0])
        return int(C), int(H), int(W)

    # ---- emission ----------------------------------------------------

    def uname(self, name):
        base, i = name, 1
        while name in self.used_names:
            name = "%s_%d" % (base, i)
            i += 1
        self.used_names.add(name)
        return name

    def emit(self, op, lname, inputs, attrs=None, out=None, **w):
        """Add an fcn layer; returns its output tensor name."""
        lname = self.uname(lname)
        out = self.uname(out) if out and out != lname else lname
        self.model.add(op, lname, [t.name if isinstance(t, _T) else t for t in inputs],
                       out, attrs or {}, **w)
        self.last_out = out
        return out

    def emit_chain(self, node, ops, x, c, h, w, layout):
        """ops: [(op, attrs, weights dict, name suffix)]: the first op is named
        after the layer; later ones get suffixes. Returns the output _T."""
        base = self.tname(node)
        cur = x
        for i, (op, attrs, ws, suffix) in enumerate(ops):
            lname = base if i == 0 else "%s/%s" % (base, suffix)
            cur = self.emit(op, lname, [cur], attrs, **ws)
        return _T(cur if ops else x.name, c, h, w, layout)

    def tname(self, node):
        return node.name if node.k == 0 else "%s:%d" % (node.name, node.k)

    # ---- weights -----------------------------------------------------

    _ALIASES = {"W": "kernel", "b": "bias", "running_mean": "moving_mean",
                "running_std": "moving_variance", "depthwise_W": "depthwise_kernel",
                "pointwise_W": "pointwise_kernel"}

    def weights(self, node, expected, optional=()):
        """The layer's weights as {canonical name: array}; `expected` in the
        order Keras stores them (used when names are not stored)."""
        raw = self.src.layer_weights(node.name)
        if not expected:
            return {}
        if raw is None:
            raise _err("%s: no weights for %s (expected %s)"
                       % (self.path, node.desc(), ", ".join(expected)))
        named = {}
        for key, arr in raw:
            if key is None:
                named = None
                break
            k = key.split("/")[-1]
            k = re.sub(r":\d+$", "", k)
            if k.startswith(node.name + "_"):
                k = k[len(node.name) + 1:]
            k = self._ALIASES.get(k, k)
            named[k] = arr
        if named is not None and all(e in named for e in expected):
            return {e: named[e] for e in expected}
        want = len(expected)
        if len(raw) == want or (optional and len(raw) >= want and
                                len(raw) <= want + len(optional)):
            return {e: arr for e, (_, arr) in zip(expected, raw)}
        raise _err("%s: %s has weights [%s], expected [%s]"
                   % (self.path, node.desc(),
                      ", ".join("%s %s" % (k or "#%d" % i, "x".join(map(str, a.shape)))
                                for i, (k, a) in enumerate(raw)),
                      ", ".join(expected)))

    def check_shape(self, node, what, arr, want):
        if tuple(arr.shape) != tuple(want):
            raise _err("%s: %s: %s is %s, the layer needs %s"
                       % (self.path, node.desc(), what,
                          "x".join(map(str, arr.shape)) or "a scalar",
                          "x".join(map(str, want))))

    # ---- helpers -----------------------------------------------------

    def where(self, node):
        """How messages name a layer: FILE: layer 'name' (Class)."""
        return "%s: %s" % (self.path, node.desc())

    def req(self, node, key, alt=None):
        """A required config value (Keras 1 name as alt)."""
        for k in (key, alt):
            if k and node.cfg.get(k) is not None:
                return node.cfg[k]
        raise _err("%s: %s: its config has no '%s'" % (self.path, node.desc(), key))

    def need_map(self, node, x):
        if x.layout == "vec":
            raise _err("%s: %s gets %s; it needs an image map"
                       % (self.path, node.desc(), x.desc()))
        fmt = self.layer_format(node)
        want = "cl" if fmt == "channels_last" else "cf"
        if fmt and want != x.layout:
            raise _err("%s: %s is %s but its input is %s"
                       % (self.path, node.desc(), fmt, x.desc()))

    def layer_format(self, node):
        df = node.cfg.get("data_format")
        if df is None and "dim_ordering" in node.cfg:
            df = {"th": "channels_first", "tf": "channels_last"}.get(node.cfg["dim_ordering"])
        return df or self.fmt

    def window(self, node, padding, size, k, s, d, allow_full=False):
        """Resolve Keras padding at the trained size: (pad_a, pad_b, out)."""
        padding = str(padding).lower()
        if padding == "valid":
            a = b = 0
        elif padding == "same":
            a, b = same_pads(size, k, s, d)
        elif padding == "full" and allow_full:
            a = b = extent(k, d) - 1
        else:
            raise _err("%s: %s: padding '%s' is not supported (valid, same)"
                       % (self.path, node.desc(), padding))
        if size + a + b < extent(k, d):
            raise _err("%s: %s: its %dx window does not fit its %d-pixel input at "
                       "the trained size" % (self.path, node.desc(), extent(k, d), size))
        return a, b, window_out(size, k, s, d, (a, b))

    def act_ops(self, node, act, layout, c_hw):
        """Keras activation -> [(op, attrs, {}, suffix)]."""
        if isinstance(act, dict):
            act = act.get("config") if isinstance(act.get("config"), str) else \
                act.get("class_name")
        if act is None:
            return []
        a = _snake(str(act))
        if a in ("linear", ""):
            return []
        if a == "relu":
            return [("Relu", {}, {}, "relu")]
        if a == "relu6":
            return [("Clip", {"min": 0.0, "max": 6.0}, {}, "relu6")]
        if a == "sigmoid":
            return [("Sigmoid", {}, {}, "sigmoid")]
        if a == "tanh":
            return [("Tanh", {}, {}, "tanh")]
        if a == "softmax":
            if layout == "cf" and c_hw > 1:
                raise _err("%s: %s: softmax on a channels_first map runs over its "
                           "last (width) axis; fcn's Softmax is over channels"
                           % (self.path, node.desc()))
            return [("Softmax", {}, {}, "softmax")]
        if a == "hard_sigmoid":
            alpha = 1.0 / 6.0 if self.src.keras3 else 0.2
            return [("HardSigmoid", {"alpha": alpha, "beta": 0.5}, {}, "hard_sigmoid")]
        if a in ("hard_swish", "hard_silu"):
            return [("HardSwish", {}, {}, "hard_swish")]
        if a in ("swish", "silu"):
            raise _err("%s: %s: activation '%s' (x*sigmoid(x)): fcn has no Swish op; "
                       "supported activations: %s"
                       % (self.path, node.desc(), act, ", ".join(_ACTIVATIONS)))
        raise _err("%s: %s: activation '%s' is not supported (supported: %s)"
                   % (self.path, node.desc(), act, ", ".join(_ACTIVATIONS)))

    def channel_axis_ok(self, axis, x):
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                return False
            axis = axis[0]
        axis = int(axis)
        if x.layout == "vec":
            return axis in (-1, 1)
        if x.layout == "cl":
            return axis in (-1, 3)
        return axis in (1, -3)

    # ---- layers ------------------------------------------------------

    @LAYERS.on("InputLayer")
    def L_InputLayer(self, node, ins):
        # parse() takes the model's input out of the graph: this one sits
        # further down a Sequential model's layer list.
        raise _err("%s: %s is not the first layer of the Sequential model; only the "
                   "model's input can be an InputLayer" % (self.path, node.desc()))

    @LAYERS.on("Conv2D", "Convolution2D")
    def L_Conv2D(self, node, ins):
        x, = ins
        self.need_map(node, x)
        c = node.cfg
        filters = int(self.req(node, "filters", "nb_filter"))
        if "kernel_size" in c or "nb_row" not in c:
            kh, kw = _pair(self.req(node, "kernel_size"), node.desc(), "kernel_size")
        else:
            kh, kw = int(c["nb_row"]), int(self.req(node, "nb_col"))
        sh, sw = _pair(_given(c, ("strides", "subsample"), 1), node.desc(), "strides")
        dh, dw = _pair(_given(c, ("dilation_rate", "atrous_rate"), 1), node.desc(),
                       "dilation_rate")
        groups = _given(c, ("groups",), 1)
        bias = c.get("use_bias", c.get("bias", True))
        pad = c.get("padding", c.get("border_mode", "valid"))
        validate.check_dim(self.where(node), "filters", filters)
        groups = validate.check_dim(self.where(node), "groups", groups)
        validate.check_window(self.where(node), (kh, kw), (sh, sw), (dh, dw))
        if x.c % groups or filters % groups:
            raise _err("%s: %s: %d input channels and %d filters do not split into "
                       "%d groups" % (self.path, node.desc(), x.c, filters, groups))
        ws = self.weights(node, ["kernel"] + (["bias"] if bias else []))
        k = ws["kernel"]
        th_layout = c.get("dim_ordering") == "th" and self.keras1
        if th_layout:
            self.check_shape(node, "kernel", k, (filters, x.c // groups, kh, kw))
            wt = k
        else:
            self.check_shape(node, "kernel", k, (kh, kw, x.c // groups, filters))
            wt = k.transpose(3, 2, 0, 1)
        if bias:
            self.check_shape(node, "bias", ws["bias"], (filters,))
        pt, pb, oh = self.window(node, pad, x.h, kh, sh, dh, allow_full=True)
        pl, pr, ow = self.window(node, pad, x.w, kw, sw, dw, allow_full=True)
        attrs = _window_attrs(kh, kw, sh, sw, dh, dw, (pt, pl, pb, pr))
        if groups > 1:
            attrs["groups"] = groups
        if self.theano:
            attrs["flip"] = 1
        ops = [("Conv", attrs, {"weight": wt, "bias": ws.get("bias")}, "conv")]
        ops += self.act_ops(node, c.get("activation"), x.layout, oh * ow)
        return self.emit_chain(node, ops, x, filters, oh, ow, x.layout)

    def _depthwise(self, node, x, kernel, c, bias=None):
        """Depthwise conv attrs + fcn weight from a (kh, kw, cin, mult) kernel."""
        kh, kw = _pair(self.req(node, "kernel_size"), node.desc(), "kernel_size")
        # TF.js 4.x leaves depth_multiplier out of SeparableConv2D configs:
        # then the kernel says it.
        mult = int(c["depth_multiplier"]) if c.get("depth_multiplier") is not None \
            else (int(kernel.shape[-1]) if kernel.ndim == 4 else 1)
        sh, sw = _pair(_given(c, ("strides",), 1), node.desc(), "strides")
        dh, dw = _pair(_given(c, ("dilation_rate",), 1), node.desc(), "dilation_rate")
        validate.check_dim(self.where(node), "depth_multiplier", mult)
        validate.check_window(self.where(node), (kh, kw), (sh, sw), (dh, dw))
        self.check_shape(node, "depthwise kernel", kernel, (kh, kw, x.c, mult))
        wt = kernel.transpose(2, 3, 0, 1).reshape(x.c * mult, 1, kh, kw)
        pt, pb, oh = self.window(node, c.get("padding", "valid"), x.h, kh, sh, dh)
        pl, pr, ow = self.window(node, c.get("padding", "valid"), x.w, kw, sw, dw)
        attrs = _window_attrs(kh, kw, sh, sw, dh, dw, (pt, pl, pb, pr))
        if x.c > 1:
            attrs["groups"] = x.c
        return attrs, wt, x.c * mult, oh, ow

    @LAYERS.on("DepthwiseConv2D")
    def L_DepthwiseConv2D(self, node, ins):
        x, = ins
        self.need_map(node, x)
        c = node.cfg
        bias = c.get("use_bias", True)
        ws = self.weights(node, ["depthwise_kernel"] + (["bias"] if bias else []))
        attrs, wt, cout, oh, ow = self._depthwise(node, x, ws["depthwise_kernel"], c)
        if bias:
            self.check_shape(node, "bias", ws["bias"], (cout,))
        ops = [("Conv", attrs, {"weight": wt, "bias": ws.get("bias")}, "conv")]
        ops += self.act_ops(node, c.get("activation"), x.layout, oh * ow)
        return self.emit_chain(node, ops, x, cout, oh, ow, x.layout)

    @LAYERS.on("SeparableConv2D", "SeparableConvolution2D")
    def L_SeparableConv2D(self, node, ins):
        x, = ins
        self.need_map(node, x)
        c = node.cfg
        bias = c.get("use_bias", True)
        filters = validate.check_dim(self.where(node), "filters",
                                     int(self.req(node, "filters")))
        ws = self.weights(node, ["depthwise_kernel", "pointwise_kernel"] +
                          (["bias"] if bias else []))
        attrs, wt, mid, oh, ow = self._depthwise(node, x, ws["depthwise_kernel"], c)
        pw = ws["pointwise_kernel"]
        self.check_shape(node, "pointwise kernel", pw, (1, 1, mid, filters))
        if bias:
            self.check_shape(node, "bias", ws["bias"], (filters,))
        base = self.tname(node)
        dw_out = self.emit("Conv", base + "/depthwise", [x], attrs, weight=wt)
        ops = [("Conv", {"kernel": [1, 1]},
                {"weight": pw.transpose(3, 2, 0, 1), "bias": ws.get("bias")}, "pointwise")]
        ops += self.act_ops(node, c.get("activation"), x.layout, oh * ow)
        return self.emit_chain(node, ops, _T(dw_out, mid, oh, ow, x.layout),
                               filters, oh, ow, x.layout)

    @LAYERS.on("Dense")
    def L_Dense(self, node, ins):
        x, = ins
        c = node.cfg
        units = validate.check_dim(self.where(node), "units",
                                   int(self.req(node, "units", "output_dim")))
        bias = c.get("use_bias", c.get("bias", True))
        ws = self.weights(node, ["kernel"] + (["bias"] if bias else []))
        k = ws["kernel"]
        if bias:
            self.check_shape(node, "bias", ws["bias"], (units,))
        if x.layout == "cf" and x.h * x.w > 1:
            raise _err("%s: %s on %s acts on its width axis; fcn has no equivalent "
                       "(flatten first)" % (self.path, node.desc(), x.desc()))
        if x.layout == "cf":
            raise _err("%s: %s on %s acts on its last axis (width 1)"
                       % (self.path, node.desc(), x.desc()))
        if tuple(k.shape) != (x.c, units):
            raise _err("%s: %s: kernel is %s, the layer needs %dx%d (its input is %s "
                       "at the trained size)" % (self.path, node.desc(),
                                                 "x".join(map(str, k.shape)), x.c, units,
                                                 x.desc()))
        act = self.act_ops(node, c.get("activation"), x.layout, x.h * x.w)
        if x.layout == "cl" and x.h * x.w > 1:   # Dense on a map: per pixel
            ops = [("Conv", {"kernel": [1, 1]},
                    {"weight": k.T.reshape(units, x.c, 1, 1), "bias": ws.get("bias")},
                    "conv")] + act
            return self.emit_chain(node, ops, x, units, x.h, x.w, "cl")
        ops = [("Dense", {}, {"weight": k.T, "bias": ws.get("bias")}, "dense")] + act
        return self.emit_chain(node, ops, x, units, 1, 1, x.layout)

    @LAYERS.on("Flatten")
    def L_Flatten(self, node, ins):
        x, = ins
        if x.layout == "vec":
            return x
        df = node.cfg.get("data_format")
        if x.layout == "cl":
            if df == "channels_first" and x.h > 1:
                raise _err("%s: %s: data_format channels_first on %s moves the height "
                           "axis last; no fcn flatten order does that"
                           % (self.path, node.desc(), x.desc()))
            order = "hwc"
        else:
            order = "hwc" if df == "channels_first" else "chw"
        out = self.emit("Flatten", self.tname(node), [x], {"order": order})
        return _T(out, x.c * x.h * x.w, 1, 1, "vec")

    @LAYERS.on("Reshape")
    def L_Reshape(self, node, ins):
        x, = ins
        tgt = node.cfg.get("target_shape", node.cfg.get("dims"))
        if not isinstance(tgt, (list, tuple)):
            raise _err("%s: %s has no target_shape" % (self.path, node.desc()))
        n = x.c * x.h * x.w
        tgt = [int(d) if d is not None else -1 for d in tgt]
        if tgt.count(-1) == 1:
            rest = math.prod(d for d in tgt if d != -1) if len(tgt) > 1 else 1
            tgt[tgt.index(-1)] = n // rest if rest else 0
        if math.prod(tgt) != n:
            raise _err("%s: %s: cannot reshape %s to %s"
                       % (self.path, node.desc(), x.desc(), tgt))
        if len(tgt) == 1:
            if x.layout == "vec":
                return x
            out = self.emit("Flatten", self.tname(node), [x],
                            {"order": "hwc" if x.layout == "cl" else "chw"})
            return _T(out, n, 1, 1, "vec")
        if len(tgt) == 3 and (x.layout == "vec" or x.h * x.w == 1):
            c_, h_, w_ = (tgt[2], tgt[0], tgt[1]) if self.fmt == "channels_last" \
                else tuple(tgt)
            if h_ == 1 and w_ == 1:
                return _T(x.name, c_, 1, 1, "cl" if self.fmt == "channels_last" else "cf")
        raise _err("%s: %s: reshaping %s to %s has no fcn equivalent (supported: "
                   "flattening, and vector <-> 1x1 map)" % (self.path, node.desc(),
                                                            x.desc(), tgt))

    @LAYERS.on("MaxPooling2D", "MaxPool2D")
    @LAYERS.on("AveragePooling2D", "AvgPool2D")
    def L_Pooling2D(self, node, ins):
        op = _POOL_OPS[LAYERS.canonical[node.cls]]
        x, = ins
        self.need_map(node, x)
        c = node.cfg
        kh, kw = _pair(c.get("pool_size", 2), node.desc(), "pool_size")
        st = c.get("strides")
        sh, sw = _pair(st, node.desc(), "strides") if st is not None else (kh, kw)
        validate.check_window(self.where(node), (kh, kw), (sh, sw), pool=True)
        pad = c.get("padding", c.get("border_mode", "valid"))
        pt, pb, oh = self.window(node, pad, x.h, kh, sh, 1)
        pl, pr, ow = self.window(node, pad, x.w, kw, sw, 1)
        attrs = {"kernel": [kh, kw]}
        if (sh, sw) != (kh, kw):
            attrs["stride"] = [sh, sw]
        if any((pt, pl, pb, pr)):
            attrs["pad"] = [pt, pl, pb, pr]
            if op == "AvgPool":     # TensorFlow averages over the real pixels only
                attrs["count_include_pad"] = 0
        out = self.emit(op, self.tname(node), [x], attrs)
        return _T(out, x.c, oh, ow, x.layout)

    @LAYERS.on("GlobalAveragePooling2D", "GlobalAvgPool2D")
    @LAYERS.on("GlobalMaxPooling2D", "GlobalMaxPool2D")
    def L_GlobalPooling2D(self, node, ins):
        x, = ins
        self.need_map(node, x)
        out = self.emit(_POOL_OPS[LAYERS.canonical[node.cls]], self.tname(node), [x])
        keep = node.cfg.get("keepdims", False)
        return _T(out, x.c, 1, 1, x.layout if keep else "vec")

    @LAYERS.on("BatchNormalization", "BatchNormalizationV1", "BatchNormalizationV2")
    def L_BatchNormalization(self, node, ins):
        x, = ins
        c = node.cfg
        if int(c.get("mode", 0) or 0) != 0:
            raise _err("%s: %s: Keras 1 mode %s (batch statistics at test time) is "
                       "not supported" % (self.path, node.desc(), c["mode"]))
        if not self.channel_axis_ok(c.get("axis", -1), x):
            raise _err("%s: %s: axis %s is not the channel axis of %s"
                       % (self.path, node.desc(), c.get("axis"), x.desc()))
        center, scale = c.get("center", True), c.get("scale", True)
        names = (["gamma"] if scale else []) + (["beta"] if center else []) + \
            ["moving_mean", "moving_variance"]
        ws = self.weights(node, names)
        for k in names:
            self.check_shape(node, k, ws[k].reshape(-1) if ws[k].size == x.c else ws[k], (x.c,))
        one, zero = np.ones(x.c, np.float32), np.zeros(x.c, np.float32)
        w = {"scale": ws["gamma"].reshape(-1) if scale else one,
             "bias": ws["beta"].reshape(-1) if center else zero,
             "mean": ws["moving_mean"].reshape(-1),
             "var": ws["moving_variance"].reshape(-1)}
        eps = float(c.get("epsilon", 1e-3))
        out = self.emit("BatchNorm", self.tname(node), [x], {"eps": eps}, **w)
        return _T(out, x.c, x.h, x.w, x.layout)

    @LAYERS.on("Activation")
    def L_Activation(self, node, ins):
        x, = ins
        ops = self.act_ops(node, node.cfg.get("activation"), x.layout, x.h * x.w)
        if not ops:
            ops = [("Identity", {}, {}, "identity")]
        return self.emit_chain(node, ops, x, x.c, x.h, x.w, x.layout)

    @LAYERS.on("ReLU")
    def L_ReLU(self, node, ins):
        x, = ins
        c = node.cfg
        mx = c.get("max_value")
        slope = float(c.get("negative_slope", 0) or 0)
        if float(c.get("threshold", 0) or 0) != 0:
            raise _err("%s: %s: threshold %s is not supported (fcn's Relu cuts at 0)"
                       % (self.path, node.desc(), c["threshold"]))
        if slope:
            ops = [("LeakyRelu", {"alpha": slope}, {}, "leaky")]
            if mx is not None:
                ops.append(("Clip", {"max": float(mx)}, {}, "clip"))
        elif mx is not None:
            ops = [("Clip", {"min": 0.0, "max": float(mx)}, {}, "clip")]
        else:
            ops = [("Relu", {}, {}, "relu")]
        return self.emit_chain(node, ops, x, x.c, x.h, x.w, x.layout)

    @LAYERS.on("LeakyReLU")
    def L_LeakyReLU(self, node, ins):
        x, = ins
        c = node.cfg
        alpha = c.get("negative_slope", c.get("alpha", 0.3))
        out = self.emit("LeakyRelu", self.tname(node), [x], {"alpha": float(alpha)})
        return _T(out, x.c, x.h, x.w, x.layout)

    @LAYERS.on("Softmax")
    def L_Softmax(self, node, ins):
        x, = ins
        if not self.channel_axis_ok(node.cfg.get("axis", -1), x):
            raise _err("%s: %s: axis %s is not the channel axis of %s"
                       % (self.path, node.desc(), node.cfg.get("axis"), x.desc()))
        out = self.emit("Softmax", self.tname(node), [x])
        return _T(out, x.c, x.h, x.w, x.layout)

    @LAYERS.on("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise",
               "AlphaDropout", "ActivityRegularization")
    def L_Dropout(self, node, ins):
        x, = ins
        out = self.emit("Dropout", self.tname(node), [x])
        return _T(out, x.c, x.h, x.w, x.layout)

    @LAYERS.on("ZeroPadding2D")
    def L_ZeroPadding2D(self, node, ins):
        x, = ins
        self.need_map(node, x)
        p = node.cfg.get("padding", 1)
        if isinstance(p, dict):     # Keras 1
            t, b, l, r = (int(p.get(k, 0)) for k in ("top_pad", "bottom_pad",
                                                      "left_pad", "right_pad"))
        elif isinstance(p, (int, float)):
            t = b = l = r = int(p)
        elif len(p) == 2 and all(isinstance(v, (int, float)) for v in p):
            t = b = int(p[0])
            l = r = int(p[1])
        elif len(p) == 2:
            (t, b), (l, r) = _pair(p[0], node.desc(), "padding"), \
                _pair(p[1], node.desc(), "padding")
        elif len(p) == 4:       # Keras 1 (top, bottom, left, right)
            t, b, l, r = (int(v) for v in p)
        else:
            raise _err("%s: %s: padding %r not understood" % (self.path, node.desc(), p))
        t, l, b, r = validate.check_pad_op(self.where(node), [t, l, b, r])
        out = self.emit("Pad", self.tname(node), [x], {"pad": [t, l, b, r]})
        return _T(out, x.c, x.h + t + b, x.w + l + r, x.layout)

    @LAYERS.on("Add")
    def L_Add(self, node, ins):
        if len(ins) < 2:
            raise _err("%s: %s has %d inputs" % (self.path, node.desc(), len(ins)))
        a = ins[0]
        for b in ins[1:]:
            if (b.c, b.h, b.w) != (a.c, a.h, a.w):
                raise _err("%s: %s adds %s and %s" % (self.path, node.desc(),
                                                      a.desc(), b.desc()))
        out = self.emit("Add", self.tname(node), ins)
        return _T(out, a.c, a.h, a.w, a.layout)

    @LAYERS.on("Concatenate")
    def L_Concatenate(self, node, ins):
        a = ins[0]
        axis = node.cfg.get("axis", -1)
        for b in ins:
            if b.layout != a.layout or (b.h, b.w) != (a.h, a.w) or \
                    not self.channel_axis_ok(axis, b):
                raise _err("%s: %s: concatenating %s along axis %s; only the channel "
                           "axis is supported" % (self.path, node.desc(),
                                                  " and ".join(t.desc() for t in ins), axis))
        out = self.emit("Concat", self.tname(node), ins)
        return _T(out, sum(t.c for t in ins), a.h, a.w, a.layout)

    # preprocessing -----------------------------------------------------

    def _fold_ok(self, node, x):
        """Preprocessing folds into the metadata while it reads the graph
        input directly (through folded layers only) and nothing else does."""
        return x.name == self.input_name and self.consumers.get(node.inputs[0], 0) <= 1

    def _vec(self, node, x, v, what):
        v = np.asarray(v, np.float64).reshape(-1)
        if v.size not in (1, x.c):
            raise _err("%s: %s: %s has %d values for %d channels"
                       % (self.path, node.desc(), what, v.size, x.c))
        if v.size > 1 and x.layout == "cf" and x.h * x.w > 1:
            raise _err("%s: %s: per-channel %s on a channels_first map broadcasts "
                       "over its width" % (self.path, node.desc(), what))
        if not np.all(np.isfinite(v)):
            raise _err("%s: %s: %s is not finite" % (self.path, node.desc(), what))
        return np.broadcast_to(v, (x.c,)).copy()

    def _affine_layer(self, node, x, a, b):
        """y = a*x + b per channel, inside the network: a BatchNorm with
        mean 0, var 1, eps 0 (exact)."""
        out = self.emit("BatchNorm", self.tname(node), [x], {"eps": 0.0},
                        scale=a, bias=b, mean=np.zeros(x.c), var=np.ones(x.c))
        return _T(out, x.c, x.h, x.w, x.layout)

    @LAYERS.on("Rescaling")
    def L_Rescaling(self, node, ins):
        x, = ins
        c = node.cfg
        s = self._vec(node, x, c.get("scale", 1.0), "scale")
        o = self._vec(node, x, c.get("offset", 0.0) or 0.0, "offset")
        if np.any(s == 0):
            raise _err("%s: %s: scale 0" % (self.path, node.desc()))
        if not self._fold_ok(node, x):
            return self._affine_layer(node, x, s, o)
        # metadata: y = (x*scale - mean) / std; then y*s + o
        scale, mean, std = self.prep or (1.0, np.zeros(x.c), np.ones(x.c))
        if np.all(s == s[0]):
            self.prep = (scale * s[0], mean * s[0] - o * std, std)
        else:
            self.prep = (scale, mean - o * std / s, std / s)
        return x

    @LAYERS.on("Normalization")
    def L_Normalization(self, node, ins):
        x, = ins
        c = node.cfg
        if c.get("invert"):
            raise _err("%s: %s: invert=True is not supported" % (self.path, node.desc()))
        if not self.channel_axis_ok(c.get("axis", -1), x):
            raise _err("%s: %s: axis %s is not the channel axis of %s"
                       % (self.path, node.desc(), c.get("axis"), x.desc()))
        if c.get("mean") is not None and c.get("variance") is not None:
            mean, var = c["mean"], c["variance"]
        else:
            ws = self.weights(node, ["mean", "variance"], optional=["count"])
            mean, var = ws["mean"], ws["variance"]
        m = self._vec(node, x, mean, "mean")
        v = self._vec(node, x, var, "variance")
        # Keras: (x - mean) / max(sqrt(variance), epsilon), epsilon = 1e-7
        d = np.maximum(np.sqrt(np.maximum(v, 0)), 1e-7)
        if not self._fold_ok(node, x):
            return self._affine_layer(node, x, 1.0 / d, -m / d)
        scale, mean0, std = self.prep or (1.0, np.zeros(x.c), np.ones(x.c))
        self.prep = (scale, mean0 + m * std, std * d)
        return x

    # ---- main --------------------------------------------------------

    def run(self):
        self.parse()
        nodes = self.order()
        for n in nodes:
            if n.cls in ("Sequential", "Functional", "Model"):
                raise _err("%s: layer '%s' is a nested %s model; only flat models are "
                           "supported (build the model from its layers)"
                           % (self.path, n.name, n.cls))
            if n.cls not in LAYERS:
                raise _err("%s: layer '%s' (%s) is not supported; supported layers: %s"
                           % (self.path, n.name, n.cls, ", ".join(SUPPORTED)))
        self.fmt = self.data_format(nodes)
        self.keras1 = self.keras1 or any(
            "dim_ordering" in n.cfg or "nb_filter" in n.cfg or "output_dim" in n.cfg
            for n in nodes)
        th = any(n.cfg.get("dim_ordering") == "th" for n in nodes)
        backend = (self.src.backend or "").lower()
        self.theano = bool(getattr(self.options, "theano", False)) or backend == "theano" or \
            (self.keras1 and th and backend != "tensorflow")
        C, H, W = self.input_tensor(self.fmt)
        names = {n.name for n in nodes}
        self.input_name = "input"
        while self.input_name in names:
            self.input_name += "_"
        self.used_names.add(self.input_name)
        model_name = self.conf.get("name") if isinstance(self.conf, dict) else None
        self.model = Model((C, H, W), input=self.input_name,
                           name=model_name if isinstance(model_name, str) else None)
        env = {("__input__", 0): _T(self.input_name, C, H, W,
                                    "cl" if self.fmt == "channels_last" else "cf")}
        self.last_out = None
        for n in nodes:
            ins = [env[r] for r in n.inputs]
            out = LAYERS[n.cls](self, n, ins)
            validate.check_shape(self.where(n), (out.c, out.h, out.w))
            env[n.key] = out
        res = env[self.output_key]
        if res.name == self.input_name:
            raise _err("%s: the model computes nothing from its input" % self.path)
        if self.last_out != res.name:
            self.emit("Identity", res.name + "/output", [res])
        self.set_prep()
        return self.model

    def set_prep(self):
        if self.prep is None:
            return
        scale, mean, std = self.prep
        meta = self.model.meta
        meta["scale"] = float(scale)
        for key, v, default in (("mean", mean, 0.0), ("std", std, 1.0)):
            v = [float(np.float32(t)) for t in v]
            if any(t != default for t in v):
                meta[key] = v[:1] if all(t == v[0] for t in v) else v


SUPPORTED = sorted(set(LAYERS.canonical.values()))


def convert(path, options):
    try:
        src = _load(path)
    except (ConvertError, OSError):
        raise
    except MemoryError:
        raise _err("%s: out of memory reading the Keras model" % path)
    except Exception as e:  # a damaged container: one line, no traceback
        raise _err("%s: cannot read the Keras model (%s)" % (path, validate.exception_text(e)))
    try:
        return _Translator(src, options).run()
    except ConvertError:
        raise
    except MemoryError:
        raise _err("%s: out of memory converting the Keras model" % path)
    except Exception as e:  # a malformed config must give one line, no traceback
        raise _err("%s: malformed or unsupported Keras model config (%s)"
                   % (path, validate.exception_text(e)))
