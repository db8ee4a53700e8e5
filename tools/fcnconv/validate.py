"""What fcn's loader accepts, checked in Python before a model.bin is written.

fcn refuses a model.bin whose attributes, weights or shapes are out of range
(docs/model-format.md, "Limits and validation"; src/core/reader.c,
src/core/meta.c, src/core/graph.c, src/core/geometry.c and each op's parse and
infer in src/ops/). The converters must never write such a file, so the same
rules live here, once, for all of them:

  check_window, check_pads, check_pad_op, check_shape, check_dim
      single rules the front ends call early, with the source's own names
      (an ONNX node, a Keras layer, a Darknet section) as `where`, before
      they do arithmetic with the values (a zero stride must be a message,
      not a division by zero);
  check_model(model, src)
      the whole model as fcn will load it: metadata, every layer's
      attributes and weights as its op parses them, shapes at the trained
      input size through the whole graph (with the growth of maps padding
      and of channels Concats may cause), the FCN conversion's rule on what
      may read flattened features, the network's geometry, the labels.

Every failure raises ConvertError with one line: "<where>: <what> <value>
<rule>". All arithmetic is on Python integers, so nothing here overflows;
the limits are those of the C code.
"""
import math

import numpy as np

from . import ConvertError

# src/util/mem.h: any one tensor dimension, and any one weight, in floats
MAX_DIM = 1 << 20
MAX_ELEMS = 1 << 40
# src/core/graph.c: any one layer's output at the trained size, in floats
MAX_OUTPUT_FLOATS = 1 << 34
# src/core/graph.c: any one layer's map (H x W) at most 4x the input's +
# 2^20 pixels; only padding grows a map that far (a run-time bomb)
MAX_MAP_GROWTH = 4
MAX_MAP_EXTRA = 1 << 20
# src/core/graph.c: a Concat's output at most twice the floats of the input
# and of every earlier Conv, Dense and Flatten output, plus this many channels
# of its map; only a Concat makes channels no weight pays for
MAX_CONCAT_EXTRA = 1024
PAYING_OPS = ("Conv", "Dense", "Flatten")
# src/ops/conv.c: the kernel height and width of a Conv weight, and the
# weights of one filter (Cin/groups x kh x kw)
MAX_KERNEL = 4096
MAX_FILTER = 1 << 30
# src/ops/pad.c: what a Pad op adds on one side (the largest kernel)
MAX_PAD = 4096
# src/core/meta.c: the trained input C, H, W
MAX_INPUT = (4096, 65536, 65536)
# src/core/geometry.c GEOM_MAX: the network's accumulated stride, receptive
# field and |offset| in input pixels, per axis
MAX_GEOMETRY = 1 << 30
# src/core/reader.c
MAX_STR = 4096
MAX_ATTRS = 64
MAX_ATTR_VALUES = 65536
MAX_LAYERS = 100000
MAX_LABELS = 1000000
MAX_INPUTS = 64
MAX_WEIGHTS = 16
MAX_WEIGHT_DIMS = 8


def fail(where, msg):
    raise ConvertError("%s: %s" % (where, msg))


def exception_text(e):
    """What went wrong, in words, for an unexpected exception a damaged
    file caused: one line, no Python class names."""
    text = " ".join(str(e).split())[:300]
    if isinstance(e, KeyError):
        return "missing entry %s" % text
    if isinstance(e, ZeroDivisionError):
        return "a division by zero"
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return text or "inconsistent contents"


def _x(v):
    return "x".join(str(int(a)) for a in v)


def _ints(where, what, v):
    """v as a list of Python ints; non-integral values are refused."""
    out = []
    for a in v:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer, float,
                                                                 np.floating)):
            fail(where, "%s %r is not an integer" % (what, a))
        if isinstance(a, (float, np.floating)) and not (math.isfinite(a) and a == int(a)):
            fail(where, "%s %r is not an integer" % (what, a))
        out.append(int(a))
    return out


def extent(k, d):
    """Input pixels a k-tap window dilated by d covers."""
    return (k - 1) * d + 1


# ---------------------------------------------------------------------------
# single rules, for the front ends

def check_dim(where, what, v, lo=1, hi=MAX_DIM):
    """An integer count or size in [lo, hi]."""
    v, = _ints(where, what, [v])
    if v < lo:
        fail(where, "%s %d must be >= %d" % (what, v, lo))
    if v > hi:
        fail(where, "%s %d exceeds the limit of %d" % (what, v, hi))
    return v


