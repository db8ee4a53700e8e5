"""Darknet (.cfg + .weights, pjreddie's darknet as Debian ships it) -> model.bin.

convert(path, options) reads a classifier cfg and its weights file and returns
a modelbin.Model that computes what darknet's CPU forward pass computes
(`network_predict`, i.e. test mode):

  [net]             width, height, channels -> input_shape; darknet feeds
                    RGB pixels / 255 (the model.bin defaults)
  [convolutional]   Conv (+ its activation). batch_normalize=1 is folded into
                    the conv in float64 with darknet's own formula
                    (x - mean) / (sqrt(var) + .000001) * scale + bias
  [connected]       Flatten (chw) + Dense (+ folded batch norm, activation)
  [maxpool]         MaxPool; darknet's `padding` (default size-1) is split
                    padding/2 before and the rest after
  [avgpool]         GlobalAvgPool (darknet's avgpool is always global)
  [dropout]         Dropout (removed by the loader)
  [softmax]         Softmax (groups=1 on a 1x1 map; temperature -> Mul first)
  [route]           Concat (one layer: Identity)
  [shortcut]        Add (+ activation); a source map that is an exact multiple
                    of the target's size, or has other channels, goes through
                    a fixed 1x1 selection conv first, as darknet's
                    shortcut_cpu samples it
  [crop]            as the first layer: the classifier's input is the crop
                    size; the crop's x*2-1 (unless noadjust=1) becomes a fixed
                    depthwise 1x1 conv
  [activation]      the activation alone
  [cost]            ignored (after the output only)

Activations: linear, relu, leaky (0.1), logistic, tanh. Anything else (ramp,
elu, ...), other sections (yolo, region, local, lrn, rnn, ...; a standalone
[batchnorm] too: this darknet crashes on one) and options that change the
forward pass in ways model.bin cannot express raise ConvertError.

Weights file: int32 major, minor, revision; `seen` as int64 when
major*10+minor >= 2 (and both < 1000) else int32; then float32 parameters in
cfg order. It must hold exactly what the cfg needs.
"""
import os
import re
import struct

import numpy as np

from . import ConvertError, Handlers
from . import validate
from .modelbin import Model
from .window import window_out

# The sections this converter translates, in the order messages list them.
SUPPORTED = ("net", "convolutional", "connected", "maxpool", "avgpool",
             "dropout", "softmax", "route", "shortcut", "crop", "activation", "cost")
ALIASES = {"network": "net", "conv": "convolutional", "conn": "connected",
           "max": "maxpool", "avg": "avgpool", "soft": "softmax"}
ACTIVATIONS = {"linear": None, "relu": ("Relu", {}), "leaky": ("LeakyRelu", {"alpha": 0.1}),
               "logistic": ("Sigmoid", {}), "tanh": ("Tanh", {})}
# darknet's other activations (refused by name)
OTHER_ACTIVATIONS = ("loggy", "elu", "selu", "relie", "plse", "hardtan", "lhtan", "ramp",
                     "stair")


def _supported_list():
    return ", ".join("[%s]" % s for s in SUPPORTED)


# --------------------------------------------------------------------------
# cfg text

