"""ONNX classifier -> fcn model.bin (docs/convert-onnx.md).

convert(path, options) reads an ONNX model (as torch.onnx.export or tf2onnx
write it) and translates it, layer by layer, into a modelbin.Model holding
the classifier as it was trained. The FCN conversion itself is done by fcn's
loader (docs/conversion.md).

How it works: the graph is walked once in topological order with the input
at its trained size (batch 1). Every tensor is either a constant (a numpy
array: initializers, Constant nodes, and whatever can be computed from them
and from the shapes of runtime tensors, e.g. the Shape -> Gather ->
Unsqueeze -> Concat chain PyTorch emits for x.view(x.size(0), -1)) or a
runtime tensor with a known shape at the trained size. Runtime nodes become
fcn layers; nodes that only rename a tensor (Identity, Dropout, a flatten of
a flat vector, ...) become nothing. Layers that do not contribute to the graph
output are dropped at the end.
"""
import math
import os
import warnings

import numpy as np

from . import ConvertError, Handlers
from . import validate
from .modelbin import Model
from .window import same_pads, window_out

# ONNX ops with a runtime (image-derived) input that this converter translates:
# op type -> _Converter method (self, node, attrs). SUPPORTED (below the class)
# adds Shape, which node() answers from the tracked shapes.
OPS = Handlers()
# The fcn op of each pooling and reducing ONNX op.
_POOL_OPS = {"MaxPool": "MaxPool", "AveragePool": "AvgPool",
             "GlobalAveragePool": "GlobalAvgPool", "GlobalMaxPool": "GlobalMaxPool",
             "ReduceMean": "GlobalAvgPool", "ReduceMax": "GlobalMaxPool"}


class _RT:
    """A runtime tensor: the fcn tensor carrying it, its ONNX shape at the
    trained size (batch 1), and its layout: 'nchw' (also used for 2-D
    [1, K] vectors) or 'nhwc' (a map transposed to channels-last, allowed
    only on the way to a flatten)."""

    def __init__(self, fcn, shape, layout="nchw"):
        self.fcn, self.shape, self.layout = fcn, tuple(int(d) for d in shape), layout

    def desc(self):
        return "[%s]%s" % (",".join(map(str, self.shape)),
                           " (channels-last)" if self.layout == "nhwc" else "")