def check_window(where, kernel, stride, dilation=(1, 1), pool=False):
    """kernel, stride and dilation (2 values each) of a conv or pool window:
    every value >= 1 and within the limits, and the dilated kernel extent
    within MAX_DIM. Returns them as int lists."""
    k = _ints(where, "kernel", kernel)
    s = _ints(where, "stride", stride)
    d = _ints(where, "dilation", dilation)
    for what, v in (("kernel", k), ("stride", s), ("dilation", d)):
        if len(v) != 2:
            fail(where, "%s %s: expected 2 values (a 2-D window)" % (what, v))
        if min(v) < 1:
            fail(where, "%s %s must be >= 1" % (what, _x(v)))
    kmax = MAX_DIM if pool else MAX_KERNEL
    if max(k) > kmax:
        fail(where, "kernel %s exceeds the limit of %d" % (_x(k), kmax))
    for what, v in (("stride", s), ("dilation", d)):
        if max(v) > MAX_DIM:
            fail(where, "%s %s exceeds the limit of %d" % (what, _x(v), MAX_DIM))
    e = [extent(k[i], d[i]) for i in (0, 1)]
    if max(e) > MAX_DIM:
        fail(where, "kernel %s dilated by %s covers %s pixels, more than the limit "
                    "of %d" % (_x(k), _x(d), _x(e), MAX_DIM))
    return k, s, d


def check_pads(where, pads, kernel, dilation=(1, 1)):
    """pads (top, left, bottom, right) of a conv or pool window: each >= 0
    and smaller than the (dilated) kernel extent along its axis."""
    p = _ints(where, "padding", pads)
    if len(p) != 4:
        fail(where, "padding %s: expected 4 values (top, left, bottom, right)" % p)
    if min(p) < 0:
        fail(where, "padding %s must not be negative" % ",".join(map(str, p)))
    eh, ew = extent(kernel[0], dilation[0]), extent(kernel[1], dilation[1])
    if p[0] >= eh or p[2] >= eh or p[1] >= ew or p[3] >= ew:
        fail(where, "padding %s must be smaller than the %dx%d %s on each side"
                    % (",".join(map(str, p)), eh, ew,
                       "dilated kernel" if max(dilation) > 1 else "window"))
    return p


def check_pad_op(where, pads):
    """pads (top, left, bottom, right) of a Pad op: 0 ... MAX_PAD each."""
    p = _ints(where, "padding", pads)
    if len(p) != 4:
        fail(where, "padding %s: expected 4 values (top, left, bottom, right)" % p)
    if min(p) < 0:
        fail(where, "padding %s must not be negative" % ",".join(map(str, p)))
    if max(p) > MAX_PAD:
        fail(where, "padding %s exceeds the limit of %d a side"
                    % (",".join(map(str, p)), MAX_PAD))
    return p


def check_shape(where, dims, what="output"):
    """A tensor's sizes (any rank, batch included): each 1 ... MAX_DIM, and
    no more than MAX_OUTPUT_FLOATS values in all."""
    dims = [int(v) for v in dims]
    if any(v < 1 for v in dims):
        fail(where, "%s would be %s at the trained size (a size < 1)" % (what, _x(dims)))
    if any(v > MAX_DIM for v in dims):
        fail(where, "%s would be %s at the trained size; a size exceeds the limit of %d"
                    % (what, _x(dims), MAX_DIM))
    n = 1
    for v in dims:
        n *= v
    if n > MAX_OUTPUT_FLOATS:
        fail(where, "%s %s holds %d values, more than the limit of %d"
                    % (what, _x(dims), n, MAX_OUTPUT_FLOATS))
    return dims


def check_array(where, what, dims, count=None):
    """The dims of a stored array (an initializer, a weight): each >= 0, at
    most MAX_ELEMS values, and `count` values when the data's length is
    known."""
    dims = [int(v) for v in dims]
    if any(v < 0 for v in dims):
        fail(where, "%s has a negative dimension in its shape [%s]"
                    % (what, ",".join(map(str, dims))))
    n = 1
    for v in dims:
        n *= v
    if n > MAX_ELEMS:
        fail(where, "%s of shape [%s] holds %d values, more than the limit of %d"
                    % (what, ",".join(map(str, dims)), n, MAX_ELEMS))
    if count is not None and count != n:
        fail(where, "%s holds %d values, its shape [%s] needs %d"
                    % (what, count, ",".join(map(str, dims)), n))
    return n


# ---------------------------------------------------------------------------
# attributes as a layer's parse reads them (src/ops/attr.c)