class Section:
    def __init__(self, kind, line, index):
        self.kind = kind          # as written, without brackets
        self.line = line          # line number of the header
        self.index = index        # darknet layer index (-1 for [net])
        self.opts = []            # (key, value, line) in file order

    def where(self):
        if self.index < 0:
            return "[%s] (line %d)" % (self.kind, self.line)
        return "[%s] #%d (line %d)" % (self.kind, self.index, self.line)

    def raw(self, key):
        for k, v, _ in self.opts:  # darknet's option_find: the first one wins
            if k == key:
                return v
        return None

    def int(self, key, default):
        v = self.raw(key)
        if v is None:
            return default
        m = re.match(r"[+-]?\d+", v)  # atoi
        if not m:
            raise ConvertError("%s: %s=%s is not an integer" % (self.where(), key, v))
        return int(m.group(0))

    def float(self, key, default):
        v = self.raw(key)
        if v is None:
            return default
        m = re.match(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", v)  # atof
        if not m:
            raise ConvertError("%s: %s=%s is not a number" % (self.where(), key, v))
        return float(m.group(0))

    def str(self, key, default):
        v = self.raw(key)
        return default if v is None else v


def _short(s, n=40):
    s = s.replace("\n", " ").replace("\r", " ")
    return s if len(s) <= n else s[:n] + "..."


def parse_cfg(path):
    """Sections of a darknet cfg, as darknet's read_cfg sees them (whitespace
    inside lines is dropped; '#' and ';' start comment lines)."""
    with open(path, "rb") as f:
        data = f.read()
    if b"\0" in data:
        raise ConvertError("%s: not a Darknet cfg (binary data)" % path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConvertError("%s: not a Darknet cfg (not text)" % path)
    sections = []
    for no, orig in enumerate(text.splitlines(), 1):
        line = re.sub(r"\s+", "", orig)
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]") or len(line) < 3:
                raise ConvertError("%s: not a Darknet cfg: line %d '%s' is not a [section] "
                                   "header" % (path, no, _short(orig.strip())))
            sections.append(Section(line[1:-1], no, len(sections) - 1))
            continue
        if "=" not in line:
            raise ConvertError("%s: not a Darknet cfg: line %d '%s' is neither a [section] "
                               "nor key=value" % (path, no, _short(orig.strip())))
        if not sections:
            raise ConvertError("%s: not a Darknet cfg: line %d '%s' comes before any "
                               "[section]" % (path, no, _short(orig.strip())))
        k, v = line.split("=", 1)
        sections[-1].opts.append((k, v, no))
    if not sections:
        raise ConvertError("%s: not a Darknet cfg: no [sections]" % path)
    if ALIASES.get(sections[0].kind, sections[0].kind) != "net":
        raise ConvertError("%s: not a Darknet cfg: the first section is [%s] (line %d), "
                           "expected [net]" % (path, _short(sections[0].kind),
                                               sections[0].line))
    if len(sections) == 1:
        raise ConvertError("%s: the cfg has no layers after [net]" % path)
    return sections


# --------------------------------------------------------------------------
# weights file

class Weights:
    def __init__(self, path, need):
        self.path = path
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise ConvertError("%s: no such file (the Darknet weights; pass --weights)" % path)
        if len(data) < 12:
            raise ConvertError("%s: truncated: %d bytes, shorter than the weights header"
                               % (path, len(data)))
        major, minor, revision = struct.unpack_from("<iii", data, 0)
        self.version = (major, minor, revision)
        if major * 10 + minor >= 2 and major < 1000 and minor < 1000:
            hdr = 20
        else:
            hdr = 16
        self.transpose = major > 1000 or minor > 1000
        if len(data) < hdr:
            raise ConvertError("%s: truncated: %d bytes, shorter than the %d-byte header of a "
                               "version %d.%d.%d weights file" % (path, len(data), hdr, major,
                                                                  minor, revision))
        body = len(data) - hdr
        if body < need * 4:
            raise ConvertError("%s: truncated: the cfg needs %d floats (%d bytes) after the "
                               "%d-byte header, the file has %d bytes" % (
                                   path, need, need * 4, hdr, body))
        if body > need * 4:
            raise ConvertError("%s: %d bytes left over after the %d floats the cfg needs "
                               "(weights for another cfg?)" % (path, body - need * 4, need))
        self.floats = np.frombuffer(data, dtype="<f4", count=need, offset=hdr).astype(np.float64)
        self.pos = 0

    def take(self, n):
        a = self.floats[self.pos:self.pos + n]
        self.pos += n
        return a


# --------------------------------------------------------------------------
# the translation

class _Layer:
    """What the converter knows about darknet layer i after translating it."""
    def __init__(self, tensor, shape):
        self.tensor = tensor      # fcn tensor name holding this layer's output
        self.shape = shape        # (c, h, w) at the trained size


def _activation(sec, default):
    a = sec.str("activation", default)
    if a in ACTIVATIONS:
        return a
    if a in OTHER_ACTIVATIONS:
        raise ConvertError("%s: activation '%s' is not supported (supported: %s)" % (
            sec.where(), a, ", ".join(ACTIVATIONS)))
    raise ConvertError("%s: unknown activation '%s' (supported: %s)" % (
        sec.where(), _short(a), ", ".join(ACTIVATIONS)))


def _refuse_options(sec, *keys):
    """Options with which darknet computes something model.bin cannot express."""
    for k in keys:
        v = sec.raw(k)
        if v is not None and sec.int(k, 0) != 0:
            raise ConvertError("%s: %s=%s is not supported" % (sec.where(), k, v))


def _bn_fold(scales, mean, var, where):
    """darknet: y = (x - mean) / (sqrt(var) + .000001) * scale + bias."""
    if np.any(var < 0) or not np.all(np.isfinite(var)):
        raise ConvertError("%s: batch norm rolling variance has negative or non-finite "
                           "values" % where)
    s = scales / (np.sqrt(var) + 1e-6)
    return s, -mean * s


# The largest 1x1 channel-selection weight a [shortcut] may need (floats):
# far more than any real network's, and bounded so that a small cfg cannot
# make the converter allocate gigabytes.
MAX_SELECTION = 1 << 26


# Section kind -> _Converter method of pass 1, (self, section, input shape,
# earlier shapes) -> (output shape, weight count), and of pass 2, (self,
# section, layer name, input _Layer) -> output tensor.
PLAN = Handlers()
EMIT = Handlers()


class _Converter:
    def __init__(self, cfg, sections, weights_path):
        self.cfg = cfg
        self.secs = sections
        self.weights_path = weights_path
        self.layers = []

    # ---- pass 1: shapes and weight counts -----------------------------

    def plan(self):
        net = self.secs[0]
        h, w, c = net.int("height", 0), net.int("width", 0), net.int("channels", 0)
        if h < 1 or w < 1 or c < 1:
            raise ConvertError("%s: %s: width, height and channels must be given (>= 1); "
                               "only image classifiers are supported" % (self.cfg, net.where()))
        where = "%s: %s" % (self.cfg, net.where())
        validate.check_dim(where, "height", h, 1, validate.MAX_INPUT[1])
        validate.check_dim(where, "width", w, 1, validate.MAX_INPUT[2])
        if c not in (1, 3):
            raise ConvertError("%s: %s: channels=%d (fcn models take 1 or 3)" % (
                self.cfg, net.where(), c))
        self.in_shape = (c, h, w)
        shapes, need = [], 0
        cur = self.in_shape
        for sec in self.secs[1:]:
            kind = ALIASES.get(sec.kind, sec.kind)
            if kind == "batchnorm":
                raise ConvertError("%s: section %s: a standalone batch norm is not supported "
                                   "(this darknet cannot run one: its CPU forward crashes; "
                                   "batch_normalize=1 in a layer is)" % (self.cfg, sec.where()))
            if kind not in PLAN:
                raise ConvertError("%s: section %s is not supported (supported: %s)" % (
                    self.cfg, sec.where(), _supported_list()))
            sec.type = kind
            try:
                cur, n = PLAN[kind](self, sec, cur, shapes)
            except ConvertError as e:
                raise ConvertError("%s: %s" % (self.cfg, e))
            validate.check_shape("%s: %s" % (self.cfg, sec.where()), cur)
            shapes.append(cur)
            sec.nweights = n
            need += n
        kinds = [s.type for s in self.secs[1:]]
        for i, k in enumerate(kinds):
            if k == "cost" and any(x != "cost" for x in kinds[i:]):
                raise ConvertError("%s: %s: only supported after the output layer" % (
                    self.cfg, self.secs[i + 1].where()))
            if k == "crop" and i != 0:
                raise ConvertError("%s: %s: a crop is only supported as the first layer" % (
                    self.cfg, self.secs[i + 1].where()))
        if all(k == "cost" for k in kinds):
            raise ConvertError("%s: the cfg has no layers that compute anything" % self.cfg)
        self.shapes = shapes
        self.need = need

    def _ref(self, sec, idx, key):
        i = idx + sec.index if idx < 0 else idx
        if not 0 <= i < sec.index:
            raise ConvertError("%s: %s=%d refers to layer %d, not an earlier layer" % (
                sec.where(), key, idx, i))
        return i

    @PLAN.on("convolutional")
    def shape_convolutional(self, sec, cur, shapes):
        c, h, w = cur
        n, size = sec.int("filters", 1), sec.int("size", 1)
        stride, groups = sec.int("stride", 1), sec.int("groups", 1)
        padding = sec.int("padding", 0)
        if sec.int("pad", 0):
            padding = size // 2
        validate.check_dim(sec.where(), "filters", n)
        validate.check_dim(sec.where(), "groups", groups)
        validate.check_window(sec.where(), (size, size), (stride, stride))
        validate.check_pads(sec.where(), [padding] * 4, (size, size))
        if c % groups or n % groups:
            raise ConvertError("%s: %d input channels and %d filters do not split into "
                               "%d groups" % (sec.where(), c, n, groups))
        _refuse_options(sec, "binary", "xnor", "dontload", "dontloadscales")
        for k in ("dilation", "stride_x", "stride_y", "antialiasing", "share_index"):
            if sec.raw(k) is not None:
                raise ConvertError("%s: option '%s' (a later darknet's) is not supported"
                                   % (sec.where(), k))
        if sec.int("flipped", 0) and groups != 1:
            raise ConvertError("%s: flipped=1 with groups=%d is not supported" % (
                sec.where(), groups))
        _activation(sec, "logistic")
        sec.p = dict(n=n, size=size, stride=stride, groups=groups, padding=padding,
                     bn=sec.int("batch_normalize", 0) != 0)
        oh = window_out(h, size, stride, pad=(padding, padding))
        ow = window_out(w, size, stride, pad=(padding, padding))
        nw = n * (c // groups) * size * size + n + (3 * n if sec.p["bn"] else 0)
        return (n, oh, ow), nw

    @PLAN.on("connected")
    def shape_connected(self, sec, cur, shapes):
        out = validate.check_dim(sec.where(), "output", sec.int("output", 1))
        _refuse_options(sec, "dontload", "dontloadscales")
        _activation(sec, "logistic")
        k = validate.check_dim(sec.where(), "inputs (%dx%dx%d)" % cur,
                               cur[0] * cur[1] * cur[2])
        sec.p = dict(out=out, inputs=k, bn=sec.int("batch_normalize", 0) != 0)
        return (out, 1, 1), out * k + out + (3 * out if sec.p["bn"] else 0)

    @PLAN.on("maxpool")
    def shape_maxpool(self, sec, cur, shapes):
        c, h, w = cur
        stride = sec.int("stride", 1)
        size = sec.int("size", stride)
        padding = sec.int("padding", size - 1)
        validate.check_window(sec.where(), (size, size), (stride, stride), pool=True)
        validate.check_dim(sec.where(), "padding", padding, 0)
        for k in ("stride_x", "stride_y", "maxpool_depth", "antialiasing"):
            if sec.raw(k) is not None:
                raise ConvertError("%s: option '%s' (a later darknet's) is not supported"
                                   % (sec.where(), k))
        if h + padding < size or w + padding < size:
            raise ConvertError("%s: the %dx%d window (padding %d) is larger than the %dx%d "
                               "input at the trained size" % (sec.where(), size, size,
                                                              padding, h, w))
        lead, trail = padding // 2, padding - padding // 2
        validate.check_pads(sec.where(), [lead, lead, trail, trail], (size, size))
        sec.p = dict(size=size, stride=stride, pad=[lead, lead, trail, trail])
        return (c, window_out(h, size, stride, pad=(lead, trail)),
                window_out(w, size, stride, pad=(lead, trail))), 0

    @PLAN.on("avgpool")
    def shape_avgpool(self, sec, cur, shapes):
        return (cur[0], 1, 1), 0

    @PLAN.on("dropout")
    def shape_dropout(self, sec, cur, shapes):
        return cur, 0

    @PLAN.on("activation")
    def shape_activation(self, sec, cur, shapes):
        _activation(sec, "linear")
        return cur, 0

    @PLAN.on("cost")
    def shape_cost(self, sec, cur, shapes):
        return cur, 0

    @PLAN.on("softmax")
    def shape_softmax(self, sec, cur, shapes):
        groups = sec.int("groups", 1)
        if sec.raw("tree") is not None:
            raise ConvertError("%s: a softmax tree (tree=) is not supported" % sec.where())
        if groups != 1:
            raise ConvertError("%s: groups=%d is not supported (only 1: one softmax over "
                               "all classes)" % (sec.where(), groups))
        if cur[1] * cur[2] != 1:
            raise ConvertError("%s: softmax over a %dx%dx%d map: darknet normalises all "
                               "%d values together, fcn per cell over the channels; only a "
                               "1x1 input is supported" % (sec.where(), cur[0], cur[1], cur[2],
                                                           cur[0] * cur[1] * cur[2]))
        t = sec.float("temperature", 1.0)
        if not t > 0:
            raise ConvertError("%s: temperature=%g" % (sec.where(), t))
        sec.p = dict(temperature=t)
        return cur, 0

    @PLAN.on("route")
    def shape_route(self, sec, cur, shapes):
        spec = sec.raw("layers")
        if not spec:
            raise ConvertError("%s: no layers= given" % sec.where())
        try:
            idx = [int(re.match(r"[+-]?\d+", s).group(0)) for s in spec.split(",")]
        except AttributeError:
            raise ConvertError("%s: layers=%s is not a list of integers" % (
                sec.where(), _short(spec)))
        src = [self._ref(sec, i, "layers") for i in idx]
        s0 = shapes[src[0]]
        for j in src[1:]:
            if shapes[j][1:] != s0[1:]:
                raise ConvertError("%s: layers %d (%dx%dx%d) and %d (%dx%dx%d) differ in "
                                   "size; darknet cannot concatenate them" % (
                                       sec.where(), src[0], *s0, j, *shapes[j]))
        sec.p = dict(src=src)
        return (sum(shapes[j][0] for j in src), s0[1], s0[2]), 0

    @PLAN.on("shortcut")
    def shape_shortcut(self, sec, cur, shapes):
        v = sec.raw("from")
        if v is None:
            raise ConvertError("%s: no from= given" % sec.where())
        if "," in v:
            raise ConvertError("%s: from=%s: a shortcut from several layers (a later "
                               "darknet's) is not supported" % (sec.where(), v))
        j = self._ref(sec, sec.int("from", 0), "from")
        for k in ("weights_type", "weights_normalization"):
            if sec.raw(k) is not None:
                raise ConvertError("%s: option '%s' (a later darknet's) is not supported"
                                   % (sec.where(), k))
        _activation(sec, "linear")
        alpha, beta = sec.float("alpha", 1.0), sec.float("beta", 1.0)
        (c1, h1, w1), (c2, h2, w2) = shapes[j], cur
        same = (c1, h1, w1) == (c2, h2, w2)
        if not same:
            # darknet's shortcut_cpu: stride = w1/w2 (>= 1), sample = w2/w1 (>= 1),
            # out[k, y*sample, x*sample] += add[k, y*stride, x*stride] for k < min(c1, c2),
            # y < min(h1, h2), x < min(w1, w2). fcn takes the case where that is a plain
            # subsampling of the whole target.
            s = w1 // w2 if w2 else 0
            if not (h1 >= h2 and w1 >= w2 and s >= 1 and w1 == s * w2 and h1 == s * h2):
                raise ConvertError("%s: shortcut from layer %d (%dx%dx%d) to %dx%dx%d: "
                                   "supported are equal sizes or a source an exact multiple "
                                   "of the target's size" % (sec.where(), j, c1, h1, w1,
                                                             c2, h2, w2))
            if c2 > c1 and alpha != 1.0:
                raise ConvertError("%s: alpha=%g with a source of fewer channels (%d < %d) "
                                   "is not supported" % (sec.where(), alpha, c1, c2))
            sec.p = dict(src=j, alpha=alpha, beta=beta, stride=s, same=False)
        else:
            sec.p = dict(src=j, alpha=alpha, beta=beta, stride=1, same=True)
        return cur, 0

    @PLAN.on("crop")
    def shape_crop(self, sec, cur, shapes):
        ch, cw = sec.int("crop_height", 1), sec.int("crop_width", 1)
        if not (1 <= ch <= cur[1] and 1 <= cw <= cur[2]):
            raise ConvertError("%s: crop %dx%d of a %dx%d input" % (
                sec.where(), ch, cw, cur[1], cur[2]))
        sec.p = dict(adjust=sec.int("noadjust", 0) == 0)
        return (cur[0], ch, cw), 0

    # ---- pass 2: emit ---------------------------------------------------

    def build(self):
        wts = Weights(self.weights_path, self.need)
        self.wts = wts
        c, h, w = self.in_shape
        first = self.secs[1]
        if first.type == "crop":
            h, w = self.shapes[0][1], self.shapes[0][2]
        self.m = Model(
            input_shape=(c, h, w), color="gray" if c == 1 else "rgb", scale=1.0 / 255,
            name="darknet %s" % os.path.basename(self.cfg))
        prev = _Layer(self.m.input_name, (c, h, w))
        for sec in self.secs[1:]:
            name = "%d_%s" % (sec.index, sec.type)
            out = EMIT[sec.type](self, sec, name, prev)
            self.layers.append(_Layer(out, self.shapes[sec.index]))
            prev = self.layers[-1]
        return self.m

    def _act(self, sec, name, t, default):
        a = ACTIVATIONS[_activation(sec, default)]
        if a is None:
            return t
        op, attrs = a
        return self.m.add(op, name + "/" + sec.str("activation", default), [t],
                          name + "/" + sec.str("activation", default), attrs)

    @EMIT.on("convolutional")
    def emit_convolutional(self, sec, name, prev):
        p = sec.p
        cin = prev.shape[0]
        n, k, g = p["n"], p["size"], p["groups"]
        bias = self.wts.take(n)
        if p["bn"]:
            scales, mean, var = self.wts.take(n), self.wts.take(n), self.wts.take(n)
        wt = self.wts.take(n * (cin // g) * k * k)
        if sec.int("flipped", 0):
            wt = wt.reshape(cin * k * k, n).T
        wt = wt.reshape(n, cin // g, k, k)
        if p["bn"]:
            s, sh = _bn_fold(scales, mean, var, "%s: %s" % (self.cfg, sec.where()))
            wt = wt * s[:, None, None, None]
            bias = bias + sh
        pd = p["padding"]
        t = self.m.add("Conv", name, [prev.tensor], name,
                       {"kernel": [k, k], "stride": [p["stride"]] * 2, "pad": [pd] * 4,
                        "groups": g}, weight=wt, bias=bias)
        return self._act(sec, name, t, "logistic")

    @EMIT.on("connected")
    def emit_connected(self, sec, name, prev):
        p = sec.p
        out, k = p["out"], p["inputs"]
        bias = self.wts.take(out)
        wt = self.wts.take(out * k)
        wt = wt.reshape(k, out).T if self.wts.transpose else wt.reshape(out, k)
        if p["bn"]:
            scales, mean, var = self.wts.take(out), self.wts.take(out), self.wts.take(out)
            s, sh = _bn_fold(scales, mean, var, "%s: %s" % (self.cfg, sec.where()))
            # darknet: batch norm replaces the bias add, then adds the bias
            wt = wt * s[:, None]
            bias = bias + sh
        src = prev.tensor
        if prev.shape[1] * prev.shape[2] > 1:
            src = self.m.add("Flatten", name + "/flatten", [src], name + "/flatten",
                             {"order": "chw"})
        t = self.m.add("Dense", name, [src], name, weight=wt, bias=bias)
        return self._act(sec, name, t, "logistic")

    @EMIT.on("maxpool")
    def emit_maxpool(self, sec, name, prev):
        p = sec.p
        return self.m.add("MaxPool", name, [prev.tensor], name,
                          {"kernel": [p["size"]] * 2, "stride": [p["stride"]] * 2,
                           "pad": p["pad"]})

    @EMIT.on("avgpool")
    def emit_avgpool(self, sec, name, prev):
        return self.m.add("GlobalAvgPool", name, [prev.tensor], name)

    @EMIT.on("dropout")
    def emit_dropout(self, sec, name, prev):
        return self.m.add("Dropout", name, [prev.tensor], name)

    @EMIT.on("activation")
    def emit_activation(self, sec, name, prev):
        t = self._act(sec, name, prev.tensor, "linear")
        if t == prev.tensor:
            t = self.m.add("Identity", name, [prev.tensor], name)
        return t

    @EMIT.on("cost")
    def emit_cost(self, sec, name, prev):
        return prev.tensor

    @EMIT.on("softmax")
    def emit_softmax(self, sec, name, prev):
        t = prev.tensor
        if sec.p["temperature"] != 1.0:
            t = self.m.add("Mul", name + "/temperature", [t], name + "/temperature",
                           {"value": 1.0 / sec.p["temperature"]})
        return self.m.add("Softmax", name, [t], name)

    @EMIT.on("route")
    def emit_route(self, sec, name, prev):
        ins = [self.layers[j].tensor for j in sec.p["src"]]
        if len(ins) == 1:
            return self.m.add("Identity", name, ins, name)
        return self.m.add("Concat", name, ins, name)

    @EMIT.on("shortcut")
    def emit_shortcut(self, sec, name, prev):
        p = sec.p
        src = self.layers[p["src"]]
        x, add = prev.tensor, src.tensor
        if p["alpha"] != 1.0:
            x = self.m.add("Mul", name + "/alpha", [x], name + "/alpha", {"value": p["alpha"]})
        if p["same"]:
            if p["beta"] != 1.0:
                add = self.m.add("Mul", name + "/beta", [add], name + "/beta",
                                 {"value": p["beta"]})
        else:
            c1, c2 = src.shape[0], prev.shape[0]
            if c1 * c2 > MAX_SELECTION:
                raise ConvertError("%s: %s: the channel selection from %d to %d channels "
                                   "would be a %dx%d weight, too large" % (
                                       self.cfg, sec.where(), c1, c2, c2, c1))
            sel = np.zeros((c2, c1, 1, 1))
            for k in range(min(c1, c2)):
                sel[k, k, 0, 0] = p["beta"]
            add = self.m.add("Conv", name + "/sample", [add], name + "/sample",
                             {"kernel": [1, 1], "stride": [p["stride"]] * 2},
                             weight=sel)
        t = self.m.add("Add", name, [x, add], name)
        return self._act(sec, name, t, "linear")

    @EMIT.on("crop")
    def emit_crop(self, sec, name, prev):
        if not sec.p["adjust"]:
            return prev.tensor
        c = prev.shape[0]
        # darknet's crop at test time: the centre crop, x * 2 - 1
        return self.m.add("Conv", name, [prev.tensor], name,
                          {"kernel": [1, 1], "groups": c},
                          weight=np.full((c, 1, 1, 1), 2.0), bias=np.full(c, -1.0))


def default_weights(cfg):
    return os.path.splitext(cfg)[0] + ".weights"


def convert(path, options):
    wpath = getattr(options, "weights", None) or default_weights(path)
    conv = _Converter(path, parse_cfg(path), wpath)
    conv.plan()
    return conv.build()