class _Converter:
    def __init__(self, path, options):
        self.path, self.options = path, options
        self.const = {}       # ONNX name -> numpy array
        self.rt = {}          # ONNX name -> _RT
        self.layers = []      # dicts: op, name, inputs, output, attrs, weights, onnx_out
        self.producer = {}    # fcn tensor -> layer dict
        self.names = set()
        self.hsig = {}        # ONNX output of a HardSigmoid -> (ONNX input, alpha, beta)
        self.uses = {}        # ONNX name -> number of value uses (Shape excluded)

    # -- errors -----------------------------------------------------------
    def where(self, node):
        """How messages name a node: FILE: OpType 'name'."""
        return "%s: %s '%s'" % (self.path, node.op_type,
                                node.name or (node.output[0] if node.output else "?"))

    def fail(self, node, msg):
        raise ConvertError("%s: %s" % (self.where(node), msg))

    def unsupported(self, node, why=""):
        raise ConvertError(
            "%s: unsupported ONNX op '%s' (node '%s')%s; supported ops: %s" % (
                self.path, node.op_type, node.name or (node.output[0] if node.output else "?"),
                why, ", ".join(SUPPORTED)))

    # -- loading ----------------------------------------------------------
    def load(self):
        try:
            import onnx
            from onnx import numpy_helper
        except ImportError:
            raise ConvertError("reading ONNX needs the Python package 'onnx' "
                               "(Debian: apt-get install python3-onnx)")
        self.onnx, self.nh = onnx, numpy_helper
        try:
            with open(self.path, "rb") as f:
                data = f.read()
            with warnings.catch_warnings():   # protobuf warns on some garbage
                warnings.simplefilter("ignore")
                model = onnx.load_model_from_string(data)
        except OSError:
            raise
        except Exception as e:  # protobuf DecodeError and friends
            raise ConvertError("%s: not a readable ONNX model (%s)" % (
                self.path, _one_line(e) or "damaged protobuf data"))
        g = model.graph
        if not len(g.node) or not len(g.output) or model.ir_version < 1:
            raise ConvertError("%s: not an ONNX model (no graph, nodes or outputs)" % self.path)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in g.initializer):
            try:
                from onnx.external_data_helper import load_external_data_for_model
                load_external_data_for_model(model, os.path.dirname(os.path.abspath(self.path)))
            except Exception as e:
                raise ConvertError("%s: cannot read the external weight data (%s)" % (
                    self.path, _one_line(e)))
        names = [t.name for t in g.initializer] + [v.name for v in g.input] + \
            [v.name for v in g.output]
        for nd in g.node:
            names += [nd.name, nd.op_type, nd.domain] + list(nd.input) + list(nd.output)
        if any(not isinstance(n, str) for n in names):
            raise ConvertError("%s: damaged ONNX model (a name is not valid UTF-8)" % self.path)
        self.model, self.g = model, g
        self.opset = 1
        for o in model.opset_import:
            if o.domain in ("", "ai.onnx"):
                self.opset = o.version

    # -- attribute / constant helpers --------------------------------------
    def attrs(self, node):
        out = {}
        for a in node.attribute:
            v = self.onnx.helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            elif isinstance(v, self.onnx.TensorProto):
                v = self.tensor(v, "%s %s: attribute '%s'" % (
                    node.op_type, node.name or node.output[0], a.name))
            elif isinstance(v, list) and v and isinstance(v[0], bytes):
                v = [x.decode("utf-8", "replace") for x in v]
            out[a.name] = v
        return out

    def tensor(self, t, what):
        """A TensorProto as a numpy array, its dims checked first: none
        negative (numpy would infer a -1 from the data), no more values than
        fcn allows, and as many values stored as the dims say."""
        dims = [int(v) for v in t.dims]
        n = validate.check_array(self.path, what, dims)
        try:
            arr = self.nh.to_array(t)
        except Exception as e:
            count = None
            try:
                if t.HasField("raw_data"):
                    count = len(t.raw_data) // np.dtype(_NP_TYPES[t.data_type]).itemsize
            except Exception:
                pass
            if count is not None and count != n:
                validate.check_array(self.path, what, dims, count)
            raise ConvertError("%s: %s cannot be read (%s)" % (self.path, what, _one_line(e)))
        if list(arr.shape) != dims:
            validate.check_array(self.path, what, dims, int(arr.size))
            raise ConvertError("%s: %s has shape [%s], its data [%s]" % (
                self.path, what, ",".join(map(str, dims)), ",".join(map(str, arr.shape))))
        return arr

    def inp(self, node, i):
        return node.input[i] if i < len(node.input) else ""

    def c(self, node, i, what, required=True):
        """Constant input i (None when absent and not required)."""
        n = self.inp(node, i)
        if not n:
            if required:
                self.fail(node, "missing input %s" % what)
            return None
        if n in self.const:
            return self.const[n]
        if n in self.rt:
            self.fail(node, "%s ('%s') must be a constant (an initializer or computable "
                            "at conversion time), not computed from the image" % (what, n))
        self.fail(node, "input '%s' is not defined before this node" % n)

    def x(self, node, i=0, layouts=("nchw",)):
        """Runtime input i."""
        n = self.inp(node, i)
        if n in self.rt:
            t = self.rt[n]
            if t.layout not in layouts:
                self.fail(node, "reads '%s', a map transposed to channels-last; fcn "
                                "supports Transpose(0,2,3,1) only right before Flatten/"
                                "Reshape (flatten order hwc) or back with (0,3,1,2)" % n)
            return t
        if n in self.const:
            self.fail(node, "input '%s' is a constant; expected a tensor computed "
                            "from the image" % n)
        self.fail(node, "input '%s' is not defined before this node" % (n or "(empty)"))

    def emit(self, node, op, inputs, out_shape, attrs=None, layout="nchw", **weights):
        base = node.name or "%s_%d" % (node.op_type, len(self.layers))
        name, k = base, 1
        while name in self.names:
            k += 1
            name = "%s_%d" % (base, k)
        self.names.add(name)
        out = node.output[0]
        validate.check_shape(self.where(node), out_shape)
        L = dict(op=op, name=name, inputs=[t.fcn for t in inputs], output=out,
                 attrs=dict(attrs or {}), weights=dict(weights), onnx_out=out)
        self.layers.append(L)
        self.producer[out] = L
        self.rt[out] = _RT(out, out_shape, layout)
        return L

    def alias(self, node, t, shape=None, layout=None):
        self.rt[node.output[0]] = _RT(t.fcn, t.shape if shape is None else shape,
                                      t.layout if layout is None else layout)

    def extra_outputs_unused(self, node, what):
        for o in node.output[1:]:
            if o and self.uses.get(o):
                self.fail(node, "its output '%s' (%s) is used; only the first output "
                                "is supported" % (o, what))

    # -- main ---------------------------------------------------------------
    def run(self):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return self._run()

    def _run(self):
        self.load()
        g = self.g
        inits = set()
        for t in g.initializer:
            self.const[t.name] = self.tensor(t, "initializer '%s'" % t.name)
            inits.add(t.name)
        inputs = [i for i in g.input if i.name not in inits]
        if len(inputs) != 1:
            raise ConvertError("%s: the graph has %d inputs (%s); fcn needs exactly one "
                               "image input" % (self.path, len(inputs),
                                                ", ".join(i.name for i in inputs) or "none"))
        if len(g.output) != 1:
            raise ConvertError("%s: the graph has %d outputs (%s); fcn needs exactly one "
                               "(the class scores)" % (self.path, len(g.output),
                                                      ", ".join(o.name for o in g.output)))
        nodes = self.toposort(g, inits | {inputs[0].name})
        for nd in nodes:
            if nd.op_type == "Shape":
                continue
            for n in nd.input:
                if n:
                    self.uses[n] = self.uses.get(n, 0) + 1
        for o in g.output:
            self.uses[o.name] = self.uses.get(o.name, 0) + 1

        inp = inputs[0]
        nhwc = self.input_is_nhwc(nodes, inp.name)
        c, h, w = self.trained_size(inp, nhwc)
        self.rt[inp.name] = _RT(inp.name, (1, h, w, c) if nhwc else (1, c, h, w),
                                "nhwc" if nhwc else "nchw")
        for nd in nodes:
            self.node(nd)

        out_name = g.output[0].name
        if out_name in self.const:
            raise ConvertError("%s: the graph output '%s' does not depend on the input"
                               % (self.path, out_name))
        if out_name not in self.rt:
            raise ConvertError("%s: the graph output '%s' is not computed by any node"
                               % (self.path, out_name))
        t = self.rt[out_name]
        if t.layout != "nchw":
            raise ConvertError("%s: the graph output '%s' is a channels-last map; fcn's "
                               "output is channels-first" % (self.path, out_name))
        if len(t.shape) not in (2, 4):
            raise ConvertError("%s: the graph output '%s' has shape %s; expected [N, "
                               "classes] or [N, classes, H, W]" % (self.path, out_name, t.desc()))
        layers = self.live_layers(t.fcn)
        if not layers:
            raise ConvertError("%s: the graph output is the input; nothing to convert"
                               % self.path)
        return self.build(inp.name, (c, h, w), layers)

    def toposort(self, g, known):
        nodes, avail, out = list(g.node), set(known) | {""}, []
        pending = nodes
        while pending:
            rest = []
            for nd in pending:
                if all(n in avail for n in nd.input):
                    out.append(nd)
                    avail.update(nd.output)
                else:
                    rest.append(nd)
            if len(rest) == len(pending):
                nd = rest[0]
                missing = [n for n in nd.input if n not in avail]
                raise ConvertError("%s: %s '%s' reads '%s', which no node computes (the "
                                   "graph is incomplete or cyclic)" % (
                                       self.path, nd.op_type, nd.name, missing[0]))
            pending = rest
        return out

    def input_is_nhwc(self, nodes, name):
        cons = [nd for nd in nodes if name in nd.input]
        if not cons:
            return False
        for nd in cons:
            if nd.op_type != "Transpose" or list(self.attrs(nd).get("perm", [])) != [0, 3, 1, 2]:
                return False
        return True

    def trained_size(self, inp, nhwc):
        tt = inp.type.tensor_type
        dims = []
        if tt.HasField("shape"):
            for d in tt.shape.dim:
                dims.append(d.dim_value if d.HasField("dim_value") and d.dim_value > 0
                            else (d.dim_param or "?"))
        if dims and len(dims) != 4:
            raise ConvertError("%s: the input '%s' has shape [%s]; fcn needs a 4-D image "
                               "input [N, C, H, W]" % (self.path, inp.name,
                                                       ",".join(map(str, dims))))
        if dims:
            chw = [dims[3], dims[1], dims[2]] if nhwc else dims[1:]
        else:
            chw = ["?", "?", "?"]
        given = getattr(self.options, "input_size", None)
        if given:
            for k, (m, a) in enumerate(zip(chw, given)):
                if isinstance(m, int) and m != a:
                    raise ConvertError(
                        "%s: --input-size %s disagrees with the model's input '%s' "
                        "[%s] (%s)" % (self.path, "x".join(map(str, given)), inp.name,
                                       ",".join(map(str, dims)), "NHWC" if nhwc else "NCHW"))
            chw = list(given)
        if not all(isinstance(v, int) for v in chw):
            raise ConvertError(
                "%s: the input '%s' has dynamic size [%s] (%s), so the trained input size "
                "is unknown; give it with --input-size CxHxW" % (
                    self.path, inp.name, ",".join(map(str, dims)) or "unknown",
                    "NHWC" if nhwc else "NCHW"))
        c, h, w = chw
        if c not in (1, 3):
            raise ConvertError("%s: the input has %d channels; fcn models take 1 (gray) or "
                               "3 (RGB/BGR) channels" % (self.path, c))
        where = "%s: the input '%s'" % (self.path, inp.name)
        validate.check_dim(where, "height", h, 1, validate.MAX_INPUT[1])
        validate.check_dim(where, "width", w, 1, validate.MAX_INPUT[2])
        return c, h, w

    def live_layers(self, out_fcn):
        need, keep = {out_fcn}, []
        for L in reversed(self.layers):
            if L["output"] in need:
                keep.append(L)
                need.update(L["inputs"])
        keep.reverse()
        return keep

    def build(self, input_name, chw, layers):
        short = {}

        def nm(n):  # model.bin strings are at most 4096 bytes
            if len(n.encode("utf-8")) <= 1000:
                return n
            return short.setdefault(n, "t%d_%s" % (len(short), n[:200]))
        pn, pv = self.model.producer_name, self.model.producer_version
        producer = pn if isinstance(pn, str) and pn else "unknown producer"
        if isinstance(pv, str) and pv:
            producer += " " + pv
        producer = _printable(producer, 200)
        m = Model(input_shape=chw, input=nm(input_name), scale=1.0 / 255.0,
                  name="%s (ONNX, %s, opset %d)" % (
                      os.path.basename(self.path), producer, self.opset))
        for L in layers:
            ws = {k: np.asarray(v, dtype=np.float32) for k, v in L["weights"].items()
                  if v is not None}
            for k, v in ws.items():
                if not np.isfinite(v).all():
                    raise ConvertError("%s: %s '%s': its %s holds NaN or infinite values"
                                       % (self.path, L["op"], L["name"], k))
            m.add(L["op"], nm(L["name"]), [nm(t) for t in L["inputs"]], nm(L["output"]),
                  L["attrs"], **ws)
        return m

    # -- one node -------------------------------------------------------------
    def node(self, nd):
        op = nd.op_type
        if nd.domain not in ("", "ai.onnx"):
            self.unsupported(nd, " in domain '%s'" % nd.domain)
        ins = [n for n in nd.input if n]
        if op == "Shape":
            if ins and ins[0] in self.rt:
                a = self.attrs(nd)
                s = np.array(self.rt[ins[0]].shape, dtype=np.int64)
                r = len(s)
                st, en = a.get("start", 0), a.get("end", r)
                self.const[nd.output[0]] = s[st:en]
                return
        if op in FOLD and all(n in self.const for n in ins) and \
                (ins or op == "Constant"):
            try:
                vals = FOLD[op](self, nd, self.attrs(nd),
                                [self.const[n] if n else None for n in nd.input])
            except ConvertError:
                raise
            except Exception as e:
                self.fail(nd, "cannot evaluate it on constants (%s)" % _one_line(e))
            for o, v in zip(nd.output, vals):
                if o:
                    self.const[o] = np.asarray(v)
            return
        fn = OPS.get(op)
        if fn is None:
            self.unsupported(nd)
        for n in ins:
            if n not in self.rt and n not in self.const:
                self.fail(nd, "input '%s' is not defined before this node" % n)
        try:
            fn(self, nd, self.attrs(nd))
        except (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError,
                OverflowError) as e:   # attributes of the wrong kind, and the like
            self.fail(nd, "cannot translate it (%s)" % validate.exception_text(e))

    # -- pads -------------------------------------------------------------------
    def pads(self, nd, a, hw, k, s, d):
        ap = a.get("auto_pad", "NOTSET") or "NOTSET"
        if ap == "NOTSET":
            p = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
            if len(p) != 4:
                self.fail(nd, "pads %s: expected 4 values for a 2-D op" % p)
            # ONNX's order (begin h, begin w, end h, end w) is fcn's
            return validate.check_pads(self.where(nd), p, k, d)
        if ap == "VALID":
            return [0, 0, 0, 0]
        if ap not in ("SAME_UPPER", "SAME_LOWER"):
            self.fail(nd, "auto_pad '%s' is not supported" % ap)
        (t, b), (l, r) = (same_pads(hw[i], k[i], s[i], d[i], lower=(ap == "SAME_LOWER"))
                          for i in (0, 1))
        return [t, l, b, r]

    def ints2(self, nd, a, key, default):
        v = [int(x) for x in a.get(key, default)]
        if len(v) != 2:
            self.fail(nd, "%s %s: only 2-D ops are supported" % (key, v))
        return v

    # -- ops ---------------------------------------------------------------------
    @OPS.on("Conv")
    def op_Conv(self, nd, a):
        x = self.x(nd)
        W = self.c(nd, 1, "the weight")
        B = self.c(nd, 2, "the bias", required=False)
        if W.ndim != 4:
            self.fail(nd, "weight of shape %s: only 2-D convolutions are supported"
                          % (list(W.shape),))
        if len(x.shape) != 4:
            self.fail(nd, "input %s is not a 4-D map" % x.desc())
        g = int(a.get("group", 1))
        if min(W.shape) < 1:
            self.fail(nd, "weight of shape %s has a size 0" % (list(W.shape),))
        k = [int(W.shape[2]), int(W.shape[3])]
        if "kernel_shape" in a and [int(v) for v in a["kernel_shape"]] != k:
            self.fail(nd, "kernel_shape %s differs from the weight's %s" % (
                list(a["kernel_shape"]), k))
        s = self.ints2(nd, a, "strides", [1, 1])
        d = self.ints2(nd, a, "dilations", [1, 1])
        validate.check_window(self.where(nd), k, s, d)
        validate.check_dim(self.where(nd), "group", g)
        _, C, H, Wd = x.shape
        if g < 1 or W.shape[0] % g or W.shape[1] * g != C:
            self.fail(nd, "weight %s with group %d does not fit %d input channels" % (
                list(W.shape), g, C))
        p = self.pads(nd, a, (H, Wd), k, s, d)
        oh = window_out(H, k[0], s[0], d[0], (p[0], p[2]))
        ow = window_out(Wd, k[1], s[1], d[1], (p[1], p[3]))
        if oh < 1 or ow < 1:
            self.fail(nd, "kernel %s does not fit its %dx%d input at the trained size"
                          % (k, H, Wd))
        bias = None
        if B is not None:
            bias = np.asarray(B, dtype=np.float64).reshape(-1)
            if bias.size != W.shape[0]:
                self.fail(nd, "bias has %d values for %d filters" % (bias.size, W.shape[0]))
        attrs = {"kernel": k, "stride": s, "pad": p, "dilation": d, "groups": g}
        self.emit(nd, "Conv", [x], (1, int(W.shape[0]), oh, ow), attrs,
                  weight=np.asarray(W, dtype=np.float32), bias=bias)

    @OPS.on("MaxPool", "AveragePool")
    def op_pool(self, nd, a):
        op = _POOL_OPS[nd.op_type]
        x = self.x(nd)
        if len(x.shape) != 4:
            self.fail(nd, "input %s is not a 4-D map" % x.desc())
        if "kernel_shape" not in a:
            self.fail(nd, "missing kernel_shape")
        k = self.ints2(nd, a, "kernel_shape", [])
        s = self.ints2(nd, a, "strides", [1, 1])
        if any(int(v) != 1 for v in a.get("dilations", [1, 1])):
            self.fail(nd, "dilated pooling (dilations %s) is not supported"
                          % list(a["dilations"]))
        validate.check_window(self.where(nd), k, s, pool=True)
        _, C, H, W = x.shape
        p = self.pads(nd, a, (H, W), k, s, [1, 1])
        ceil = int(a.get("ceil_mode", 0))
        oh = window_out(H, k[0], s[0], 1, (p[0], p[2]), ceil)
        ow = window_out(W, k[1], s[1], 1, (p[1], p[3]), ceil)
        if oh < 1 or ow < 1:
            self.fail(nd, "window %s does not fit its %dx%d input at the trained size"
                          % (k, H, W))
        attrs = {"kernel": k, "stride": s, "pad": p, "ceil_mode": 1 if ceil else 0}
        if op == "AvgPool":
            attrs["count_include_pad"] = 1 if int(a.get("count_include_pad", 0)) else 0
        else:
            self.extra_outputs_unused(nd, "the argmax indices")
        self.emit(nd, op, [x], (1, C, oh, ow), attrs)

    @OPS.on("GlobalAveragePool", "GlobalMaxPool")
    def op_global_pool(self, nd, a):
        x = self.x(nd)
        if len(x.shape) != 4:
            self.fail(nd, "input %s is not a 4-D map" % x.desc())
        self.emit(nd, _POOL_OPS[nd.op_type], [x], (1, x.shape[1], 1, 1))

    @OPS.on("ReduceMean", "ReduceMax")
    def op_reduce(self, nd, a):
        op = _POOL_OPS[nd.op_type]
        x = self.x(nd, layouts=("nchw", "nhwc"))
        axes = a.get("axes")
        if axes is None and self.inp(nd, 1):
            axes = self.c(nd, 1, "the axes")
        r = len(x.shape)
        if axes is None or r != 4:
            self.fail(nd, "only a reduction over the spatial axes of a 4-D map "
                          "(a global pool) is supported")
        ax = sorted(int(v) % r for v in np.asarray(axes).reshape(-1))
        want = [1, 2] if x.layout == "nhwc" else [2, 3]
        if ax != want:
            self.fail(nd, "reduces axes %s of %s; only the spatial axes %s (a global "
                          "pool) are supported" % (ax, x.desc(), want))
        keep = int(a.get("keepdims", 1))
        if x.layout == "nhwc":
            C = x.shape[3]
            self.emit(nd, op, [x], (1, 1, 1, C) if keep else (1, C),
                      layout="nhwc" if keep else "nchw")
        else:
            C = x.shape[1]
            self.emit(nd, op, [x], (1, C, 1, 1) if keep else (1, C))

    def flatten(self, nd, x):
        """x (4-D) flattened to [1, K]."""
        k = math.prod(x.shape[1:])
        order = "hwc" if x.layout == "nhwc" else "chw"
        self.emit(nd, "Flatten", [x], (1, k), {"order": order})

    @OPS.on("Flatten")
    def op_Flatten(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        r = len(x.shape)
        axis = int(a.get("axis", 1))
        axis = axis + r if axis < 0 else axis
        if axis not in (0, 1):
            self.fail(nd, "axis %d: only flattening everything but the batch axis is "
                          "supported" % int(a.get("axis", 1)))
        if r == 2:
            self.alias(nd, x)
        elif r == 4:
            self.flatten(nd, x)
        else:
            self.fail(nd, "input %s is neither a 4-D map nor a vector" % x.desc())

    @OPS.on("Reshape")
    def op_Reshape(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        shp = [int(v) for v in np.asarray(self.c(nd, 1, "the target shape")).reshape(-1)]
        tgt = _reshape_target(x.shape, shp, int(a.get("allowzero", 0)))
        if tgt is None:
            self.fail(nd, "cannot reshape %s to %s" % (x.desc(), shp))
        self.reshape_to(nd, x, tgt, "Reshape to %s" % shp)

    def reshape_to(self, nd, x, tgt, what):
        tgt = tuple(tgt)
        if tgt == x.shape:
            self.alias(nd, x)
        elif len(x.shape) == 4 and len(tgt) == 2 and tgt[0] == 1:
            self.flatten(nd, x)
        elif len(x.shape) == 2 and tgt == (1, x.shape[1], 1, 1) and x.layout == "nchw":
            self.alias(nd, x, shape=tgt)
        else:
            self.fail(nd, "%s turns %s into [%s]; only a flatten to [N, -1] (or a "
                          "no-op) is supported" % (what, x.desc(), ",".join(map(str, tgt))))

    @OPS.on("Squeeze")
    def op_Squeeze(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        axes = a.get("axes")
        if axes is None and self.inp(nd, 1):
            axes = self.c(nd, 1, "the axes")
        r = len(x.shape)
        if axes is None:  # every size-1 axis but the batch
            ax = [i for i in range(1, r) if x.shape[i] == 1]
        else:
            ax = [int(v) % r for v in np.asarray(axes).reshape(-1)]
        if 0 in ax or any(x.shape[i] != 1 for i in ax):
            self.fail(nd, "squeezes axes %s of %s" % (ax, x.desc()))
        self.reshape_to(nd, x, [d for i, d in enumerate(x.shape) if i not in ax], "Squeeze")

    @OPS.on("Unsqueeze")
    def op_Unsqueeze(self, nd, a):
        x = self.x(nd)
        axes = a.get("axes")
        if axes is None:
            axes = self.c(nd, 1, "the axes")
        r = len(x.shape) + len(np.asarray(axes).reshape(-1))
        ax = sorted(int(v) % r for v in np.asarray(axes).reshape(-1))
        shp, it = [], iter(x.shape)
        for i in range(r):
            shp.append(1 if i in ax else next(it))
        self.reshape_to(nd, x, shp, "Unsqueeze")

    @OPS.on("Transpose")
    def op_Transpose(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        r = len(x.shape)
        perm = [int(v) for v in a.get("perm", list(range(r))[::-1])]
        if perm == list(range(r)):
            self.alias(nd, x)
        elif r == 4 and x.layout == "nchw" and perm == [0, 2, 3, 1]:
            n, c, h, w = x.shape
            self.alias(nd, x, shape=(n, h, w, c), layout="nhwc")
        elif r == 4 and x.layout == "nhwc" and perm == [0, 3, 1, 2]:
            n, h, w, c = x.shape
            self.alias(nd, x, shape=(n, c, h, w), layout="nchw")
        elif r == 4 and x.shape[2] == x.shape[3] == 1 and x.layout == "nchw" and \
                perm in ([0, 1, 3, 2],):
            self.alias(nd, x)
        else:
            self.fail(nd, "perm %s on %s: only (0,2,3,1) to channels-last right before "
                          "Flatten/Reshape, or (0,3,1,2) back, is supported" % (perm, x.desc()))

    @OPS.on("Gemm")
    def op_Gemm(self, nd, a):
        x = self.x(nd)
        if int(a.get("transA", 0)):
            self.fail(nd, "transA=1 is not supported")
        if len(x.shape) != 2:
            self.fail(nd, "input A %s is not a flattened [1, K] vector" % x.desc())
        B = np.asarray(self.c(nd, 1, "B (the weight)"))
        Cb = self.c(nd, 2, "C (the bias)", required=False)
        if B.ndim != 2:
            self.fail(nd, "B has shape %s, expected 2-D" % (list(B.shape),))
        Wt = B if int(a.get("transB", 0)) else B.T   # [N, K]
        N, K = Wt.shape
        if min(Wt.shape) < 1:
            self.fail(nd, "B has shape %s, a size 0" % (list(B.shape),))
        if K != x.shape[1]:
            self.fail(nd, "weight expects %d inputs, A has %d" % (K, x.shape[1]))
        alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
        bias = None
        if Cb is not None:
            bias = self.row_bias(nd, Cb, N, "C") * beta
        if alpha != 1.0:
            Wt = Wt.astype(np.float64) * alpha
        self.emit(nd, "Dense", [x], (1, N), weight=Wt, bias=bias)

    def row_bias(self, nd, Cb, N, what):
        Cb = np.asarray(Cb, dtype=np.float64)
        shp = (1,) * (2 - Cb.ndim) + Cb.shape if Cb.ndim <= 2 else None
        if shp is None or shp[0] != 1 or shp[1] not in (1, N):
            self.fail(nd, "%s has shape %s; expected a per-output bias [%d] or [1, %d]"
                          % (what, list(Cb.shape), N, N))
        return np.broadcast_to(Cb.reshape(-1), (N,)).copy()

    @OPS.on("MatMul")
    def op_MatMul(self, nd, a):
        if self.inp(nd, 0) in self.const:
            self.fail(nd, "the constant is the left operand; only x @ W (x a flattened "
                          "vector, W a constant) is supported")
        x = self.x(nd)
        B = np.asarray(self.c(nd, 1, "the weight"))
        if len(x.shape) != 2:
            self.fail(nd, "input %s is not a flattened [1, K] vector; only x @ W after a "
                          "flatten is supported" % x.desc())
        if B.ndim != 2 or B.shape[0] != x.shape[1]:
            self.fail(nd, "weight of shape %s does not fit a [1, %d] input"
                          % (list(B.shape), x.shape[1]))
        if min(B.shape) < 1:
            self.fail(nd, "weight of shape %s has a size 0" % (list(B.shape),))
        self.emit(nd, "Dense", [x], (1, B.shape[1]), weight=B.T)

    def fold_bias(self, nd, x_name, cval, sign):
        """x + sign*cval with cval constant: into the bias of the Conv/Dense/
        BatchNorm that produces x, when x is used by nothing else."""
        x = self.rt[x_name]
        L = self.producer.get(x.fcn)
        cval = np.asarray(cval, dtype=np.float64)
        if not cval.any():
            self.alias(nd, x)
            return
        simple = (L is not None and L["onnx_out"] == x_name and
                  L["op"] in ("Conv", "Dense", "BatchNorm") and self.uses.get(x_name) == 1)
        if not simple:
            why = ("it is the graph input" if L is None else
                   "it is also used elsewhere" if L["onnx_out"] == x_name and
                   L["op"] in ("Conv", "Dense", "BatchNorm") else
                   "it comes from %s '%s'" % (L["op"], L["name"]))
            self.fail(nd, "adds a constant to '%s', but %s; a constant is supported only "
                          "as a bias folded into the Conv/Gemm/MatMul/BatchNormalization "
                          "that produces the tensor and nothing else uses"
                          % (x_name, why))
        if L["op"] == "Dense":
            N = x.shape[1]
            v = self.row_bias(nd, cval, N, "the constant")
            key = "bias"
        else:
            C = x.shape[1]
            s = cval.shape
            s4 = (1,) * (4 - len(s)) + s if len(s) <= 4 else None
            if len(x.shape) == 2:
                s4 = (1,) * (2 - len(s)) + s if len(s) <= 2 else None
                ok = s4 is not None and s4[0] == 1 and s4[1] in (1, C)
            else:
                ok = s4 is not None and s4[0] == 1 and s4[2] == 1 and s4[3] == 1 and \
                    s4[1] in (1, C)
            if not ok:
                self.fail(nd, "the constant of shape %s is not a per-channel bias for %s"
                              % (list(s), x.desc()))
            v = np.broadcast_to(cval.reshape(-1), (C,)).copy()
            key = "bias"
        old = L["weights"].get(key)
        n = v.size
        old = np.zeros(n) if old is None else np.asarray(old, dtype=np.float64)
        L["weights"][key] = old + sign * v
        self.alias(nd, x)

    def binary_const(self, nd):
        """(runtime name, constant, constant_is_first) or None for two runtime inputs."""
        a0, a1 = self.inp(nd, 0), self.inp(nd, 1)
        if a0 in self.const and a1 in self.rt:
            return a1, self.const[a0], True
        if a1 in self.const and a0 in self.rt:
            return a0, self.const[a1], False
        return None

    @OPS.on("Add")
    def op_Add(self, nd, a):
        bc = self.binary_const(nd)
        if bc:
            self.x(nd, 1 if bc[2] else 0)
            self.fold_bias(nd, bc[0], bc[1], 1.0)
            return
        self.add(nd, [self.x(nd, i) for i in range(len(nd.input))])

    @OPS.on("Sum")
    def op_Sum(self, nd, a):
        xs = [self.x(nd, i) for i in range(len(nd.input))]
        if len(xs) == 1:
            self.alias(nd, xs[0])
        else:
            self.add(nd, xs)

    def add(self, nd, xs):
        for t in xs[1:]:
            if t.shape != xs[0].shape:
                self.fail(nd, "adds %s and %s; only tensors of the same shape (no "
                              "broadcasting) are supported" % (xs[0].desc(), t.desc()))
        self.emit(nd, "Add", xs, xs[0].shape)

    @OPS.on("Sub")
    def op_Sub(self, nd, a):
        bc = self.binary_const(nd)
        if bc and not bc[2]:
            self.x(nd, 0)
            self.fold_bias(nd, bc[0], bc[1], -1.0)
            return
        self.fail(nd, "only x - constant (folded into the producer's bias) is supported")

    def scalar(self, nd, v, what):
        v = np.asarray(v, dtype=np.float64)
        if v.size != 1:
            self.fail(nd, "%s by a constant of shape %s; only a scalar constant is "
                          "supported" % (what, list(v.shape)))
        return float(v.reshape(-1)[0])

    @OPS.on("Mul")
    def op_Mul(self, nd, a):
        bc = self.binary_const(nd)
        if bc:
            x = self.x(nd, 1 if bc[2] else 0)
            v = self.scalar(nd, bc[1], "multiplication")
            if v == 1.0:
                self.alias(nd, x)
            else:
                self.emit(nd, "Mul", [x], x.shape, {"value": v}, layout=x.layout)
            return
        n0, n1 = self.inp(nd, 0), self.inp(nd, 1)
        for xn, hn in ((n0, n1), (n1, n0)):  # x * HardSigmoid(x; 1/6, 1/2) = HardSwish
            hs = self.hsig.get(hn)
            if hs and hs[0] == xn and abs(hs[1] - 1 / 6) < 1e-6 and abs(hs[2] - 0.5) < 1e-6:
                x = self.x(nd, 0 if xn == n0 else 1)
                self.emit(nd, "HardSwish", [x], x.shape, layout=x.layout)
                return
        self.x(nd, 0)
        self.x(nd, 1)
        self.fail(nd, "multiplies two computed tensors (e.g. SiLU/Swish, squeeze-and-"
                      "excitation); fcn supports Mul only by a scalar constant, and "
                      "x * HardSigmoid(x) as HardSwish")

    @OPS.on("Div")
    def op_Div(self, nd, a):
        bc = self.binary_const(nd)
        if not bc or bc[2]:
            self.fail(nd, "only x / scalar constant is supported")
        x = self.x(nd, 0)
        v = self.scalar(nd, bc[1], "division")
        if v == 0:
            self.fail(nd, "division by zero")
        if v == 1.0:
            self.alias(nd, x)
        else:
            self.emit(nd, "Mul", [x], x.shape, {"value": 1.0 / v}, layout=x.layout)

    @OPS.on("Relu", "Sigmoid", "Tanh", "HardSwish")
    def op_unary(self, nd, a):     # fcn's op of the same name
        x = self.x(nd, layouts=("nchw", "nhwc"))
        self.emit(nd, nd.op_type, [x], x.shape, layout=x.layout)

    @OPS.on("LeakyRelu")
    def op_LeakyRelu(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        self.emit(nd, "LeakyRelu", [x], x.shape, {"alpha": float(a.get("alpha", 0.01))},
                  layout=x.layout)

    @OPS.on("HardSigmoid")
    def op_HardSigmoid(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        al, be = float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))
        self.emit(nd, "HardSigmoid", [x], x.shape, {"alpha": al, "beta": be}, layout=x.layout)
        self.hsig[nd.output[0]] = (nd.input[0], al, be)

    @OPS.on("Clip")
    def op_Clip(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        if self.opset < 11:
            lo, hi = a.get("min"), a.get("max")
        else:
            lo = self.c(nd, 1, "min", required=False)
            hi = self.c(nd, 2, "max", required=False)
        attrs = {}
        for key, v in (("min", lo), ("max", hi)):
            if v is not None:
                f = self.scalar(nd, v, "Clip " + key)
                if np.isfinite(f) and abs(f) < 3.0e38:
                    attrs[key] = f
        if not attrs:
            self.alias(nd, x)
        else:
            self.emit(nd, "Clip", [x], x.shape, attrs, layout=x.layout)

    @OPS.on("BatchNormalization")
    def op_BatchNormalization(self, nd, a):
        x = self.x(nd)
        if int(a.get("training_mode", 0)):
            self.fail(nd, "training_mode=1 (batch statistics) is not supported")
        if self.opset < 9 and int(a.get("spatial", 1)) != 1:
            self.fail(nd, "spatial=0 is not supported")
        self.extra_outputs_unused(nd, "training statistics")
        C = x.shape[1]
        ws = {}
        for i, key in enumerate(("scale", "bias", "mean", "var")):
            v = np.asarray(self.c(nd, i + 1, key), dtype=np.float64).reshape(-1)
            if v.size != C:
                self.fail(nd, "%s has %d values for %d channels" % (key, v.size, C))
            ws[key] = v
        if len(x.shape) not in (2, 4):
            self.fail(nd, "input %s is neither a map nor a vector" % x.desc())
        self.emit(nd, "BatchNorm", [x], x.shape, {"eps": float(a.get("epsilon", 1e-5))}, **ws)

    @OPS.on("LRN")
    def op_LRN(self, nd, a):
        x = self.x(nd)
        if len(x.shape) != 4:
            self.fail(nd, "input %s is not a 4-D map" % x.desc())
        if "size" not in a:
            self.fail(nd, "missing size")
        self.emit(nd, "LRN", [x], x.shape, {
            "size": int(a["size"]), "alpha": float(a.get("alpha", 1e-4)),
            "beta": float(a.get("beta", 0.75)), "bias": float(a.get("bias", 1.0))})

    @OPS.on("Concat")
    def op_Concat(self, nd, a):
        xs = [self.x(nd, i) for i in range(len(nd.input)) if nd.input[i]]
        r = len(xs[0].shape)
        axis = int(a.get("axis", 1))
        axis = axis + r if axis < 0 else axis
        if axis != 1:
            self.fail(nd, "concatenates along axis %d; only the channel axis 1 is "
                          "supported" % int(a.get("axis", 1)))
        for t in xs:
            if len(t.shape) != r or t.shape[2:] != xs[0].shape[2:]:
                self.fail(nd, "inputs %s and %s do not concatenate along channels"
                              % (xs[0].desc(), t.desc()))
        if len(xs) == 1:
            self.alias(nd, xs[0])
            return
        shp = list(xs[0].shape)
        shp[1] = sum(t.shape[1] for t in xs)
        self.emit(nd, "Concat", xs, shp)

    @OPS.on("Softmax")
    def op_Softmax(self, nd, a):
        x = self.x(nd)
        r = len(x.shape)
        default = 1 if self.opset < 13 else -1
        axis = int(a.get("axis", default))
        axis = axis + r if axis < 0 else axis
        ok = axis == 1 and (r == 2 or (r == 4 and (self.opset >= 13 or
                                                   x.shape[2] * x.shape[3] == 1)))
        if not ok:
            self.fail(nd, "axis %d on %s; only softmax over the classes (axis 1 of a [N, "
                          "classes] tensor, or the channel axis of a map) is supported"
                          % (int(a.get("axis", default)), x.desc()))
        self.emit(nd, "Softmax", [x], x.shape)

    @OPS.on("Dropout")
    def op_Dropout(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        self.extra_outputs_unused(nd, "the dropout mask")
        self.alias(nd, x)

    @OPS.on("Identity")
    def op_Identity(self, nd, a):
        self.alias(nd, self.x(nd, layouts=("nchw", "nhwc")))

    @OPS.on("Cast")
    def op_Cast(self, nd, a):
        x = self.x(nd, layouts=("nchw", "nhwc"))
        if int(a.get("to", 1)) not in (1, 10, 11):  # float, float16, double
            self.fail(nd, "casts the image tensor to a non-float type")
        self.alias(nd, x)

    @OPS.on("Pad")
    def op_Pad(self, nd, a):
        x = self.x(nd)
        mode = a.get("mode", "constant")
        if mode != "constant":
            self.fail(nd, "mode '%s'; only constant padding is supported" % mode)
        if self.opset < 11:
            pads, value = a.get("pads"), float(a.get("value", 0.0))
        else:
            pads = self.c(nd, 1, "pads")
            v = self.c(nd, 2, "the constant value", required=False)
            value = 0.0 if v is None else self.scalar(nd, v, "padding value")
            ax = self.c(nd, 3, "axes", required=False)
            if ax is not None:
                r = len(x.shape)
                ax = [int(v) % r for v in np.asarray(ax).reshape(-1)]
                pv = [int(v) for v in np.asarray(pads).reshape(-1)]
                full = [0] * (2 * r)
                for i, axi in enumerate(ax):
                    full[axi], full[axi + r] = pv[i], pv[i + len(ax)]
                pads = full
        pads = [int(v) for v in np.asarray(pads).reshape(-1)]
        if len(x.shape) != 4 or len(pads) != 8:
            self.fail(nd, "pads %s on %s: only a 4-D map is supported" % (pads, x.desc()))
        if pads[0] or pads[1] or pads[4] or pads[5]:
            self.fail(nd, "pads %s pad the batch or channel axis; only spatial padding "
                          "is supported" % pads)
        if min(pads) < 0:
            self.fail(nd, "negative pads %s (cropping) are not supported" % pads)
        t, l, b, r = validate.check_pad_op(self.where(nd), [pads[2], pads[3], pads[6],
                                                              pads[7]])
        if not (t or l or b or r):
            self.alias(nd, x)
            return
        _, C, H, W = x.shape
        self.emit(nd, "Pad", [x], (1, C, H + t + b, W + l + r),
                  {"pad": [t, l, b, r], "value": float(value)})


SUPPORTED = sorted(set(OPS) | {"Shape"})


def _one_line(e):
    return " ".join(str(e).split())[:300]



def _reshape_target(shape, shp, allowzero):
    out, neg = [], -1
    for i, v in enumerate(shp):
        if v == 0 and not allowzero:
            if i >= len(shape):
                return None
            v = shape[i]
        if v == -1:
            if neg >= 0:
                return None
            neg = i
            v = 1
        elif v < 0:
            return None
        out.append(v)
    total, known = int(np.prod(shape)), int(np.prod(out))
    if neg >= 0:
        if known == 0 or total % known:
            return None
        out[neg] = total // known
    elif known != total:
        return None
    return out


_NP_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16,
             6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64,
             12: np.uint32, 13: np.uint64}


# Ops evaluated at conversion time when all their inputs are constants:
# op type -> fold(converter, node, attrs, inputs) -> the output values.
FOLD = Handlers()


@FOLD.on("Constant")
def _fold_constant(cv, nd, a, I):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            v = a[key]
            if key.startswith("value_float"):
                return [np.asarray(v, dtype=np.float32)]
            if key.startswith("value_int"):
                return [np.asarray(v, dtype=np.int64)]
            return [v]
    cv.fail(nd, "unsupported kind of Constant (%s)" % ", ".join(a) or "empty")


@FOLD.on("Identity", "Dropout")
def _fold_identity(cv, nd, a, I):
    return [I[0]]


@FOLD.on("Cast")
def _fold_cast(cv, nd, a, I):
    return [I[0].astype(_NP_TYPES[int(a["to"])])]


@FOLD.on("Shape")
def _fold_shape(cv, nd, a, I):
    s = np.array(I[0].shape, dtype=np.int64)
    return [s[a.get("start", 0):a.get("end", len(s))]]


@FOLD.on("Size")
def _fold_size(cv, nd, a, I):
    return [np.array(I[0].size, dtype=np.int64)]


@FOLD.on("Gather")
def _fold_gather(cv, nd, a, I):
    return [np.take(I[0], I[1].astype(np.int64), axis=int(a.get("axis", 0)))]


@FOLD.on("Unsqueeze", "Squeeze")
def _fold_squeeze(cv, nd, a, I):
    axes = a.get("axes")
    if axes is None and len(I) > 1 and I[1] is not None:
        axes = I[1]
    x = I[0]
    if nd.op_type == "Squeeze":
        if axes is None:
            return [np.squeeze(x)]
        return [np.squeeze(x, axis=tuple(int(v) % x.ndim for v in np.reshape(axes, -1)))]
    r = x.ndim + len(np.reshape(axes, -1))
    for ax in sorted(int(v) % r for v in np.reshape(axes, -1)):
        x = np.expand_dims(x, ax)
    return [x]


@FOLD.on("Concat")
def _fold_concat(cv, nd, a, I):
    return [np.concatenate([np.atleast_1d(v) if v.ndim == 0 else v
                            for v in I if v is not None], axis=int(a["axis"]))]


@FOLD.on("Reshape")
def _fold_reshape(cv, nd, a, I):
    tgt = _reshape_target(I[0].shape, [int(v) for v in I[1].reshape(-1)],
                          int(a.get("allowzero", 0)))
    if tgt is None:
        raise ValueError("bad reshape")
    return [I[0].reshape(tgt)]


@FOLD.on("Flatten")
def _fold_flatten(cv, nd, a, I):
    ax = int(a.get("axis", 1)) % max(I[0].ndim, 1)
    return [I[0].reshape(int(np.prod(I[0].shape[:ax])), -1)]


@FOLD.on("Transpose")
def _fold_transpose(cv, nd, a, I):
    return [np.transpose(I[0], a.get("perm"))]


@FOLD.on("Slice")
def _fold_slice(cv, nd, a, I):
    x = I[0]
    if cv.opset < 10:
        st, en, axes, steps = a["starts"], a["ends"], a.get("axes"), None
    else:
        st, en = I[1], I[2]
        axes = I[3] if len(I) > 3 else None
        steps = I[4] if len(I) > 4 else None
    st, en = np.reshape(st, -1), np.reshape(en, -1)
    axes = list(range(len(st))) if axes is None else np.reshape(axes, -1)
    steps = [1] * len(st) if steps is None else np.reshape(steps, -1)
    sl = [slice(None)] * x.ndim
    for s_, e_, ax, sp in zip(st, en, axes, steps):
        n = x.shape[int(ax)]
        s_, e_ = int(max(min(s_, 2 ** 62), -2 ** 62)), int(max(min(e_, 2 ** 62), -2 ** 62))
        sl[int(ax) % x.ndim] = slice(*slice(s_, e_, int(sp)).indices(n))
    return [x[tuple(sl)]]


@FOLD.on("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Min", "Max")
def _fold_binary(cv, nd, a, I):
    op = nd.op_type
    x, y = I[0], I[1]
    if op == "Div" and np.issubdtype(x.dtype, np.integer):
        r = np.trunc(np.true_divide(x, y)).astype(x.dtype)
    else:
        f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
             "Div": np.divide, "Pow": np.power, "Equal": np.equal}.get(op)
        if op in ("Min", "Max"):
            r = I[0]
            for v in I[1:]:
                r = (np.minimum if op == "Min" else np.maximum)(r, v)
        else:
            r = f(x, y)
        if op != "Equal" and op != "Pow":
            r = r.astype(x.dtype)
    return [r]


@FOLD.on("Neg", "Floor", "Ceil", "Sqrt", "Not", "Abs")
def _fold_unary(cv, nd, a, I):
    return [{"Neg": np.negative, "Floor": np.floor, "Ceil": np.ceil, "Sqrt": np.sqrt,
             "Not": np.logical_not, "Abs": np.abs}[nd.op_type](I[0])]


@FOLD.on("ReduceProd")
def _fold_reduce_prod(cv, nd, a, I):
    axes = a.get("axes")
    if axes is None and len(I) > 1 and I[1] is not None:
        axes = I[1]
    axes = None if axes is None else tuple(int(v) for v in np.reshape(axes, -1))
    return [np.prod(I[0], axis=axes, keepdims=bool(a.get("keepdims", 1))).astype(I[0].dtype)]


# Constants computed at conversion time are shape arithmetic, far smaller
# than this many values: a file asking for more is refused before numpy
# allocates it.
MAX_FOLDED = 1 << 24


def _fold_limit(cv, nd, dims):
    """dims, when a constant of that shape is small enough to compute."""
    dims = [int(v) for v in dims]
    n = validate.check_array(cv.where(nd), "the constant it computes", dims)
    if n > MAX_FOLDED:
        cv.fail(nd, "computes a constant of shape [%s] (%d values), more than the %d "
                    "computed at conversion time" % (",".join(map(str, dims)), n, MAX_FOLDED))
    return dims


@FOLD.on("ConstantOfShape")
def _fold_constant_of_shape(cv, nd, a, I):
    v = a.get("value", np.zeros(1, dtype=np.float32))
    return [np.full(_fold_limit(cv, nd, I[0].reshape(-1)), v.reshape(-1)[0], dtype=v.dtype)]


@FOLD.on("Range")
def _fold_range(cv, nd, a, I):
    start, limit, delta = (np.asarray(v).reshape(-1)[0] for v in I[:3])
    if delta == 0:
        cv.fail(nd, "Range with delta 0")
    _fold_limit(cv, nd, [max(0, math.ceil((limit - start) / delta))])
    return [np.arange(I[0], I[1], I[2]).astype(I[0].dtype)]


@FOLD.on("Where")
def _fold_where(cv, nd, a, I):
    return [np.where(I[0], I[1], I[2])]


@FOLD.on("Expand")
def _fold_expand(cv, nd, a, I):
    shp = np.broadcast_shapes(I[0].shape, tuple(int(s) for s in I[1].reshape(-1)))
    return [I[0] * np.ones(_fold_limit(cv, nd, shp), dtype=I[0].dtype)]


def _printable(msg, limit=3000):
    msg = "".join(ch if ch.isprintable() else "?" for ch in str(msg))
    return msg if len(msg) <= limit else msg[:limit] + "..."


def convert(path, options):
    try:
        return _Converter(path, options).run()
    except ConvertError as e:   # names from a damaged file may hold anything
        raise ConvertError(_printable(e))
    except OSError:
        raise
    except RecursionError:
        raise ConvertError("%s: the ONNX graph is too deeply nested" % path)
    except MemoryError:
        raise ConvertError("%s: out of memory converting the ONNX model" % path)
    except Exception as e:  # a malformed file must give one line, not a traceback
        raise ConvertError("%s: cannot convert (%s)" % (path, validate.exception_text(e)))