def _encoded(v):
    """(type, values) of an attribute value as modelbin writes it."""
    from .modelbin import attr_encoding
    return attr_encoding(v)


class _Parse:
    """One layer's attributes and weights, read as its op's parse reads them;
    done() refuses what was not read (attr_done)."""

    def __init__(self, where, layer):
        self.where, self.L = where, layer
        self.used, self.wused = set(), set()

    def _take(self, key):
        if key not in self.L.attrs:
            return None
        self.used.add(key)
        return _encoded(self.L.attrs[key])

    def ints(self, key, n, default=None, required=False):
        a = self._take(key)
        if a is None:
            if required:
                fail(self.where, "missing attribute '%s'" % key)
            return default
        t, vals = a
        if t != "i" or len(vals) not in (n, 1):
            fail(self.where, "attribute '%s' needs %d integer%s, has %s" % (
                key, n, "s" if n > 1 else "", _describe_attr(t, vals)))
        if any(abs(v) > MAX_DIM for v in vals):
            fail(self.where, "attribute '%s' value %s exceeds the limit of %d" % (
                key, ",".join(map(str, vals)), MAX_DIM))
        return [int(vals[0 if len(vals) == 1 else i]) for i in range(n)]

    def flag(self, key, default):
        """attr_flag: an integer 0 or 1."""
        v = self.ints(key, 1, default=[default])[0]
        if v not in (0, 1):
            fail(self.where, "attribute '%s' is %d (0 or 1)" % (key, v))
        return v

    def float(self, key, default):
        a = self._take(key)
        if a is None:
            return default
        t, vals = a
        if t == "i" and len(vals) == 1:
            return float(np.float32(vals[0]))
        if t != "f" or len(vals) != 1:
            fail(self.where, "attribute '%s' needs one float, has %s"
                             % (key, _describe_attr(t, vals)))
        with np.errstate(over="ignore"):
            f = np.float32(vals[0])
        if not np.isfinite(f):
            fail(self.where, "attribute '%s' is %r, not a finite float32"
                             % (key, float(vals[0])))
        return float(f)

    def str(self, key, default):
        a = self._take(key)
        if a is None:
            return default
        if a[0] != "s":
            fail(self.where, "attribute '%s' needs a string" % key)
        return a[1]

    def weight(self, name, required=False):
        w = self.L.weight(name)
        if w is None:
            if required:
                fail(self.where, "missing weight '%s'" % name)
            return None
        self.wused.add(name)
        return w

    def done(self):
        for k in self.L.attrs:
            if k not in self.used:
                fail(self.where, "unknown attribute '%s'" % k)
        for n, _ in self.L.weights:
            if n not in self.wused:
                fail(self.where, "unknown weight '%s'" % n)


def _describe_attr(t, vals):
    if t == "s":
        return "a string"
    kind = "integer" if t == "i" else "float"
    return "%d %s value%s" % (len(vals), kind, "" if len(vals) == 1 else "s")


# ---------------------------------------------------------------------------
# the ops: parse (attributes, weights) and infer (output shape), as in
# src/ops/*.c. parse returns the op's parameters; infer(where, p, shapes)
# returns the output (c, h, w) or fails.

def _win_out(n, k, s, d, pa, pb, ceil_mode=False):
    """src/kernels/view.c win_out: 0 when the window does not fit or the
    output exceeds MAX_DIM."""
    span = n + pa + pb - extent(k, d)
    if span < 0 or s < 1:
        return 0
    o = (span + s - 1) // s + 1 if ceil_mode else span // s + 1
    if ceil_mode and (o - 1) * s >= n + pa:
        o -= 1
    return 0 if o > MAX_DIM else o


def _window(c, pool):
    """kernel (None when a conv leaves it out), stride, dilation, pad."""
    k = c.ints("kernel", 2, required=pool)
    s = c.ints("stride", 2, default=k if pool else [1, 1])
    p = c.ints("pad", 4, default=[0, 0, 0, 0])
    d = c.ints("dilation", 2, default=[1, 1]) if not pool else [1, 1]
    return k, s, d, p


def parse_conv(c):
    k, s, d, p = _window(c, False)
    groups = c.ints("groups", 1, default=[1])[0]
    c.flag("flip", 0)
    w = c.weight("weight", True)
    b = c.weight("bias")
    shp = list(w.shape)
    if len(shp) != 4 or min(shp) < 1:
        fail(c.where, "weight must be [Cout, Cin/groups, kh, kw] with sizes >= 1, is [%s]"
                      % ",".join(map(str, shp)))
    if shp[0] > MAX_DIM or shp[1] > MAX_DIM:
        fail(c.where, "weight [%s] has more than %d channels"
                      % (",".join(map(str, shp)), MAX_DIM))
    if shp[2] > MAX_KERNEL or shp[3] > MAX_KERNEL:
        fail(c.where, "weight [%s]: kernel %dx%d exceeds the limit of %d"
                      % (",".join(map(str, shp)), shp[2], shp[3], MAX_KERNEL))
    if groups < 1 or shp[0] % groups:
        fail(c.where, "%d output channels do not split into %d groups" % (shp[0], groups))
    if k is not None and k != shp[2:]:     # a given kernel of 0 is not "absent"
        fail(c.where, "kernel attribute %s differs from the weight's %s"
                      % (_x(k), _x(shp[2:])))
    k = shp[2:]
    check_window(c.where, k, s, d)
    check_pads(c.where, p, k, d)
    cin = shp[1] * groups
    if cin > MAX_DIM:
        fail(c.where, "%d input channels per group x %d groups exceeds the limit of %d "
                      "channels" % (shp[1], groups, MAX_DIM))
    if shp[1] * shp[2] * shp[3] > MAX_FILTER:
        fail(c.where, "filters of %dx%dx%d weights exceed the limit of %d"
                      % (shp[1], shp[2], shp[3], MAX_FILTER))
    if b is not None and list(b.shape) != [shp[0]]:
        fail(c.where, "bias of shape [%s] for %d output channels"
                      % (",".join(map(str, b.shape)), shp[0]))
    return dict(k=k, s=s, d=d, p=p, cin=cin, cout=shp[0])


def infer_conv(where, q, ins):
    (c, h, w), = ins
    if c != q["cin"]:
        fail(where, "expects %d input channels, gets %d" % (q["cin"], c))
    k, s, d, p = q["k"], q["s"], q["d"], q["p"]
    oh = _win_out(h, k[0], s[0], d[0], p[0], p[2])
    ow = _win_out(w, k[1], s[1], d[1], p[1], p[3])
    if oh < 1 or ow < 1:
        fail(where, "%dx%d window (stride %s, padding %s) gives a %dx%d output from its "
                    "%dx%d input" % (extent(k[0], d[0]), extent(k[1], d[1]), _x(s),
                                     ",".join(map(str, p)), *_outdims(h, w, k, s, d, p),
                                     h, w))
    return (q["cout"], oh, ow)


def _outdims(h, w, k, s, d, p, ceil_mode=False):
    """The output size the window arithmetic gives, for messages (0 or more
    than MAX_DIM where fcn refuses it)."""
    out = []
    for n, ax in ((h, 0), (w, 1)):
        span = n + p[ax] + p[ax + 2] - extent(k[ax], d[ax])
        out.append(0 if span < 0 else (-(-span // s[ax]) if ceil_mode else span // s[ax]) + 1)
    return out


def parse_pool(c, avg):
    k, s, d, p = _window(c, True)
    check_window(c.where, k, s, pool=True)
    check_pads(c.where, p, k)
    ceil = c.flag("ceil_mode", 0)
    if avg:
        c.flag("count_include_pad", 1)
    return dict(k=k, s=s, d=d, p=p, ceil=ceil != 0)


def infer_pool(where, q, ins):
    (c, h, w), = ins
    k, s, p = q["k"], q["s"], q["p"]
    oh = _win_out(h, k[0], s[0], 1, p[0], p[2], q["ceil"])
    ow = _win_out(w, k[1], s[1], 1, p[1], p[3], q["ceil"])
    if oh < 1 or ow < 1:
        fail(where, "%s window (stride %s, padding %s) gives a %dx%d output from its "
                    "%dx%d input" % (_x(k), _x(s), ",".join(map(str, p)),
                                     *_outdims(h, w, k, s, [1, 1], p, q["ceil"]), h, w))
    return (c, oh, ow)


def parse_dense(c):
    w = c.weight("weight", True)
    b = c.weight("bias")
    shp = list(w.shape)
    if len(shp) != 2 or min(shp) < 1 or max(shp) > MAX_DIM:
        fail(c.where, "weight must be [N, K] (outputs x inputs) with sizes 1 to %d, is "
                      "[%s]" % (MAX_DIM, ",".join(map(str, shp))))
    if b is not None and list(b.shape) != [shp[0]]:
        fail(c.where, "bias of shape [%s] for %d outputs"
                      % (",".join(map(str, b.shape)), shp[0]))
    return dict(n=shp[0], k=shp[1])


def infer_dense(where, q, ins):
    (c, h, w), = ins
    if h != 1 or w != 1 or c != q["k"]:
        fail(where, "weight expects %d inputs, gets %dx%dx%d = %d"
                    % (q["k"], c, h, w, c * h * w))
    return (q["n"], 1, 1)


def parse_flatten(c):
    o = c.str("order", "chw")
    if o not in ("chw", "hwc"):
        fail(c.where, "order '%s' (expected 'chw' or 'hwc')" % o)
    return {}


def infer_flatten(where, q, ins):
    (c, h, w), = ins
    if c * h * w > MAX_DIM:
        fail(where, "flattens %dx%dx%d = %d values, more than the limit of %d"
                    % (c, h, w, c * h * w, MAX_DIM))
    return (c * h * w, 1, 1)


def parse_bn(c):
    eps = c.float("eps", float(np.float32(1e-5)))
    ws = [c.weight(k, True) for k in ("scale", "bias", "mean", "var")]
    n = ws[0].size
    if ws[0].ndim != 1 or any(list(w.shape) != [n] for w in ws) or not 1 <= n <= MAX_DIM \
            or eps < 0:
        fail(c.where, "scale, bias, mean and var must be [C] of one size (at most %d), "
                      "eps >= 0; they are %s, eps %g" % (
                          MAX_DIM, ", ".join("[%s]" % ",".join(map(str, w.shape))
                                             for w in ws), eps))
    g, var = ws[0].astype(np.float64), ws[3]
    with np.errstate(all="ignore"):
        v = (var.astype(np.float32) + np.float32(eps)).astype(np.float64)  # float sum, as in C
        s = g / np.sqrt(v)
    bad = np.flatnonzero(~(v > 0) | ~np.isfinite(s))
    if bad.size:
        i = int(bad[0])
        fail(c.where, "channel %d has variance %g (with eps %g the scale is not finite)"
                      % (i, float(var[i]), eps))
    return dict(c=n)


def infer_bn(where, q, ins):
    (c, h, w), = ins
    if c != q["c"]:
        fail(where, "has %d channels of parameters, its input has %d" % (q["c"], c))
    return (c, h, w)


def parse_lrn(c):
    size = c.ints("size", 1, required=True)[0]
    for k, v in (("alpha", 1e-4), ("beta", 0.75), ("bias", 1.0)):
        c.float(k, v)
    if size < 1:
        fail(c.where, "size %d must be >= 1" % size)
    return {}


def parse_pad(c):
    p = c.ints("pad", 4, required=True)
    check_pad_op(c.where, p)
    c.float("value", 0.0)
    return dict(p=p)


def infer_pad(where, q, ins):
    (c, h, w), = ins
    t, l, b, r = q["p"]
    oh, ow = h + t + b, w + l + r
    if oh > MAX_DIM or ow > MAX_DIM:
        fail(where, "padding %d,%d,%d,%d gives a %dx%d map, more than the limit of %d "
                    "a side" % (t, l, b, r, oh, ow, MAX_DIM))
    return (c, oh, ow)


def _parse_floats(*keys):
    def parse(c):
        return {k: c.float(k, d) for k, d in keys}
    return parse


def parse_clip(c):
    lo, hi = c.float("min", -math.inf), c.float("max", math.inf)
    if not lo <= hi:
        fail(c.where, "min %g > max %g" % (lo, hi))
    return {}


def _none(c):
    return {}


def infer_same(where, q, ins):
    return ins[0]


def infer_global(where, q, ins):
    return (ins[0][0], 1, 1)


def infer_add(where, q, ins):
    for i, b in enumerate(ins[1:], 1):
        if b != ins[0]:
            fail(where, "input %d is %s, input 0 is %s" % (i, _x(b), _x(ins[0])))
    return ins[0]


def infer_concat(where, q, ins):
    a = ins[0]
    for i, b in enumerate(ins[1:], 1):
        if b[1:] != a[1:]:
            fail(where, "input %d is %s, input 0 is %s" % (i, _x(b), _x(a)))
    c = sum(b[0] for b in ins)
    if c > MAX_DIM:
        fail(where, "concatenates %d channels, more than the limit of %d" % (c, MAX_DIM))
    return (c, a[1], a[2])


# op -> (inputs (min, max), parse, infer, kind); kind: 'elementwise' (may sit
# between Flatten and Dense), 'flat_reader' (Dense), 'flatten', 'alias'
# (removed by the loader), or None. The ops of src/ops/ops.def, in its order.
OPS = {
    "Conv": ((1, 1), parse_conv, infer_conv, None),
    "Dense": ((1, 1), parse_dense, infer_dense, "flat_reader"),
    "Flatten": ((1, 1), parse_flatten, infer_flatten, "flatten"),
    "MaxPool": ((1, 1), lambda c: parse_pool(c, False), infer_pool, None),
    "AvgPool": ((1, 1), lambda c: parse_pool(c, True), infer_pool, None),
    "GlobalAvgPool": ((1, 1), _none, infer_global, None),
    "GlobalMaxPool": ((1, 1), _none, infer_global, None),
    "Relu": ((1, 1), _none, infer_same, "elementwise"),
    "LeakyRelu": ((1, 1), _parse_floats(("alpha", 0.01)), infer_same, "elementwise"),
    "Clip": ((1, 1), parse_clip, infer_same, "elementwise"),
    "Sigmoid": ((1, 1), _none, infer_same, "elementwise"),
    "Tanh": ((1, 1), _none, infer_same, "elementwise"),
    "HardSwish": ((1, 1), _none, infer_same, "elementwise"),
    "HardSigmoid": ((1, 1), _parse_floats(("alpha", 0.2), ("beta", 0.5)), infer_same,
                    "elementwise"),
    "Mul": ((1, 1), _parse_floats(("value", 1.0)), infer_same, "elementwise"),
    "BatchNorm": ((1, 1), parse_bn, infer_bn, None),
    "LRN": ((1, 1), parse_lrn, infer_same, None),
    "Add": ((2, MAX_INPUTS), _none, infer_add, None),
    "Concat": ((1, MAX_INPUTS), _none, infer_concat, None),
    "Pad": ((1, 1), parse_pad, infer_pad, None),
    "Dropout": ((1, 1), _none, infer_same, "alias"),
    "Identity": ((1, 1), _none, infer_same, "alias"),
    "Softmax": ((1, 1), _none, infer_same, None),
}


# ---------------------------------------------------------------------------
# the whole model

def _check_str(where, what, s):
    if not isinstance(s, str):
        fail(where, "%s is not a string" % what)
    b = s.encode("utf-8", "surrogatepass")
    if len(b) > MAX_STR:
        fail(where, "%s is %d bytes long, more than the limit of %d" % (what, len(b), MAX_STR))
    if "\0" in s:
        fail(where, "%s contains a NUL character" % what)


def _check_attr_list(where, attrs):
    if len(attrs) > MAX_ATTRS:
        fail(where, "%d attributes, more than the limit of %d" % (len(attrs), MAX_ATTRS))
    for k, v in attrs.items():
        _check_str(where, "attribute name", k)
        t, vals = _encoded(v)
        if t == "s":
            _check_str(where, "attribute '%s'" % k, vals)
        elif len(vals) > MAX_ATTR_VALUES:
            fail(where, "attribute '%s' has %d values, more than the limit of %d"
                        % (k, len(vals), MAX_ATTR_VALUES))
        elif t == "i" and any(not -(1 << 63) <= x < (1 << 63) for x in vals):
            fail(where, "attribute '%s' value exceeds 64 bits" % k)


def _check_meta(model, src):
    where = "%s: model metadata" % src
    meta = model.meta
    _check_attr_list(where, meta)
    c = _Parse(where, _MetaLayer(meta))
    shp = c.ints("input_shape", 3, required=True)
    if min(shp) < 1 or any(v > m for v, m in zip(shp, MAX_INPUT)):
        fail(where, "trained input shape %s (CxHxW) is impossible (at most %s)"
                    % (_x(shp), _x(MAX_INPUT)))
    ch = shp[0]
    color = c.str("color", "gray" if ch == 1 else "rgb")
    if color not in ("rgb", "bgr", "gray"):
        fail(where, "color '%s' (expected rgb, bgr or gray)" % color)
    if (color == "gray") != (ch == 1) or ch not in (1, 3):
        fail(where, "color '%s' does not match %d input channels (fcn models take 1 "
                    "(gray) or 3 (RGB/BGR))" % (color, ch))
    resize = c.str("resize", "bilinear")
    if resize not in ("bilinear", "area"):
        fail(where, "resize '%s' (expected bilinear or area)" % resize)
    c.str("input", "input")
    c.str("name", "")
    scale = c.float("scale", float(np.float32(1 / 255)))
    if scale == 0:
        fail(where, "scale %g is not usable" % scale)
    for key, default in (("mean", 0.0), ("std", 1.0)):
        if key not in meta:
            continue
        t, vals = _encoded(meta[key])
        if t != "f" or len(vals) not in (1, ch):
            fail(where, "'%s' needs 1 or %d floats" % (key, ch))
        with np.errstate(over="ignore", invalid="ignore"):
            f = np.asarray(vals, dtype=np.float64).astype(np.float32)
        if not np.all(np.isfinite(f)) or (key == "std" and np.any(f == 0)):
            fail(where, "%s %s is not usable (finite values, std not 0)"
                        % (key, ",".join("%g" % v for v in vals)))
    return shp


class _MetaLayer:
    def __init__(self, attrs):
        self.attrs, self.weights = attrs, []

    def weight(self, name):
        return None


def _check_weights(where, L):
    if len(L.weights) > MAX_WEIGHTS:
        fail(where, "%d weights, more than the limit of %d" % (len(L.weights), MAX_WEIGHTS))
    seen = set()
    for name, w in L.weights:
        _check_str(where, "weight name", name)
        if name in seen:
            fail(where, "weight '%s' is stored twice" % name)
        seen.add(name)
        if not 1 <= w.ndim <= MAX_WEIGHT_DIMS:
            fail(where, "weight '%s' has %d dimensions (1 to %d)"
                        % (name, w.ndim, MAX_WEIGHT_DIMS))
        check_array(where, "weight '%s'" % name, w.shape)
        if w.dtype != np.float32:
            fail(where, "weight '%s' is %s, not float32" % (name, w.dtype))
        if not np.all(np.isfinite(w)):
            fail(where, "weight '%s' holds NaN or infinite values" % name)


def _check_growth(where, out, shp):
    """src/core/graph.c check_growth: the (c, h, w) map `out` at most
    MAX_MAP_GROWTH x the trained input's (shp, CxHxW) pixels + MAX_MAP_EXTRA."""
    area, in_area = out[1] * out[2], shp[1] * shp[2]
    if area > MAX_MAP_GROWTH * in_area + MAX_MAP_EXTRA:
        r = area / in_area
        fail(where, "its %dx%d map is %.*fx the input's %dx%d (limit %dx + 1 Mpx): "
                    "padding this large is not supported"
                    % (out[2], out[1], 1 if r < 10 else 0, r, shp[2], shp[1],
                       MAX_MAP_GROWTH))


def _check_concat(where, out, paid):
    """src/core/graph.c check_concat: the Concat output `out` (c, h, w) at
    most 2 x `paid` (the floats of the input and of the Conv, Dense and
    Flatten outputs before it) + MAX_CONCAT_EXTRA channels of its map."""
    f = out[0] * out[1] * out[2]
    if f > 2 * paid + MAX_CONCAT_EXTRA * out[1] * out[2]:
        fail(where, "its output of %d floats (%d channels) is more than twice the %d "
                    "floats of the input and the Conv, Dense and Flatten outputs before "
                    "it, plus %d channels: channel growth this large is not supported"
                    % (f, out[0], paid, MAX_CONCAT_EXTRA))


def _geometry_step(where, geo, ins, k, s, d, p):
    """src/core/geometry.c node_geom along one axis, in exact integers:
    (stride, offset, receptive field) of the output."""
    st, off, rf = geo[ins[0]]
    for t in ins[1:]:
        b = geo[t]
        end = max(off + rf, b[1] + b[2])
        off = min(off, b[1])
        rf = end - off
        st = max(st, b[0])
    rf += (k - 1) * d * st
    off -= p * st
    st *= s
    for what, v in (("stride", st), ("receptive field", rf), ("offset", abs(off))):
        if v > MAX_GEOMETRY:
            fail(where, "the network's %s reaches %d input pixels here, more than the "
                        "limit of %d (strides, dilations or padding too large)"
                        % (what, v, MAX_GEOMETRY))
    return (st, off, rf)


def check_model(model, src):
    """Refuse (ConvertError) what fcn's loader would refuse in `model`, a
    modelbin.Model about to be written; `src` names the source in messages."""
    shp = _check_meta(model, src)
    _check_str("%s: model metadata" % src, "input name", model.input_name)
    if len(model.labels) > MAX_LABELS:
        fail(src, "%d class labels, more than the limit of %d" % (len(model.labels),
                                                                  MAX_LABELS))
    for i, s in enumerate(model.labels):
        _check_str(src, "class label %d" % i, s)
    if not 1 <= len(model.layers) <= MAX_LAYERS:
        fail(src, "%d layers (1 to %d)" % (len(model.layers), MAX_LAYERS))

    inp = model.input_name
    shapes = {inp: tuple(shp)}      # tensor -> (c, h, w) at the trained size
    flat = {}                       # tensor -> (Flatten layer, its input shape)
    alias = {inp: inp}              # tensor -> what it is once aliases are removed
    geo = {inp: ((1, 0, 1), (1, 0, 1))}
    paid = shp[0] * shp[1] * shp[2]    # what a Concat may double (_check_concat)
    names = set()
    for L in model.layers:
        where = "%s: layer '%s' (%s)" % (src, L.name, L.op)
        _check_str(where, "layer name", L.name)
        _check_str(where, "op name", L.op)
        if L.name in names:
            fail(where, "the layer name is used twice")
        names.add(L.name)
        if L.op not in OPS:
            fail(where, "unknown op (fcn supports: %s)" % ", ".join(OPS))
        (lo, hi), parse, infer, kind = OPS[L.op]
        if not lo <= len(L.inputs) <= hi:
            fail(where, "has %d inputs, expects %s" % (
                len(L.inputs), lo if lo == hi else "at least %d" % lo))
        for t in L.inputs + [L.output]:
            _check_str(where, "tensor name", t)
        for t in L.inputs:
            if t not in shapes:
                fail(where, "input '%s' is neither the graph input nor the output of an "
                            "earlier layer" % t)
        if L.output in shapes:
            fail(where, "output '%s' is already defined" % L.output)
        _check_attr_list(where, L.attrs)
        _check_weights(where, L)
        c = _Parse(where, L)
        q = parse(c)
        c.done()
        ins = [shapes[t] for t in L.inputs]
        out = tuple(infer(where, q, ins))
        check_shape(where, out)
        _check_growth(where, out, shp)
        if L.op == "Concat":
            _check_concat(where, out, paid)
        if L.op in PAYING_OPS:
            paid += out[0] * out[1] * out[2]
        shapes[L.output] = out

        # the FCN conversion (src/core/pass_fcn.c): only Dense, through
        # elementwise ops, may read features flattened from a map
        src_flat = flat.get(L.inputs[0])
        if kind not in ("elementwise", "flat_reader", "flatten", "alias"):
            for t in L.inputs:
                f = flat.get(t)
                if f and f[1][1] * f[1][2] > 1:
                    fail(where, "reads features flattened from a %s map by '%s'; only "
                                "Dense can follow Flatten" % (_x(f[1]), f[0]))
        if kind == "flatten":
            flat[L.output] = (L.name, ins[0])
        elif kind in ("elementwise", "alias") and src_flat:
            flat[L.output] = src_flat

        # what the loader removes, and the window each node has once converted
        win = None
        if L.op == "Conv":
            win = q["k"], q["s"], q["d"], q["p"]
        elif L.op in ("MaxPool", "AvgPool"):
            win = q["k"], q["s"], [1, 1], q["p"]
        elif L.op == "Pad":
            t, l, b, r = q["p"]
            win = [1, 1], [1, 1], [1, 1], [t, l, b, r]
        elif L.op == "Dense" and src_flat:
            win = list(src_flat[1][1:]), [1, 1], [1, 1], [0, 0, 0, 0]
        elif L.op in ("GlobalAvgPool", "GlobalMaxPool") and ins[0][1:] != (1, 1):
            win = list(ins[0][1:]), [1, 1], [1, 1], [0, 0, 0, 0]
        is_alias = kind in ("alias", "flatten") or L.op in ("GlobalAvgPool", "GlobalMaxPool") \
            and ins[0][1:] == (1, 1)
        alias[L.output] = alias[L.inputs[0]] if is_alias else L.output
        if win is None:
            win = [1, 1], [1, 1], [1, 1], [0, 0, 0, 0]
        k, s, d, p = win
        geo[L.output] = tuple(
            _geometry_step(where, {t: geo[t][ax] for t in L.inputs}, L.inputs,
                           k[ax], s[ax], d[ax], p[ax]) for ax in (0, 1))

    last = model.layers[-1]
    if alias[last.output] == inp:
        fail(src, "the model computes nothing from its input (its output '%s' is the "
                  "input)" % last.output)
    classes = shapes[last.output][0]
    if model.labels and len(model.labels) != classes:
        fail(src, "%d class labels for %d classes" % (len(model.labels), classes))
